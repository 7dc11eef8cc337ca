"""Forms of quality reports."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .models import CATEGORY_LABELS, STATUS_LABELS

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
