"""Forms of the measure and checklist-template pages.

The checklist itself is not a WTForms form: its questions come from the template, and the one
validation that counts (:func:`wellness.health.checklists.check_answers`) is shared with the API.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from wellness.forms import LocalizedDecimalField
from wellness.health.measures import (
    MAX_NOTE,
    MAX_REASON,
    MAX_TITLE,
    MEASURE_KINDS,
    OTHER_KIND,
)
from wellness.health.templates_admin import MAX_HELP, MAX_QUESTION, MAX_WEIGHT
from wellness.health.templates_admin import MAX_TITLE as MAX_TEMPLATE_TITLE

MAX_COST_EUR = Decimal("100000")


class MeasureRequestForm(FlaskForm):
    kind = SelectField(_l("What do you need?"), validators=[InputRequired()])
    own_title = StringField(
        _l("Describe it in your own words"),
        validators=[Optional(), Length(max=MAX_TITLE)],
        description=_l("Only if you chose “Something else”."),
    )
    note = TextAreaField(
        _l("Note for your employer"),
        validators=[Optional(), Length(max=MAX_NOTE)],
        description=_l(
            "For example the size, or when you are at your desk. Your employer reads this "
            "note; do not write about your health here."
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [
            *(SelectChoice(key, label) for key, label in MEASURE_KINDS.items()),
            SelectChoice(OTHER_KIND, _l("Something else")),
        ]


def _step_date() -> DateField:
    return DateField(
        _l("Date"),
        validators=[Optional()],
        description=_l("Leave empty for today."),
    )


def _cost() -> LocalizedDecimalField:
    return LocalizedDecimalField(
        _l("Cost in euros"),
        places=2,
        validators=[Optional(), NumberRange(min=Decimal("0"), max=MAX_COST_EUR)],
        description=_l("Optional, for your records."),
    )


class ApproveForm(FlaskForm):
    on = _step_date()


class OrderForm(FlaskForm):
    on = _step_date()
    cost_eur = _cost()


class DoneForm(FlaskForm):
    on = _step_date()
    cost_eur = _cost()


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=MAX_REASON)],
        description=_l("The employee sees this reason."),
    )
    on = _step_date()


class ItemEditForm(Form):
    """One question of a draft. No CSRF of its own: it is part of :class:`TemplateEditForm`."""

    key = HiddenField()
    question_de = TextAreaField(
        _l("Question (German)"), validators=[DataRequired(), Length(max=MAX_QUESTION)]
    )
    question_en = TextAreaField(
        _l("Question (English)"), validators=[DataRequired(), Length(max=MAX_QUESTION)]
    )
    help_de = TextAreaField(
        _l("How to fix it (German)"), validators=[Optional(), Length(max=MAX_HELP)]
    )
    help_en = TextAreaField(
        _l("How to fix it (English)"), validators=[Optional(), Length(max=MAX_HELP)]
    )
    weight = IntegerField(
        _l("Weight"),
        validators=[InputRequired(), NumberRange(min=0, max=MAX_WEIGHT)],
        description=_l("0 to 10: how much the question counts in the score; 0 does not count."),
    )
    remove = BooleanField(_l("Remove this question from the checklist"))


class TemplateEditForm(FlaskForm):
    title_de = StringField(
        _l("Title (German)"), validators=[DataRequired(), Length(max=MAX_TEMPLATE_TITLE)]
    )
    title_en = StringField(
        _l("Title (English)"), validators=[DataRequired(), Length(max=MAX_TEMPLATE_TITLE)]
    )
    items = FieldList(FormField(ItemEditForm))
