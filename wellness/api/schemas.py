"""The API's wire format as pydantic models: query and body models validate requests, response
models describe answers, and all of them are the schemas of the OpenAPI document.

Request models are strict where the API itself decides (types, ranges, allowed values) and leave
domain rules with their row- and field-level messages to the services (pain scores per region,
training entries, checklist answers): those fields carry the accepted shape as their schema.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from flask_babel import lazy_gettext as _l
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from wellness.analytics.grid import GroupBy
from wellness.api.params import MAX_PAGE, MAX_PER_PAGE
from wellness.courses.models import CourseFormat, EnrollmentStatus, FieldOfAction, OfferingStatus
from wellness.health.models import BodyRegion, ConsentPurpose

DEFAULT_PER_PAGE = 20
#: Ids are SQL integers (32 bits on PostgreSQL): a larger one exists nowhere and must not
#: reach the database, which would refuse it with an error instead of finding nothing.
MAX_ID = 2**31 - 1
#: Months from 2000 to 2099: earlier or later is a typing mistake (and year 9999 overflows).
MONTH = re.compile(r"^20\d\d-(0[1-9]|1[0-2])$")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
#: The catalog search uses this many characters of ``q``.
MAX_QUERY_TEXT = 100

T = TypeVar("T")


# --- query parameter types ------------------------------------------------------------------


def _whole_number(value: object) -> object:
    """Query values are text: digits only (no sign, spaces or underscores), at most 12."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > 12:
            raise PydanticCustomError("whole_number", "not a whole number")
        return int(value)
    return value


def _month(value: object) -> object:
    if isinstance(value, str):
        if not MONTH.match(value):
            raise PydanticCustomError("month", "not a month like 2026-03")
        return date(int(value[:4]), int(value[5:]), 1)
    return value


def _iso_date(value: object) -> object:
    """Only ISO dates: pydantic alone would read "0" as a Unix timestamp."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_parsing", "not a date like 2026-03-31") from None
    return value


def _flag(value: object) -> object:
    """1/true/yes/on or 0/false/no/off (any case); another word is a mistake, not a no."""
    if isinstance(value, str):
        word = value.lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise PydanticCustomError("flag", "not true or false")
        return word in TRUE_WORDS
    return value


#: Integer parameters: the range is checked after the text is read as digits.
PageNumber = Annotated[
    int,
    Field(ge=1, le=MAX_PAGE, description="Page to show, from 1; past the end: the last."),
    BeforeValidator(_whole_number),
]
PerPage = Annotated[
    int, Field(ge=1, le=MAX_PER_PAGE, description="Items per page."), BeforeValidator(_whole_number)
]
Id = Annotated[int, Field(ge=0, le=MAX_ID), BeforeValidator(_whole_number)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Month = Annotated[
    date,
    BeforeValidator(_month),
    WithJsonSchema({"type": "string", "pattern": MONTH.pattern, "examples": ["2026-03"]}),
]
Flag = Annotated[
    bool,
    BeforeValidator(_flag),
    WithJsonSchema({"type": "boolean", "default": False}),
]
SearchText = Annotated[str, AfterValidator(lambda text: text[:MAX_QUERY_TEXT])]


def _no_null_defaults(schema: dict[str, Any]) -> None:
    """A parameter or field left out is not the same as JSON null: document no null default."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class Query(BaseModel):
    """Query parameters: unknown ones are ignored, an empty value counts as not given."""

    model_config = ConfigDict(
        extra="ignore", populate_by_name=True, frozen=True, json_schema_extra=_no_null_defaults
    )


class Paging(Query):
    """Page-number pagination, the same on every list: ``page`` and ``per_page`` in, the
    :class:`Page` envelope out."""

    page: PageNumber = 1
    per_page: PerPage = DEFAULT_PER_PAGE


class OfferingQuery(Paging):
    q: SearchText = Field("", description="Words in the course title or description.")
    field_of_action: FieldOfAction | None = None
    format: CourseFormat | None = None
    city: str | None = None
    from_: IsoDate | None = Field(None, alias="from", description="Offerings starting on or after.")
    until: IsoDate | None = Field(None, description="Offerings starting on or before.")
    language: Literal["de", "en"] | None = None
    seats_left: Flag = Field(False, description="Only offerings with free seats.")


class UploadQuery(Query):
    dry_run: Flag = Field(False, description="Check and preview only; store nothing.")


class AnalyticsQuery(Query):
    group_by: GroupBy | None = Field(
        None, description="Grouping; the measure's list says which it allows (default first)."
    )
    region: BodyRegion | None = Field(None, description="Body region (pain measures only).")
    department: Id | None = Field(None, description="Only this department of your employer.")
    site: Id | None = Field(None, description="Only this site of your employer.")
    from_: Month | None = Field(None, alias="from", description="First month.")
    to: Month | None = Field(None, description="Last month.")


