"""The grid analytics cells are drawn from: periods cut into calendar months, the people of an
employer with their department and site, and the groups (department subtrees, sites, months,
fields of action, course participation).

Everything here is about *who* and *when*, never about health values; the measures fill the
cells and the privacy layer decides what of them HR may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import (
    CTE,
    ColumnElement,
    Date,
    Integer,
    SQLColumnExpression,
    String,
    column,
    literal,
    literal_column,
    select,
    union_all,
    values,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from wellness.analytics.privacy import Group
from wellness.courses.forms import FIELDS_OF_ACTION
from wellness.courses.models import FieldOfAction
from wellness.db import UTCDateTime
from wellness.extensions import db
from wellness.i18n import BERLIN
from wellness.tenants.models import Department, Employee, Site

#: The longest period one query may span: three years of monthly cells is plenty for trends.
MAX_MONTHS = 36
#: Months shown when the query names no period.
DEFAULT_MONTHS = 12


class GroupBy(StrEnum):
    DEPARTMENT = "department"
    SITE = "site"
    MONTH = "month"
    QUARTER = "quarter"
    #: Fields of action of the courses people have seats in (enrollment measures only).
    FIELD = "field"
    #: Course participants and non-participants (``course_effect`` only).
    PARTICIPATION = "participation"

    @property
    def over_time(self) -> bool:
        """Cells are stretches of time (one person is in many), not groups of people."""
        return self in (GroupBy.MONTH, GroupBy.QUARTER)

    @property
    def of_organisation(self) -> bool:
        """Cells are cut from the organisation's people (:meth:`Organisation.groups`); the other
        groupings are buckets, each with values of its own (:meth:`Period.buckets`)."""
        return self in (GroupBy.DEPARTMENT, GroupBy.SITE)

    @property
    def cells_per_person(self) -> int | None:
        """In how many cells one person can be at most (``privacy.Query.max_cells_per_person``):
        every cell over time, every field of action (one person takes courses in several), one
        cell of a partition. Fixed per grouping, never taken from the data."""
        if self.over_time:
            return None
        if self is GroupBy.FIELD:
            return len(FieldOfAction)
        return 1


#: Bucket indexes of the two ``participation`` cells.
PARTICIPANTS, NON_PARTICIPANTS = 1, 2


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> int:
    """Number of calendar months from ``first``'s month to ``last``'s, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def berlin_midnight(day: date) -> datetime:
    """Start of a German calendar day in UTC: timestamps are stored in UTC."""
    return datetime.combine(day, time(0), tzinfo=BERLIN).astimezone(UTC)


@dataclass(frozen=True)
class Bucket:
    """A stretch of time one column of values is computed for: the whole period (index 0,
    the total) or one calendar month or quarter (index 1..n); or the whole period for one field
    of action or one participation group. ``ends_on`` is exclusive."""

    index: int
    starts_on: date
    ends_on: date
    group: Group | None = None
    #: The field of action whose courses alone count in this bucket; None: every field.
    field: str | None = None

    @property
    def starts_at(self) -> datetime:
        return berlin_midnight(self.starts_on)

    @property
    def ends_at(self) -> datetime:
        return berlin_midnight(self.ends_on)

    def weeks_elapsed(self, today: date) -> float:
        """Weeks of the bucket that have passed: a running month is not a whole month yet."""
        end = min(self.ends_on, today + timedelta(days=1))
        return max(0, (end - self.starts_on).days) / 7


@dataclass(frozen=True)
class Period:
    """Calendar months ``first`` to ``last`` (both the first of their month), in German time."""

    first: date
    last: date

    @property
    def ends_on(self) -> date:
        return add_months(self.last, 1)

    def months(self) -> list[date]:
        return [add_months(self.first, i) for i in range(months_between(self.first, self.last))]

    def years(self) -> int:
        """Calendar years the period touches; the budget is per employee and year."""
        return self.last.year - self.first.year + 1

    def buckets(self, by: GroupBy) -> list[Bucket]:
        """The total (index 0), then one bucket per month or calendar quarter of the period
        (quarters cut to the period where it starts or ends inside one), per field of action,
        or per participation group (the measure decides who is in which)."""
        total = Bucket(0, self.first, self.ends_on)
        if by is GroupBy.FIELD:
            return [total] + [
                Bucket(i, self.first, self.ends_on, Group(c.value, str(c.label)), field=c.value)
                for i, c in enumerate(FIELDS_OF_ACTION, start=1)
            ]
        if by is GroupBy.PARTICIPATION:
            return [
                total,
                Bucket(
                    PARTICIPANTS, self.first, self.ends_on, Group("participants", _("Participants"))
                ),
                Bucket(
                    NON_PARTICIPANTS,
                    self.first,
                    self.ends_on,
                    Group("non-participants", _("Non-participants")),
                ),
            ]
        if by is GroupBy.MONTH:
            return [total] + [
                Bucket(i, month, add_months(month, 1), Group(f"{month:%Y-%m}", f"{month:%Y-%m}"))
                for i, month in enumerate(self.months(), start=1)
            ]
        if by is GroupBy.QUARTER:
            starts = sorted({quarter_start(month) for month in self.months()})
            return [total] + [
                Bucket(
                    i,
                    max(start, self.first),
                    min(add_months(start, 3), self.ends_on),
                    Group(quarter_name(start), quarter_name(start)),
                )
                for i, start in enumerate(starts, start=1)
            ]
        return [total]

    def key(self) -> str:
        return f"{self.first:%Y-%m}..{self.last:%Y-%m}"


def quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def quarter_name(day: date) -> str:
    """``2026-Q3``: the same spelling as the privacy budget's periods."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def default_period(today: date) -> Period:
    last = month_start(today)
    return Period(add_months(last, -(DEFAULT_MONTHS - 1)), last)


def buckets_cte(buckets: Iterable[Bucket]) -> CTE:
    """The buckets as a table, so one grouped query computes every column at once; dates for
    date columns, UTC instants for timestamp columns (same bounds, German days), and the field
    of action a bucket is limited to (NULL: none)."""
    # One SELECT of literals per bucket, not a VALUES list: PostgreSQL then knows each bucket's
    # bounds when planning, scans in parallel per bucket and filters on constants (training
    # frequency by quarter at 50,000 employees: 0.5 s, against 1.1 s joining VALUES rows).
    rows = [
        select(
            literal(b.index).label("bucket"),
            literal(b.starts_on, Date).label("starts_on"),
            literal(b.ends_on, Date).label("ends_on"),
            literal(b.starts_at, UTCDateTime()).label("starts_at"),
            literal(b.ends_at, UTCDateTime()).label("ends_at"),
            literal(b.field, String).label("field"),
        )
        for b in buckets
    ]
    query = rows[0] if len(rows) == 1 else union_all(*rows)
    return query.cte("buckets")


def months_cte(buckets: Iterable[Bucket]) -> CTE:
    """(bucket, month) for every calendar month of every bucket, all of them whole months:
    monthly rollup rows join their buckets on the month itself, so the rows are read once and
    matched by hashing, not read again for each bucket's date range."""
    rows = []
    for b in buckets:
        month = b.starts_on
        if month.day != 1 or b.ends_on.day != 1:
            raise ValueError(f"bucket {b.index} is not whole calendar months")
        while month < b.ends_on:
            rows.append((b.index, month))
            month = (month + timedelta(days=32)).replace(day=1)
    table = values(column("bucket", Integer), column("month", Date))
    return table.data(rows).cte("bucket_months")


def within(column: SQLColumnExpression[date], buckets: CTE) -> ColumnElement[bool]:
    return (column >= buckets.c.starts_on) & (column < buckets.c.ends_on)


def within_instant(
    column: SQLColumnExpression[datetime] | SQLColumnExpression[datetime | None], buckets: CTE
) -> ColumnElement[bool]:
    return (column >= buckets.c.starts_at) & (column < buckets.c.ends_at)


class DaysAfter(FunctionElement[date]):
    """A date column shifted by whole days, in SQL: windows around each person's own course
    dates are then one grouped query, on SQLite and PostgreSQL alike."""

    type = Date()
    inherit_cache = True
    name = "days_after"


def days_after(day: SQLColumnExpression[date], days: int) -> DaysAfter:
    """``day`` plus ``days`` (minus for negative ``days``); the number is written into the SQL,
    it is never user input."""
    return DaysAfter(day, literal_column(str(int(days))))


