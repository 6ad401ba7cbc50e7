"""The measures HR can ask for, and how a query becomes cells for the privacy layer.

Each measure yields ONE value per distinct person per bucket (the whole period, a month or
quarter, a field of action, or a participation group), computed by grouped queries over the
employer's rows; department and site cells are then cut from those values in memory. Nothing
computed here leaves the module except through :func:`wellness.analytics.privacy.release`,
after the complement rule has been checked for every filter.

Health measures count only people who consent to ``health_aggregates`` at the time the figure
is computed; pseudonymized people (erased or left) never count.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence, Set
from dataclasses import dataclass
from datetime import date, datetime
from statistics import fmean, median_low
from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CTE,
    ColumnElement,
    Date,
    Float,
    Select,
    SQLColumnExpression,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)

from wellness.analytics import calendar_periods, exact_store, privacy
from wellness.analytics.grid import (
    NON_PARTICIPANTS,
    PARTICIPANTS,
    Bucket,
    GroupBy,
    Organisation,
    Period,
    buckets_cte,
    days_after,
    months_cte,
    restrict,
    within,
    within_instant,
)
from wellness.analytics.privacy import Group, RawCell, Release
from wellness.attendance.models import Attendance, AttendanceStatus, Certificate
from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    FieldOfAction,
    Offering,
    OfferingEmployer,
    OfferingStatus,
)
from wellness.db import utcnow
from wellness.extensions import db
from wellness.health.consent import consented
from wellness.health.models import (
    BodyRegion,
    ChecklistResponse,
    ConsentPurpose,
    ErgonomicMeasure,
    ExerciseLog,
    MeasureStatus,
    PainCheckin,
    PainMonth,
    PainScore,
)
from wellness.i18n import local_today
from wellness.tenants.models import Employee, Employer

#: Values per bucket index, then per employee id.
Values = dict[int, dict[int, float]]

DEFAULT_REGION = BodyRegion.LOW_BACK
#: NRS from which pain counts as high (moderate to severe).
HIGH_PAIN_NRS = 5
#: Upper bound of training frequency: two sessions a day is already implausible.
MAX_SESSIONS_PER_WEEK = 14
#: Upper bound of the days from asking for an ergonomic measure to having it: one request
#: forgotten for years must not swamp everyone else's mean.
MAX_DAYS_TO_DONE = 365
#: Fields of action whose courses count as back courses for ``course_effect``. Courses carry
#: no finer marker than their field; back schools (Rückenschule) are §20 movement courses,
#: while nutrition, stress and addiction courses do not aim at back pain and would only dilute
#: the comparison.
BACK_FIELDS = (FieldOfAction.MOVEMENT.value,)
#: Length of the windows before and after a course for ``course_effect``: three months as 13
#: weeks, the same length for everyone and in every database.
EFFECT_WINDOW_DAYS = 91
#: Groupings of most measures; the first is the default.
STANDARD_GROUPINGS = (GroupBy.DEPARTMENT, GroupBy.SITE, GroupBy.MONTH, GroupBy.QUARTER)
#: Measures of course seats can also be split by the courses' field of action.
ENROLLMENT_GROUPINGS = (*STANDARD_GROUPINGS, GroupBy.FIELD)


@dataclass(frozen=True)
class Context:
    """What a measure's query needs: whose rows, which buckets, as of when."""

    employer: Employer
    org: Organisation
    buckets: list[Bucket]
    cte: CTE
    period: Period
    now: datetime
    region: BodyRegion

    @property
    def today(self) -> date:
        return local_today(self.now)


@dataclass(frozen=True)
class Measure:
    name: str
    label: LazyString
    health: bool
    unit: str
    compute: Callable[[Context], Values]
    upper: Callable[[Context], float]
    lower: float = 0.0
    #: Whether the ``region`` parameter applies.
    by_region: bool = False
    #: The groupings the measure can be released by, the default first (the API and the
    #: dashboards read them through :func:`groupings` and :func:`default_grouping`).
    groupings: tuple[GroupBy, ...] = STANDARD_GROUPINGS


def _employees_of(
    ctx: Context,
    column: SQLColumnExpression[int] | SQLColumnExpression[int | None],
    *,
    health: bool,
) -> list[ColumnElement[bool]]:
    """Conditions scoping a person column to the employer's countable people."""
    conditions = [
        Employee.employer_id == ctx.employer.id,
        Employee.pseudonymized_at.is_(None),
        Employee.id == column,
    ]
    if health:
        conditions.append(
            Employee.id.in_(
                consented(ConsentPurpose.HEALTH_AGGREGATES, at=ctx.now, employer_id=ctx.employer.id)
            )
        )
    return conditions


