"""How a checklist response is scored: per item, per area and overall, and what to fix first.

Pure functions over items and answers, no database: the result page, the API, the stored
``ChecklistResponse.score`` and the demo seed all score the same way.

A choice counts 1 (yes), 0.5 (partly: a nearly right workstation is not scored like a missing
one) or 0 (no); "not applicable" does not count. A number counts 1 inside its target range and 0
outside. Items of weight 0 (such as the screen diagonal, asked only so the viewing distance can be
checked against it) never count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wellness.health.models import AnswerType, ChecklistItem, Choice

#: One answer as stored: the item, then the choice or the number.
Answered = tuple[ChecklistItem, str | None, float | None]

CHOICE_FULFILMENT = {Choice.YES.value: 1.0, Choice.PARTLY.value: 0.5, Choice.NO.value: 0.0}
ALL_CHOICES = tuple(choice.value for choice in Choice)
#: How many items the result page puts under "fix these first".
FIX_FIRST = 5


@dataclass(frozen=True)
class RelativeRange:
    """A number whose right value depends on another answer: the viewing distance should be
    about 1.5 to 1.6 times the screen diagonal (DGUV Information 215-410), so a 27-inch screen
    belongs further away than a 22-inch one."""

    #: Key of the item whose answer the range is computed from, e.g. ``screen_diagonal``.
    item: str
    #: Converts that answer into this item's unit (inches to cm: 2.54).
    factor_to_unit: float
    min_factor: float
    ideal_factor: float
    max_factor: float


@dataclass(frozen=True)
class ItemRules:
    """What the shipped data says about an item beyond its table columns."""

    #: Choices a person may give; "not applicable" is left out where every workstation has one.
    choices: tuple[str, ...] = ALL_CHOICES
    #: Plausible input for number items; answers outside are refused as typos, not scored.
    input_min: float = 0
    input_max: float = 9999
    relative_to: RelativeRange | None = None


DEFAULT_RULES = ItemRules()


@dataclass(frozen=True)
class Target:
    """The range a number answer should fall in, and where it came from."""

    low: float | None
    high: float | None
    ideal: float | None = None
    #: The other answer the range was computed from (e.g. 24 for a 24-inch screen).
    reference: float | None = None
    reference_unit: str | None = None


@dataclass(frozen=True)
class ItemResult:
    item: ChecklistItem
    choice: str | None
    number: float | None
    #: 1, 0.5 or 0; ``None`` when the answer does not count (not applicable, weight 0).
    fulfilment: float | None
    target: Target | None

    @property
    def shortfall(self) -> float:
        """Weighted points missing: what fixing this item would gain."""
        if self.fulfilment is None:
            return 0.0
        return self.item.weight * (1 - self.fulfilment)


@dataclass(frozen=True)
class AreaResult:
    area: str
    score: int | None
    results: tuple[ItemResult, ...]


@dataclass(frozen=True)
class Evaluation:
    score: int | None
    areas: tuple[AreaResult, ...]
    #: Items not answered fine, biggest weighted shortfall first (then checklist order).
    to_fix: tuple[ItemResult, ...]

    @property
    def results(self) -> tuple[ItemResult, ...]:
        return tuple(result for area in self.areas for result in area.results)

    @property
    def fix_first(self) -> tuple[ItemResult, ...]:
        return self.to_fix[:FIX_FIRST]

    @property
    def fix_later(self) -> tuple[ItemResult, ...]:
        return self.to_fix[FIX_FIRST:]


def number_target(
    item: ChecklistItem,
    rules: ItemRules,
    numbers: Mapping[str, float],
    units: Mapping[str, str | None],
) -> Target:
    """The item's own range, or the range computed from the answer it depends on (``numbers``
    and ``units`` by item key). The computed range never drops below the item's own minimum
    (the 50 cm of ASR A6); without that answer (an adapted copy may drop the question) the
    item's own range applies."""
    relative = rules.relative_to
    reference = numbers.get(relative.item) if relative else None
    if relative is None or reference is None:
        return Target(item.number_min, item.number_max)
    size = reference * relative.factor_to_unit
    low = round(relative.min_factor * size)
    if item.number_min is not None:
        low = max(low, round(item.number_min))
    high = max(low, round(relative.max_factor * size))
    ideal = min(max(round(relative.ideal_factor * size), low), high)
    return Target(low, high, ideal, reference, units.get(relative.item))


def fulfilment(
    item: ChecklistItem, choice: str | None, number: float | None, target: Target | None
) -> float | None:
    if item.weight == 0:
        return None
    if item.answer_type == AnswerType.NUMBER.value:
        if number is None or target is None:
            return None
        low = target.low if target.low is not None else float("-inf")
        high = target.high if target.high is not None else float("inf")
        return 1.0 if low <= number <= high else 0.0
    return CHOICE_FULFILMENT.get(choice or "")


def _weighted_score(results: Sequence[ItemResult]) -> int | None:
    total = achieved = 0.0
    for result in results:
        if result.fulfilment is None:
            continue
        total += result.item.weight
        achieved += result.item.weight * result.fulfilment
    if total == 0:
        return None
    return round(100 * achieved / total)


def evaluate(answered: Sequence[Answered], rules: Mapping[str, ItemRules]) -> Evaluation:
    """Score every answer, group by area in checklist order, and rank what to fix."""
    numbers = {item.key: number for item, _, number in answered if number is not None}
    units = {item.key: item.unit for item, _, _ in answered}
    results = []
    for item, choice, number in sorted(answered, key=lambda a: a[0].position):
        target = None
        if item.answer_type == AnswerType.NUMBER.value:
            target = number_target(item, rules.get(item.key, DEFAULT_RULES), numbers, units)
        results.append(
            ItemResult(item, choice, number, fulfilment(item, choice, number, target), target)
        )
    by_area: dict[str, list[ItemResult]] = {}
    for result in results:
        by_area.setdefault(result.item.area, []).append(result)
    areas = tuple(
        AreaResult(area, _weighted_score(items), tuple(items)) for area, items in by_area.items()
    )
    to_fix = tuple(
        sorted(
            (r for r in results if r.shortfall > 0),
            key=lambda r: (-r.shortfall, r.item.position),
        )
    )
    return Evaluation(_weighted_score(results), areas, to_fix)
