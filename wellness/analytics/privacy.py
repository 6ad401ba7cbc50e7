"""The privacy layer: every figure HR sees passes through :func:`release` (PRODUCT.md, issue 6).

A measure computes :class:`RawCell` objects (one value per distinct person and group); this module
decides what of them may leave, applying in order:

1. **Minimum group size.** A cell with fewer than ``k`` distinct people is suppressed; ``k`` is the
   employer's ``k_health`` for health measures and ``k_participation`` otherwise, never below
   :data:`~wellness.tenants.models.MIN_GROUP_SIZE`. When the total has fewer than ``k`` people,
   everything is suppressed.
2. **Complementary suppression.** In a one-dimensional grid, "total minus the shown cells" gives
   the suppressed cells (plus anyone in the total but in no cell) taken together. While that rest
   holds fewer than ``k`` rows (and is not simply empty with nothing suppressed), the smallest
   shown cell is suppressed too (ties: the earlier cell). So one suppressed cell always takes the
   next-smallest with it, two tiny suppressed cells cannot be recovered as a pair, and an empty
   suppressed group (nobody consented there) is not revealed as zero. Rows are summed over cells,
   so overlapping grids (months) behave the same. The rule is for one-dimensional grids: a
   two-dimensional table would need it on every row and column, so measures release one
   dimension at a time.
3. **The complement rule** (:func:`check_filter`): a filter is refused when its parent minus the
   filtered group leaves more than zero but fewer than ``k`` people.
4. **Differential privacy** for health measures when the employer has ``dp_enabled``. Suppression
   is decided on the true distinct counts first (``k`` is about people, and a noisy count could
   show a group of two); then the shown cells and the total get Laplace noise from OpenDP on their
   counts and on their clamped, centred sums, released as one vector each. Each new release costs
   :data:`EPSILON_PER_RELEASE` of the employer's ``dp_epsilon_per_period`` for the calendar quarter
   (UTC) in which it is made; a repeated query (same employer, period and key) returns the stored
   :class:`~wellness.analytics.models.PrivacyRelease` unchanged and costs nothing, so averaging
   repeats learns nothing. When the next release would overspend, :class:`BudgetSpent` is raised.
   A noisy cell shows ``n`` = max(noisy count, k) (the true count is known to be at least k) and
   value = centre + noisy centred sum / n, clamped into the bounds; scales in
   :func:`noise_scales`, the 95 % interval in :func:`noise_interval`. Spending is serialised per
   employer by a row lock (PostgreSQL), so concurrent requests cannot overspend.
5. **Consent is the caller's job.** Health measures must pass only people who consented to the
   purpose (:func:`wellness.health.consent.consented`); this module cannot tell who did.

Suppressed cells come back with ``n`` and ``value`` None and ``suppressed`` True, never as zero.
Exact releases are not stored here: :mod:`wellness.analytics.exact_store` keeps them until the
data changes (a figure HR has been shown already, for the same data, reveals nothing new).
Like every service, this module flushes and never commits.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, select

from wellness.analytics.models import PrivacyRelease
from wellness.db import utcnow
from wellness.errors import DomainError, NotFound
from wellness.extensions import db
from wellness.tenants.models import MIN_GROUP_SIZE, Employer

#: Epsilon one new differentially private release costs. A fixed price keeps the noise of every
#: figure equally calibrated across employers; the employer's budget then says how many new health
#: figures HR gets per quarter (the default budget of 20 buys 20). At 0.25 the demo employer's
#: 400 people got intervals spanning the whole scale; at 1 a quarterly pain trend of a few hundred
#: people moves within about one NRS point.
EPSILON_PER_RELEASE = 1.0
#: Share of a release's epsilon spent on the counts; the rest goes to the sums.
COUNT_SHARE = 0.5
#: Coverage of the interval reported with each noisy value.
CONFIDENCE = 0.95
#: ``privacy_releases.query_key`` holds at most this many characters; longer keys are hashed.
KEY_LENGTH = 500


@dataclass(frozen=True)
class Group:
    """A cell's group: a department, site, month, ..."""

    id: str
    name: str


@dataclass(frozen=True)
class RawCell:
    """What a measure computed for one group, before any privacy rule."""

    #: None for the total.
    group: Group | None
    #: One value per distinct person (employee id -> value in [lower, upper]); rates and shares
    #: are 0/1 values, so the cell's value is the mean.
    values: Mapping[int, float]


