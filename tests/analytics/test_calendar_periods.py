"""Calendar periods: which periods exact figures are given for, and one suppression pattern
over a year's tree of quarters and months."""

from __future__ import annotations

from datetime import date

from wellness.analytics.calendar_periods import is_calendar, suppression, tree, year_of
from wellness.analytics.grid import Period
from wellness.analytics.privacy import RawCell

TODAY = date(2026, 11, 15)


def month(number: int, year: int = 2026) -> Period:
    return Period(date(year, number, 1), date(year, number, 1))


def test_calendar_periods_are_years_quarters_and_months_cut_at_the_current_month() -> None:
    assert is_calendar(Period(date(2025, 1, 1), date(2025, 12, 1)), TODAY)
    assert is_calendar(Period(date(2026, 1, 1), date(2026, 11, 1)), TODAY)  # the year so far
    assert is_calendar(Period(date(2026, 10, 1), date(2026, 11, 1)), TODAY)  # Q4 so far
    assert is_calendar(Period(date(2026, 4, 1), date(2026, 6, 1)), TODAY)
    assert is_calendar(month(3), TODAY)


def test_free_and_future_periods_are_no_calendar_periods() -> None:
    assert not is_calendar(Period(date(2025, 3, 1), date(2026, 1, 1)), TODAY)
    assert not is_calendar(Period(date(2026, 2, 1), date(2026, 4, 1)), TODAY)  # across quarters
    assert not is_calendar(Period(date(2026, 1, 1), date(2026, 12, 1)), TODAY)  # December ahead
    assert not is_calendar(month(12), TODAY)
    assert year_of(date(2027, 1, 1), TODAY) is None


def test_the_tree_of_the_current_year_ends_with_the_current_month() -> None:
    year = year_of(TODAY, TODAY)
    assert year == Period(date(2026, 1, 1), date(2026, 11, 1))
    quarters, months = tree(year, TODAY)
    assert quarters[-1] == Period(date(2026, 10, 1), date(2026, 11, 1))
    assert months[-1] == month(11)
    assert len(quarters) == 4
    assert len(months) == 11


def people(first: int, count: int) -> dict[int, float]:
    return {person: 1.0 for person in range(first, first + count)}


def cells_of_last_year(sizes: dict[int, int]) -> tuple[Period, dict[Period, RawCell]]:
    """Last year's tree with ``sizes[month]`` different people in each month."""
    year = Period(date(2025, 1, 1), date(2025, 12, 1))
    quarters, months = tree(year, TODAY)
    by_month: dict[Period, dict[int, float]] = {}
    first = 0
    for m in months:
        by_month[m] = people(first, sizes.get(m.first.month, 0))
        first += 1000
    cells = {m: RawCell(None, values) for m, values in by_month.items()}
    for q in quarters:
        inside = [v for m, v in by_month.items() if q.first <= m.first <= q.last]
        cells[q] = RawCell(None, {p: v for values in inside for p, v in values.items()})
    cells[year] = RawCell(None, {p: v for values in by_month.values() for p, v in values.items()})
    return year, cells


def test_a_month_hidden_in_a_shown_quarter_takes_a_sibling_of_that_quarter() -> None:
    year, cells = cells_of_last_year({1: 5, 10: 6, 11: 2, 12: 7})

    hidden = suppression(5, year, cells, TODAY)

    assert hidden[month(11, 2025)]
    assert hidden[month(10, 2025)]  # the quarter would give November back otherwise
    assert not hidden[month(12, 2025)]
    assert not hidden[Period(date(2025, 10, 1), date(2025, 12, 1))]


def test_a_hidden_quarter_is_not_the_sum_of_shown_months() -> None:
    """Q1 (2 people) is hidden, so Q2 goes with it; Q2's months must then not all show."""
    year, cells = cells_of_last_year({2: 2, 4: 6, 5: 6, 6: 6, 7: 20, 10: 20})

    hidden = suppression(5, year, cells, TODAY)

    q2 = Period(date(2025, 4, 1), date(2025, 6, 1))
    assert hidden[Period(date(2025, 1, 1), date(2025, 3, 1))]
    assert hidden[q2]
    assert any(hidden[month(m, 2025)] for m in (4, 5, 6))


def test_a_year_under_k_hides_everything() -> None:
    year, cells = cells_of_last_year({3: 4})

    assert all(suppression(5, year, cells, TODAY).values())
