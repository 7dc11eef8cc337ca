"""Codes just issued, held for the sign-in that issued them: their page, the letters to print
(HTML, PDF, or a job for many) and the ZIP of codes."""

from flask import Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import access, operations, print_jobs
from ..access import Permission, require
from ..blueprint import no_store
from ..extensions import db
from ..forms import ConfirmForm
from ..jobs import operations as job_operations
from ..letters import letters_for, letters_zip
from ..models import CodeBatch, utcnow
from ..pdf import pdf_response, wants_pdf
from ..spreadsheets import download
from . import bp
from .posters import print_contact


def _held_batch(batch_id: int) -> tuple[CodeBatch, str]:
    """A batch held for this very sign-in, in this estate, not expired, and the key of its
    codes; otherwise 404, whoever asks (other staff, other estates, later sign-ins)."""
    batch = db.session.get(CodeBatch, batch_id)
    record = access.current_session()
    key = access.codes_key()
    if (
        batch is None
        or record is None
        or key is None
        or batch.estate_id != g.estate.id
        or batch.auth_session_id != record.id
        or batch.expires_at <= utcnow()
    ):
        minutes = int(current_app.config["HELD_CODES_LIFETIME"].total_seconds() // 60)
        page = render_template(
            "errors/error.html",
            status=404,
            title=_("These codes can no longer be shown"),
            text=_(
                "Codes just issued can be printed for %(minutes)s minutes, and only from the "
                "sign-in that issued them. To print a letter now, issue a new code for the "
                "household: its old code then stops working.",
                minutes=minutes,
            ),
        )
        abort(no_store(Response(page, status=404)))
    return batch, key


@bp.get("/<estate_code>/codes/issued/<int:batch_id>")
@require(Permission.CODES_ISSUE)
def codes_issued(estate_code, batch_id):
    batch, key = _held_batch(batch_id)
    issued, left_out = operations.held_codes(batch, key)
    page = render_template(
        "console/codes_issued.html",
        estate=g.estate,
        batch=batch,
        count=len(issued),
        left_out=left_out,
        contact=print_contact(),
        sync_limit=current_app.config["SYNC_LETTERS_LIMIT"],
        form=ConfirmForm(),
    )
    return no_store(Response(page))


@bp.get("/<estate_code>/codes/issued/<int:batch_id>/letters")
@require(Permission.CODES_ISSUE)
def codes_letters(estate_code, batch_id):
    """The letters to print; `?format=pdf` the same as a PDF (up to SYNC_LETTERS_LIMIT letters:
    more are made by a job, letters_job)."""
    batch, key = _held_batch(batch_id)
    issued, _left_out = operations.held_codes(batch, key)
    operations.record_personal_data_access(
        "export.letters",
        staff_user=access.current_staff(),
        estate=g.estate,
        batch=batch.id,
        households=len(issued),
    )
    pdf = wants_pdf(request)
    if pdf and len(issued) > current_app.config["SYNC_LETTERS_LIMIT"]:
        abort(404)
    html = print_jobs.letters_html(
        g.estate,
        letters_for(issued),
        batch.expires_at,
        contact=print_contact(),
        issued_at=batch.issued_at,
    )
    if pdf:
        response = pdf_response(html, f"{g.estate.code}-letters.pdf", request.host_url)
        return no_store(response)
    return no_store(Response(html))


@bp.post("/<estate_code>/codes/issued/<int:batch_id>/job")
@require(Permission.CODES_ISSUE)
def letters_job(estate_code, batch_id):
    """The letters of a held batch as a PDF or a ZIP, made in the background. The key of the
    codes goes with the queued task only; the result serves this sign-in until the batch
    expires, then it is deleted."""
    batch, key = _held_batch(batch_id)
    kind = request.form.get("format") if request.form.get("format") in ("pdf", "zip") else "pdf"
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = job_operations.submit(
        "letters",
        staff_user=access.current_staff(),
        estates=[g.estate],
        estate=g.estate,
        params={
            "batch_id": batch.id,
            "format": kind,
            "estate_code": g.estate.code,
            "contact": print_contact(),
        },
        secrets={"key": key},
        auth_session_id=access.current_session().id,
        expires_at=batch.expires_at,
        base_url=request.host_url,
    )
    return redirect(url_for("jobs.page", job_id=job.id), code=303)


@bp.get("/<estate_code>/codes/issued/<int:batch_id>/codes.zip")
@require(Permission.CODES_ISSUE)
def codes_zip(estate_code, batch_id):
    batch, key = _held_batch(batch_id)
    issued, _left_out = operations.held_codes(batch, key)
    operations.record_personal_data_access(
        "export.codes_zip",
        staff_user=access.current_staff(),
        estate=g.estate,
        batch=batch.id,
        households=len(issued),
    )
    body = letters_zip(letters_for(issued))
    return no_store(download(body, f"{g.estate.code}-household-codes.zip"))
