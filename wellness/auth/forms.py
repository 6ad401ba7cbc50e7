"""Forms of the account pages. Length limits match the database columns."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from wellness.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

LANGUAGES = [SelectChoice("de", "Deutsch"), SelectChoice("en", "English")]
LANGUAGE_CODES = frozenset(choice.value for choice in LANGUAGES)


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    remember = BooleanField(_l("Stay signed in on this device"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])


def _new_password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
        description=_l(
            "At least %(n)d characters. A phrase of several words works well.",
            n=MIN_PASSWORD_LENGTH,
        ),
    )


class ResetPasswordForm(FlaskForm):
    password = _new_password_field(_l("New password"))
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ChangePasswordForm(ResetPasswordForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Language"), choices=LANGUAGES, validators=[DataRequired()])


#: Lifetimes a token can be created with: every token expires, at the latest after a year.
TOKEN_LIFETIMES = (30, 90, 365)


class TokenForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("What the token is for, e.g. “attendance upload from our studio software”."),
    )
    scopes = SelectMultipleField(
        _l("May"),
        validators=[DataRequired(message=_l("Choose at least one scope."))],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    expires_in_days = SelectField(
        _l("Expires after"),
        choices=[SelectChoice(str(days), _l("%(n)d days", n=days)) for days in TOKEN_LIFETIMES],
        default="90",
        validators=[DataRequired()],
    )
