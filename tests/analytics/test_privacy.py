"""The privacy layer: each rule with its exact behaviour, and attacks on the layer itself.

The attacks are the ones HR could try with the figures the layer returns: total minus the shown
siblings, parent minus a filter, averaging repeated noisy answers, draining the budget, and a
group of one. Noise tests assert formulas, or coverage over a fixed number of runs with a margin
so wide that a failure means a bug, not bad luck.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from wellness.analytics import privacy
from wellness.analytics.models import PrivacyRelease
from wellness.analytics.privacy import (
    EPSILON_PER_RELEASE,
    BudgetSpent,
    Group,
    PrivacyRefused,
    Query,
    RawCell,
    check_filter,
    k_for,
    noise_interval,
    noise_scales,
    period_of,
    release,
)
from wellness.tenants.models import Employer

pytestmark = pytest.mark.usefixtures("english")

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def people(first: int, count: int, value: float = 1.0) -> dict[int, float]:
    """``count`` distinct people, ids from ``first``, all with ``value``."""
    return {person: value for person in range(first, first + count)}


def grid(*sizes: int, value: float = 1.0) -> tuple[RawCell, list[RawCell]]:
    """A partition into departments of the given sizes, and its total."""
    cells, first = [], 1
    for i, size in enumerate(sizes):
        cells.append(RawCell(Group(f"d{i}", f"Dept {i}"), people(first, size, value)))
        first += size
    total = RawCell(None, {p: v for cell in cells for p, v in cell.values.items()})
    return total, cells


def query(employer: Employer, *, health: bool = False, key: str = "q", **fields) -> Query:
    bounds = {"lower": 0.0, "upper": 10.0} if health else {"lower": 0.0, "upper": 1.0}
    return Query(
        employer_id=employer.id,
        measure="pain_mean" if health else "participation_rate",
        health=health,
        key=key,
        **{**bounds, **fields},
    )


def sizes_shown(result: privacy.Release) -> list[int | None]:
    return [cell.n for cell in result.cells]


def releases(db) -> int:
    return db.session.scalar(select(func.count()).select_from(PrivacyRelease))


@pytest.fixture
def employer(make_employer):
    return make_employer(locale="en")


@pytest.fixture
def exact_employer(make_employer):
    return make_employer(locale="en", dp_enabled=False)


# Rule 1: minimum group size


def test_k_defaults_to_five_for_participation_and_ten_for_health(employer):
    assert k_for(employer, False) == 5
    assert k_for(employer, True) == 10


def test_k_is_never_below_five_even_if_the_row_says_less(employer):
    # The database refuses such a row; an object built around it must not weaken the rule.
    loose = Employer(slug="loose", name="Loose", k_participation=1, k_health=2)
    assert k_for(loose, False) == 5
    assert k_for(loose, True) == 5


def test_cell_below_k_is_suppressed_not_zero(employer):
    total, cells = grid(4, 20, 30)
    result = release(query(employer), total, cells)

    assert result.k == 5
    small = result.cells[0]
    assert small.suppressed
    assert small.n is None
    assert small.value is None
    assert small.ci is None
    assert result.cells[2] == privacy.CellOut(cells[2].group, 30, 1.0, False, None)
    assert result.noisy is False
    assert result.epsilon is None
    assert result.budget_left is None


def test_cell_of_exactly_k_people_is_shown(employer):
    total, cells = grid(5, 20)
    assert sizes_shown(release(query(employer), total, cells)) == [5, 20]


def test_participation_values_are_exact_means(employer):
    cell = RawCell(Group("s1", "Hamburg"), {1: 1, 2: 0, 3: 0, 4: 1, 5: 1, 6: 0, 7: 0, 8: 0})
    total = RawCell(None, dict(cell.values))
    result = release(query(employer), total, [cell])
    assert result.total.n == 8
    assert result.total.value == pytest.approx(3 / 8)
    assert result.cells[0].value == pytest.approx(3 / 8)


def test_health_cells_use_k_health(exact_employer):
    total, cells = grid(9, 10, 30)
    result = release(query(exact_employer, health=True), total, cells)
    assert result.k == 10
    assert result.cells[0].suppressed
    # The 9 would be total minus the rest, so the next-smallest goes too (rule 2).
    assert result.cells[1].suppressed
    assert result.cells[2].n == 30


def test_employer_thresholds_are_read(make_employer):
    strict = make_employer(k_participation=8, k_health=20, dp_enabled=False)
    total, cells = grid(7, 8, 19, 20)
    assert [c.suppressed for c in release(query(strict), total, cells).cells] == [
        True,
        True,
        False,
        False,
    ]
    result = release(query(strict, health=True), total, cells)
    assert [c.suppressed for c in result.cells] == [True, True, True, False]


def test_total_below_k_suppresses_everything(employer):
    total, cells = grid(2, 2)
    result = release(query(employer), total, cells)
    assert result.total.suppressed
    assert result.total.n is None
    assert result.total.value is None
    assert all(cell.suppressed for cell in result.cells)


@pytest.mark.parametrize("health", [False, True])
@pytest.mark.parametrize("dp_enabled", [False, True])
def test_a_group_of_one_person_never_shows_a_value(make_employer, db, health, dp_enabled):
    employer = make_employer(dp_enabled=dp_enabled)
    lonely = RawCell(Group("d1", "Board"), {1: 7.0})
    total, others = grid(40, 50, value=3.0)
    total = RawCell(None, {**total.values, 1: 7.0})
    others = [RawCell(c.group, {p + 1: v for p, v in c.values.items()}) for c in others]
    result = release(query(employer, health=health), total, [lonely, *others])

    board = result.cells[0]
    assert board.suppressed
    assert board.n is None
    assert board.value is None
    assert board.ci is None
    # Alone in the company: nothing at all.
    alone = release(query(employer, health=health, key="alone"), RawCell(None, {1: 7.0}), [lonely])
    assert alone.total.value is None
    assert alone.cells[0].value is None


# Rule 2: complementary suppression


def test_total_minus_siblings_cannot_recover_a_suppressed_cell(employer):
    """Attack: one department of 2 is hidden; total minus the others would give it back."""
    total, cells = grid(2, 20, 30, 8)
    result = release(query(employer), total, cells)

    assert [c.suppressed for c in result.cells] == [True, False, False, True]
    shown = [c.n for c in result.cells if not c.suppressed]
    # What the attacker can difference out is the 2 together with the 8: ten people, not two.
    assert result.total.n - sum(shown) == 10


def test_two_tiny_suppressed_cells_do_not_reveal_their_pair(employer):
    total, cells = grid(1, 2, 20, 30)
    result = release(query(employer), total, cells)
    assert [c.suppressed for c in result.cells] == [True, True, True, False]


def test_people_in_no_cell_count_as_a_hidden_cell(employer):
    """Attack: two people without a department are total minus all departments."""
    total, cells = grid(10, 20, 30)
    total = RawCell(None, {**total.values, 1001: 0.0, 1002: 0.0})
    result = release(query(employer), total, cells)
    assert [c.suppressed for c in result.cells] == [True, False, False]


def test_a_large_group_in_no_cell_needs_no_extra_suppression(employer):
    total, cells = grid(10, 20, 30)
    total = RawCell(None, {**total.values, **people(1001, 12)})
    result = release(query(employer), total, cells)
    assert not any(c.suppressed for c in result.cells)


def test_an_empty_group_is_not_revealed_as_zero(employer):
    """A department where nobody consented must not show as 'total minus the others = 0'."""
    total, cells = grid(20, 30, 6)
    empty = RawCell(Group("d9", "Empty"), {})
    result = release(query(employer), total, [*cells, empty])
    assert [c.suppressed for c in result.cells] == [False, False, True, True]


def test_no_suppression_leaves_the_grid_alone(employer):
    total, cells = grid(5, 6, 7)
    assert sizes_shown(release(query(employer), total, cells)) == [5, 6, 7]


# Rule 3: the complement rule


def test_filter_leaving_few_people_in_the_parent_is_refused(employer):
    """Attack: company minus one department reveals the two people outside it."""
    parent = RawCell(None, people(1, 30))
    filtered = RawCell(Group("d1", "Sales"), people(1, 28))
    with pytest.raises(PrivacyRefused) as refused:
        check_filter(query(employer), parent, filtered)
    assert refused.value.status_code == 422
    message = refused.value.message
    assert "fewer than 5 people" in message
    assert "28" not in message
    assert " 2 " not in message


def test_filter_with_k_people_outside_is_allowed(employer):
    check_filter(query(employer), RawCell(None, people(1, 30)), RawCell(None, people(1, 25)))


def test_filter_covering_the_whole_parent_is_allowed(employer):
    parent = RawCell(Group("d1", "Sales"), people(1, 30))
    check_filter(query(employer), parent, RawCell(Group("s1", "Hamburg"), people(1, 30)))


def test_complement_rule_uses_k_health_for_health_filters(employer):
    parent = RawCell(Group("d1", "Production"), people(1, 40))
    filtered = RawCell(Group("d2", "Night shift"), people(1, 31))
    check_filter(query(employer), parent, filtered)
    with pytest.raises(PrivacyRefused, match="fewer than 10 people"):
        check_filter(query(employer, health=True), parent, filtered)


# Rule 4: differential privacy


def test_health_release_is_noised_stored_and_charged(employer, db):
    total, cells = grid(40, 9, 12, 60, value=4.0)
    result = release(query(employer, health=True, max_cells_per_person=1), total, cells, now=NOW)

    assert result.noisy
    assert not result.reused
    assert result.epsilon == pytest.approx(EPSILON_PER_RELEASE)
    assert result.budget_left == pytest.approx(employer.dp_epsilon_per_period - EPSILON_PER_RELEASE)
    # Suppression is decided on the true counts: 9 < 10 (and 12 to protect it), whatever the noise.
    assert [c.suppressed for c in result.cells] == [False, True, True, False]
    for cell in [result.total, result.cells[0], result.cells[3]]:
        assert cell.n is not None
        assert cell.n >= 10
        assert cell.value is not None
        assert 0.0 <= cell.value <= 10.0
        assert cell.ci is not None
        assert cell.ci[0] <= cell.value <= cell.ci[1]
    assert result.cells[1].ci is None

    stored = db.session.scalars(select(PrivacyRelease)).one()
    assert (stored.employer_id, stored.period, stored.query_key) == (employer.id, "2026-Q4", "q")
    assert stored.epsilon == pytest.approx(EPSILON_PER_RELEASE)
    assert json.loads(stored.result_json)["cells"][1] == {
        "group": {"id": "d1", "name": "Dept 1"},
        "n": None,
        "value": None,
        "suppressed": True,
        "ci": None,
    }


def test_averaging_repeated_queries_learns_nothing(employer, db):
    """Attack: ask the same noisy question many times and average the answers."""
    total, cells = grid(30, 40, value=6.0)
    q = query(employer, health=True, max_cells_per_person=1)
    first = release(q, total, cells, now=NOW)
    repeats = [release(q, total, cells, now=NOW) for _ in range(20)]

    for again in repeats:
        assert again.reused
        assert again.epsilon == 0.0
        assert (again.total, again.cells) == (first.total, first.cells)
        assert again.budget_left == pytest.approx(first.budget_left)
    assert releases(db) == 1


def test_repeat_returns_the_stored_release_even_when_the_data_changed(employer):
    total, cells = grid(30, 40, value=6.0)
    q = query(employer, health=True)
    first = release(q, total, cells, now=NOW)
    total2, cells2 = grid(31, 40, value=2.0)
    assert release(q, total2, cells2, now=NOW).cells == first.cells


def test_a_new_period_gets_a_new_release_and_its_own_budget(employer, db):
    total, cells = grid(30, 40)
    q = query(employer, health=True)
    release(q, total, cells, now=NOW)
    later = release(q, total, cells, now=datetime(2027, 1, 5, tzinfo=UTC))
    assert not later.reused
    assert later.budget_left == pytest.approx(employer.dp_epsilon_per_period - EPSILON_PER_RELEASE)
    assert privacy.budget_spent(employer.id, "2026-Q4") == pytest.approx(EPSILON_PER_RELEASE)
    assert privacy.budget_spent(employer.id, "2027-Q1") == pytest.approx(EPSILON_PER_RELEASE)


def test_spent_budget_stops_new_health_figures_until_next_period(make_employer, db):
    """Attack: many slightly different queries to average out the noise."""
    employer = make_employer(locale="en", dp_epsilon_per_period=2 * EPSILON_PER_RELEASE)
    total, cells = grid(30, 40)
    first = release(query(employer, health=True, key="a"), total, cells, now=NOW)
    second = release(query(employer, health=True, key="b"), total, cells, now=NOW)
    assert second.budget_left == pytest.approx(0.0)

    with pytest.raises(BudgetSpent) as spent:
        release(query(employer, health=True, key="c"), total, cells, now=NOW)
    assert spent.value.status_code == 422
    assert "2026-Q4" in spent.value.message
    assert "2027-Q1" in spent.value.message
    assert releases(db) == 2
    # Figures already released stay available; participation figures are not rationed.
    assert release(query(employer, health=True, key="a"), total, cells, now=NOW).cells == (
        first.cells
    )
    assert not release(query(employer, key="c"), total, cells, now=NOW).noisy
    # Next quarter the budget is fresh.
    assert release(
        query(employer, health=True, key="c"), total, cells, now=datetime(2027, 1, 1, tzinfo=UTC)
    ).noisy


def test_budget_smaller_than_one_release_releases_nothing(make_employer):
    employer = make_employer(dp_epsilon_per_period=EPSILON_PER_RELEASE / 2)
    total, cells = grid(30, 40)
    with pytest.raises(BudgetSpent):
        release(query(employer, health=True), total, cells, now=NOW)


def test_an_all_suppressed_health_release_spends_nothing(employer, db):
    total, cells = grid(3, 4)
    result = release(query(employer, health=True), total, cells, now=NOW)
    assert result.total.suppressed
    assert all(c.suppressed for c in result.cells)
    assert not result.noisy
    assert releases(db) == 0


def test_participation_measures_get_no_noise(employer, db):
    total, cells = grid(30, 40)
    result = release(query(employer), total, cells, now=NOW)
    assert not result.noisy
    assert result.cells[0].n == 30
    assert result.cells[0].ci is None
    assert releases(db) == 0


def test_health_figures_are_exact_when_the_employer_switched_noise_off(exact_employer, db):
    total, cells = grid(30, 40, value=4.0)
    result = release(query(exact_employer, health=True), total, cells)
    assert not result.noisy
    assert result.total == privacy.CellOut(None, 70, 4.0, False, None)
    assert releases(db) == 0


def test_noise_scale_follows_the_documented_formula(employer):
    # Departments (one cell per person), pain on 0..10: half range 5, epsilon split in halves.
    q = query(employer, health=True, max_cells_per_person=1)
    scales = noise_scales(q, shown_cells=4, epsilon=0.25)
    assert scales.cells_per_person == 2  # one department plus the total
    assert scales.count == pytest.approx(2 / 0.125)
    assert scales.sum == pytest.approx(2 * 5 / 0.125)
    # Unknown grid (e.g. months): one person may be in every shown cell.
    assert noise_scales(query(employer, health=True), 4, 0.25).cells_per_person == 5
    # More cells declared than shown: only shown cells can carry a person.
    assert noise_scales(query(employer, health=True, max_cells_per_person=12), 3, 0.25).count == (
        pytest.approx(4 / 0.125)
    )


def test_opendp_certifies_the_charged_epsilon(employer):
    """The charge is OpenDP's privacy map of the mechanisms at the sensitivities used."""
    total, cells = grid(30, 40, 50)
    q = query(employer, health=True, max_cells_per_person=1)
    scales = noise_scales(q, 3, EPSILON_PER_RELEASE)
    _, spent = privacy._noisy(q, 10, [total, *cells], scales)
    assert spent == pytest.approx(EPSILON_PER_RELEASE)


