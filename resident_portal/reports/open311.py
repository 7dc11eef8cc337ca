"""Open311 GeoReport v2 at /open311/v2/, so city systems can read and file quality reports.

jurisdiction_id = estate code, service_code = report category, status open/closed with
status_notes. Reads are public (like the estate's board: no personal data, hidden reports
left out); filing needs an API key of that estate, made in the console. Times carry +08:00.
"""

import re
from datetime import datetime, timedelta
from xml.etree import ElementTree  # nosec B405 - only writes XML answers, never parses any

from flask import Blueprint, Response, jsonify, request, url_for
from flask_babel import force_locale
from sqlalchemy import select

from ..access import public
from ..common import OperationError, in_china, to_utc
from ..estates import estate_by_code
from ..extensions import csrf, db
from ..models import Estate, utcnow
from ..privacy import mask_phone_numbers
from . import operations
from .models import CATEGORY_LABELS, Category, Report, Status

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)  # machine clients authenticate POSTs with api_key, not cookies

DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Characters XML 1.0 forbids: C0 controls except tab, newline and carriage return; U+FFFE/FFFF.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Open311Error(Exception):
    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code = code
        self.description = description


def _format(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Open311Error(404, "format must be json or xml")
    return fmt


def _render(fmt: str, root: str, item: str, rows: list[dict], status: int = 200) -> Response:
    if fmt == "json":
        response = jsonify(rows)
    else:
        top = ElementTree.Element(root)
        for row in rows:
            element = ElementTree.SubElement(top, item)
            for key, value in row.items():
                _xml_value(ElementTree.SubElement(element, key), value)
        body = ElementTree.tostring(top, encoding="utf-8", xml_declaration=True)
        response = Response(body, mimetype="text/xml")
    response.status_code = status
    return response


def _xml_value(element, value) -> None:
    if isinstance(value, list):
        for entry in value:
            _xml_value(
                ElementTree.SubElement(element, "format" if isinstance(entry, str) else "endpoint"),
                entry,
            )
    elif isinstance(value, dict):
        for key, inner in value.items():
            _xml_value(ElementTree.SubElement(element, key), inner)
    elif value is None:
        element.text = ""
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        # Text typed by residents (or echoed from a query) may hold control characters that
        # XML 1.0 cannot carry at all: ElementTree would write a document no client can parse.
        element.text = NOT_XML.sub("\ufffd", str(value))


@bp.errorhandler(Open311Error)
def open311_error(error: Open311Error):
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return _render(
        fmt, "errors", "error", [{"code": error.code, "description": error.description}], error.code
    )


def _estate() -> Estate:
    code = request.values.get("jurisdiction_id", "").strip()
    if not code:
        raise Open311Error(400, "jurisdiction_id is required (the estate code)")
    estate = estate_by_code(code)
    if estate is None:
        raise Open311Error(404, f"no jurisdiction {code}")
    return estate


def _time(moment: datetime | None) -> str | None:
    """Stored naive UTC → W3C datetime in China Standard Time."""
    if moment is None:
        return None
    return in_china(moment).isoformat(timespec="seconds")


def _service(category: Category) -> dict:
    with force_locale("zh_Hans_CN"):
        name = str(CATEGORY_LABELS[category])
    return {
        "service_code": category.value,
        "service_name": name,
        "description": name,
        "metadata": False,
        "type": "realtime",
        "keywords": category.value,
        "group": "quality",
    }


def _request_row(report: Report) -> dict:
    closed = not report.status.is_open
    return {
        "service_request_id": str(report.id),
        "status": "closed" if closed else "open",
        # Public like the board: no room, no phone numbers (issue 12).
        "status_notes": mask_phone_numbers(report.status_notes) or None,
        "service_name": _service(report.category)["service_name"],
        "service_code": report.category.value,
        "description": mask_phone_numbers(report.description),
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": _time(report.created_at),
        "updated_datetime": _time(report.updated_at),
        "expected_datetime": _time(
            report.created_at + timedelta(days=report.category.overdue_days)
        ),
        "address": mask_phone_numbers(report.public_location),
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


@bp.get("/discovery.<fmt>")
@public
def discovery(fmt):
    fmt = _format(fmt)
    base = (
        request.url_root.rstrip("/")
        + url_for("open311.services", fmt="json").rsplit("/services", 1)[0]
    )
    row = {
        "changeset": "2026-11-22T00:00:00+08:00",
        "contact": "",
        "key_service": "",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base,
                "changeset": "2026-11-22T00:00:00+08:00",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    if fmt == "json":
        return jsonify(row)
    return _discovery_xml(row)


def _discovery_xml(row: dict) -> Response:
    top = ElementTree.Element("discovery")
    for key in ("changeset", "contact", "key_service"):
        ElementTree.SubElement(top, key).text = row[key]
    endpoints = ElementTree.SubElement(top, "endpoints")
    for endpoint in row["endpoints"]:
        element = ElementTree.SubElement(endpoints, "endpoint")
        for key in ("specification", "url", "changeset", "type"):
            ElementTree.SubElement(element, key).text = endpoint[key]
        formats = ElementTree.SubElement(element, "formats")
        for value in endpoint["formats"]:
            ElementTree.SubElement(formats, "format").text = value
    return Response(
        ElementTree.tostring(top, encoding="utf-8", xml_declaration=True), mimetype="text/xml"
    )


@bp.get("/services.<fmt>")
@public
def services(fmt):
    fmt = _format(fmt)
    _estate()
    return _render(fmt, "services", "service", [_service(c) for c in Category])


@bp.get("/services/<code>.<fmt>")
@public
def service_definition(code, fmt):
    fmt = _format(fmt)
    _estate()
    if code not in {c.value for c in Category}:
        raise Open311Error(404, f"no service {code}")
    # No service has extra attributes (metadata is false): the definition lists none.
    if fmt == "json":
        return jsonify({"service_code": code, "attributes": []})
    top = ElementTree.Element("service_definition")
    ElementTree.SubElement(top, "service_code").text = code
    ElementTree.SubElement(top, "attributes")
    return Response(
        ElementTree.tostring(top, encoding="utf-8", xml_declaration=True), mimetype="text/xml"
    )


def _moment(name: str) -> datetime | None:
    """A W3C datetime filter as naive UTC; without a zone it is China Standard Time."""
    value = request.args.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} must be a W3C datetime") from None
    try:
        return to_utc(moment)
    except OverflowError:  # 0001-01-01T00:00+08:00 is before year 1 in UTC
        raise Open311Error(400, f"{name} is out of range") from None


@bp.get("/requests.<fmt>")
@public
def requests_list(fmt):
    fmt = _format(fmt)
    estate = _estate()
    query = select(Report).where(Report.estate_id == estate.id, Report.hidden_at.is_(None))
    ids = request.args.get("service_request_id")
    if ids:
        # ASCII digits that fit the id column ("²" is a digit to isdigit(), not to int()).
        numbers = [i.strip() for i in ids.split(",")]
        wanted = [int(i) for i in numbers if i.isascii() and i.isdigit() and len(i) <= 9]
        query = query.where(Report.id.in_(wanted))
    else:
        end = _moment("end_date") or utcnow()
        if end < datetime.min + DEFAULT_WINDOW:
            raise Open311Error(400, "end_date is out of range")
        start = _moment("start_date") or end - DEFAULT_WINDOW
        if end - start > DEFAULT_WINDOW:
            raise Open311Error(400, "start_date and end_date may not span more than 90 days")
        query = query.where(Report.created_at >= start, Report.created_at <= end)
        codes = request.args.get("service_code")
        if codes:
            query = query.where(
                Report.category.in_(
                    [Category(c) for c in codes.split(",") if c in {x.value for x in Category}]
                )
            )
        status = request.args.get("status")
        if status:
            wanted_status = set(status.split(","))
            closed = [Status.RESOLVED, Status.CONFIRMED]
            if wanted_status == {"open"}:
                query = query.where(Report.status.not_in(closed))
            elif wanted_status == {"closed"}:
                query = query.where(Report.status.in_(closed))
    reports = db.session.scalars(query.order_by(Report.created_at.desc()).limit(MAX_RESULTS))
    return _render(fmt, "service_requests", "request", [_request_row(r) for r in reports])


@bp.post("/requests.<fmt>")
@public
def requests_create(fmt):
    fmt = _format(fmt)
    estate = _estate()
    if not operations.open311_key_valid(estate, request.form.get("api_key", "")):
        raise Open311Error(403, "api_key is missing or not valid for this jurisdiction")
    code = request.form.get("service_code", "")
    if code not in {c.value for c in Category}:
        raise Open311Error(400, "service_code is missing or unknown")
    address = request.form.get("address_string", "").strip()
    try:
        report = operations.submit_report(
            estate,
            Category(code),
            operations.Location(common_area=address),
            request.form.get("description", ""),
            [],
            reporter=None,
            source="open311",
        )
    except OperationError as error:
        raise Open311Error(
            400, error.message % error.params if error.params else error.message
        ) from None
    return _render(
        fmt,
        "service_requests",
        "request",
        [{"service_request_id": str(report.id), "service_notice": None, "account_id": None}],
    )


@bp.get("/requests/<int:request_id>.<fmt>")
@public
def request_detail(request_id, fmt):
    fmt = _format(fmt)
    estate = _estate()
    report = db.session.get(Report, request_id)
    if report is None or report.estate_id != estate.id or report.hidden_at is not None:
        raise Open311Error(404, f"no service request {request_id}")
    return _render(fmt, "service_requests", "request", [_request_row(report)])
