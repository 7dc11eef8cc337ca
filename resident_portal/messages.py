"""Turning the untranslated messages of registry.py and operations.py into the reader's language."""

from flask_babel import get_locale
from flask_babel import gettext as _

from .registry import FIELD_LABELS, Problem


def describe_problem(problem: Problem) -> str:
    params = dict(problem.params)
    if "field" in params:
        params["field"] = _(params["field"])
    if isinstance(params.get("problem"), Problem):  # a problem within a part (a survey item)
        params["problem"] = describe_problem(params["problem"])
    if "columns" in params:
        params["columns"] = ", ".join(_(FIELD_LABELS[c]) for c in params["columns"])
    text = _(problem.message, **params)
    if problem.line:
        return _("Line %(line)s: %(problem)s", line=problem.line, problem=text)
    return text


def describe_error(error) -> str:
    """An operations.OperationError in the reader's language."""
    return _(error.message, **error.params)


def current_locale() -> str:
    """The reader's locale as a string ("zh_Hans_CN" or "en"), for choosing item texts."""
    return str(get_locale())