@dataclass(frozen=True)
class Query:
    employer_id: int
    #: e.g. ``pain_mean``.
    measure: str
    #: Health measure: ``k_health`` and differential privacy; else ``k_participation``, no noise.
    health: bool
    #: Bounds of one person's value (values are clamped into them for differential privacy).
    lower: float
    upper: float
    #: Canonical description (measure, grouping, filters, data period) for stored releases.
    key: str
    #: In how many cells of the grid one person can be at most: 1 for a partition such as
    #: departments or sites. None means "in every cell", which is always safe but adds noise in
    #: proportion to the number of cells. It sets the sensitivity, so it must not be derived from
    #: the data; a person found in more cells is a bug in the measure (ValueError).
    max_cells_per_person: int | None = None


@dataclass(frozen=True)
class CellOut:
    group: Group | None
    #: None when suppressed; the noisy count (at least k) when noise was added.
    n: int | None
    #: None when suppressed.
    value: float | None
    suppressed: bool
    #: 95 % interval for the true value when noise was added.
    ci: tuple[float, float] | None


@dataclass(frozen=True)
class Release:
    k: int
    total: CellOut
    cells: list[CellOut]
    noisy: bool
    #: Epsilon charged for this release (0 when reused); None without differential privacy.
    epsilon: float | None
    #: A stored release was returned.
    reused: bool
    #: Budget left in the period after this release; None without differential privacy.
    budget_left: float | None


class PrivacyRefused(DomainError):
    """A privacy rule forbids the figure; the message says which rule and why, for HR."""

    status_code = 422


class BudgetSpent(PrivacyRefused):
    """The period's privacy budget cannot pay for another new health figure."""


def k_for(employer: Employer, health: bool) -> int:
    """The employer's minimum group size; the floor also guards rows written around the model."""
    configured = employer.k_health if health else employer.k_participation
    return max(MIN_GROUP_SIZE, configured)


def period_of(moment: datetime) -> str:
    """The budget period (calendar quarter, UTC) of ``moment``, e.g. ``2026-Q4``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def next_period(period: str) -> str:
    year, quarter = int(period[:4]), int(period[-1])
    return f"{year + 1}-Q1" if quarter == 4 else f"{year}-Q{quarter + 1}"


def _spent(employer_id: int, period: str) -> Select[float]:
    return select(func.coalesce(func.sum(PrivacyRelease.epsilon), 0.0).label("spent")).where(
        PrivacyRelease.employer_id == employer_id, PrivacyRelease.period == period
    )


def budget_spent(employer_id: int, period: str) -> float:
    """Epsilon spent by the employer's releases in ``period`` (for the transparency page too)."""
    return float(db.session.scalar(_spent(employer_id, period)) or 0.0)


def _employer(employer_id: int) -> Employer:
    employer = db.session.get(Employer, employer_id)
    if employer is None:
        raise NotFound(_("This employer does not exist."))
    return employer


def check_filter(query: Query, parent: RawCell, filtered: RawCell) -> None:
    """Refuse a filter whose complement in its parent is a small group (rule 3).

    Otherwise "parent minus filter" shows the people left out, e.g. a team of two.
    """
    k = k_for(_employer(query.employer_id), query.health)
    left_out = len(parent.values.keys() - filtered.values.keys())
    if 0 < left_out < k:
        raise PrivacyRefused(
            _(
                "This filter is not available: it would leave fewer than %(k)s people outside "
                "it, and comparing the figures with and without the filter would reveal them. "
                "Choose a larger group or remove the filter.",
                k=k,
            )
        )


def _check_values(query: Query, raw: Sequence[RawCell]) -> None:
    if not query.upper > query.lower:
        raise ValueError(f"bounds of {query.measure} are empty: [{query.lower}, {query.upper}]")
    for cell in raw:
        # One sum in C instead of a test per value: fsum refuses inf + -inf and overflow, and
        # is NaN or infinite when any value is.
        try:
            finite = math.isfinite(math.fsum(cell.values.values()))
        except (OverflowError, ValueError):
            finite = False
        if not finite:
            raise ValueError(f"{query.measure} produced a value that is not a finite number")


def _in_no_cell(people: set[int], cells: Sequence[RawCell]) -> int:
    """How many of ``people`` are in none of ``cells``: the smaller side is walked, and the
    walk stops once everyone is placed (a page's month cells each hold nearly everyone)."""
    rest = set(people)
    for cell in cells:
        if not rest:
            break
        if len(rest) < len(cell.values):
            rest = {person for person in rest if person not in cell.values}
        else:
            rest.difference_update(cell.values.keys())
    return len(rest)