def _collect(rows: Iterable[tuple[int, int, float | int | None]]) -> Values:
    values: Values = defaultdict(dict)
    for bucket, person, value in rows:
        if value is not None:
            values[int(bucket)][int(person)] = float(value)
    return values


def _enrolled(ctx: Context, when: ColumnElement[bool]) -> Select[int, int]:
    """Seats held by the employer's people in offerings that run (not cancelled), in every
    bucket whose time ``when`` matches the offering and whose field of action (if it has one,
    see :meth:`Period.buckets`) is the course's."""
    same_field = or_(ctx.cte.c.field.is_(None), ctx.cte.c.field == Course.field_of_action)
    return (
        select(ctx.cte.c.bucket, Enrollment.employee_id)
        .select_from(Enrollment)
        .join(Offering, Offering.id == Enrollment.offering_id)
        .join(Course, Course.id == Offering.course_id)
        .join(Employee, and_(*_employees_of(ctx, Enrollment.employee_id, health=False)))
        .join(ctx.cte, and_(when, same_field))
        .where(
            Enrollment.status == EnrollmentStatus.ENROLLED.value,
            Offering.status != OfferingStatus.CANCELLED.value,
        )
    )


def _ended(ctx: Context) -> ColumnElement[bool]:
    """Offerings that ended in the bucket, before today: a running course is not over yet."""
    return and_(within(Offering.ends_on, ctx.cte), Offering.ends_on < ctx.today)


def participation_rate(ctx: Context) -> Values:
    """1 for every active employee enrolled in an offering overlapping the bucket, else 0.
    Someone hired after a bucket ended is not yet part of its population."""
    overlap = and_(Offering.starts_on < ctx.cte.c.ends_on, Offering.ends_on >= ctx.cte.c.starts_on)
    query = _enrolled(ctx, overlap).distinct()
    enrolled: defaultdict[int, set[int]] = defaultdict(set)
    for bucket_index, person_id in db.session.execute(query):
        enrolled[bucket_index].add(person_id)
    # Active people by hiring date: a bucket's population is a prefix (about 30 buckets of
    # 50,000 people on a dashboard page, so no loop over people per bucket).
    active = sorted(
        (person.hired_on or date.min, person_id)
        for person_id, person in ctx.org.people.items()
        if person.active
    )
    hired = [day for day, _person in active]
    ids = [person_id for _day, person_id in active]
    values: Values = {}
    for bucket in ctx.buckets:
        row = dict.fromkeys(ids[: bisect_left(hired, bucket.ends_on)], 0.0)
        row.update(dict.fromkeys(enrolled[bucket.index] & row.keys(), 1.0))
        values[bucket.index] = row
    return values


def completion_rate(ctx: Context) -> Values:
    """Per participant whose offering ended in the bucket (a course still running cannot be
    completed yet): 1 with a valid (not revoked) certificate for one of those seats."""
    query = (
        _enrolled(ctx, _ended(ctx))
        .add_columns(func.max(case((Certificate.id.is_not(None), 1), else_=0)))
        .outerjoin(
            Certificate,
            and_(Certificate.enrollment_id == Enrollment.id, Certificate.revoked_at.is_(None)),
        )
        .group_by(ctx.cte.c.bucket, Enrollment.employee_id)
    )
    return _collect(db.session.execute(query))


def budget_used(ctx: Context) -> Values:
    """Employer share in EUR per participant, counted when the offering starts (the budget
    year a seat is charged to is its start year)."""
    query = (
        _enrolled(ctx, within(Offering.starts_on, ctx.cte))
        .add_columns(func.sum(Enrollment.employer_share_cents) / 100.0)
        .group_by(ctx.cte.c.bucket, Enrollment.employee_id)
    )
    return _collect(db.session.execute(query))


def attendance_rate(ctx: Context) -> Values:
    """Per participant of offerings that ended in the bucket: sessions marked present of all
    sessions of those offerings, pooled (a person's long course weighs more than their short
    one). Like the certificate threshold, only "present" counts; a session without a mark is
    a session missed."""
    sessions = (
        select(CourseSession.offering_id, func.count(CourseSession.id).label("total"))
        .group_by(CourseSession.offering_id)
        .subquery()
    )
    present = (
        select(Attendance.enrollment_id, func.count(Attendance.id).label("attended"))
        .join(Enrollment, Enrollment.id == Attendance.enrollment_id)
        .join(Employee, and_(*_employees_of(ctx, Enrollment.employee_id, health=False)))
        .join(
            CourseSession,
            and_(
                CourseSession.id == Attendance.session_id,
                CourseSession.offering_id == Enrollment.offering_id,
            ),
        )
        .where(Attendance.status == AttendanceStatus.PRESENT.value)
        .group_by(Attendance.enrollment_id)
        .subquery()
    )
    attended = cast(func.sum(func.coalesce(present.c.attended, 0)), Float)
    query = (
        _enrolled(ctx, _ended(ctx))
        .add_columns(attended / func.sum(sessions.c.total))
        .join(sessions, sessions.c.offering_id == Offering.id)
        .outerjoin(present, present.c.enrollment_id == Enrollment.id)
        .group_by(ctx.cte.c.bucket, Enrollment.employee_id)
    )
    return _collect(db.session.execute(query))


