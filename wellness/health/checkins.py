"""Pain check-ins: the employee's own pain scores (NRS 0-10) per body region, and their trend.

Health data (GDPR Art. 9): everything here is read for the employee themselves only. HR never
reaches these functions; it sees consented aggregates built by the analytics layer.

A check-in answers every region of the Nordic Musculoskeletal Questionnaire. A region left out
means "no pain" and is stored as 0, so the rows say "asked, no pain" instead of leaving gaps
that would push every average up. The quick form asks "did pain prevent normal activity?" once;
the answer is recorded on the check-in and on each region that hurt.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from flask_babel import LazyString, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from wellness.db import dialect_insert, utcnow
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.health.models import BodyRegion, PainCheckin, PainScore
from wellness.i18n import local_today
from wellness.tenants.models import Employee

T = TypeVar("T")

NRS_MIN, NRS_MAX = 0, 10
#: How far back an entry may be dated: enough to catch up after a holiday, not to rewrite history.
BACKDATE_DAYS = 90

REGION_LABELS: dict[BodyRegion, LazyString] = {
    BodyRegion.NECK: _l("Neck"),
    BodyRegion.SHOULDERS: _l("Shoulders"),
    BodyRegion.UPPER_BACK: _l("Upper back"),
    BodyRegion.ELBOWS: _l("Elbows"),
    BodyRegion.LOW_BACK: _l("Low back"),
    BodyRegion.WRISTS_HANDS: _l("Wrists and hands"),
    BodyRegion.HIPS_THIGHS: _l("Hips and thighs"),
    BodyRegion.KNEES: _l("Knees"),
    BodyRegion.ANKLES_FEET: _l("Ankles and feet"),
}


class InvalidEntry(DomainError):
    """An answer the rules refuse; ``field`` names it so a form or API client can point at it.

    ``entry`` is the position in a list of entries (training exercises), when the field is in one.
    """

    status_code = 422

    def __init__(self, field: str, message: str, entry: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.entry = entry


def whole_number(
    value: object, low: int, high: int, field: str, message: str, entry: int | None = None
) -> int:
    """``value`` if it is a whole number in ``low..high``; API clients can send anything."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidEntry(field, message, entry)
    return value


def entry_date(value: date | None, field: str, today: date | None = None) -> date:
    """The day an entry is for: today (in Germany) unless given, never in the future and at most
    :data:`BACKDATE_DAYS` back."""
    today = today or local_today(utcnow())
    if value is None:
        return today
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidEntry(field, _("Enter a date like 2026-03-31."))
    if value > today:
        raise InvalidEntry(
            field,
            _(
                "%(date)s is in the future. Enter today or an earlier day.",
                date=format_date(value, "medium"),
            ),
        )
    if value < today - timedelta(days=BACKDATE_DAYS):
        raise InvalidEntry(
            field,
            _(
                "%(date)s is too long ago: entries can go back at most %(days)d days.",
                date=format_date(value, "medium"),
                days=BACKDATE_DAYS,
            ),
        )
    return value


def _scores(scores: Mapping[str, int]) -> dict[BodyRegion, int]:
    """Every region with its score: unknown regions and scores outside 0-10 are refused."""
    if not isinstance(scores, Mapping):
        raise InvalidEntry("scores", _("Send the scores as an object of region and score."))
    known = {region.value for region in BodyRegion}
    for key in scores:
        if key not in known:
            raise InvalidEntry(
                f"scores.{key}",
                _(
                    "“%(region)s” is not a body region. Use one of: %(regions)s.",
                    region=str(key)[:40],
                    regions=", ".join(sorted(known)),
                ),
            )
    return {
        region: whole_number(
            scores.get(region.value, NRS_MIN),
            NRS_MIN,
            NRS_MAX,
            f"scores.{region.value}",
            _(
                "%(region)s: the pain score must be a whole number from %(low)d (no pain) "
                "to %(high)d (worst imaginable).",
                region=REGION_LABELS[region],
                low=NRS_MIN,
                high=NRS_MAX,
            ),
        )
        for region in BodyRegion
    }


def checkin_on(employee: Employee, day: date) -> PainCheckin | None:
    """The employee's check-in of ``day``, with its scores."""
    return db.session.scalar(
        select(PainCheckin)
        .where(PainCheckin.employee_id == employee.id, PainCheckin.checked_on == day)
        .options(selectinload(PainCheckin.scores))
        .execution_options(populate_existing=True)
    )


@dataclass(frozen=True)
class Recorded:
    checkin: PainCheckin
    #: An earlier check-in of the same day was replaced.
    replaced: bool