def suppressed_cells(
    k: int,
    total: RawCell,
    cells: Sequence[RawCell],
    *,
    hidden: Sequence[bool] | None = None,
    hide_empty: bool = True,
) -> tuple[bool, list[bool]]:
    """Rules 1 and 2 on the true distinct counts: (total suppressed, each cell suppressed).
    ``hidden`` marks cells hidden already, e.g. by the calendar tree of their year; without
    ``hide_empty``, hidden cells with nobody in them may be worked out as empty."""
    people = set(total.values)
    if len(people) < k:
        return True, [True] * len(cells)
    given = hidden or [False] * len(cells)
    hidden = [was or len(cell.values) < k for was, cell in zip(given, cells, strict=True)]
    unassigned = _in_no_cell(people, cells)

    def rest() -> int:
        """Size of "total minus the shown cells": hidden cells plus people in no cell."""
        return unassigned + sum(
            len(cell.values) for cell, is_hidden in zip(cells, hidden, strict=True) if is_hidden
        )

    size = rest()
    while size < k and (size > 0 or (hide_empty and any(hidden))) and not all(hidden):
        smallest = min(
            (i for i, is_hidden in enumerate(hidden) if not is_hidden),
            key=lambda i: (len(cells[i].values), i),
        )
        hidden[smallest] = True
        size = rest()
    return False, hidden


def _suppressed(group: Group | None) -> CellOut:
    return CellOut(group=group, n=None, value=None, suppressed=True, ci=None)


def _exact(cell: RawCell) -> CellOut:
    n = len(cell.values)
    return CellOut(
        group=cell.group,
        n=n,
        value=math.fsum(cell.values.values()) / n,
        suppressed=False,
        ci=None,
    )


def _clamp(value: float, lower: float, upper: float) -> float:
    return min(max(value, lower), upper)


@dataclass(frozen=True)
class NoiseScales:
    """Laplace scales of one release; documented so tests and the transparency page agree."""

    #: Sensitivity multiplier: how many released cells (shown grid cells plus the total) one
    #: person can change at most.
    cells_per_person: int
    count: float
    sum: float


def noise_scales(query: Query, shown_cells: int, epsilon: float) -> NoiseScales:
    """Scales for ``epsilon`` over counts and centred sums of ``shown_cells`` grid cells + total.

    One person changes each count they are in by 1 and each centred sum by at most half the
    value range, in at most ``cells_per_person`` released cells; Laplace with scale
    sensitivity / epsilon is epsilon-differentially private for the whole vector.
    """
    bound = shown_cells if query.max_cells_per_person is None else query.max_cells_per_person
    cells_per_person = min(bound, shown_cells) + 1
    half_range = (query.upper - query.lower) / 2
    count_epsilon = epsilon * COUNT_SHARE
    return NoiseScales(
        cells_per_person=cells_per_person,
        count=cells_per_person / count_epsilon,
        sum=cells_per_person * half_range / (epsilon - count_epsilon),
    )


def noise_interval(
    noisy_sum: float, noisy_count: int, k: int, scales: NoiseScales, lower: float, upper: float
) -> tuple[float, float]:
    """A conservative 95 % interval for the true mean, from the noisy centred sum and count.

    With probability at least 97.5 % each, the sum noise is within ``sum * ln 40`` (Laplace:
    P(|X| > t) = exp(-t/b)) and the count noise within ``count * ln 80`` (discrete Laplace:
    P(|X| > t) < 2 exp(-t/b)); both hold with at least 95 % (union bound). The true count is at
    least k (the cell is shown), so the interval is the range of mid + sum/count over that box,
    clamped into [lower, upper]. Pure post-processing: costs no privacy.
    """
    tail = (1 - CONFIDENCE) / 2
    mid = (lower + upper) / 2
    sum_margin = scales.sum * math.log(1 / tail)
    count_margin = scales.count * math.log(2 / tail)
    counts = (max(noisy_count - count_margin, k), max(noisy_count + count_margin, k))
    sums = (noisy_sum - sum_margin, noisy_sum + sum_margin)
    ratios = [s / c for s in sums for c in counts]
    return (_clamp(mid + min(ratios), lower, upper), _clamp(mid + max(ratios), lower, upper))


def _opendp() -> Any:
    import opendp.prelude as dp

    # Laplace on vectors is a "contrib" (not yet vetted) component in OpenDP 0.16.
    dp.enable_features("contrib")
    return dp


def mechanisms(scales: NoiseScales) -> tuple[Any, Any]:
    """OpenDP's Laplace mechanisms for a vector of counts (discrete) and of sums (floats)."""
    dp = _opendp()
    count_mechanism = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scales.count
    )
    sum_mechanism = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        dp.l1_distance(T=float),
        scale=scales.sum,
    )
    return count_mechanism, sum_mechanism