def _budget_bound(ctx: Context) -> float:
    return ctx.employer.budget_per_employee_cents / 100 * ctx.period.years()


def _pain_months(ctx: Context, *columns: Any, region: str | None = None) -> Select[Any]:
    """The countable people's pain rollup rows (:class:`PainMonth`) in each bucket, of one
    ``region`` or all. Buckets of pain measures are whole calendar months, so a month row lies
    wholly inside or out: the period's rows are read once (materialized), then joined to their
    buckets by month (:func:`months_cte`), rather than read again for each bucket. All
    regions' rows are summed per person and month first: six to nine times fewer rows to join
    to the buckets and group again (``prevented`` stays above 0 exactly when a region's was)."""
    months = months_cte(ctx.buckets)
    first = min(b.starts_on for b in ctx.buckets)
    end = max(b.ends_on for b in ctx.buckets)
    measured: tuple[Any, ...] = (PainMonth.scores, PainMonth.nrs_sum, PainMonth.prevented)
    if region is None:
        measured = tuple(func.sum(column).label(column.key) for column in measured)
    rows = (
        select(PainMonth.employee_id, PainMonth.month, *measured)
        .select_from(PainMonth)
        .join(Employee, and_(*_employees_of(ctx, PainMonth.employee_id, health=True)))
        .where(PainMonth.month >= first, PainMonth.month < end)
    )
    if region is None:
        rows = rows.group_by(PainMonth.employee_id, PainMonth.month)
    else:
        rows = rows.where(PainMonth.region == region)
    read = rows.cte("pain_rows").prefix_with("MATERIALIZED", dialect="postgresql")
    return (
        select(months.c.bucket, read.c.employee_id, *(column(read) for column in columns))
        .select_from(read)
        .join(months, read.c.month == months.c.month)
        .group_by(months.c.bucket, read.c.employee_id)
    )


def _mean_nrs(ctx: Context) -> Values:
    def mean(rows: Any) -> Any:
        return cast(func.sum(rows.c.nrs_sum), Float) / func.sum(rows.c.scores)

    query = _pain_months(ctx, mean, region=ctx.region.value)
    return _collect(db.session.execute(query))


def pain_mean(ctx: Context) -> Values:
    """Per person: their mean NRS for the region over their check-ins in the bucket, so a
    person who checks in daily weighs no more than one who checks in monthly."""
    return _mean_nrs(ctx)


def pain_high_share(ctx: Context) -> Values:
    """Per person: 1 when their mean NRS in the bucket is at least 5."""
    return {
        bucket: {person: float(nrs >= HIGH_PAIN_NRS) for person, nrs in people.items()}
        for bucket, people in _mean_nrs(ctx).items()
    }


def pain_limited_share(ctx: Context) -> Values:
    """Per person who checked in: 1 when any check-in said pain prevented normal activity.
    Read from every region's rollup rows: a check-in always scores regions (the form stores
    all nine), so it is in at least one of them."""

    def limited(rows: Any) -> Any:
        return func.max(case((rows.c.prevented > 0, 1), else_=0))

    return _collect(db.session.execute(_pain_months(ctx, limited)))


def _latest_responses(ctx: Context) -> Select[int, int, int, int]:
    """(bucket, person, score, items to fix) of each person's latest scored checklist response
    in the bucket: the workstation as it is now, not an average with how it was before a fix."""
    ranked = (
        select(
            ctx.cte.c.bucket.label("bucket"),
            ChecklistResponse.employee_id.label("person"),
            ChecklistResponse.score.label("score"),
            ChecklistResponse.items_to_fix.label("to_fix"),
            func.row_number()
            .over(
                partition_by=(ctx.cte.c.bucket, ChecklistResponse.employee_id),
                order_by=(ChecklistResponse.submitted_at.desc(), ChecklistResponse.id.desc()),
            )
            .label("latest"),
        )
        .select_from(ChecklistResponse)
        .join(Employee, and_(*_employees_of(ctx, ChecklistResponse.employee_id, health=True)))
        .join(ctx.cte, within_instant(ChecklistResponse.submitted_at, ctx.cte))
        .where(ChecklistResponse.score.is_not(None))
        .subquery()
    )
    return select(ranked.c.bucket, ranked.c.person, ranked.c.score, ranked.c.to_fix).where(
        ranked.c.latest == 1
    )


