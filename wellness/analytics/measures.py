"""The measures HR can ask for, and how a query becomes cells for the privacy layer.

Each measure yields ONE value per distinct person per bucket (the whole period, or a month),
computed by one grouped query over the employer's rows; the cells are then cut from those
values in memory. Nothing computed here leaves the module except through
:func:`wellness.analytics.privacy.release`, after the complement rule has been checked for
every filter.

Health measures count only people who consent to ``health_aggregates`` at the time the figure
is computed; pseudonymized people (erased or left) never count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import CTE, ColumnElement, Select, SQLColumnExpression, and_, case, func, select

from wellness.analytics import privacy
from wellness.analytics.grid import (
    Bucket,
    GroupBy,
    Organisation,
    Period,
    buckets_cte,
    restrict,
    within,
    within_instant,
)
from wellness.analytics.privacy import Group, RawCell, Release
from wellness.attendance.models import Certificate
from wellness.courses.models import Enrollment, EnrollmentStatus, Offering, OfferingStatus
from wellness.db import utcnow
from wellness.extensions import db
from wellness.health.consent import consented
from wellness.health.models import (
    BodyRegion,
    ChecklistResponse,
    ConsentPurpose,
    ExerciseLog,
    PainCheckin,
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


def _employees_of(
    ctx: Context, column: SQLColumnExpression[int], *, health: bool
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


def _enrolled(ctx: Context) -> Select[int, int]:
    """Seats held by the employer's people in offerings that run (not cancelled)."""
    return (
        select(ctx.cte.c.bucket, Enrollment.employee_id)
        .select_from(Enrollment)
        .join(Offering, Offering.id == Enrollment.offering_id)
        .join(Employee, and_(*_employees_of(ctx, Enrollment.employee_id, health=False)))
        .where(
            Enrollment.status == EnrollmentStatus.ENROLLED.value,
            Offering.status != OfferingStatus.CANCELLED.value,
        )
    )


def participation_rate(ctx: Context) -> Values:
    """1 for every active employee enrolled in an offering overlapping the bucket, else 0.
    Someone hired after a bucket ended is not yet part of its population."""
    overlap = and_(Offering.starts_on < ctx.cte.c.ends_on, Offering.ends_on >= ctx.cte.c.starts_on)
    query = _enrolled(ctx).join(ctx.cte, overlap).distinct()
    enrolled = {(row[0], row[1]) for row in db.session.execute(query)}
    values: Values = defaultdict(dict)
    for bucket in ctx.buckets:
        for person_id, person in ctx.org.people.items():
            if person.active and (person.hired_on is None or person.hired_on < bucket.ends_on):
                values[bucket.index][person_id] = float((bucket.index, person_id) in enrolled)
    return values


def completion_rate(ctx: Context) -> Values:
    """Per participant whose offering ended in the bucket (a course still running cannot be
    completed yet): 1 with a valid (not revoked) certificate for one of those seats."""
    ended = and_(within(Offering.ends_on, ctx.cte), Offering.ends_on < ctx.today)
    query = (
        _enrolled(ctx)
        .add_columns(func.max(case((Certificate.id.is_not(None), 1), else_=0)))
        .join(ctx.cte, ended)
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
        _enrolled(ctx)
        .add_columns(func.sum(Enrollment.employer_share_cents) / 100.0)
        .join(ctx.cte, within(Offering.starts_on, ctx.cte))
        .group_by(ctx.cte.c.bucket, Enrollment.employee_id)
    )
    return _collect(db.session.execute(query))


def _budget_bound(ctx: Context) -> float:
    return ctx.employer.budget_per_employee_cents / 100 * ctx.period.years()


def _mean_nrs(ctx: Context) -> Values:
    query = (
        select(ctx.cte.c.bucket, PainCheckin.employee_id, func.avg(PainScore.nrs))
        .select_from(PainScore)
        .join(PainCheckin, PainCheckin.id == PainScore.checkin_id)
        .join(Employee, and_(*_employees_of(ctx, PainCheckin.employee_id, health=True)))
        .join(ctx.cte, within(PainCheckin.checked_on, ctx.cte))
        .where(PainScore.region == ctx.region.value)
        .group_by(ctx.cte.c.bucket, PainCheckin.employee_id)
    )
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
    """Per person who checked in: 1 when any check-in said pain prevented normal activity."""
    query = (
        select(
            ctx.cte.c.bucket,
            PainCheckin.employee_id,
            func.max(case((PainCheckin.prevented_activity.is_(True), 1), else_=0)),
        )
        .select_from(PainCheckin)
        .join(Employee, and_(*_employees_of(ctx, PainCheckin.employee_id, health=True)))
        .join(ctx.cte, within(PainCheckin.checked_on, ctx.cte))
        .group_by(ctx.cte.c.bucket, PainCheckin.employee_id)
    )
    return _collect(db.session.execute(query))