def record_checkin(
    employee: Employee,
    scores: Mapping[str, int],
    *,
    prevented_activity: bool = False,
    checked_on: date | None = None,
    today: date | None = None,
) -> Recorded:
    """Record how much each region hurt in the last 7 days; one check-in per day.

    Checking in again for the same day replaces that day's answers: a corrected tap should not
    count as a second data point. Everything is validated before anything is written.
    """
    day = entry_date(checked_on, "checked_on", today)
    values = _scores(scores)
    if not isinstance(prevented_activity, bool):
        raise InvalidEntry(
            "prevented_activity", _("Answer whether pain prevented normal activity.")
        )
    if prevented_activity and not any(values.values()):
        raise InvalidEntry(
            "prevented_activity",
            _(
                "You said pain prevented normal activity: give the region that hurt a score "
                "above 0."
            ),
        )
    checkin = checkin_on(employee, day)
    replaced = checkin is not None
    if checkin is None:
        # A double tap sends two requests at once: the database makes the second insert wait
        # for the first, which then stands, and the second request updates it.
        inserted = db.session.scalar(
            dialect_insert()(PainCheckin)
            .values(employee_id=employee.id, checked_on=day, prevented_activity=prevented_activity)
            .on_conflict_do_nothing(index_elements=["employee_id", "checked_on"])
            .returning(PainCheckin.id)
        )
        replaced = inserted is None
        checkin = checkin_on(employee, day)
        if checkin is None:
            raise RuntimeError("pain check-in missing right after its insert")
    checkin.prevented_activity = prevented_activity
    existing = {score.region: score for score in checkin.scores}
    for region, nrs in values.items():
        score = existing.get(region.value)
        if score is None:
            score = PainScore(region=region.value)
            checkin.scores.append(score)
        score.nrs = nrs
        score.prevented_activity = prevented_activity and nrs > NRS_MIN
    db.session.flush()
    return Recorded(checkin, replaced)


def set_pain_reminder(employee: Employee, wanted: bool) -> None:
    """Opt in to (or out of) the monthly check-in reminder mail."""
    employee.pain_reminder_opt_in = wanted
    db.session.flush()


# --- Reading one's own history -----------------------------------------------------------


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def paginate(query: Select[Any], page: int, per_page: int) -> Page[Any]:
    """One page of an ordered query, and the total the query finds."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), page, per_page, total or 0)


def history(employee: Employee, *, page: int = 1, per_page: int = 20) -> Page[PainCheckin]:
    """The employee's check-ins, newest first."""
    query = (
        select(PainCheckin)
        .where(PainCheckin.employee_id == employee.id)
        .options(selectinload(PainCheckin.scores))
        .order_by(PainCheckin.checked_on.desc())
    )
    return paginate(query, page, per_page)


def scores_of(checkin: PainCheckin) -> dict[BodyRegion, int]:
    """All nine regions; a region without a row (older data) had no pain."""
    stored = {score.region: score.nrs for score in checkin.scores}
    return {region: stored.get(region.value, NRS_MIN) for region in BodyRegion}


# --- Trend -------------------------------------------------------------------------------


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"


def period_start(day: date, period: Period) -> date:
    """Monday of the ISO week, or the first of the month."""
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_end(start: date, period: Period) -> date:
    """The first day after the period starting at ``start``."""
    if period is Period.WEEK:
        return start + timedelta(weeks=1)
    return (start + timedelta(days=31)).replace(day=1)


def period_starts(period: Period, count: int, today: date | None = None) -> list[date]:
    """The last ``count`` periods up to the one holding ``today``, oldest first."""
    start = period_start(today or local_today(utcnow()), period)
    starts = [start]
    for _step in range(count - 1):
        start = period_start(start - timedelta(days=1), period)
        starts.append(start)
    return starts[::-1]


@dataclass(frozen=True)
class TrendPoint:
    starts_on: date
    #: Mean score per region over the period's check-ins; ``None`` without a check-in.
    scores: dict[BodyRegion, float | None]
    checkins: int
    #: Check-ins that said pain prevented normal activity.
    prevented: int


@dataclass(frozen=True)
class PainTrend:
    period: Period
    points: list[TrendPoint]
    #: Regions that hurt at least once in the window; the others would be flat lines at 0.
    regions: list[BodyRegion]


def pain_trend(
    employee: Employee,
    period: Period = Period.MONTH,
    *,
    count: int = 12,
    today: date | None = None,
) -> PainTrend:
    """Mean score per region for each of the last ``count`` weeks or months."""
    starts = period_starts(period, count, today)
    checkins = db.session.scalars(
        select(PainCheckin)
        .where(PainCheckin.employee_id == employee.id, PainCheckin.checked_on >= starts[0])
        .options(selectinload(PainCheckin.scores))
    ).all()
    grouped: dict[date, list[PainCheckin]] = defaultdict(list)
    for checkin in checkins:
        grouped[period_start(checkin.checked_on, period)].append(checkin)
    points = []
    hurt: set[BodyRegion] = set()
    for start in starts:
        found = [scores_of(checkin) for checkin in grouped.get(start, [])]
        means: dict[BodyRegion, float | None] = {}
        for region in BodyRegion:
            values = [scores[region] for scores in found]
            means[region] = round(sum(values) / len(values), 1) if values else None
            if any(values):
                hurt.add(region)
        prevented = sum(c.prevented_activity for c in grouped.get(start, []))
        points.append(TrendPoint(start, means, len(found), prevented))
    regions = [region for region in BodyRegion if region in hurt]
    return PainTrend(period, points, regions)