def checklist_score(ctx: Context) -> Values:
    """Per person: the score of their latest scored checklist response in the bucket."""
    latest = _latest_responses(ctx).subquery()
    return _collect(db.session.execute(select(latest.c.bucket, latest.c.person, latest.c.score)))


def open_issues_share(ctx: Context) -> Values:
    """Per person with a scored checklist response in the bucket: 1 when their latest one has
    items to fix (counted at submission: a score of 100 can hide a small shortfall in its
    rounding, one "partly" among many heavy items of an adapted copy). A response not counted
    (written by a process older than migration 0009 during a deploy) falls back to its score."""
    latest = _latest_responses(ctx).subquery()
    uncounted = and_(latest.c.to_fix.is_(None), latest.c.score < 100)
    has_issues = case((latest.c.to_fix > 0, 1.0), (uncounted, 1.0), else_=0.0)
    return _collect(db.session.execute(select(latest.c.bucket, latest.c.person, has_issues)))


def training_frequency(ctx: Context) -> Values:
    """Per person who logged at least once: sessions per elapsed week of the bucket."""
    query = (
        select(ctx.cte.c.bucket, ExerciseLog.employee_id, func.count(ExerciseLog.id))
        .select_from(ExerciseLog)
        .join(Employee, and_(*_employees_of(ctx, ExerciseLog.employee_id, health=True)))
        .join(ctx.cte, within(ExerciseLog.performed_on, ctx.cte))
        .group_by(ctx.cte.c.bucket, ExerciseLog.employee_id)
    )
    weeks = {bucket.index: bucket.weeks_elapsed(ctx.today) for bucket in ctx.buckets}
    values: Values = defaultdict(dict)
    for bucket, person, sessions in db.session.execute(query):
        if weeks[bucket] > 0:
            per_week = min(MAX_SESSIONS_PER_WEEK, sessions / max(weeks[bucket], 1.0))
            values[bucket][person] = float(per_week)
    return values


def _ergonomic_measures(ctx: Context, when: ColumnElement[bool]) -> Select[int, int]:
    """(bucket, person) of the employer's ergonomic measures whose time ``when`` matches the
    bucket; health data, since a measure comes from a person's checklist result."""
    return (
        select(ctx.cte.c.bucket, ErgonomicMeasure.employee_id)
        .select_from(ErgonomicMeasure)
        .join(Employee, and_(*_employees_of(ctx, ErgonomicMeasure.employee_id, health=True)))
        .join(ctx.cte, when)
        .where(ErgonomicMeasure.employer_id == ctx.employer.id)
    )


def measures_done(ctx: Context) -> Values:
    """Per person who asked for ergonomic measures in the bucket: the share of those requests
    done by now. A rejected request counts as not done: the workstation stayed as it was."""
    done = case((ErgonomicMeasure.status == MeasureStatus.DONE.value, 1.0), else_=0.0)
    query = (
        _ergonomic_measures(ctx, within_instant(ErgonomicMeasure.requested_at, ctx.cte))
        .add_columns(func.avg(done))
        .group_by(ctx.cte.c.bucket, ErgonomicMeasure.employee_id)
    )
    return _collect(db.session.execute(query))


def measure_days_to_done(ctx: Context) -> Values:
    """Per person with a measure done in the bucket: the mean number of German calendar days
    from request to done (0: the same day), each bounded by :data:`MAX_DAYS_TO_DONE`."""
    query = (
        _ergonomic_measures(ctx, within_instant(ErgonomicMeasure.done_at, ctx.cte))
        .add_columns(ErgonomicMeasure.requested_at, ErgonomicMeasure.done_at)
        .where(ErgonomicMeasure.status == MeasureStatus.DONE.value)
    )
    days: dict[tuple[int, int], list[int]] = defaultdict(list)
    for bucket, person, requested_at, done_at in db.session.execute(query):
        elapsed = (local_today(done_at) - local_today(requested_at)).days
        days[(bucket, person)].append(min(max(elapsed, 0), MAX_DAYS_TO_DONE))
    return _collect((bucket, person, fmean(spans)) for (bucket, person), spans in days.items())