def test_noise_interval_is_the_range_over_the_noise_box():
    scales = privacy.NoiseScales(cells_per_person=2, count=2.0, sum=10.0)
    lo, hi = noise_interval(40.0, 100, 10, scales, 0.0, 10.0)
    sum_margin, count_margin = 10.0 * math.log(40), 2.0 * math.log(80)
    ratios = [
        s / c
        for s in (40 - sum_margin, 40 + sum_margin)
        for c in (100 - count_margin, 100 + count_margin)
    ]
    assert (lo, hi) == pytest.approx((5 + min(ratios), 5 + max(ratios)))
    # A noisy count below k cannot be: the true count of a shown cell is at least k.
    assert noise_interval(0.0, 3, 10, scales, 0.0, 10.0) == noise_interval(
        0.0, -20, 10, scales, 0.0, 10.0
    )
    # Clamped into the measure's bounds.
    assert noise_interval(1000.0, 10, 10, scales, 0.0, 10.0)[1] == 10.0


def test_opendp_noise_has_the_documented_scale():
    """Mean absolute Laplace noise equals its scale; 4000 draws put the average within 15 %
    (more than six standard deviations), so this fails only when the scale is wrong."""
    scales = privacy.NoiseScales(cells_per_person=2, count=16.0, sum=80.0)
    count_mechanism, sum_mechanism = privacy.mechanisms(scales)
    count_noise = count_mechanism([0] * 4000)
    sum_noise = sum_mechanism([0.0] * 4000)
    assert sum(abs(x) for x in count_noise) / 4000 == pytest.approx(16.0, rel=0.15)
    assert sum(abs(x) for x in sum_noise) / 4000 == pytest.approx(80.0, rel=0.15)


