"""Forms of quality reports, and what a filled report form means for reports/operations.py."""

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .. import access
from ..extensions import db
from ..models import Building, Household, Unit
from . import operations
from .models import CATEGORY_LABELS, STATUS_LABELS
from .photos import PhotoError, reencode

CATEGORY_CHOICES = [SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()]


class ReportForm(FlaskForm):
    category = SelectField(
        _l("What kind of problem"), choices=CATEGORY_CHOICES, validators=[DataRequired()]
    )
    where = SelectField(_l("Where"), validators=[DataRequired()])
    common_area = StringField(
        _l("Common area or more precise place (optional)"), validators=[Optional(), Length(max=200)]
    )
    description = TextAreaField(
        _l("What is wrong"),
        validators=[DataRequired(message=_l("Describe the problem.")), Length(max=2000)],
    )
    photos = MultipleFileField(_l("Photos (up to 3)"))


class StatusForm(FlaskForm):
    status = SelectField(
        _l("New status"),
        validators=[DataRequired()],
        choices=[SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()],
    )
    note = TextAreaField(_l("Note for the residents"), validators=[Length(max=1000)])
    photo = FileField(_l("Photo (optional)"))


class ReasonForm(FlaskForm):
    reason = StringField(
        _l("Reason"), validators=[DataRequired(message=_l("Give the reason.")), Length(max=1000)]
    )


class KeyForm(FlaskForm):
    name = StringField(
        _l("Which system uses the key"), validators=[DataRequired(), Length(max=100)]
    )


# --- forms to domain -----------------------------------------------------------------------


def where_choices(household: Household) -> list[tuple[str, str]]:
    """The reporter's households, every building and unit of the estate, or a common area."""
    choices = [
        (f"h:{h.id}", _("My home: %(address)s", address=h.address))
        for h in access.households_of_owner(household)
    ]
    for building in household.estate.sorted_buildings:
        choices.append(
            (f"b:{building.id}", _("Building %(number)s (common parts)", number=building.number))
        )
        for unit in building.sorted_units:
            choices.append(
                (
                    f"u:{unit.id}",
                    _(
                        "Building %(building)s, unit %(unit)s (stairwell)",
                        building=building.number,
                        unit=unit.number,
                    ),
                )
            )
    choices.append(("c", _("Elsewhere in the estate (describe below)")))
    return choices


def _id(text: str) -> int:
    """The id in a "where" value ("h:12"). It also arrives from the query string, unchecked:
    400 unless it is a number that fits the id columns."""
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        abort(400)
    return int(text)


def location_of(where: str, household: Household, common_area: str) -> operations.Location:
    kind, _sep, ident = where.partition(":")
    if kind == "h":
        own = {h.id: h for h in access.households_of_owner(household)}
        if _id(ident) not in own:
            abort(400)
        return operations.Location(household=own[int(ident)], common_area=common_area)
    if kind == "b":
        return operations.Location(
            building=db.get_or_404(Building, _id(ident)), common_area=common_area
        )
    if kind == "u":
        unit = db.get_or_404(Unit, _id(ident))
        return operations.Location(building=unit.building, unit=unit, common_area=common_area)
    return operations.Location(common_area=common_area)


def photos_from(files) -> list:
    """Re-encode uploaded photos; a refused photo raises PhotoError with a clear message."""
    chosen = [f for f in files or [] if f and f.filename]
    if len(chosen) > operations.MAX_PHOTOS:
        raise PhotoError("Attach at most 3 photos.")
    return [reencode(f.read()) for f in chosen]