def _centred_sum(values: Collection[float], lower: float, upper: float) -> float:
    """Sum of the values clamped into [lower, upper], less the midpoint for each. Clamping
    one by one is only needed when a value lies outside (min and max run in C; a value per
    person of 50,000 took a quarter of a second per chart in Python)."""
    mid = (lower + upper) / 2
    if values and (min(values) < lower or max(values) > upper):
        return math.fsum(_clamp(v, lower, upper) - mid for v in values)
    return math.fsum(values) - mid * len(values)


def _noisy(
    query: Query, k: int, shown: Sequence[RawCell], scales: NoiseScales
) -> tuple[list[CellOut], float]:
    """Noise the shown cells (the total first) with OpenDP; returns them and the epsilon spent."""
    mid = (query.lower + query.upper) / 2
    counts = [len(cell.values) for cell in shown]
    sums = [_centred_sum(cell.values.values(), query.lower, query.upper) for cell in shown]
    count_mechanism, sum_mechanism = mechanisms(scales)
    # The privacy loss OpenDP certifies for our sensitivities; this is what gets charged.
    half_range = (query.upper - query.lower) / 2
    spent = float(count_mechanism.map(scales.cells_per_person)) + float(
        sum_mechanism.map(scales.cells_per_person * half_range)
    )
    noisy_counts = count_mechanism(counts)
    noisy_sums = sum_mechanism(sums)
    out = []
    for cell, noisy_count, noisy_sum in zip(shown, noisy_counts, noisy_sums, strict=True):
        # Shown cells are known to hold at least k people, so a lower noisy count says nothing.
        n = max(int(noisy_count), k)
        out.append(
            CellOut(
                group=cell.group,
                n=n,
                value=_clamp(mid + noisy_sum / n, query.lower, query.upper),
                suppressed=False,
                ci=noise_interval(noisy_sum, noisy_count, k, scales, query.lower, query.upper),
            )
        )
    return out, spent


def _check_contributions(query: Query, shown: Sequence[RawCell]) -> None:
    if query.max_cells_per_person is None:
        return
    seen = Counter(person for cell in shown for person in cell.values)
    if seen and max(seen.values()) > query.max_cells_per_person:
        raise ValueError(
            f"{query.measure}: a person is in more than {query.max_cells_per_person} cells"
        )


def storage_key(key: str) -> str:
    """``key`` as a stored release's ``query_key``: long keys keep a prefix and their hash."""
    if len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: KEY_LENGTH - len(digest) - 1]}#{digest}"


def _cell_json(cell: CellOut) -> dict[str, Any]:
    return {
        "group": None if cell.group is None else {"id": cell.group.id, "name": cell.group.name},
        "n": cell.n,
        "value": cell.value,
        "suppressed": cell.suppressed,
        "ci": None if cell.ci is None else list(cell.ci),
    }


def _cell_from_json(data: dict[str, Any]) -> CellOut:
    group = data["group"]
    ci = data["ci"]
    return CellOut(
        group=None if group is None else Group(id=group["id"], name=group["name"]),
        n=data["n"],
        value=data["value"],
        suppressed=data["suppressed"],
        ci=None if ci is None else (ci[0], ci[1]),
    )


def encode(k: int, total: CellOut, cells: Sequence[CellOut]) -> str:
    """A release's cells as the JSON text stored releases keep (noisy and exact ones)."""
    return json.dumps(
        {"k": k, "total": _cell_json(total), "cells": [_cell_json(cell) for cell in cells]}
    )


def decode(stored: str) -> tuple[int, CellOut, list[CellOut]]:
    """(k, total, cells) of :func:`encode`'s text."""
    data = json.loads(stored)
    return (
        data["k"],
        _cell_from_json(data["total"]),
        [_cell_from_json(cell) for cell in data["cells"]],
    )


def _stored(
    employer_id: int, period: str, keys: Collection[str]
) -> tuple[list[PrivacyRelease], float]:
    """The releases stored for ``keys`` (storage keys) in ``period``, and the epsilon spent in
    it, in one statement (a warm page, and every new release, needs both)."""
    spent = _spent(employer_id, period).subquery()
    rows = db.session.execute(
        select(spent.c.spent, PrivacyRelease)
        .select_from(spent)
        .outerjoin(
            PrivacyRelease,
            and_(
                PrivacyRelease.employer_id == employer_id,
                PrivacyRelease.period == period,
                PrivacyRelease.query_key.in_(sorted(keys)),
            ),
        )
    ).all()
    return [row for _spent, row in rows if row is not None], float(rows[0][0])