def _back_seats(*columns: SQLColumnExpression[Any]) -> Select[*tuple[Any, ...]]:
    """Seats in running (not cancelled) offerings of back courses (:data:`BACK_FIELDS`)."""
    return (
        select(*columns)
        .select_from(Enrollment)
        .join(Offering, Offering.id == Enrollment.offering_id)
        .join(Course, Course.id == Offering.course_id)
        .where(
            Enrollment.status == EnrollmentStatus.ENROLLED.value,
            Offering.status != OfferingStatus.CANCELLED.value,
            Course.field_of_action.in_(BACK_FIELDS),
        )
    )


def _nrs_around(
    ctx: Context, starts_on: SQLColumnExpression[date], ends_on: SQLColumnExpression[date]
) -> Select[int, float | None, float | None]:
    """Per countable person: mean NRS for the region over their check-ins in the window before
    ``starts_on`` and in the window after ``ends_on`` (None without a check-in there)."""
    before = and_(
        PainCheckin.checked_on >= days_after(starts_on, -EFFECT_WINDOW_DAYS),
        PainCheckin.checked_on < starts_on,
    )
    after = and_(
        PainCheckin.checked_on > ends_on,
        PainCheckin.checked_on <= days_after(ends_on, EFFECT_WINDOW_DAYS),
    )
    return (
        select(
            PainCheckin.employee_id,
            func.avg(case((before, PainScore.nrs))),
            func.avg(case((after, PainScore.nrs))),
        )
        .select_from(PainScore)
        .join(PainCheckin, PainCheckin.id == PainScore.checkin_id)
        .join(Employee, and_(*_employees_of(ctx, PainCheckin.employee_id, health=True)))
        .where(PainScore.region == ctx.region.value, or_(before, after))
        .group_by(PainCheckin.employee_id)
    )


def course_effect(ctx: Context) -> Values:
    """Per person: the change in their mean NRS for the region from the window before a back
    course to the window after it (13 weeks each; negative is less pain), for participants
    and for non-participants "over the same months". It is an observation, not proof: people
    choose to take part, and pain changes without a course too.

    A participant holds a seat in a back course that starts in the period; their windows are
    the 13 weeks before their first such offering starts and the 13 weeks after it ends. A
    non-participant holds no seat in a back course that started in or before the period;
    their windows are those of the median participant's offering (the median start and the
    median end of the counted participants' offerings), so both groups are compared over the
    same seasons. Anyone counts only with a check-in in each window; people with a back
    course only before the period are in neither group.
    """
    ranked = (
        _back_seats(
            Enrollment.employee_id.label("person"),
            Offering.starts_on.label("starts_on"),
            Offering.ends_on.label("ends_on"),
            func.row_number()
            .over(partition_by=Enrollment.employee_id, order_by=(Offering.starts_on, Offering.id))
            .label("nth"),
        )
        .join(Employee, and_(*_employees_of(ctx, Enrollment.employee_id, health=True)))
        .where(Offering.starts_on >= ctx.period.first, Offering.starts_on < ctx.period.ends_on)
        .subquery()
    )
    first = select(ranked).where(ranked.c.nth == 1).subquery()
    participants = (
        _nrs_around(ctx, first.c.starts_on, first.c.ends_on)
        .add_columns(first.c.starts_on, first.c.ends_on)
        .join(first, first.c.person == PainCheckin.employee_id)
        .group_by(first.c.starts_on, first.c.ends_on)
    )
    values: Values = defaultdict(dict)
    starts, ends = [], []
    for person, before, after, starts_on, ends_on in db.session.execute(participants):
        if before is not None and after is not None:
            values[PARTICIPANTS][person] = float(after) - float(before)
            starts.append(starts_on)
            ends.append(ends_on)
    if starts:
        took_part = _back_seats(Enrollment.employee_id).where(
            Offering.starts_on < ctx.period.ends_on
        )
        others = _nrs_around(
            ctx, literal(median_low(starts), Date), literal(median_low(ends), Date)
        ).where(PainCheckin.employee_id.not_in(took_part))
        for person, before, after in db.session.execute(others):
            if before is not None and after is not None:
                values[NON_PARTICIPANTS][person] = float(after) - float(before)
    values[0] = {**values[PARTICIPANTS], **values[NON_PARTICIPANTS]}
    return values