# --- request bodies ---------------------------------------------------------------------------


class Body(BaseModel):
    """A JSON request body. ``problem_status`` is the status of a body the model refuses;
    ``messages`` give a field a message of its own instead of the generic one."""

    model_config = ConfigDict(
        extra="ignore", populate_by_name=True, frozen=True, json_schema_extra=_no_null_defaults
    )
    problem_status: ClassVar[int] = 400
    not_an_object: ClassVar[Any] = _l("Send a JSON object (Content-Type: application/json).")
    messages: ClassVar[dict[str, Any]] = {}


class ConsentBody(Body):
    #: Any text: an unknown purpose answers 404 from the consent service.
    purpose: str = Field(json_schema_extra={"enum": [p.value for p in ConsentPurpose]})
    version: str = Field(description="The version of the consent text the person read.")
    not_an_object = _l(
        "Send a JSON object with the purpose and the version of the text you agree to."
    )
    messages = {"purpose": not_an_object, "version": not_an_object}


class ChecklistBody(Body):
    template: str = Field(min_length=1, examples=["screen-workstation"])
    version: Annotated[
        Any, WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string"}]})
    ] = Field(None, description="The template version answered (a whole number).")
    workplace: Annotated[Any, WithJsonSchema({"type": ["string", "null"]})] = Field(
        None, description="office or home, as the template allows."
    )
    answers: dict[str, Any] = Field(
        description="Item key -> choice (yes, partly, no, na) or number, as the template says."
    )
    not_an_object = _l("Send a JSON object with template, version, workplace and answers.")
    messages = {
        "template": _l("Name the checklist in 'template', e.g. \"screen-workstation\"."),
        "answers": _l("Send 'answers' as an object of item keys and answers."),
    }


#: A day within the last 90 days; null or left out: today.
_DAY_SCHEMA = {"type": ["string", "null"], "format": "date"}

_SCORES_SCHEMA = {
    "type": "object",
    "propertyNames": {"enum": [r.value for r in BodyRegion]},
    "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 10},
    "description": "NRS 0-10 per body region; regions left out had no pain.",
}


class CheckinBody(Body):
    """Each field is checked by the check-in service, which names the refused field."""

    problem_status = 422
    scores: Annotated[Any, WithJsonSchema(_SCORES_SCHEMA)] = None
    prevented_activity: Annotated[Any, WithJsonSchema({"type": "boolean"})] = False
    checked_on: Annotated[Any, WithJsonSchema(_DAY_SCHEMA)] = None


_ENTRIES_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "properties": {
            "exercise": {"type": "string", "examples": ["bridge", "squat", "stretching"]},
            "sets": {"type": ["integer", "null"], "minimum": 1},
            "reps": {"type": ["integer", "null"], "minimum": 1},
            "minutes": {"type": ["integer", "null"], "minimum": 1},
        },
        "required": ["exercise"],
    },
}


class TrainingBody(Body):
    """Each entry is checked by the training service, which names e.g. ``entries[1].reps``."""

    problem_status = 422
    performed_on: Annotated[Any, WithJsonSchema(_DAY_SCHEMA)] = None
    entries: Annotated[Any, WithJsonSchema(_ENTRIES_SCHEMA)] = None


# --- responses --------------------------------------------------------------------------------


class Out(BaseModel):
    """Response models document what the views send; they are not used to build answers."""

    model_config = ConfigDict(extra="forbid")


class InvalidParam(Out):
    name: str = Field(description="The parameter or body field, e.g. `from` or `scores.neck`.")
    reason: str


class ItemError(Out):
    item: str
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details; every error of this API answers one."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    type: str = Field("about:blank", description="A URI reference naming the problem type.")
    title: str
    status: int
    detail: str
    invalid_params: list[InvalidParam] | None = Field(
        None, alias="invalid-params", description="Which parameters or fields were refused."
    )
    errors: list[ItemError] | None = Field(
        None, description="Checklist submissions: one entry per refused item."
    )


class Page(Out, Generic[T]):
    """One page of a list: page-number pagination, the same envelope everywhere."""

    items: list[T]
    page: int = Field(description="This page (a page past the end answers the last).")
    per_page: int
    total: int = Field(description="Items in the whole list.")
    pages: int = Field(description="Number of pages, at least 1.")


class Items(Out, Generic[T]):
    """A short list that needs no pages (a few entries at most)."""

    items: list[T]


class Money(Out):
    amount: str = Field(pattern=r"^-?\d+\.\d\d$", examples=["150.00"])
    currency: Literal["EUR"]


