"""The ground package stands under the features: no module of resident_portal/ imports survey
or contributions, except the app factory that registers them (docs/architecture.md)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GROUND = ROOT / "resident_portal"
FEATURES = ("survey", "contributions")
APP_FACTORY = GROUND / "__init__.py"
# Alembic revisions are scripts Alembic loads by path (no package, never imported by the
# application), each frozen at its revision: 0006 counted existing surveys with the survey
# package's tally when it was written.
NOT_MODULES = GROUND / "migrations"


def feature_imports(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, module) of every import of a feature in `source`, however it is written:
    import x, from x import y, from x.y import z, importlib.import_module("x…")."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        found += [(node.lineno, name) for name in names if name.split(".")[0] in FEATURES]
    return found


def ground_modules() -> list[Path]:
    return sorted(
        path
        for path in GROUND.rglob("*.py")
        if path != APP_FACTORY and not path.is_relative_to(NOT_MODULES)
    )


def test_no_ground_module_but_the_app_factory_imports_a_feature():
    modules = ground_modules()
    assert GROUND / "overview.py" in modules and GROUND / "reports" / "figures.py" in modules
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules
        for line, name in feature_imports(path.read_text(encoding="utf-8"), str(path))
    ]
    assert not offending, "\n".join(offending)


def test_the_app_factory_registers_the_features():
    assert {name.split(".")[0] for _, name in feature_imports(APP_FACTORY.read_text())} == set(
        FEATURES
    )


@pytest.mark.parametrize(
    "source",
    [
        "import survey",
        "import survey.models as m",
        "from survey import tally",
        "from contributions.models import Campaign",
        "def f():\n    from survey.results import compute",
        "import importlib\nimportlib.import_module('contributions.tracker')",
        "__import__('survey')",
    ],
)
def test_every_way_of_importing_is_seen(source):
    assert feature_imports(source)


@pytest.mark.parametrize(
    "source", ["from . import overview", "from .reports import figures", "import surveys_x"]
)
def test_the_ground_own_imports_are_not_flagged(source):
    assert not feature_imports(source)


def test_the_renovation_is_hosted_not_imported():
    """resident_portal/renovation/ is a feature hosted by the ground package, like the reports:
    only the app factory imports it (docs/architecture.md)."""
    renovation = GROUND / "renovation"
    offending = []
    for path in ground_modules():
        if path.is_relative_to(renovation):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any("renovation" in name for name in names):
                offending.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offending, "\n".join(offending)