def test_interval_covers_the_true_mean_in_at_least_95_percent_of_releases(employer):
    """2000 independently noised copies of a department of 1000: the interval is guaranteed to
    cover the truth at least 95 % of the time (about 97 % in practice, so 1900 hits is over five
    standard deviations away), and it is narrow enough to be informative."""
    values = {p: float(p % 11) for p in range(1, 1001)}  # NRS 0..10
    truth = math.fsum(values.values()) / 1000
    q = query(employer, health=True, max_cells_per_person=1)
    scales = noise_scales(q, 1, EPSILON_PER_RELEASE)
    cell = RawCell(Group("d1", "Dept"), values)
    # One vector of 2000 copies: each copy gets its own independent noise.
    noised, _spent = privacy._noisy(q, 10, [cell] * 2000, scales)
    hits, width = 0, 0.0
    for out in noised:
        assert out.ci is not None
        hits += out.ci[0] <= truth <= out.ci[1]
        width += out.ci[1] - out.ci[0]
    assert hits >= 1900
    assert width / 2000 < 1.0


def test_a_person_in_more_cells_than_declared_is_a_bug(employer):
    a = RawCell(Group("d1", "A"), people(1, 20))
    b = RawCell(Group("d2", "B"), people(11, 20))
    total = RawCell(None, {**a.values, **b.values})
    with pytest.raises(ValueError, match="more than 1 cells"):
        release(query(employer, health=True, max_cells_per_person=1), total, [a, b], now=NOW)