def checklist_score(ctx: Context) -> Values:
    """Per person: the score of their latest scored checklist response in the bucket (the
    workstation as it is now, not an average with how it was before a fix)."""
    ranked = (
        select(
            ctx.cte.c.bucket.label("bucket"),
            ChecklistResponse.employee_id.label("person"),
            ChecklistResponse.score.label("score"),
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
    query = select(ranked.c.bucket, ranked.c.person, ranked.c.score).where(ranked.c.latest == 1)
    return _collect(db.session.execute(query))


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
        ),
        Measure(
            "completion_rate",
            _l("Share of participants with a participation certificate"),
            health=False,
            unit="share",
            compute=completion_rate,
            upper=_fixed(1.0),
        ),
        Measure(
            "budget_used",
            _l("Employer budget used per participant"),
            health=False,
            unit="EUR",
            compute=budget_used,
            upper=_budget_bound,
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
            "training_frequency",
            _l("Home training sessions per week"),
            health=True,
            unit="sessions/week",
            compute=training_frequency,
            upper=_fixed(float(MAX_SESSIONS_PER_WEEK)),
        ),
    )
}


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
    org: Organisation, department_id: int | None, site_id: int | None, population: set[int]
) -> list[tuple[set[int], set[int]]]:
    """(parent, filtered) populations for the complement rule: each filter relaxed in turn (the
    parent department, or no site), and with both filters the corner outside both — otherwise
    parent − department − site + both would single out the people in neither."""
    pairs = []
    if department_id is not None:
        pairs.append((org.members(org.parent_of(department_id), site_id), population))
    if site_id is not None:
        pairs.append((org.members(department_id, None), population))
    if department_id is not None and site_id is not None:
        parent = org.parent_of(department_id)
        either = org.members(department_id, None) | org.members(parent, site_id)
        pairs.append((org.members(parent, None), either))
    return pairs


def run(employer: Employer, spec: Spec, *, now: datetime | None = None) -> Release:
    """Compute the cells of ``spec`` and release them through the privacy layer.

    The complement rule is applied to the total and to every cell against the same cell of
    each parent population (one filter relaxed): "site S in the whole company" minus "site S in
    department D", or one month of the parent minus that month of the filter, must not isolate
    fewer than k people either. Any failing check refuses the whole query.
    """
    now = now or utcnow()
    measure = MEASURES[spec.measure]
    org = Organisation.load(employer.id)
    buckets = spec.period.buckets(spec.group_by)
    ctx = Context(employer, org, buckets, buckets_cte(buckets), spec.period, now, spec.region)
    values = measure.compute(ctx)
    query = privacy.Query(
        employer_id=employer.id,
        measure=measure.name,
        health=measure.health,
        lower=measure.lower,
        upper=measure.upper(ctx),
        key=spec.key(),
        # Departments and sites partition the people; months do not (one person, many months).
        max_cells_per_person=None if spec.group_by.over_time else 1,
    )
    population = org.members(spec.department_id, spec.site_id)

    def cut(group: Group | None, bucket: int, scope: set[int], people: set[int] | None) -> RawCell:
        inside = scope if people is None else scope & people
        return RawCell(group, restrict(values.get(bucket, {}), inside))

    layout: list[tuple[Group | None, int, set[int] | None]]
    if spec.group_by.over_time:
        layout = [(b.group, b.index, None) for b in buckets[1:]]
    else:
        layout = [(g, 0, people) for g, people in org.groups(spec.group_by, spec.department_id)]
    total = cut(None, 0, population, None)
    cells = [cut(group, bucket, population, people) for group, bucket, people in layout]
    for parent, filtered in _complements(org, spec.department_id, spec.site_id, population):
        privacy.check_filter(query, cut(None, 0, parent, None), cut(None, 0, filtered, None))
        for group, bucket, people in layout:
            privacy.check_filter(
                query, cut(group, bucket, parent, people), cut(group, bucket, filtered, people)
            )
    return privacy.release(query, total, cells, now=now)