def _fixed(upper: float) -> Callable[[Context], float]:
    return lambda ctx: upper


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure(
            "participation_rate",
            _l("Share of employees enrolled in a course"),
            health=False,
            unit="share",
            compute=participation_rate,
            upper=_fixed(1.0),
            groupings=ENROLLMENT_GROUPINGS,
        ),
        Measure(
            "completion_rate",
            _l("Share of participants with a participation certificate"),
            health=False,
            unit="share",
            compute=completion_rate,
            upper=_fixed(1.0),
            groupings=ENROLLMENT_GROUPINGS,
        ),
        Measure(
            "budget_used",
            _l("Employer budget used per participant"),
            health=False,
            unit="EUR",
            compute=budget_used,
            upper=_budget_bound,
            groupings=ENROLLMENT_GROUPINGS,
        ),
        Measure(
            "attendance_rate",
            _l("Share of sessions attended by participants"),
            health=False,
            unit="share",
            compute=attendance_rate,
            upper=_fixed(1.0),
            groupings=ENROLLMENT_GROUPINGS,
        ),
        Measure(
            "pain_mean",
            _l("Mean pain (NRS 0-10)"),
            health=True,
            unit="NRS",
            compute=pain_mean,
            upper=_fixed(10.0),
            by_region=True,
        ),
        Measure(
            "pain_high_share",
            _l("Share with pain of 5 or more (NRS)"),
            health=True,
            unit="share",
            compute=pain_high_share,
            upper=_fixed(1.0),
            by_region=True,
        ),
        Measure(
            "pain_limited_share",
            _l("Share whose pain prevented normal activity"),
            health=True,
            unit="share",
            compute=pain_limited_share,
            upper=_fixed(1.0),
        ),
        Measure(
            "checklist_score",
            _l("Workstation checklist score (0-100)"),
            health=True,
            unit="points",
            compute=checklist_score,
            upper=_fixed(100.0),
        ),
        Measure(
            "open_issues_share",
            _l("Share of workstations with items to fix"),
            health=True,
            unit="share",
            compute=open_issues_share,
            upper=_fixed(1.0),
        ),
        Measure(
            "measures_done",
            _l("Share of requested ergonomic measures done"),
            health=True,
            unit="share",
            compute=measures_done,
            upper=_fixed(1.0),
        ),
        Measure(
            "measure_days_to_done",
            _l("Days from requesting an ergonomic measure to having it done"),
            health=True,
            unit="days",
            compute=measure_days_to_done,
            upper=_fixed(float(MAX_DAYS_TO_DONE)),
        ),
        Measure(
            "training_frequency",
            _l("Home training sessions per week"),
            health=True,
            unit="sessions/week",
            compute=training_frequency,
            upper=_fixed(float(MAX_SESSIONS_PER_WEEK)),
        ),
        Measure(
            "course_effect",
            _l(
                "Change in pain (NRS) from before to after a back course, participants next to "
                "non-participants over the same months: an observation, not proof of an effect"
            ),
            health=True,
            unit="NRS change",
            compute=course_effect,
            upper=_fixed(10.0),
            lower=-10.0,
            by_region=True,
            groupings=(GroupBy.PARTICIPATION,),
        ),
    )
}


def groupings(name: str) -> tuple[GroupBy, ...]:
    """The groupings measure ``name`` can be released by, the default first: the one rule the
    API and the dashboards share."""
    return MEASURES[name].groupings


def releases_exactly(employer: Employer, name: str) -> bool:
    """Whether measure ``name``'s figures go out without noise (then for calendar periods only)."""
    return not (MEASURES[name].health and employer.dp_enabled)


def default_grouping(name: str) -> GroupBy:
    return MEASURES[name].groupings[0]


@dataclass(frozen=True)
class Spec:
    """One analytics query as HR asked it (ids already checked to belong to the employer)."""

    measure: str
    group_by: GroupBy
    period: Period
    department_id: int | None = None
    site_id: int | None = None
    region: BodyRegion = DEFAULT_REGION

    def key(self) -> str:
        """Canonical text of the query: identical questions get the stored release."""
        parts = [
            self.measure,
            f"by={self.group_by.value}",
            f"department={self.department_id or ''}",
            f"site={self.site_id or ''}",
            self.period.key(),
        ]
        if MEASURES[self.measure].by_region:
            parts.append(f"region={self.region.value}")
        return "|".join(parts)


def _complements(
    org: Organisation, department_id: int | None, site_id: int | None, population: Set[int]
) -> list[tuple[Set[int], Set[int]]]:
    """(parent, filtered) populations for the complement rule: each filter relaxed in turn (the
    parent department, or no site), and with both filters the corner outside both — otherwise
    parent − department − site + both would single out the people in neither."""
    pairs: list[tuple[Set[int], Set[int]]] = []
    if department_id is not None:
        pairs.append((org.members(org.parent_of(department_id), site_id), population))
    if site_id is not None:
        pairs.append((org.members(department_id, None), population))
    if department_id is not None and site_id is not None:
        parent = org.parent_of(department_id)
        either = org.members(department_id, None) | org.members(parent, site_id)
        pairs.append((org.members(parent, None), either))
    return pairs