def test_values_outside_the_bounds_are_clamped_for_noise(employer):
    total, cells = grid(50, value=1000.0)
    result = release(query(employer, health=True), total, cells, now=NOW)
    assert result.total.value is not None
    assert result.total.value <= 10.0


@pytest.mark.parametrize(
    "bad",
    [[float("nan")], [float("inf")], [float("-inf")], [float("inf"), float("-inf")]],
    ids=["nan", "inf", "-inf", "inf and -inf"],
)
def test_non_finite_values_are_refused(employer, bad):
    cell = RawCell(None, {**people(1, 10), **dict(enumerate(bad, start=99))})
    with pytest.raises(ValueError, match="finite"):
        release(query(employer), cell, [])
    # In a cell rather than the total too.
    total, cells = grid(10, 10)
    with pytest.raises(ValueError, match="finite"):
        release(query(employer), total, [cells[0], RawCell(cells[1].group, cell.values)])


@pytest.mark.parametrize(
    "values",
    [[], [0.0, 10.0, 3.5], [7.25] * 1000, [-3.0, 4.0, 12.0], [11.0, 10.5]],
    ids=["empty", "inside", "many", "below and above", "above"],
)
def test_the_centred_sum_clamps_like_one_value_at_a_time(values):
    """The noisy sum is of the values clamped into the bounds, less the midpoint each; values
    all inside skip the clamping, which must not change the sum."""
    one_by_one = math.fsum(min(max(v, 0.0), 10.0) - 5.0 for v in values)
    assert privacy._centred_sum(values, 0.0, 10.0) == pytest.approx(one_by_one, abs=1e-9)


