"""Calendar periods: the only periods exact (noise-free) figures are released for.

Free from/to periods let HR subtract two exact totals: total(March..January) minus
total(March..February) is February's few people, whatever the month grid hides. So an exact
figure is released only for a calendar year, quarter or month, the current ones cut at the
current month. Any two such periods are disjoint or one lies inside the other (a tree), and
one suppression pattern is computed over the whole tree of the period's year, so a month a
year-by-month table hides cannot come back as its quarter minus the other two months from a
quarter-by-month table either (:func:`suppression`).

Noisy releases need none of this: differential privacy bounds what any combination of them
tells (rule 4 of :mod:`wellness.analytics.privacy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from wellness.analytics.grid import Bucket, Period, add_months, month_start, quarter_start
from wellness.analytics.privacy import RawCell, suppressed_cells


def _cut(first: date, months: int, today: date) -> Period | None:
    """``months`` calendar months from ``first``, ending at the current month at the latest."""
    current = month_start(today)
    if first > current:
        return None
    return Period(first, min(add_months(first, months - 1), current))


def year_of(day: date, today: date) -> Period | None:
    """The calendar year of ``day`` up to the current month; None for a year still to come."""
    return _cut(date(day.year, 1, 1), 12, today)


def current_year(today: date) -> Period:
    """This calendar year up to the current month: the default period of exact figures."""
    return Period(date(today.year, 1, 1), month_start(today))


def tree(year: Period, today: date) -> tuple[list[Period], list[Period]]:
    """The quarters and months of ``year`` (a :func:`year_of`), up to the current month."""
    months = year.months()
    quarters = {_cut(quarter_start(month), 3, today) for month in months}
    ordered = sorted((q for q in quarters if q is not None), key=lambda q: q.first)
    return ordered, [Period(m, m) for m in months]


def is_calendar(period: Period, today: date) -> bool:
    """Whether ``period`` is a calendar year, quarter or month (cut at the current month)."""
    year = year_of(period.first, today)
    if year is None:
        return False
    quarters, months = tree(year, today)
    return period == year or period in quarters or period in months


def buckets(year: Period, today: date, first_index: int) -> list[Bucket]:
    """One bucket per period of the year's tree (the year first), numbered from ``first_index``."""
    quarters, months = tree(year, today)
    return [
        Bucket(first_index + i, p.first, p.ends_on)
        for i, p in enumerate(dict.fromkeys([year, *quarters, *months]))
    ]


def period_of(bucket: Bucket) -> Period:
    return Period(bucket.starts_on, add_months(bucket.ends_on, -1))


def suppression(
    k: int, year: Period, cells: Mapping[Period, RawCell], today: date
) -> dict[Period, bool]:
    """Rules 1 and 2 over the year's whole tree: which of its periods are hidden.

    Every relation "parent = its children" (year = quarters, year = months, quarter = its
    months) is made safe until none changes: under a shown parent, the hidden children and the
    people in none of them hold no one or at least ``k`` (the privacy layer's rule 2; that a
    month had nobody may show, which is no one's data); under a hidden parent, at least one
    child with people is hidden too, else the children would add up to it.
    """
    quarters, months = tree(year, today)
    relations = [(year, quarters), (year, months)] + [
        (q, [m for m in months if q.first <= m.first <= q.last]) for q in quarters
    ]
    hidden = {period: len(cell.values) < k for period, cell in cells.items()}
    if hidden[year]:
        return dict.fromkeys(cells, True)
    changed = True
    while changed:
        changed = False
        for parent, children in relations:
            flags = [hidden[child] for child in children]
            if hidden[parent]:
                nobody_hidden = not any(
                    cells[child].values for child, flag in zip(children, flags, strict=True) if flag
                )
                with_people = [c for c, flag in zip(children, flags, strict=True) if not flag]
                with_people = [c for c in with_people if cells[c].values]
                if nobody_hidden and with_people:
                    smallest = min(with_people, key=lambda c: (len(cells[c].values), c.first))
                    hidden[smallest] = changed = True
                continue
            _, found = suppressed_cells(
                k, cells[parent], [cells[c] for c in children], hidden=flags, hide_empty=False
            )
            for child, flag in zip(children, found, strict=True):
                if flag and not hidden[child]:
                    hidden[child] = changed = True
    return hidden
