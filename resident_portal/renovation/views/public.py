"""The public notice board (公示牌) of an estate's renovation, reached from the poster QR
without signing in: what, by whom, stage and dates, money by source, progress, reports.
No personal data: parties are companies with their business contacts, reports are counts."""

from flask import Response, abort, render_template, request
from sqlalchemy import select

from ...access import public
from ...estates import estate_or_404
from ...extensions import db
from ...reports.photos import KEY, photo_store
from .. import money, record, satisfaction
from ..blueprint import bp, project_estate
from ..models import ProgressNote, ProgressPhoto, Project


def _render_board(estate, project):
    projects = record.projects_of(estate)
    context = {"estate": estate, "project": project, "projects": projects}
    if project is not None:
        lines = record.funding_lines(project)
        context.update(
            stages=record.stage_lines(project),
            lines=lines,
            budget=record.budget(lines),
            reports=record.report_summary(estate),
            percent=money.percent_text,
            share=money.share,
        )
        # Public only once closed: the figures of the survey's own secrecy rule.
        found = satisfaction.results_of([project.satisfaction_survey_id]).get(
            project.satisfaction_survey_id
        )
        context["satisfaction"] = found if found and found.closed else None
    return render_template("renovation/board.html", **context)


@bp.get("/e/<estate_code>/project")
@public
def board(estate_code):
    estate = estate_or_404(estate_code)
    projects = record.projects_of(estate)
    return _render_board(estate, projects[0] if projects else None)


@bp.get("/e/<estate_code>/project/<int:renovation_id>")
@public
def board_project(estate_code, renovation_id):
    estate = project_estate({"estate_code": estate_code, "renovation_id": renovation_id})
    return _render_board(estate, db.session.get(Project, renovation_id))


@bp.get("/e/<estate_code>/project/photos/<key>.jpg")
@public
def photo(estate_code, key):
    """A progress photo: public like the board (a building site, re-encoded without metadata),
    and only photos of this estate's progress notes."""
    estate = estate_or_404(estate_code)
    if not KEY.match(key):
        abort(404)
    found = db.session.scalar(
        select(ProgressPhoto.id)
        .join(ProgressNote, ProgressNote.id == ProgressPhoto.note_id)
        .join(Project, Project.id == ProgressNote.project_id)
        .where(ProgressPhoto.photo_key == key, Project.estate_id == estate.id)
        .limit(1)
    )
    if found is None:
        abort(404)
    data = photo_store().read(key, thumbnail=request.args.get("size") == "thumb")
    if data is None:
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
