"""A survey's life in the console: extending the closing time, cancelling before any ballot.
The changes (and their refusals) are in survey/operations.py; the CLI does the same."""

from flask import flash, g, redirect, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from resident_portal import access
from resident_portal.access import Permission, require
from resident_portal.common import CHINA, OperationError, in_china, to_utc
from resident_portal.forms import form_status
from resident_portal.messages import current_locale, describe_error

from .. import operations
from ..blueprint import bp, survey_estate
from ..forms import CancelForm, ExtendForm


def _back():
    return redirect(
        url_for("survey.console_survey", estate_code=g.estate.code, survey_id=g.survey.id),
        code=303,
    )


@bp.route("/console/<estate_code>/surveys/<int:survey_id>/extend", methods=["GET", "POST"])
@require(Permission.SURVEY_MANAGE, estate_of=survey_estate)
def console_extend(estate_code, survey_id):
    survey = g.survey
    form = ExtendForm()
    if not form.is_submitted():
        form.closes_at.data = in_china(survey.closes_at).replace(tzinfo=None)
    if form.validate_on_submit():
        try:
            operations.extend_survey(
                survey,
                to_utc(form.closes_at.data.replace(tzinfo=CHINA)),
                form.reason.data,
                staff_user=access.current_staff(),
            )
        except OperationError as error:
            # Beside the field it is about: the reason, or else the closing time.
            about_reason = error.message in operations.REASON_REFUSALS
            (form.reason if about_reason else form.closes_at).errors.append(describe_error(error))
        else:
            flash(
                _(
                    "The vote now closes at %(time)s.",
                    time=format_datetime(survey.closes_at, "short"),
                )
            )
            return _back()
    return render_template(
        "survey/console_extend.html",
        estate=g.estate,
        survey=survey,
        form=form,
        extensions=operations.extensions_of(survey),
        locale=current_locale(),
    ), form_status(form)


@bp.route("/console/<estate_code>/surveys/<int:survey_id>/cancel", methods=["GET", "POST"])
@require(Permission.SURVEY_MANAGE, estate_of=survey_estate)
def console_cancel(estate_code, survey_id):
    survey = g.survey
    form = CancelForm()
    if form.validate_on_submit():
        try:
            operations.cancel_survey(survey, form.reason.data, staff_user=access.current_staff())
        except OperationError as error:
            form.reason.errors.append(describe_error(error))
        else:
            flash(_("The survey is cancelled."))
            return _back()
    return render_template(
        "survey/console_cancel.html",
        estate=g.estate,
        survey=survey,
        form=form,
        locale=current_locale(),
    ), form_status(form)