def run(
    employer: Employer,
    spec: Spec,
    *,
    now: datetime | None = None,
    organisation: Callable[[], Organisation] | None = None,
) -> Release:
    """Compute the cells of ``spec`` and release them through the privacy layer.

    ``organisation`` returns the employer's :meth:`Organisation.load`, for callers that run
    several queries at once (a dashboard page loads it once, and only when a chart is not a
    stored release); loaded here when not given. An exact release comes from
    :mod:`.exact_store` while the data has not changed since it was computed, and is stored
    there otherwise.

    The complement rule is applied to the total and to every cell against the same cell of
    each parent population (one filter relaxed): "site S in the whole company" minus "site S in
    department D", or one month of the parent minus that month of the filter, must not isolate
    fewer than k people either. Any failing check refuses the whole query.
    """
    measure = MEASURES[spec.measure]
    if spec.group_by not in measure.groupings:
        raise ValueError(f"{measure.name} cannot be grouped by {spec.group_by.value}")
    found, slots, now = _look_up(employer, [spec], now)
    if spec in found:
        return found[spec]
    slot = slots.get(spec)
    year = _calendar_year(employer, measure, spec, local_today(now))
    org = organisation() if organisation is not None else Organisation.load(employer.id)
    if org.employer_id != employer.id:
        raise ValueError("the organisation is another employer's")
    buckets = spec.period.buckets(spec.group_by)
    if spec.group_by is GroupBy.FIELD:
        offered = _offered_fields(employer, spec.period)
        buckets = [b for b in buckets if b.field is None or b.field in offered]
    tree = []
    if year is not None and spec.group_by is not GroupBy.PARTICIPATION:
        after = max(b.index for b in buckets) + 1
        tree = calendar_periods.buckets(year, local_today(now), after)
    # The tree repeats the period's own buckets (the year is the total of a yearly period, its
    # months the month cells): each stretch of time is computed once and shared.
    same = {(b.starts_on, b.ends_on, b.field): b.index for b in buckets}
    twins = {b.index: same[key] for b in tree if (key := (b.starts_on, b.ends_on, b.field)) in same}
    computed = buckets + [b for b in tree if b.index not in twins]
    ctx = Context(employer, org, computed, buckets_cte(computed), spec.period, now, spec.region)
    values = measure.compute(ctx)
    for twin, original in twins.items():
        values[twin] = values.get(original, {})
    query = privacy.Query(
        employer_id=employer.id,
        measure=measure.name,
        health=measure.health,
        lower=measure.lower,
        upper=measure.upper(ctx),
        key=spec.key(),
        max_cells_per_person=spec.group_by.cells_per_person,
    )
    population = org.members(spec.department_id, spec.site_id)

    def cut(group: Group | None, bucket: int, scope: Set[int], people: Set[int] | None) -> RawCell:
        inside = scope if people is None else scope & people
        return RawCell(group, restrict(values.get(bucket, {}), inside))

    layout: list[tuple[Group | None, int, Set[int] | None]]
    if spec.group_by.of_organisation:
        layout = [(g, 0, people) for g, people in org.groups(spec.group_by, spec.department_id)]
    else:
        layout = [(b.group, b.index, None) for b in buckets[1:]]
    total = cut(None, 0, population, None)
    cells = [cut(group, bucket, population, people) for group, bucket, people in layout]
    for parent, filtered in _complements(org, spec.department_id, spec.site_id, population):
        privacy.check_filter(query, cut(None, 0, parent, None), cut(None, 0, filtered, None))
        for group, bucket, people in layout:
            privacy.check_filter(
                query, cut(group, bucket, parent, people), cut(group, bucket, filtered, people)
            )
    if spec.group_by is GroupBy.FIELD:
        cells = _protect_overlaps(privacy.k_for(employer, measure.health), total, cells)
    hidden: tuple[bool, list[bool] | None] = (False, None)
    if year is not None and tree:
        k = privacy.k_for(employer, measure.health)
        tree_cells = {
            calendar_periods.period_of(b): cut(None, b.index, population, None) for b in tree
        }
        pattern = calendar_periods.suppression(k, year, tree_cells, local_today(now))
        over_time = [calendar_periods.period_of(b) for b in buckets[1:]]
        hidden = (
            pattern[spec.period],
            [pattern[p] for p in over_time] if spec.group_by.over_time else None,
        )
    released = privacy.release(query, total, cells, now=now, hidden=hidden)
    if slot is not None:
        exact_store.keep(slot, released)
    return released