@compiles(DaysAfter)
def _days_after(element: DaysAfter, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = element.clauses
    # PostgreSQL: date + integer is a date.
    return f"({compiler.process(day, **kw)} + {compiler.process(days, **kw)})"


@compiles(DaysAfter, "sqlite")
def _days_after_sqlite(element: DaysAfter, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = element.clauses
    # SQLite stores dates as ISO text; date() with a modifier returns the same format.
    return f"date({compiler.process(day, **kw)}, '{compiler.process(days, **kw)} days')"


class Person(NamedTuple):
    """A tuple, not a dataclass: an employer of 50,000 builds 50,000 of them per query."""

    department_id: int | None
    site_id: int | None
    active: bool
    hired_on: date | None


@dataclass
class Organisation:
    """An employer's people (pseudonymized ones never count) and department tree, loaded once
    per query (or once per dashboard page, see :func:`wellness.analytics.measures.run`) with
    three small selects; cells are then cut from it in memory, from people indexed by
    department and site."""

    employer_id: int
    people: dict[int, Person]
    departments: dict[int, Department]
    sites: list[Site]
    children: dict[int | None, list[int]] = field(default_factory=dict)
    by_department: dict[int | None, set[int]] = field(default_factory=dict)
    by_site: dict[int | None, set[int]] = field(default_factory=dict)
    _members: dict[tuple[int | None, int | None], frozenset[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, employer_id: int) -> Organisation:
        rows = db.session.execute(
            select(
                Employee.id,
                Employee.department_id,
                Employee.site_id,
                Employee.active,
                Employee.hired_on,
            ).where(Employee.employer_id == employer_id, Employee.pseudonymized_at.is_(None))
        )
        # tuple.__new__ builds the tuples in C: a third of the time of Person(...) per row.
        make = tuple.__new__
        people = {row[0]: make(Person, row[1:]) for row in rows}
        departments = {
            d.id: d
            for d in db.session.scalars(
                select(Department).where(Department.employer_id == employer_id)
            )
        }
        sites = list(
            db.session.scalars(
                select(Site).where(Site.employer_id == employer_id).order_by(Site.name, Site.id)
            )
        )
        org = cls(employer_id, people, departments, sites)
        for dept in sorted(departments.values(), key=lambda d: (d.name, d.id)):
            org.children.setdefault(dept.parent_id, []).append(dept.id)
        for person_id, person in people.items():
            org.by_department.setdefault(person.department_id, set()).add(person_id)
            org.by_site.setdefault(person.site_id, set()).add(person_id)
        return org

    def subtree(self, department_id: int) -> set[int]:
        """The department and everything below it (cycles, which the data should never
        have, cannot loop)."""
        found: set[int] = set()
        todo = [department_id]
        while todo:
            current = todo.pop()
            if current in found:
                continue
            found.add(current)
            todo.extend(self.children.get(current, []))
        return found

    def members(
        self, department_id: int | None = None, site_id: int | None = None
    ) -> frozenset[int]:
        """People in a department's subtree and/or at a site (everyone when both are None);
        remembered, since one query asks for the same groups many times."""
        key = (department_id, site_id)
        found = self._members.get(key)
        if found is None:
            if department_id is None:
                people: set[int] = set(self.people)
            else:
                people = set().union(
                    *(self.by_department.get(d, ()) for d in self.subtree(department_id))
                )
            if site_id is not None:
                people &= self.by_site.get(site_id, set())
            found = self._members[key] = frozenset(people)
        return found

    def parent_of(self, department_id: int) -> int | None:
        return self.departments[department_id].parent_id

    def groups(self, by: GroupBy, department_id: int | None) -> list[tuple[Group, Set[int]]]:
        """The cells of one hierarchy level, each with the people it counts, so that they
        partition the total: the child departments of the filter (or the top level) plus the
        people sitting directly in the filtered department (or in none), or every site plus
        the people without one. Without that remainder cell, "total minus the shown cells"
        would reveal it however small it is."""
        if not by.of_organisation:
            return []
        cells: list[tuple[Group, Set[int]]] = []
        if by is GroupBy.SITE:
            for site in self.sites:
                cells.append((Group(str(site.id), site.name), self.members(site_id=site.id)))
            without = self.by_site.get(None, set())
            if without:
                cells.append((Group("none", _("No site")), without))
            return cells
        for child in self.children.get(department_id, []):
            cells.append((Group(str(child), self.departments[child].name), self.members(child)))
        if department_id is None:
            direct = {
                pid
                for pid, p in self.people.items()
                if p.department_id is None or p.department_id not in self.departments
            }
            if direct:
                cells.append((Group("none", _("No department")), direct))
        else:
            direct = self.by_department.get(department_id, set())
            if direct:
                name = self.departments[department_id].name
                cells.append(
                    (Group(f"{department_id}-direct", _("%(name)s (directly)", name=name)), direct)
                )
        return cells


def restrict(values: Mapping[int, float], people: Set[int]) -> Mapping[int, float]:
    """The values of ``people`` only; walks the smaller side. Values of nobody else are
    returned as they are (read-only): cells of the whole organisation are most of a page's
    cells, and copying 50,000 values for each of them took seconds."""
    if values.keys() <= people:
        return values
    if len(people) < len(values):
        return {person: values[person] for person in people if person in values}
    return {person: value for person, value in values.items() if person in people}
