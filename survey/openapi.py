"""The OpenAPI 3 description of the read-only results API, served at /api/v1/openapi.json.

The rules it states (quorum, approval) are the sentences of survey/rules.py, in Chinese and
English, as on the ballots and notices.
"""

import copy

from resident_portal import api
from resident_portal.api import OpenApiPart
from resident_portal.api import errors as _errors

from . import rules

COUNT = {
    "type": "object",
    "required": ["households", "heads", "area_m2"],
    "properties": {
        "households": {"type": "integer", "minimum": 0},
        "heads": {"type": "integer", "minimum": 0, "description": "owners, each counted once"},
        "area_m2": {
            "type": "string",
            "pattern": r"^\d+\.\d{2}$",
            "description": "exclusive area (专有部分面积) as registered, exact, m²",
        },
    },
}
CHOICE = {
    "type": "object",
    "required": ["heads", "area_m2"],
    "properties": {
        "heads": COUNT["properties"]["heads"],
        "area_m2": COUNT["properties"]["area_m2"],
    },
}
ITEM = {
    "type": "object",
    "required": [
        "id",
        "title",
        "category",
        "support",
        "oppose",
        "abstain",
        "priority_picks",
        "approved",
    ],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "category": {"type": "string", "enum": ["basic", "improvement", "upgrade"]},
        "support": {"oneOf": [{"$ref": "#/components/schemas/Choice"}, {"type": "null"}]},
        "oppose": {"oneOf": [{"$ref": "#/components/schemas/Choice"}, {"type": "null"}]},
        "abstain": {"oneOf": [{"$ref": "#/components/schemas/Choice"}, {"type": "null"}]},
        "priority_picks": {"type": ["integer", "null"], "minimum": 0},
        "approved": {
            "type": ["boolean", "null"],
            "description": "formal decisions only: quorum met and the rule satisfied "
            "(null for consultations, and wherever choice figures are withheld)",
        },
    },
}
# A satisfaction survey's items (kind "satisfaction", 满意度测评): the same figures under the
# answers' own names (survey/models.py SATISFACTION_NAMES). Not a vote: approved is null.
SATISFACTION_ITEM = {
    "type": "object",
    "required": [
        "id",
        "title",
        "category",
        "satisfied",
        "basically_satisfied",
        "unsatisfied",
        "priority_picks",
        "approved",
    ],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "category": ITEM["properties"]["category"],
        "satisfied": {
            "oneOf": [{"$ref": "#/components/schemas/Choice"}, {"type": "null"}],
            "description": "满意",
        },
        "basically_satisfied": {
            "oneOf": [{"$ref": "#/components/schemas/Choice"}, {"type": "null"}],
            "description": "基本满意",
        },
        "unsatisfied": {
            "oneOf": [{"$ref": "#/components/schemas/Choice"}, {"type": "null"}],
            "description": "不满意",
        },
        "priority_picks": {"type": ["integer", "null"], "minimum": 0},
        "approved": {"type": "null", "description": "a satisfaction survey is not a vote"},
    },
}
# The items of a survey's results: a satisfaction survey's speak satisfaction.
ITEMS = {
    "type": "array",
    "items": {
        "oneOf": [
            {"$ref": "#/components/schemas/Item"},
            {"$ref": "#/components/schemas/SatisfactionItem"},
        ]
    },
    "description": "Item for consultations and decisions; SatisfactionItem (satisfied, "
    "basically_satisfied, unsatisfied) for a satisfaction survey (kind satisfaction)",
}
SURVEY = {
    "type": "object",
    "required": ["id", "title", "kind", "rule", "scope", "status", "opens_at", "closes_at"],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "kind": {"type": "string", "enum": ["consultation", "decision", "satisfaction"]},
        "rule": {"type": ["string", "null"], "enum": ["majority", "three_quarters", None]},
        "scope": {
            "type": "object",
            "required": ["estate", "building", "unit"],
            "properties": {
                "estate": {"type": "string"},
                "building": {"type": ["string", "null"]},
                "unit": {"type": ["string", "null"]},
            },
        },
        "status": {"type": "string", "enum": ["draft", "open", "closed", "cancelled"]},
        "opens_at": {"type": "string", "format": "date-time"},
        "closes_at": {"type": "string", "format": "date-time"},
    },
}
SECRECY = (
    "Ballot secrecy: while a survey is open, no choice figures are given (support, oppose, "
    "abstain, priority picks, approval are null); participation is. After it closes, the "
    "survey's own scope gives its full result, the legal one; a building gives choice figures "
    "only if at least 5 owners of it took part and the withheld buildings together hold at "
    "least 5 participants, so that no small group can be read directly or by subtraction."
)
CHOICES_SHOWN = {
    "type": "boolean",
    "description": "false where the choice figures of this group are withheld (see the API "
    "description)",
}
RESULTS = {
    "type": "object",
    "required": [
        "survey",
        "eligible",
        "participated",
        "quorum_met",
        "choices_shown",
        "items",
        "by_building",
    ],
    "properties": {
        "survey": {"$ref": "#/components/schemas/Survey"},
        "eligible": {"$ref": "#/components/schemas/Count"},
        "participated": {"$ref": "#/components/schemas/Count"},
        "quorum_met": {"type": ["boolean", "null"]},
        "choices_shown": CHOICES_SHOWN,
        "items": ITEMS,
        "by_building": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["building", "eligible", "participated", "choices_shown", "items"],
                "properties": {
                    "building": {"type": "string"},
                    "eligible": {"$ref": "#/components/schemas/Count"},
                    "participated": {"$ref": "#/components/schemas/Count"},
                    "choices_shown": CHOICES_SHOWN,
                    "items": ITEMS,
                },
            },
        },
    },
}


