"""Forms of campaigns, pledges, payments and elevator projects. Amounts are typed in yuan and
turned into integer fen by resident_portal.common.parse_yuan."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from resident_portal.common import CHINA, parse_yuan, plain_yuan, to_utc
from resident_portal.forms import MultiCheckboxField, parse_scope, plausible_moment

from . import operations
from .models import CHANNEL_LABELS, SUGGESTION_LABELS, Channel, ElevatorProject, SuggestionKind


class Yuan:
    """Validator: an amount in yuan with at most two decimals (negative if `allow_negative`)."""

    def __init__(self, allow_negative=False, required=True):
        self.allow_negative = allow_negative
        self.required = required

    def __call__(self, form, field):
        text = (field.data or "").strip()
        if not text and not self.required:
            field.fen = None
            return
        negative = self.allow_negative and text.startswith("-")
        try:
            fen = parse_yuan(text[1:] if negative else text)
        except ValueError:
            raise ValidationError(_l("Type an amount in yuan, such as 1200 or 99.50.")) from None
        field.fen = -fen if negative else fen


def yuan_field(label, **kwargs):
    return StringField(label, validators=[Yuan(**kwargs)], render_kw={"inputmode": "decimal"})


CHANNEL_CHOICES = [SelectChoice(c.value, label) for c, label in CHANNEL_LABELS.items()]


class CampaignForm(FlaskForm):
    title = StringField(_l("Title (Chinese)"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), Length(max=200)])
    purpose = TextAreaField(_l("What the money is for"), validators=[Length(max=2000)])
    scope = SelectField(_l("Who is asked"), validators=[Optional()])
    target = yuan_field(_l("Target (yuan)"))
    deadline = DateTimeLocalField(
        _l("Deadline (Beijing time)"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(), plausible_moment],
    )
    suggestion_kind = RadioField(
        _l("Suggested amount per household"),
        choices=[SelectChoice(k.value, label) for k, label in SUGGESTION_LABELS.items()],
        default="flat",
        validators=[DataRequired()],
    )
    flat = yuan_field(_l("Fixed amount (yuan)"), required=False)
    per_m2 = yuan_field(_l("Amount per m² (yuan)"), required=False)
    channels = MultiCheckboxField(
        _l("Accepted ways to contribute"), choices=CHANNEL_CHOICES, default=["direct"]
    )
    survey = SelectField(_l("The survey that decided it (optional)"), validators=[Optional()])


class PledgeForm(FlaskForm):
    amount = yuan_field(_l("Amount (yuan)"))
    channel = SelectField(_l("How you will contribute"), validators=[DataRequired()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])


class StaffPledgeForm(PledgeForm):
    household = SelectField(_l("Household"), validators=[DataRequired()])
    reason = StringField(
        _l("How was this pledge made?"),
        validators=[DataRequired(message=_l("Give the reason.")), Length(max=500)],
    )


class PaymentForm(FlaskForm):
    household = SelectField(_l("Household"), validators=[DataRequired()])
    amount = yuan_field(
        _l("Amount received (yuan; negative to correct an entry)"), allow_negative=True
    )
    paid_on = DateField(_l("Date received"), validators=[DataRequired()])
    channel = SelectField(_l("How it was paid"), validators=[DataRequired()])
    receipt_number = StringField(_l("Receipt number"), validators=[Optional(), Length(max=64)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class ElevatorForm(FlaskForm):
    equipment = yuan_field(_l("Equipment (yuan)"))
    installation = yuan_field(_l("Installation (yuan)"))
    design = yuan_field(_l("Design (yuan)"), required=False)
    pipes = yuan_field(_l("Moving pipes and lines (yuan)"), required=False)
    other = yuan_field(_l("Other costs (yuan)"), required=False)
    subsidy_kind = RadioField(
        _l("Government subsidy"),
        choices=[
            SelectChoice("fixed", _l("A fixed amount")),
            SelectChoice("percent", _l("A percentage of the cost, with a cap")),
        ],
        default="fixed",
        validators=[DataRequired()],
    )
    subsidy_fixed = yuan_field(_l("Subsidy amount (yuan)"), required=False)
    # No Optional(): it would stop validation of an empty field before validate_subsidy_percent,
    # which must run (an empty percentage is an error when the subsidy is a percentage).
    subsidy_percent = StringField(_l("Subsidy percentage"), render_kw={"inputmode": "decimal"})
    subsidy_cap = yuan_field(_l("Subsidy cap (yuan)"), required=False)
    maintenance_fund = yuan_field(_l("Paid from the maintenance fund (yuan)"), required=False)

    def validate_subsidy_percent(self, field):
        from decimal import Decimal, InvalidOperation

        field.basis_points = 0
        if self.subsidy_kind.data != "percent":
            return
        try:
            value = Decimal((field.data or "").strip().rstrip("%"))
        except InvalidOperation:
            raise ValidationError(_l("Type a percentage such as 40 or 37.5.")) from None
        # NaN is checked first: comparing it raises InvalidOperation.
        if (
            not value.is_finite()
            or not (0 <= value <= 100)
            or value != value.quantize(Decimal("0.01"))
        ):
            raise ValidationError(_l("Type a percentage such as 40 or 37.5."))
        field.basis_points = int(value * 100)


class NewElevatorForm(ElevatorForm):
    unit = SelectField(_l("Unit"), validators=[DataRequired()])
    vote_closes_at = DateTimeLocalField(
        _l("Consent vote closes (Beijing time)"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(), plausible_moment],
    )
    pledge_deadline = DateTimeLocalField(
        _l("Pledges close (Beijing time)"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(), plausible_moment],
    )

    def validate_vote_closes_at(self, field):
        # The consent vote opens now, so it must close later (else its survey row breaks the
        # "closes after opening" constraint: a 500).
        if field.data is not None and field.data <= datetime.now(CHINA).replace(tzinfo=None):
            raise ValidationError(_l("The deadline must be in the future."))


def parse_coefficients(data, floors: list[int]) -> tuple[dict[int, int], list[str]]:
    """`coef_<floor>` fields (decimal coefficients, up to 3 decimals) as ‰ per floor."""
    from decimal import Decimal, InvalidOperation

    coefficients, errors = {}, []
    for floor in floors:
        text = (data.get(f"coef_{floor}") or "0").strip()
        try:
            value = Decimal(text)
            if not (0 <= value <= 10) or value != value.quantize(Decimal("0.001")):
                raise InvalidOperation
        except InvalidOperation:
            errors.append(
                str(_l("Floor %(floor)s: type a coefficient such as 0, 0.8 or 1.25.", floor=floor))
            )
            continue
        coefficients[floor] = int(value * 1000)
    return coefficients, errors


def parse_compensations(data, household_ids: list[int]) -> tuple[dict[int, int], list[str]]:
    """`comp_<household id>` fields in yuan, as fen."""
    amounts, errors = {}, []
    for household_id in household_ids:
        text = (data.get(f"comp_{household_id}") or "").strip()
        if not text:
            continue
        try:
            amounts[household_id] = parse_yuan(text)
        except ValueError:
            errors.append(str(_l("Compensation: type an amount in yuan, such as 5000.")))
    return amounts, errors


# --- forms to domain -----------------------------------------------------------------------


def campaign_fields(form: CampaignForm) -> operations.CampaignFields:
    """The campaign form as the fields of operations.create_campaign."""
    building, unit = parse_scope(form.scope.data)
    kind = SuggestionKind(form.suggestion_kind.data)
    return operations.CampaignFields(
        title=form.title.data.strip(),
        title_en=(form.title_en.data or "").strip(),
        purpose=(form.purpose.data or "").strip(),
        target_fen=form.target.fen,
        deadline=to_utc(form.deadline.data.replace(tzinfo=CHINA)),
        suggestion_kind=kind,
        flat_fen=(form.flat.fen or 0) if kind is not SuggestionKind.PER_M2 else 0,
        per_m2_fen=(form.per_m2.fen or 0) if kind is not SuggestionKind.FLAT else 0,
        channels=[Channel(c) for c in form.channels.data],
        building=building,
        unit=unit,
        # Optional() lets blank text through: "no survey" (the choices hold only real ids).
        survey_id=int(form.survey.data) if (form.survey.data or "").strip() else None,
    )


def elevator_fields(form: ElevatorForm) -> operations.ElevatorFields:
    """The elevator form's costs and subsidy as operations.ElevatorFields."""
    percent = form.subsidy_kind.data == "percent"
    return operations.ElevatorFields(
        equipment_fen=form.equipment.fen,
        installation_fen=form.installation.fen,
        design_fen=form.design.fen or 0,
        pipes_fen=form.pipes.fen or 0,
        other_fen=form.other.fen or 0,
        subsidy_fixed_fen=0 if percent else (form.subsidy_fixed.fen or 0),
        subsidy_basis_points=form.subsidy_percent.basis_points if percent else 0,
        subsidy_cap_fen=form.subsidy_cap.fen if percent else None,
        maintenance_fund_fen=form.maintenance_fund.fen or 0,
    )


