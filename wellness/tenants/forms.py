"""Forms for employer administration and the platform operator."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from wellness.auth.forms import LANGUAGES
from wellness.forms import LocalizedDecimalField
from wellness.tenants.models import MIN_GROUP_SIZE

SLUG_RULE = Regexp(
    r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$",
    message=_l("Use 3-60 lower-case letters, digits and hyphens."),
)


class SettingsForm(FlaskForm):
    name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Default language"), choices=LANGUAGES)
    k_participation = IntegerField(
        _l("Minimum group size for participation figures"),
        validators=[InputRequired(), NumberRange(min=MIN_GROUP_SIZE, max=1000)],
        description=_l("Cells with fewer people are hidden. Never below 5."),
    )
    k_health = IntegerField(
        _l("Minimum group size for health figures"),
        validators=[InputRequired(), NumberRange(min=MIN_GROUP_SIZE, max=1000)],
        description=_l("Pain, checklist and training figures. Recommended: 10 or more."),
    )
    dp_enabled = BooleanField(_l("Add calibrated noise to health figures (differential privacy)"))
    budget_eur = LocalizedDecimalField(
        _l("Yearly budget per employee (EUR)"),
        places=2,
        validators=[InputRequired(), NumberRange(min=Decimal("0"), max=Decimal("100000"))],
        description=_l("The tax-free limit of §3 Nr. 34 EStG is 600 EUR per year."),
    )
    retention_months = IntegerField(
        _l("Keep health data for (months)"),
        validators=[InputRequired(), NumberRange(min=1, max=120)],
    )
    password_login_enabled = BooleanField(_l("Allow sign-in with password"))


class DepartmentForm(FlaskForm):
    name = StringField(_l("Department name"), validators=[DataRequired(), Length(max=120)])
    parent_id = SelectField(_l("Part of"), coerce=int, validators=[Optional()])


class SiteForm(FlaskForm):
    name = StringField(_l("Site name"), validators=[DataRequired(), Length(max=120)])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=120)])


class EmployerForm(FlaskForm):
    slug = StringField(_l("Short name"), validators=[DataRequired(), Length(max=60), SLUG_RULE])
    name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Default language"), choices=LANGUAGES)


class ProviderForm(FlaskForm):
    slug = StringField(_l("Short name"), validators=[DataRequired(), Length(max=60), SLUG_RULE])
    name = StringField(_l("Provider name"), validators=[DataRequired(), Length(max=200)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