class CatalogCourse(Out):
    id: int
    title: str
    title_en: str | None
    zpp_course_id: str | None
    field_of_action: FieldOfAction
    language: str
    certified: bool
    certified_until: date | None
    provider: str


class CatalogSession(Out):
    starts_at: datetime
    ends_at: datetime
    location: str | None
    online_url: str | None


class Offering(Out):
    id: int
    course: CatalogCourse
    format: CourseFormat
    city: str | None
    starts_on: date
    ends_on: date
    capacity: int
    seats_left: int
    waitlist_length: int
    enrollment_open: bool
    price: Money
    employer_subsidy: Money
    my_status: EnrollmentStatus | None
    calendar_url: str


class OfferingDetail(Offering):
    sessions: list[CatalogSession]


class EnrollmentOut(Out):
    offering_id: int
    status: EnrollmentStatus
    waitlist_position: int | None
    employer_pays: Money
    you_pay: Money


class ProviderCourse(Out):
    id: int
    title: str
    zpp_course_id: str | None


class ProviderSession(Out):
    starts_at: datetime
    ends_at: datetime


class RosterLinks(Out):
    csv: str
    xlsx: str


class ProviderOffering(Out):
    id: int
    course: ProviderCourse
    status: OfferingStatus
    starts_on: date
    ends_on: date
    capacity: int
    participants: int
    waitlist_length: int
    sessions: list[ProviderSession]
    roster: RosterLinks


class RowErrorOut(Out):
    row: int | None = Field(description="Row in the file; null for the file as a whole.")
    column: str | None
    message: str


class ImportReport(Out):
    rows: int
    created: int
    changed: int
    unchanged: int
    errors: list[RowErrorOut] = Field(description="The first errors (errors_total counts all).")
    errors_total: int
    dry_run: bool
    stored: bool
    upload_id: int | None


class ImportProblem(Problem):
    """A refused upload: the problem details plus the import report (nothing was stored)."""

    rows: int
    created: int
    changed: int
    unchanged: int
    errors_total: int
    dry_run: bool
    stored: bool
    upload_id: int | None
    errors: list[RowErrorOut]  # type: ignore[assignment]


class MeasureInfo(Out):
    name: str
    label: str
    health: bool = Field(description="Health data: counts consenting employees only.")
    unit: str
    group_by: list[GroupBy]
    default_group_by: GroupBy
    region: bool = Field(description="Whether the region parameter applies.")


class Measures(Out):
    measures: list[MeasureInfo]


class CellGroup(Out):
    id: str
    name: str


class Cell(Out):
    group: CellGroup | None = Field(description="null for the total.")
    n: int | None = Field(description="People counted; null when suppressed.")
    value: float | None = Field(description="null when suppressed (never 0 instead).")
    suppressed: bool
    ci: Annotated[list[float], Field(min_length=2, max_length=2)] | None = Field(
        description="95 % interval when noise was added."
    )


class ReleaseOut(Out):
    measure: str
    k: int = Field(description="Minimum group size applied.")
    noisy: bool
    epsilon: float | None
    reused: bool
    budget_left: float | None
    total: Cell
    cells: list[Cell]


class ChecklistItemOut(Out):
    key: str
    area: str
    question: str
    help: str
    answer_type: Literal["choice", "number"]
    weight: int
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = None


class ChecklistTemplateOut(Out):
    key: str
    version: int
    title: str
    workplace: str | None
    items: list[ChecklistItemOut]


class TemplateRef(Out):
    key: str
    version: int
    title: str


class AreaScore(Out):
    area: str
    label: str
    score: float | None


class ChecklistResponseOut(Out):
    id: int
    template: TemplateRef
    workplace: str | None
    submitted_at: datetime
    score: float | None
    areas: list[AreaScore]
    to_fix: list[str]
    answers: dict[str, str | float | None]


class CheckinOut(Out):
    checked_on: date
    prevented_activity: bool
    scores: dict[BodyRegion, int]


class TrainingEntryOut(Out):
    exercise: str
    sets: int | None
    reps: int | None
    minutes: int | None


class TrainingOut(Out):
    id: int
    performed_on: date
    entries: list[TrainingEntryOut]


class ConsentTextOut(Out):
    version: str
    published_on: date
    title: str
    paragraphs: list[str]


class ConsentGiven(Out):
    version: str
    granted_at: datetime | None
    withdrawn_at: datetime | None


class ConsentOut(Out):
    purpose: ConsentPurpose
    given: bool
    given_at: datetime | None
    given_version: str | None
    renewal_due: bool
    text: ConsentTextOut
    history: list[ConsentGiven]


class ErasureOut(Out):
    deleted: dict[str, int] = Field(description="Rows deleted per kind of health data.")
    measures_unlinked: int
    enrollments_pseudonymized: int