def _with_rules() -> dict:
    """The schemas, with the law stated from survey/rules.py (needs an app context)."""
    survey, item, results = copy.deepcopy(SURVEY), copy.deepcopy(ITEM), copy.deepcopy(RESULTS)
    survey["properties"]["kind"]["description"] = (
        f"consultation: {rules.both_languages(lambda: rules.CONSULTATION)}; "
        f"decision: {rules.both_languages(lambda: rules.DECISION)}; "
        f"satisfaction: {rules.both_languages(lambda: rules.SATISFACTION)}"
    )
    survey["properties"]["rule"]["description"] = (
        "; ".join(
            f"{rule.value}: {rules.both_languages(lambda rule=rule: rules.approval(rule))}"
            for rule in rules.APPROVAL
        )
        + f" (null for consultations). {rules.both_languages(lambda: rules.MATTERS_SUMMARY)}"
    )
    results["properties"]["quorum_met"]["description"] = (
        f"decisions only (null for consultations): {rules.both_languages(lambda: rules.QUORUM)}"
    )
    item["properties"]["approved"]["description"] = (
        "formal decisions only: quorum met and the rule satisfied "
        f"({rules.both_languages(lambda: rules.QUORUM_LABEL)})"
    )
    return {"Survey": survey, "Item": item, "Results": results}


def _paths() -> dict:
    return {
        "/surveys": {
            "get": {
                "summary": "Surveys of the estates the caller may read",
                "parameters": [
                    {
                        "name": "estate",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "estate code",
                    }
                ],
                "responses": {
                    "200": {
                        "description": "surveys",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["surveys"],
                                    "properties": {
                                        "surveys": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Survey"},
                                        }
                                    },
                                }
                            }
                        },
                    },
                    **_errors(401, 403, 404),
                },
            }
        },
        "/surveys/{survey_id}/results": {
            "get": {
                "summary": "Results of one survey (live participation while it is open)",
                "parameters": [
                    {
                        "name": "survey_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "results",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Results"}}
                        },
                    },
                    **_errors(401, 403, 404),
                },
            }
        },
    }


def _schemas() -> dict:
    with_rules = _with_rules()
    return {
        "Count": COUNT,
        "Choice": CHOICE,
        "Item": with_rules["Item"],
        "SatisfactionItem": SATISFACTION_ITEM,
        "Survey": with_rules["Survey"],
        "Results": with_rules["Results"],
    }


# The survey results' part of the API's one document (resident_portal/api.py), first.
PART = OpenApiPart(
    name="survey",
    position=10,
    paths=_paths,
    schemas=_schemas,
    description="Read-only survey results for staff. Authenticate with a staff "
    "session or `Authorization: Bearer <token>` (tokens are created in the console). "
    "A token expires (90 days by default, chosen at creation), may be limited to some "
    "of its owner's estates, and is revoked when its owner signs out on every device or "
    "has the password or second factor reset. "
    "Aggregates only: no names, no single ballots. " + SECRECY,
)


def document() -> dict:
    """The whole document, as served at /api/v1/openapi.json."""
    return api.document()
