"""Forms of the renovation console, and what a filled form means for renovation/operations.py."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, MultipleFileField
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..common import parse_yuan, plain_yuan
from ..forms import IntegerRange
from .models import PARTY_LABELS, STAGE_LABELS, FundingSource, PartyRole, Stage


def yuan_amount(form, field):
    """Validator: a plain amount in yuan, at least 0, at most two decimals (empty is 0)."""
    if (field.data or "").strip():
        try:
            parse_yuan(field.data)
        except ValueError:
            raise ValidationError(
                _l("Type an amount in yuan of at least 0, e.g. 1200000 or 1200000.50.")
            ) from None


def fen_of(text: str | None) -> int:
    return parse_yuan(text) if (text or "").strip() else 0


def optional_date(label):
    return DateField(label, validators=[Optional()], render_kw={"type": "date"})


class NewProjectForm(FlaskForm):
    name = StringField(
        _l("Project name"),
        validators=[DataRequired(message=_l("Name the project.")), Length(max=200)],
    )
    batch_year = IntegerField(
        _l("Batch year"),
        validators=[
            DataRequired(message=_l("Give the batch year, e.g. 2026.")),
            IntegerRange(2000, 2100),
        ],
    )
    hotline = StringField(_l("Supervision hotline"), validators=[Optional(), Length(max=40)])


class DetailsForm(NewProjectForm):
    invested = StringField(_l("Investment completed (yuan)"), validators=[Optional(), yuan_amount])


def _parties_form():
    class PartiesForm(FlaskForm):
        pass

    for role, label in PARTY_LABELS.items():
        setattr(
            PartiesForm, f"{role.value}_name", StringField(label, [Optional(), Length(max=200)])
        )
        setattr(
            PartiesForm,
            f"{role.value}_contact",
            StringField(_l("Contact person"), [Optional(), Length(max=100)]),
        )
        setattr(
            PartiesForm,
            f"{role.value}_phone",
            StringField(_l("Contact phone"), [Optional(), Length(max=40)]),
        )
    return PartiesForm


PartiesForm = _parties_form()


def _plan_form():
    class PlanForm(FlaskForm):
        pass

    for stage, label in STAGE_LABELS.items():
        setattr(PlanForm, f"planned_{stage.value}", optional_date(label))
    return PlanForm


PlanForm = _plan_form()


def _budget_form():
    class BudgetForm(FlaskForm):
        pass

    for source in FundingSource:
        setattr(
            BudgetForm,
            f"planned_{source.value}",
            StringField(_l("Planned (yuan)"), [Optional(), yuan_amount]),
        )
        if source is not FundingSource.RESIDENTS:
            setattr(
                BudgetForm,
                f"received_{source.value}",
                StringField(_l("Arrived (yuan)"), [Optional(), yuan_amount]),
            )
            setattr(
                BudgetForm,
                f"note_{source.value}",
                StringField(
                    _l("Note (needed when more arrived than planned)"),
                    [Optional(), Length(max=500)],
                ),
            )
    return BudgetForm


BudgetForm = _budget_form()

STAGE_CHOICES = [SelectChoice(s.value, label) for s, label in STAGE_LABELS.items()]


class CompleteForm(FlaskForm):
    stage = SelectField(_l("Stage"), choices=STAGE_CHOICES, validators=[DataRequired()])
    on = DateField(
        _l("Completed on"),
        validators=[DataRequired(message=_l("Give the date the stage was completed."))],
        render_kw={"type": "date"},
    )


class ReopenForm(FlaskForm):
    stage = SelectField(_l("Go back to stage"), choices=STAGE_CHOICES, validators=[DataRequired()])
    reason = StringField(
        _l("Reason"),
        validators=[
            DataRequired(message=_l("Give the reason for going back to an earlier stage.")),
            Length(max=500),
        ],
    )


class ScopeForm(FlaskForm):
    survey_item = SelectField(_l("An item the residents approved"), validators=[Optional()])
    title = StringField(_l("What is renovated"), validators=[Optional(), Length(max=200)])


def scope_choices(approved: list[tuple[int, str]]) -> list[SelectChoice]:
    return [SelectChoice("", _l("None: type it below"))] + [
        SelectChoice(str(item_id), title) for item_id, title in approved
    ]


def survey_item_of(form) -> int | None:
    value = form.survey_item.data or ""
    return int(value) if value.isdigit() else None


class NoteForm(FlaskForm):
    text = TextAreaField(
        _l("What was done"),
        validators=[DataRequired(message=_l("Write what was done.")), Length(max=2000)],
    )
    photos = MultipleFileField(_l("Photos (up to 3)"))


class ImportForm(FlaskForm):
    workbook = FileField(
        _l("Planner's spreadsheet (XLSX)"),
        validators=[
            FileRequired(message=_l("Choose the spreadsheet.")),
            FileAllowed(["xlsx"], message=_l("The spreadsheet must be an XLSX file.")),
        ],
    )


class TargetForm(FlaskForm):
    district = SelectField(_l("District"), validators=[DataRequired()])
    year = IntegerField(_l("Year"), validators=[DataRequired(), IntegerRange(2000, 2100)])
    to_start = IntegerField(
        _l("Projects to start"), validators=[Optional(), IntegerRange(0, 100000)]
    )
    to_finish = IntegerField(
        _l("Projects to finish"), validators=[Optional(), IntegerRange(0, 100000)]
    )
    to_accept = IntegerField(
        _l("Projects to pass acceptance"), validators=[Optional(), IntegerRange(0, 100000)]
    )
    investment = StringField(_l("Investment (yuan)"), validators=[Optional(), yuan_amount])


# --- forms to domain -----------------------------------------------------------------------


def fill_details(form: DetailsForm, project) -> None:
    form.name.data = project.name
    form.batch_year.data = project.batch_year
    form.hotline.data = project.hotline
    form.invested.data = plain_yuan(project.invested_fen)


def fill_parties(form, project) -> None:
    for role in PartyRole:
        party = project.party(role)
        if party is not None:
            getattr(form, f"{role.value}_name").data = party.name
            getattr(form, f"{role.value}_contact").data = party.contact
            getattr(form, f"{role.value}_phone").data = party.phone


def parties_of(form) -> dict[PartyRole, tuple[str, str, str]]:
    return {
        role: tuple(
            getattr(form, f"{role.value}_{part}").data or ""
            for part in ("name", "contact", "phone")
        )
        for role in PartyRole
    }


def fill_plan(form, project) -> None:
    for row in project.stages:
        getattr(form, f"planned_{row.stage.value}").data = row.planned_on


def plan_of(form) -> dict[Stage, object]:
    return {stage: getattr(form, f"planned_{stage.value}").data for stage in Stage}


def fill_budget(form, project) -> None:
    for line in project.funding:
        getattr(form, f"planned_{line.source.value}").data = plain_yuan(line.planned_fen)
        if line.source is not FundingSource.RESIDENTS:
            getattr(form, f"received_{line.source.value}").data = plain_yuan(line.received_fen)
            getattr(form, f"note_{line.source.value}").data = line.note


def budget_of(form, project) -> dict:
    """Sources with something typed, or with a line already (so that it can be set to 0)."""
    lines = {}
    for source in FundingSource:
        planned = getattr(form, f"planned_{source.value}").data
        received = getattr(form, f"received_{source.value}", None)
        note = getattr(form, f"note_{source.value}", None)
        typed = [planned, received.data if received else "", note.data if note else ""]
        if any((t or "").strip() for t in typed) or project.funding_line(source):
            lines[source] = (fen_of(typed[0]), fen_of(typed[1]), typed[2] or "")
    return lines


class SignoffForm(FlaskForm):
    representatives = TextAreaField(
        _l("Residents' representatives who signed (one name a line)"),
        validators=[
            DataRequired(
                message=_l("Type the names of the residents' representatives who signed.")
            ),
            Length(max=1000),
        ],
    )
    signed_on = DateField(
        _l("Signed on"),
        validators=[DataRequired(message=_l("Give the date the representatives signed."))],
        render_kw={"type": "date"},
    )


class AcceptForm(FlaskForm):
    on = DateField(
        _l("Acceptance passed on"),
        validators=[DataRequired(message=_l("Give the date the stage was completed."))],
        render_kw={"type": "date"},
    )
    override_reason = StringField(
        _l("Reason for passing with safety reports open"),
        validators=[Optional(), Length(max=500)],
    )


class SatisfactionForm(FlaskForm):
    closes_on = DateField(
        _l("Closes on"),
        validators=[DataRequired(message=_l("Give the day the survey closes."))],
    )
