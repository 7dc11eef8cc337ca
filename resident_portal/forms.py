"""Forms of the registry, sign-in and console pages. Every POST carries a CSRF token."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .operations import CORRECTION_MAX


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (several choices), easier with a thumb than a multi-select."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# WTForms' own message, translated by WTForms' catalogs (a variable: not extracted into ours).
NOT_A_DATETIME = "Not a valid datetime value."


def plausible_moment(form, field):
    """Validator of dates and times typed in Beijing time: years 1900 to 2999. Anything further
    off is a typing mistake, and 0001-01-01 00:00 cannot even be converted to UTC."""
    if field.data is not None and not 1900 <= field.data.year <= 2999:
        raise ValidationError(field.gettext(NOT_A_DATETIME))


NUMBER_BETWEEN = "Number must be between %(min)s and %(max)s."  # WTForms' own, as above


class IntegerRange(NumberRange):
    """NumberRange(min, max) that also refuses a 2,000-digit number: WTForms' own turns it into
    a float for its NaN check and overflows (OverflowError, a 500)."""

    def __call__(self, form, field):
        if isinstance(field.data, int) and not self.min <= field.data <= self.max:
            message = field.gettext(NUMBER_BETWEEN) % {"min": self.min, "max": self.max}
            raise ValidationError(message)
        super().__call__(form, field)


class AccessCodeForm(FlaskForm):
    code = StringField(
        _l("Access code"),
        validators=[DataRequired(message=_l("Type the access code from your household letter."))],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )


class StaffSignInForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(message=_l("Enter your username.")), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class PreferencesForm(FlaskForm):
    """Language and age-friendly mode; posted by the buttons in every page header."""

    language = StringField()
    large_text = StringField()
    next = HiddenField()


class ConfirmForm(FlaskForm):
    """A button that changes state and needs nothing but the CSRF token (sign out, re-issue…)."""


class RegistryUploadForm(FlaskForm):
    register = FileField(
        _l("Household register (CSV or XLSX)"),
        validators=[
            FileRequired(message=_l("Choose the register file.")),
            FileAllowed(
                ["csv", "xlsx", "txt"], message=_l("The register must be a CSV or XLSX file.")
            ),
        ],
    )


class IssueCodesForm(FlaskForm):
    which = RadioField(
        _l("Households"),
        choices=[
            SelectChoice("missing", _l("Only households that have no code yet")),
            SelectChoice("all", _l("Every household (old letters stop working)")),
        ],
        default="missing",
        validators=[DataRequired()],
    )


class ReissueAllForm(FlaskForm):
    """Reissuing every code signs every household out: the estate code must be typed."""

    typed_estate_code = StringField(
        _l("Estate code"),
        validators=[
            DataRequired(message=_l("Type the estate code to confirm.")),
            Length(max=64),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("What the token is for"),
        validators=[
            DataRequired(message=_l("Name the token, e.g. district dashboard.")),
            Length(max=100),
        ],
    )
    # Choices (days) come from API_TOKEN_LIFETIME_DAYS; estates from the staff member's own.
    lifetime_days = SelectField(
        _l("Valid for"),
        coerce=int,
        validate_choice=False,
        validators=[DataRequired(message=_l("Choose how long the token stays valid."))],
    )
    estates = MultiCheckboxField(
        _l("Estates it may read (none ticked: all of yours)"),
        coerce=int,
        validate_choice=False,
    )

    def validate_lifetime_days(self, field):
        if field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Choose one of the lifetimes offered."))

    def validate_estates(self, field):
        offered = {value for value, _label in field.choices}
        if any(estate_id not in offered for estate_id in field.data or []):
            raise ValidationError(_l("Choose only among your own estates."))


class SecondFactorForm(FlaskForm):
    """The code from the authenticator app, or a recovery code."""

    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(message=_l("Type the 6-digit code from the app, or a recovery code.")),
            Length(max=32),
        ],
        render_kw={
            "autocomplete": "one-time-code",
            "autocapitalize": "characters",
            "spellcheck": "false",
        },
    )
    next = HiddenField()


class EnrolSecondFactorForm(FlaskForm):
    code = StringField(
        _l("The 6-digit code the app shows now"),
        validators=[
            DataRequired(message=_l("Type the 6-digit code the app shows.")),
            Length(max=32),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


def scope_choices(estate) -> list[SelectChoice]:
    """ "The whole estate", each building, each unit: for forms of surveys and campaigns.
    Values: "", "b:<building>", "u:<building>:<unit>" (see parse_scope)."""
    choices = [SelectChoice("", _l("The whole estate"))]
    for building in estate.sorted_buildings:
        choices.append(
            SelectChoice(f"b:{building.number}", _l("Building %(b)s", b=building.number))
        )
        for unit in building.sorted_units:
            choices.append(
                SelectChoice(
                    f"u:{building.number}:{unit.number}",
                    _l("Building %(b)s, unit %(u)s", b=building.number, u=unit.number),
                )
            )
    return choices


def parse_scope(value: str | None) -> tuple[str | None, str | None]:
    """The (building, unit) numbers of a scope_choices value."""
    if value and value.startswith("b:"):
        return value[2:], None
    if value and value.startswith("u:"):
        _, building, unit = value.split(":", 2)
        return building, unit
    return None, None


# A refused form is shown again with its messages beside the fields and this status (not 400,
# which stays for requests that are malformed: a missing CSRF token, NUL characters).
REFUSED = 422


def form_status(form=None, *refusals) -> int:
    """422 when the form, or another check of the same submission, refused it; else 200."""
    return REFUSED if (form is not None and form.errors) or any(refusals) else 200


class VisitForm(FlaskForm):
    """One line of a door-to-door list: what came of the visit."""

    outcome = RadioField(
        _l("Outcome of the visit"),
        validators=[DataRequired(message=_l("Choose what came of the visit."))],
    )
    note = StringField(_l("Note (optional)"), validators=[Length(max=200)])

    def __init__(self, *args, **kwargs):
        from .models import VISIT_LABELS

        super().__init__(*args, **kwargs)
        self.outcome.choices = [(o.value, label) for o, label in VISIT_LABELS.items()]


# --- personal data (personal_data.py, personal_data_console.py) ---------------------------


class CorrectionForm(FlaskForm):
    text = TextAreaField(
        _l("What is wrong, and what should it be?"),
        validators=[
            DataRequired(message=_l("Say what is wrong and what it should be.")),
            Length(max=CORRECTION_MAX),
        ],
    )


class OrganiserForm(FlaskForm):
    organiser = StringField(
        _l("Organiser (who collects and keeps residents' data)"),
        validators=[DataRequired(message=_l("Name the organiser.")), Length(max=200)],
    )
    contact = StringField(
        _l("Contact (phone or address)"),
        validators=[
            DataRequired(message=_l("Give a way to reach the organiser.")),
            Length(max=100),
        ],
    )


class HandledForm(FlaskForm):
    note = TextAreaField(
        _l("What was done"),
        validators=[
            DataRequired(message=_l("Write what was done, for the record.")),
            Length(max=1000),
        ],
    )
