"""The registration point for parts of the one OpenAPI document (/api/v1/openapi.json).

The survey feature serves the document (survey/openapi.py); other features add their paths and
schemas here, so that neither has to import the other (create_app registers them).
"""

PATHS: dict[str, dict] = {}
SCHEMAS: dict[str, dict] = {}


def add(paths: dict, schemas: dict) -> None:
    """Add (or replace, by path and name) a feature's part; idempotent like the providers."""
    PATHS.update(paths)
    SCHEMAS.update(schemas)