def _reused(stored: PrivacyRelease, budget_left: float) -> Release:
    k, total, cells = decode(stored.result_json)
    return Release(
        k=k,
        total=total,
        cells=cells,
        noisy=True,
        epsilon=0.0,
        reused=True,
        budget_left=budget_left,
    )


def stored_releases(
    employer: Employer, keys: Collection[str], *, now: datetime | None = None
) -> dict[str, Release]:
    """The noisy releases already made for ``keys`` in this budget period, by key, read at
    once (a warm dashboard page asks for all its charts).

    Callers may ask before computing anything: a figure released once is already known to HR,
    so returning it again reveals nothing new, whatever the data or the rules say now.
    """
    if not employer.dp_enabled or not keys:
        return {}
    period = period_of(now or utcnow())
    wanted = {storage_key(key): key for key in keys}
    rows, spent = _stored(employer.id, period, wanted)
    left = max(0.0, employer.dp_epsilon_per_period - spent)
    return {wanted[row.query_key]: _reused(row, left) for row in rows}


def release(
    query: Query,
    total: RawCell,
    cells: Sequence[RawCell],
    *,
    now: datetime | None = None,
    hidden: tuple[bool, Sequence[bool] | None] = (False, None),
) -> Release:
    """Apply rules 1, 2 and 4 to a measure's cells; the only way a figure reaches HR.
    ``hidden`` is (total, cells) hidden already by the calendar tree of an exact release."""
    _check_values(query, [total, *cells])
    employer = _employer(query.employer_id)
    k = k_for(employer, query.health)
    total_hidden, cells_hidden = suppressed_cells(k, total, cells, hidden=hidden[1])
    if hidden[0]:
        total_hidden, cells_hidden = True, [True] * len(cells)
    noisy = query.health and employer.dp_enabled
    if not noisy:
        return Release(
            k=k,
            total=_suppressed(total.group) if total_hidden else _exact(total),
            cells=[
                _suppressed(cell.group) if is_hidden else _exact(cell)
                for cell, is_hidden in zip(cells, cells_hidden, strict=True)
            ],
            noisy=False,
            epsilon=None,
            reused=False,
            budget_left=None,
        )

    moment = now or utcnow()
    period = period_of(moment)
    key = storage_key(query.key)
    earlier = stored_releases(employer, [query.key], now=moment).get(query.key)
    if earlier is not None:
        return earlier
    if total_hidden:
        # Nothing is released, so nothing is spent (the total's size is no secret under k).
        return Release(
            k=k,
            total=_suppressed(total.group),
            cells=[_suppressed(cell.group) for cell in cells],
            noisy=False,
            epsilon=None,
            reused=False,
            budget_left=None,
        )

    # Serialise spending per employer (PostgreSQL); then look again, a twin may have won. NO KEY
    # UPDATE: spenders still wait for each other, but rows referring to the employer (an exact
    # release stored on its own connection, see exact_store) need not wait for this commit.
    db.session.execute(
        select(Employer.id).where(Employer.id == employer.id).with_for_update(key_share=True)
    )
    budget = employer.dp_epsilon_per_period
    twin, spent = _stored(employer.id, period, [key])
    if twin:
        return _reused(twin[0], max(0.0, budget - spent))
    if spent + EPSILON_PER_RELEASE > budget + 1e-9:
        raise BudgetSpent(
            _(
                "The privacy budget for new health figures is used up for %(period)s. New health "
                "figures are available again from %(next)s; figures already shown in this period "
                "stay available.",
                period=period,
                next=next_period(period),
            )
        )

    shown = [cell for cell, is_hidden in zip(cells, cells_hidden, strict=True) if not is_hidden]
    _check_contributions(query, shown)
    scales = noise_scales(query, len(shown), EPSILON_PER_RELEASE)
    noised, epsilon = _noisy(query, k, [total, *shown], scales)
    noised_cells = iter(noised[1:])
    out_cells = [
        _suppressed(cell.group) if is_hidden else next(noised_cells)
        for cell, is_hidden in zip(cells, cells_hidden, strict=True)
    ]
    db.session.add(
        PrivacyRelease(
            employer_id=employer.id,
            period=period,
            query_key=key,
            epsilon=epsilon,
            result_json=encode(k, noised[0], out_cells),
            created_at=moment,
        )
    )
    db.session.flush()
    return Release(
        k=k,
        total=noised[0],
        cells=out_cells,
        noisy=True,
        epsilon=epsilon,
        reused=False,
        budget_left=max(0.0, budget - spent - epsilon),
    )
