"""The employee's catalog search, read from the query string.

A GET form has no CSRF token: it changes nothing, and search links must be shareable.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from wellness.courses.catalog import CatalogFilters
from wellness.courses.forms import COURSE_LANGUAGES, FIELDS_OF_ACTION, FORMATS

#: The highest page number anyone could want; larger numbers are typos or probes.
MAX_PAGE = 10_000


class CatalogSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(
        _l("Search"),
        validators=[Optional(), Length(max=100)],
        description=_l("Course title, description or provider, e.g. “Rücken”."),
    )
    field_of_action = SelectField(
        _l("Field of action"),
        choices=[SelectChoice("", _l("All fields of action")), *FIELDS_OF_ACTION],
        default="",
        validators=[Optional()],
    )
    format = SelectField(
        _l("Format"),
        choices=[SelectChoice("", _l("All formats")), *FORMATS],
        default="",
        validators=[Optional()],
    )
    city = SelectField(_l("City"), choices=[], default="", validators=[Optional()])
    starts_from = DateField(
        _l("From"),
        validators=[Optional()],
        description=_l("Courses that have not ended by this day."),
    )
    starts_until = DateField(
        _l("Starting by"),
        validators=[Optional()],
        description=_l("Courses whose first session is on or before this day."),
    )
    language = SelectField(
        _l("Course language"),
        choices=[SelectChoice("", _l("Any language")), *COURSE_LANGUAGES],
        default="",
        validators=[Optional()],
    )
    seats_left = BooleanField(_l("Only courses with free seats"))
    page = IntegerField(_l("Page"), validators=[Optional(), NumberRange(min=1, max=MAX_PAGE)])

    def __init__(self, *args: Any, cities: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.city.choices = [
            SelectChoice("", _l("All cities")),
            *(SelectChoice(city, city) for city in cities),
        ]

    def validate_starts_until(self, field: DateField) -> None:
        if field.data and self.starts_from.data and field.data < self.starts_from.data:
            raise ValidationError(_l("Choose a day on or after the “From” day."))

    def filters(self) -> CatalogFilters:
        """The validated search as the catalog service takes it."""
        return CatalogFilters(
            text=(self.q.data or "").strip(),
            field_of_action=self.field_of_action.data or None,
            format=self.format.data or None,
            city=self.city.data or None,
            starts_from=self.starts_from.data,
            starts_until=self.starts_until.data,
            language=self.language.data or None,
            seats_left=bool(self.seats_left.data),
        )