def test_people_in_no_cell_are_counted_like_the_set_difference():
    """The rest "total minus the shown cells" counts the people of the total in no cell; the
    count walks the smaller side and stops early, so it is checked against the plain set
    difference over random overlapping cells (months) and partitions (departments)."""
    rng = random.Random(6)  # noqa: S311 (shapes test data, no secret)
    for _ in range(300):
        total = set(rng.sample(range(200), rng.randrange(0, 120)))
        cells = [
            RawCell(None, dict.fromkeys(rng.sample(range(220), rng.randrange(0, 150)), 1.0))
            for _ in range(rng.randrange(0, 6))
        ]
        union: set[int] = set().union(*(cell.values.keys() for cell in cells))
        assert privacy._in_no_cell(total, cells) == len(total - union)


def test_long_query_keys_are_stored_hashed_and_still_reused(employer, db):
    total, cells = grid(30, 40)
    long_key = "pain_mean|department=" + ",".join(str(i) for i in range(400))
    q = query(employer, health=True, key=long_key)
    release(q, total, cells, now=NOW)
    assert release(q, total, cells, now=NOW).reused
    stored = db.session.scalars(select(PrivacyRelease.query_key)).one()
    assert len(stored) == privacy.KEY_LENGTH
    other = query(employer, health=True, key=long_key + ",400")
    assert not release(other, total, cells, now=NOW).reused


# Budget periods


@pytest.mark.parametrize(
    ("moment", "period"),
    [
        (datetime(2026, 1, 1, tzinfo=UTC), "2026-Q1"),
        (datetime(2026, 3, 31, 23, 59, tzinfo=UTC), "2026-Q1"),
        (datetime(2026, 4, 1, tzinfo=UTC), "2026-Q2"),
        (datetime(2026, 12, 31, tzinfo=UTC), "2026-Q4"),
        # Quarters are in UTC: just after midnight in Berlin on 1 January is still last year.
        (datetime(2027, 1, 1, 0, 30, tzinfo=ZoneInfo("Europe/Berlin")), "2026-Q4"),
    ],
)
def test_period_is_the_calendar_quarter_in_utc(moment, period):
    assert period_of(moment) == period


def test_next_period_rolls_over_the_year():
    assert privacy.next_period("2026-Q3") == "2026-Q4"
    assert privacy.next_period("2026-Q4") == "2027-Q1"
