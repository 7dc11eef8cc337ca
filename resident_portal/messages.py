"""Turning the untranslated messages of registry.py and operations.py into the reader's language."""

from flask import g, has_app_context
from flask_babel import get_locale, get_translations
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


def page_translations():
    """flask_babel.get_translations(), kept on `g` while the locale is the same object: Flask-Babel
    looks its domain, directories and cache up again for every string of a page (a dozen on a
    ballot page, about two thirds of each one's cost). force_locale (letters, jobs) sets another
    locale object, so it is looked up again there and after."""
    if not has_app_context():
        return get_translations()
    locale = get_locale()
    kept = g.get("_page_translations")
    if kept is None or kept[0] is not locale:
        kept = g._page_translations = (locale, get_translations())
    return kept[1]


def install_template_gettext(app) -> None:
    """The templates' _(), ngettext() and pgettext(), as Flask-Babel installs them (newstyle),
    through page_translations."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
    )
