"""Forms for course authoring (providers) and for opening offerings (employer admins).

Dates and times are typed as wall-clock times in Germany; the services convert them to UTC.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from wellness.courses.authoring import MAX_CAPACITY, MAX_SESSIONS
from wellness.forms import LocalizedDecimalField
from wellness.i18n import BERLIN

COURSE_LANGUAGES = [SelectChoice("de", _l("German")), SelectChoice("en", _l("English"))]
FIELDS_OF_ACTION = [
    SelectChoice("movement", _l("Movement habits")),
    SelectChoice("nutrition", _l("Nutrition")),
    SelectChoice("stress", _l("Stress and resource management")),
    SelectChoice("addiction", _l("Use of addictive substances")),
]
FORMATS = [
    SelectChoice("in_person", _l("In person")),
    SelectChoice("online", _l("Online")),
    SelectChoice("hybrid", _l("Hybrid")),
]
OFFERING_STATUSES = [
    SelectChoice("draft", _l("Draft (not visible to employers)")),
    SelectChoice("published", _l("Published")),
]
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]
MAX_EUR = Decimal("10000")


def _price_field(label: object, description: object | None = None) -> LocalizedDecimalField:
    return LocalizedDecimalField(
        label,
        places=2,
        validators=[InputRequired(), NumberRange(min=Decimal("0"), max=MAX_EUR)],
        description=description,
    )


def _local_datetime(label: object, description: object | None = None) -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        format=DATETIME_FORMATS,
        tz=BERLIN,
        validators=[Optional()],
        description=description,
    )


class CourseForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(
        _l("English title"),
        validators=[Optional(), Length(max=200)],
        description=_l("Shown to people who use the English interface."),
    )
    description = TextAreaField(
        _l("Description"),
        validators=[DataRequired(), Length(max=10000)],
        description=_l("In German, or in the language the course is held in."),
    )
    description_en = TextAreaField(
        _l("English description"), validators=[Optional(), Length(max=10000)]
    )
    language = SelectField(_l("Course language"), choices=COURSE_LANGUAGES)
    field_of_action = SelectField(_l("Field of action"), choices=FIELDS_OF_ACTION)
    format = SelectField(_l("Format"), choices=FORMATS)
    zpp_course_id = StringField(
        _l("ZPP course ID"),
        validators=[Optional(), Length(max=40)],
        description=_l("As printed on the ZPP certificate, e.g. KU-BE-123456."),
    )
    certified_from = DateField(_l("Certified from"), validators=[Optional()])
    certified_until = DateField(
        _l("Certified until"),
        validators=[Optional()],
        description=_l("A certification is valid for at most 3 years."),
    )
    attendance_threshold_pct = IntegerField(
        _l("Attendance needed for the certificate (%)"),
        default=80,
        validators=[InputRequired(), NumberRange(min=1, max=100)],
        description=_l("Health insurers require at least 80% of the sessions."),
    )
    default_capacity = IntegerField(
        _l("Default group size"),
        default=12,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_CAPACITY)],
        description=_l("Certified courses usually have at most 15 participants."),
    )
    default_price_eur = _price_field(_l("Default price per participant (EUR)"))


class OfferingForm(FlaskForm):
    """The details of an offering; the sessions are edited separately."""

    status = SelectField(_l("Status"), choices=OFFERING_STATUSES)
    capacity = IntegerField(
        _l("Group size"), validators=[InputRequired(), NumberRange(min=1, max=MAX_CAPACITY)]
    )
    price_eur = _price_field(_l("Price per participant (EUR)"))
    format = SelectField(_l("Format"), choices=FORMATS)
    instructor_name = StringField(_l("Instructor"), validators=[Optional(), Length(max=200)])
    location = StringField(
        _l("Location"),
        validators=[Optional(), Length(max=300)],
        description=_l("Address and room, e.g. Hauptstraße 1, 20095 Hamburg, room 2."),
    )
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    online_url = StringField(
        _l("Online link"),
        validators=[Optional(), Length(max=500)],
        description=_l("Needed for online and hybrid offerings; starts with https://."),
    )
    enrollment_opens_at = _local_datetime(
        _l("Enrollment opens"), _l("German time. Leave empty to open at once.")
    )
    enrollment_closes_at = _local_datetime(
        _l("Enrollment closes"), _l("German time. Leave empty to allow enrollment until the start.")
    )
    cancellation_deadline = _local_datetime(_l("Participants may cancel until"), _l("German time."))


class SeriesForm(FlaskForm):
    """A weekly series of sessions at the same local time."""

    first_day = DateField(_l("First session on"), validators=[InputRequired()])
    start_time = TimeField(
        _l("Starts at"),
        format=TIME_FORMATS,
        validators=[InputRequired()],
        description=_l("German time; stays the same when the clocks change."),
    )
    duration_minutes = IntegerField(
        _l("Duration (minutes)"),
        default=60,
        validators=[InputRequired(), NumberRange(min=10, max=480)],
    )
    session_count = IntegerField(
        _l("Number of weekly sessions"),
        default=10,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_SESSIONS)],
        description=_l("Certified courses usually have 8 to 12 sessions."),
    )


class NewOfferingForm(OfferingForm, SeriesForm):
    """A new offering: its details and its weekly sessions in one go."""


class GenerateSessionsForm(SeriesForm):
    replace_existing = BooleanField(_l("Replace the existing sessions"))


class SessionForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    start_time = TimeField(_l("Starts at"), format=TIME_FORMATS, validators=[InputRequired()])
    end_time = TimeField(_l("Ends at"), format=TIME_FORMATS, validators=[InputRequired()])
    location = StringField(
        _l("Different location"),
        validators=[Optional(), Length(max=300)],
        description=_l("Only if this session takes place somewhere else."),
    )
    online_url = StringField(_l("Different online link"), validators=[Optional(), Length(max=500)])


class CancelOfferingForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, cancel this offering. Everyone enrolled or waiting is cancelled and informed."),
        validators=[DataRequired(_l("Confirm the cancellation by ticking the box."))],
    )


class SubsidyForm(FlaskForm):
    subsidy_eur = _price_field(
        _l("Employer subsidy per participant (EUR)"),
        _l("From 0 up to the price of the offering. Counts against the yearly budget."),
    )


class CloseOfferingForm(FlaskForm):
    """Only the CSRF token: closing needs no input."""
