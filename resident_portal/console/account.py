"""The staff member's own account: sessions, recovery codes, API tokens, signing out."""

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import access, operations, two_factor
from ..access import Permission, require
from ..blueprint import no_store
from ..extensions import db
from ..forms import ApiTokenForm, ConfirmForm, form_status
from ..messages import describe_error
from ..models import ApiToken, AuthSession, Estate, RecoveryCode, utcnow
from . import bp


@bp.get("/account")
@require(Permission.CONSOLE)
def account():
    user = access.current_staff()
    unused_codes = db.session.scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.staff_user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )
    sessions = db.session.scalars(
        select(AuthSession)
        .where(AuthSession.staff_user_id == user.id, AuthSession.live())
        .order_by(AuthSession.created_at.desc())
    )
    page = render_template(
        "console/account.html",
        user=user,
        unused_codes=unused_codes,
        sessions=list(sessions),
        this_session=access.current_session(),
        form=ConfirmForm(),
    )
    return no_store(Response(page))


@bp.post("/account/recovery-codes")
@require(Permission.CONSOLE)
def new_recovery_codes():
    try:
        codes = operations.replace_recovery_codes(access.current_staff())
    except operations.OperationError as error:
        flash(describe_error(error), "error")
        return redirect(url_for("console.account"))
    page = render_template(
        "console/recovery_codes.html",
        codes=[two_factor.format_recovery_code(c) for c in codes],
        next_url=url_for("console.account"),
    )
    return no_store(Response(page))


@bp.route("/tokens", methods=["GET", "POST"])
@require(Permission.API_TOKENS)
def tokens():
    staff_user = access.current_staff()
    estates = access.estates_seen(staff_user, Permission.API_TOKENS, Estate.code)
    lifetimes = current_app.config["API_TOKEN_LIFETIME_DAYS"]
    form = ApiTokenForm(lifetime_days=lifetimes[0])  # the default, unless another is chosen
    form.lifetime_days.choices = [(days, _("%(days)s days", days=days)) for days in lifetimes]
    form.estates.choices = [(e.id, e.name) for e in estates]
    new_token = new_record = None
    if form.validate_on_submit():
        chosen = [e for e in estates if e.id in set(form.estates.data or [])]
        new_token, new_record = operations.create_api_token(
            staff_user, form.name.data, form.lifetime_days.data, chosen
        )
    records = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.staff_user_id == staff_user.id)
        .order_by(ApiToken.created_at.desc())
    )
    response = Response(
        render_template(
            "console/tokens.html",
            form=form,
            records=list(records),
            new_token=new_token,
            new_record=new_record,
            now=utcnow(),
            revoke_form=ConfirmForm(),
        ),
        status=form_status(form),
    )
    response.headers["Cache-Control"] = "no-store"  # a new token is shown only here, once
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@require(Permission.API_TOKENS)
def revoke_token(token_id):
    record = db.get_or_404(ApiToken, token_id)
    if record.staff_user_id != access.current_staff().id:
        abort(404)
    operations.revoke_api_token(record, access.current_staff())
    flash(_("Token %(name)s revoked.", name=record.name))
    return redirect(url_for("console.tokens"))


@bp.post("/sign-out-everywhere")
@require(Permission.CONSOLE)
def sign_out_everywhere():
    count = operations.sign_out_everywhere(access.current_staff())
    flash(_("Signed out of %(count)s sessions.", count=count))
    return redirect(url_for("console.sign_in"))
