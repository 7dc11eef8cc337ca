"""Forms of surveys and ballots. Ballot forms are built per survey: one radio group per item.
At the end: what a filled survey or item form means for survey/operations.py."""

from functools import lru_cache

from flask_babel import gettext as _
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

from resident_portal.common import CHINA, N_, parse_yuan
from resident_portal.forms import IntegerRange, MultiCheckboxField, parse_scope, plausible_moment

from .catalogue import BY_KEY, CATALOGUE
from .definition import ItemDefinition
from .models import (
    CATEGORY_LABELS,
    CHOICE_LABELS,
    CORRECTION_LABELS,
    KIND_LABELS,
    MATTER_LABELS,
    SATISFACTION_LABELS,
    ItemCategory,
    Survey,
    SurveyKind,
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
        # A satisfaction survey is opened from its renovation project, never from this form.
        choices=[
            SelectChoice(k.value, label)
            for k, label in KIND_LABELS.items()
            if k is not SurveyKind.SATISFACTION
        ],
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


class ExtendForm(FlaskForm):
    closes_at = DateTimeLocalField(
        _l("New closing time (Beijing time)"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(), plausible_moment],
    )
    reason = TextAreaField(
        _l("Why is the vote extended? (printed on the notice)"),
        validators=[DataRequired(message=_l("Give the reason.")), Length(max=500)],
    )


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is the survey cancelled?"),
        validators=[DataRequired(message=_l("Give the reason.")), Length(max=500)],
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
    form_class = _ballot_form_class(
        survey.kind,
        tuple((item.id, item.localized_title(locale)) for item in survey.items),
        survey.max_priorities,
        survey.allow_suggestion,
        paper,
    )
    form = form_class(formdata=formdata) if formdata is not None else form_class()
    form.item_fields = [(item, form[f"item_{item.id}"]) for item in survey.items]
    return form


@lru_cache(maxsize=512)
def _ballot_form_class(
    kind, items: tuple, max_priorities: int, allow_suggestion: bool, paper: bool
):
    """The form class for a survey of this kind (its answers: support/oppose/abstain, or the
    satisfaction scale), these items (id, title in the page's language) and options.

    Built once per distinct key and reused: making a FlaskForm class (and its fields) was a
    tenth of a ballot page's CPU. The key holds everything the class depends on, so an edited
    title or a changed option makes a new class; the lazy labels still follow each request's
    language."""

    class BallotForm(FlaskForm):
        pass

    satisfaction = kind is SurveyKind.SATISFACTION
    labels = SATISFACTION_LABELS if satisfaction else CHOICE_LABELS
    required = (
        N_("Choose satisfied, basically satisfied or dissatisfied.")
        if satisfaction
        else N_("Choose support, oppose or abstain.")
    )

    for item_id, title in items:
        setattr(
            BallotForm,
            f"item_{item_id}",
            RadioField(
                title,
                choices=[SelectChoice(c.value, label) for c, label in labels.items()],
                validators=[InputRequired(message=_l(required))],
            ),
        )
    if max_priorities:
        BallotForm.priorities = MultiCheckboxField(
            _l("Your priorities (choose up to %(count)s)", count=max_priorities),
            choices=[SelectChoice(str(item_id), title) for item_id, title in items],
        )
    if allow_suggestion:
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
    return BallotForm


# --- forms to domain -----------------------------------------------------------------------


def definition_from_form(form: SurveyForm) -> dict:
    """The survey form as a JSON definition, for definition.parse_definition to check."""
    building, unit = parse_scope(form.scope.data)
    scope = {"building": building, "unit": unit}
    picked = [BY_KEY[key] for key in form.items.data if key in BY_KEY]
    return {
        "title": form.title.data,
        "title_en": form.title_en.data or "",
        "organiser": form.organiser.data or "",
        "contact": form.contact.data or "",
        "kind": form.kind.data,
        "matter": form.matter.data or None,
        "scope": scope,
        "opens_at": form.opens_at.data.replace(tzinfo=CHINA),
        "closes_at": form.closes_at.data.replace(tzinfo=CHINA),
        "max_priorities": form.max_priorities.data or 0,
        "allow_suggestion": bool(form.allow_suggestion.data),
        "items": [
            {
                "category": i.category.value,
                "title": i.title,
                "title_en": i.title_en,
                "description": i.description,
                "description_en": i.description_en,
            }
            for i in picked
        ],
    }


def item_definition(form: ItemForm) -> ItemDefinition | None:
    """The item form as an item, or None with the message beside the cost field."""
    cost = None
    if form.estimated_cost.data:
        try:
            cost = parse_yuan(form.estimated_cost.data)
        except ValueError:
            form.estimated_cost.errors.append(_("Type an amount in yuan, such as 120000 or 99.50."))
            return None
    return ItemDefinition(
        category=ItemCategory(form.category.data),
        title=form.title.data.strip(),
        title_en=(form.title_en.data or "").strip(),
        description=(form.description.data or "").strip(),
        description_en=(form.description_en.data or "").strip(),
        estimated_cost_fen=cost,
    )