def stored(
    employer: Employer, specs: Sequence[Spec], *, now: datetime | None = None
) -> dict[Spec, Release]:
    """What :func:`run` returns for ``specs`` without computing: the releases stored already
    (exact ones while the data has not changed, noisy ones of this budget period), read at once,
    so a warm dashboard page costs a few statements rather than a few per chart."""
    return _look_up(employer, specs, now)[0]


def _look_up(
    employer: Employer, specs: Sequence[Spec], now: datetime | None
) -> tuple[dict[Spec, Release], dict[Spec, exact_store.Slot], datetime]:
    """The stored releases of ``specs``, the slots where new exact ones are to be kept (none
    when the store must not be used now), and the moment they are for."""
    exact = [spec for spec in specs if releases_exactly(employer, spec.measure)]
    # Read before ``now`` is taken: data committed before the version is then in the figure.
    version = exact_store.version() if exact else None
    now = now or utcnow()
    slots = {}
    if version is not None:
        today = local_today(now)
        slots = {spec: exact_store.slot(employer.id, spec.key(), today, version) for spec in exact}
    kept = exact_store.find(slots.values())
    found = {spec: kept[slot] for spec, slot in slots.items() if slot in kept}
    # A stored noisy release is returned as it was: nothing to compute (warm dashboards).
    noisy = {spec.key(): spec for spec in specs if spec not in exact}
    for key, release in privacy.stored_releases(employer, noisy, now=now).items():
        found[noisy[key]] = release
    return found, slots, now


def _calendar_year(employer: Employer, measure: Measure, spec: Spec, today: date) -> Period | None:
    """The year whose calendar tree an exact release is suppressed over (None: a noisy one).

    Exact figures are released for calendar periods only (:mod:`.calendar_periods`); the
    course effect's groups are no calendar cells, so it gets the period check alone."""
    if not releases_exactly(employer, measure.name):
        return None
    if not calendar_periods.is_calendar(spec.period, today):
        raise privacy.PrivacyRefused(
            _(
                "Figures without noise are given for a calendar year, quarter or month only "
                "(e.g. January to December, or October to December): two overlapping periods "
                "could otherwise be subtracted to single out a few people. Choose such a period."
            )
        )
    return calendar_periods.year_of(spec.period.first, today)


def _offered_fields(employer: Employer, period: Period) -> set[str]:
    """Fields of action of the offerings opened to the employer that run in the period: the
    field cells. A field nobody could book would be an empty cell, which the privacy layer
    hides together with the smallest real one; which courses were opened is no one's personal
    data, whereas cells chosen by who holds seats would give away empty fields."""
    query = (
        select(Course.field_of_action)
        .distinct()
        .select_from(OfferingEmployer)
        .join(Offering, Offering.id == OfferingEmployer.offering_id)
        .join(Course, Course.id == Offering.course_id)
        .where(
            OfferingEmployer.employer_id == employer.id,
            Offering.status != OfferingStatus.CANCELLED.value,
            Offering.starts_on < period.ends_on,
            Offering.ends_on >= period.first,
        )
    )
    return set(db.session.scalars(query))


def _first_only(cells: Sequence[RawCell], hidden: Sequence[bool]) -> list[RawCell]:
    """The cells with each person of the hidden ones kept in the first hidden cell only."""
    seen: set[int] = set()
    out = []
    for cell, is_hidden in zip(cells, hidden, strict=True):
        if is_hidden:
            out.append(RawCell(cell.group, {p: v for p, v in cell.values.items() if p not in seen}))
            seen.update(cell.values)
        else:
            out.append(cell)
    return out


def _protect_overlaps(k: int, total: RawCell, cells: Sequence[RawCell]) -> list[RawCell]:
    """Complementary suppression for cells that share people (fields of action).

    The privacy layer sizes "total minus the shown cells" in rows, which are people when each
    person is in one cell. With fields of action one person can be in several hidden cells:
    three people with seats in both stress and addiction courses are six rows but three
    people, and for an additive measure (budget) total minus the shown fields is exactly their
    sum. So the hidden cells go to the privacy layer with each person in the first of them
    only, until its rows are the people and it hides nothing more; hidden cells are never
    shown, so trimming them changes no figure. Should the layer then not hide exactly those
    cells, they go empty, which hides them and sizes the rest by the people in no shown cell
    (stricter still).
    """
    hidden = [False] * len(cells)
    while True:
        _, found = privacy.suppressed_cells(k, total, _first_only(cells, hidden))
        grown = [was or now for was, now in zip(hidden, found, strict=True)]
        if grown == hidden:
            break
        hidden = grown
    if found == hidden:
        return _first_only(cells, hidden)
    return [
        RawCell(cell.group, {}) if is_hidden else cell
        for cell, is_hidden in zip(cells, hidden, strict=True)
    ]