def new_elevator_deadlines(form: NewElevatorForm) -> tuple[datetime, datetime]:
    """When the consent vote closes and when pledges close, typed in Beijing time, as stored
    (naive UTC): the last arguments of operations.create_elevator_project."""
    return (
        to_utc(form.vote_closes_at.data.replace(tzinfo=CHINA)),
        to_utc(form.pledge_deadline.data.replace(tzinfo=CHINA)),
    )


def fill_elevator_form(form: ElevatorForm, project: ElevatorProject) -> None:
    """The form filled with a project's costs and subsidy, as typed in yuan."""

    def yuan(fen):
        return plain_yuan(fen) if fen else ""

    form.equipment.data = yuan(project.equipment_fen) or "0"
    form.installation.data = yuan(project.installation_fen) or "0"
    form.design.data, form.pipes.data = yuan(project.design_fen), yuan(project.pipes_fen)
    form.other.data = yuan(project.other_fen)
    form.subsidy_kind.data = "percent" if project.subsidy_basis_points else "fixed"
    form.subsidy_fixed.data = yuan(project.subsidy_fixed_fen)
    bp_ = project.subsidy_basis_points
    form.subsidy_percent.data = f"{bp_ // 100}.{bp_ % 100:02d}" if bp_ else ""
    form.subsidy_cap.data = yuan(project.subsidy_cap_fen)
    form.maintenance_fund.data = yuan(project.maintenance_fund_fen)
