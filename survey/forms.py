"""Forms of surveys and ballots. Ballot forms are built per survey: one radio group per item."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from resident_portal.forms import IntegerRange, MultiCheckboxField, plausible_moment

from .catalogue import CATALOGUE
from .models import (
    CATEGORY_LABELS,
    CHOICE_LABELS,
    CORRECTION_LABELS,
    KIND_LABELS,
    MATTER_LABELS,
    Survey,
)
from .operations import MAX_SUGGESTION


class SurveyForm(FlaskForm):
    title = StringField(_l("Title (Chinese)"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), Length(max=200)])
    organiser = StringField(
        _l("Organiser (printed on the notice)"), validators=[Optional(), Length(max=200)]
    )
    contact = StringField(
        _l("Organiser's contact (phone or place)"), validators=[Optional(), Length(max=100)]
    )
    kind = RadioField(
        _l("Kind"),
        choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()],
        validators=[DataRequired()],
    )
    matter = SelectField(
        _l("Art. 278 matter (formal decisions only)"),
        choices=[SelectChoice("", "—")]
        + [SelectChoice(m.value, label) for m, label in MATTER_LABELS.items()],
        validators=[Optional()],
    )
    scope = SelectField(_l("Who votes"), validators=[Optional()])
    opens_at = DateTimeLocalField(
        _l("Opens (Beijing time)"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(), plausible_moment],
    )
    closes_at = DateTimeLocalField(
        _l("Closes (Beijing time)"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(), plausible_moment],
    )
    max_priorities = IntegerField(
        _l("Priority picks allowed (consultations; 0 for none)"),
        default=0,
        validators=[InputRequired(), IntegerRange(min=0, max=60)],
    )
    allow_suggestion = BooleanField(_l("Ask for a written suggestion"), default=True)
    items = MultiCheckboxField(
        _l("Renovation items"),
        choices=[SelectChoice(i.key, f"{i.title} · {i.title_en}") for i in CATALOGUE],
    )


class ItemForm(FlaskForm):
    category = SelectField(
        _l("Category"),
        choices=[SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()],
        validators=[DataRequired()],
    )
    title = StringField(_l("Title (Chinese)"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("Description (Chinese)"), validators=[Length(max=2000)])
    description_en = TextAreaField(_l("Description (English)"), validators=[Length(max=2000)])
    estimated_cost = StringField(_l("Estimated cost (yuan)"), validators=[Optional()])


class RollCorrectionForm(FlaskForm):
    household = SelectField(_l("Household"), validators=[DataRequired()])
    kind = RadioField(
        _l("Correction"),
        choices=[SelectChoice(k.value, label) for k, label in CORRECTION_LABELS.items()],
        validators=[DataRequired(message=_l("Choose what to correct."))],
    )
    area = StringField(_l("Correct area (m², as registered)"), validators=[Length(max=20)])
    owner_ref = StringField(_l("New owner's number"), validators=[Length(max=64)])
    reason = StringField(
        _l("Reason (shown on the public notice)"),
        validators=[DataRequired(message=_l("Give the reason.")), Length(max=500)],
    )


def ballot_form(survey: Survey, locale: str, *, paper: bool = False, formdata=None):
    """A form with `item_<id>` radio groups, priority picks and a suggestion when asked for."""

    class BallotForm(FlaskForm):
        pass

    for item in survey.items:
        setattr(
            BallotForm,
            f"item_{item.id}",
            RadioField(
                item.localized_title(locale),
                choices=[SelectChoice(c.value, label) for c, label in CHOICE_LABELS.items()],
                validators=[InputRequired(message=_l("Choose support, oppose or abstain."))],
            ),
        )
    if survey.max_priorities:
        BallotForm.priorities = MultiCheckboxField(
            _l("Your priorities (choose up to %(count)s)", count=survey.max_priorities),
            choices=[SelectChoice(str(i.id), i.localized_title(locale)) for i in survey.items],
        )
    if survey.allow_suggestion:
        BallotForm.suggestion = TextAreaField(
            _l("Your suggestion (optional)"), validators=[Length(max=MAX_SUGGESTION)]
        )
    if paper:
        BallotForm.household = SelectField(_l("Household"), validators=[DataRequired()])
        BallotForm.evidence = FileField(_l("Photo or scan of the signed sheet (recommended)"))
        BallotForm.reason = StringField(
            _l("Why is this ballot entered by staff?"),
            validators=[DataRequired(message=_l("Give the reason.")), Length(max=500)],
        )
    form = BallotForm(formdata=formdata) if formdata is not None else BallotForm()
    form.item_fields = [(item, form[f"item_{item.id}"]) for item in survey.items]
    return form
