"""The read-only API for planners' own systems (/api/v1): what its views share, and the
registration point of its OpenAPI document.

Every feature contributes its own paths and schemas to the one document at
/api/v1/openapi.json (`register_openapi`; survey/openapi.py, contributions/openapi.py,
reports/openapi.py), as it contributes figures to the overview (figures.py). The ground package
never names a feature: create_app registers them. Callers authenticate as on the survey
results: a staff session or `Authorization: Bearer <token>` (tokens from the console).
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import g, request

from . import access
from .models import Estate

# --- which estates a list answers for -------------------------------------------------------


def requested_estates(permission: access.Permission) -> list[Estate]:
    """?estate=CODE (checked by @require: 404 unknown, 403 not the caller's) gives that
    estate; otherwise every estate in which the caller holds `permission`, narrowed to
    ?district=NAME if given (a district with none of them answers an empty list)."""
    if g.get("estate") is not None:
        return [g.estate]
    estates = access.estates_seen(access.current_staff(), permission)
    district = request.args.get("district")
    if district:
        estates = [e for e in estates if e.district == district]
    return estates


def estate_ref(estate: Estate) -> dict:
    return {"code": estate.code, "name": estate.name, "district": estate.district}


# Schema pieces every part may use ($ref "#/components/schemas/…").
ESTATE_REF = {
    "type": "object",
    "required": ["code", "name", "district"],
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "district": {"type": ["string", "null"]},
    },
}
PERCENT = {
    "type": "string",
    "pattern": r"^-?\d+\.\d{2}$",
    "description": "a percentage with two decimals, the exact ratio rounded half-up (as "
    "every page and file of the portal shows it)",
}
FEN = {"type": "integer", "description": "money in fen (1/100 yuan), exact"}
LIST_PARAMETERS = [
    {
        "name": "estate",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "estate code: that estate only",
    },
    {
        "name": "district",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "district name: the caller's estates in that district",
    },
]
ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
}


def errors(*codes) -> dict:
    """Documented error answers of an operation."""
    text = {
        401: "no valid token or session (an expired or revoked token included)",
        403: "not allowed for this estate (or outside the estates a token is limited to)",
        404: "no such survey or estate",
    }
    return {
        str(c): {
            "description": text[c],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for c in codes
    }


def json_answer(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# --- the OpenAPI document, assembled from the features' parts -------------------------------


@dataclass(frozen=True)
class OpenApiPart:
    """What one feature adds to the document: its paths and schemas (functions, called with
    an app context: some state the law from survey/rules.py in both languages) and a
    sentence or two for the document's description."""

    name: str
    position: int
    paths: Callable[[], dict]
    schemas: Callable[[], dict]
    description: str = ""


OPENAPI_PARTS: dict[str, OpenApiPart] = {}


def register_openapi(part: OpenApiPart) -> OpenApiPart:
    """Register (or replace, by name) a feature's part; idempotent, as figures.register."""
    OPENAPI_PARTS[part.name] = part
    return part


def document() -> dict:
    parts = sorted(OPENAPI_PARTS.values(), key=lambda p: (p.position, p.name))
    paths: dict = {}
    schemas: dict = {}
    for part in parts:
        paths.update(part.paths())
        schemas.update(part.schemas())
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("EstateRef", ESTATE_REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Resident Portal results API",
            "version": "1",
            "description": " ".join(p.description for p in parts if p.description),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "rp_session"},
            },
            "schemas": schemas,
        },
    }
