"""Home training: the exercise catalogue and the employee's own training log.

The catalogue is data (``data/exercises.json``, German and English) so physiotherapists can
review it without reading code; its keys are stored in logs and never change. Frequency is what
the evidence ties to less back pain, so the log is summarised as sessions per week, shown next
to the pain trend.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from wellness.errors import NotFound
from wellness.extensions import db
from wellness.health.checkins import (
    InvalidEntry,
    Page,
    Period,
    entry_date,
    paginate,
    period_end,
    period_start,
    period_starts,
    whole_number,
)
from wellness.health.models import ExerciseEntry, ExerciseLog
from wellness.i18n import current_language
from wellness.tenants.models import Employee

CATALOGUE = Path(__file__).resolve().parent / "data" / "exercises.json"

#: Sane amounts for one exercise in one home session (the database allows more).
SETS = (1, 20)
REPS = (1, 100)
MINUTES = (1, 120)


class ExerciseKind(StrEnum):
    #: Counted in repetitions (and optionally sets).
    REPS = "reps"
    #: Counted in minutes in total.
    MINUTES = "minutes"


@dataclass(frozen=True)
class Exercise:
    key: str
    kind: ExerciseKind
    name_de: str
    name_en: str
    instruction_de: str
    instruction_en: str

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_de

    def instruction(self, locale: str) -> str:
        return self.instruction_en if locale == "en" else self.instruction_de


@cache
def catalogue() -> tuple[Exercise, ...]:
    """The shipped exercises, in the order people see them."""
    data = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return tuple(
        Exercise(
            key=item["key"],
            kind=ExerciseKind(item["kind"]),
            name_de=item["name_de"],
            name_en=item["name_en"],
            instruction_de=item["instruction_de"],
            instruction_en=item["instruction_en"],
        )
        for item in data["exercises"]
    )


@cache
def _by_key() -> dict[str, Exercise]:
    return {item.key: item for item in catalogue()}


def exercise(key: str) -> Exercise | None:
    return _by_key().get(key)


@dataclass(frozen=True)
class EntryInput:
    """One exercise of a session as typed: reps (and sets) or minutes, by the exercise's kind."""

    exercise: str
    sets: int | None = None
    reps: int | None = None
    minutes: int | None = None


def _entry(position: int, given: EntryInput) -> ExerciseEntry:
    found = exercise(given.exercise) if isinstance(given.exercise, str) else None
    if found is None:
        keys = ", ".join(item.key for item in catalogue())
        raise InvalidEntry(
            f"entries[{position}].exercise",
            _(
                "“%(key)s” is not an exercise of the list. Use one of: %(keys)s.",
                key=str(given.exercise)[:40],
                keys=keys,
            )
            if given.exercise
            else _("Name the exercise, one of: %(keys)s.", keys=keys),
            position,
        )
    name = found.name(current_language())

    def amount(attribute: str, bounds: tuple[int, int], message: str) -> int:
        return whole_number(
            getattr(given, attribute),
            *bounds,
            f"entries[{position}].{attribute}",
            message,
            position,
        )

    def refuse(attribute: str, message: str) -> None:
        raise InvalidEntry(f"entries[{position}].{attribute}", message, position)

    sets = None
    if given.sets is not None:
        sets = amount(
            "sets",
            SETS,
            _(
                "%(exercise)s: sets must be a whole number from %(low)d to %(high)d.",
                exercise=name,
                low=SETS[0],
                high=SETS[1],
            ),
        )
    if found.kind is ExerciseKind.REPS:
        if given.minutes is not None:
            refuse(
                "minutes", _("%(exercise)s is counted in repetitions, not minutes.", exercise=name)
            )
        reps = amount(
            "reps",
            REPS,
            _(
                "%(exercise)s: enter the repetitions per set, a whole number from %(low)d to "
                "%(high)d.",
                exercise=name,
                low=REPS[0],
                high=REPS[1],
            ),
        )
        return ExerciseEntry(exercise=found.key, sets=sets, reps=reps)
    if given.reps is not None:
        refuse("reps", _("%(exercise)s is counted in minutes, not repetitions.", exercise=name))
    minutes = amount(
        "minutes",
        MINUTES,
        _(
            "%(exercise)s: enter the minutes, a whole number from %(low)d to %(high)d.",
            exercise=name,
            low=MINUTES[0],
            high=MINUTES[1],
        ),
    )
    return ExerciseEntry(exercise=found.key, sets=sets, minutes=minutes)


def log_session(
    employee: Employee,
    entries: Sequence[EntryInput],
    *,
    performed_on: date | None = None,
    today: date | None = None,
) -> ExerciseLog:
    """Record one home training session; every entry is checked before anything is written."""
    day = entry_date(performed_on, "performed_on", today)
    if not entries:
        raise InvalidEntry("entries", _("Add at least one exercise you did."))
    rows = [_entry(position, given) for position, given in enumerate(entries)]
    keys = [row.exercise for row in rows]
    for position, key in enumerate(keys):
        if key in keys[:position]:
            raise InvalidEntry(
                f"entries[{position}].exercise",
                _(
                    "%(exercise)s is listed twice. Enter each exercise once.",
                    exercise=_by_key()[key].name(current_language()),
                ),
                position,
            )
    log = ExerciseLog(employee_id=employee.id, performed_on=day, entries=rows)
    db.session.add(log)
    db.session.flush()
    return log


def history(employee: Employee, *, page: int = 1, per_page: int = 20) -> Page[ExerciseLog]:
    """The employee's sessions, newest first."""
    query = (
        select(ExerciseLog)
        .where(ExerciseLog.employee_id == employee.id)
        .options(selectinload(ExerciseLog.entries))
        .order_by(ExerciseLog.performed_on.desc(), ExerciseLog.id.desc())
    )
    return paginate(query, page, per_page)


def delete_session(employee: Employee, log_id: int) -> None:
    """Remove a session logged by mistake; another person's session does not exist here."""
    log = db.session.scalar(
        select(ExerciseLog).where(ExerciseLog.id == log_id, ExerciseLog.employee_id == employee.id)
    )
    if log is None:
        raise NotFound(_("This training session does not exist."))
    db.session.delete(log)
    db.session.flush()


@dataclass(frozen=True)
class Frequency:
    starts_on: date
    sessions: int
    #: Sessions per week: the count itself for weeks, the weekly average for months.
    per_week: float


def frequency(
    employee: Employee,
    period: Period = Period.MONTH,
    *,
    count: int = 12,
    today: date | None = None,
) -> list[Frequency]:
    """Training sessions per week for each of the last ``count`` weeks or months."""
    starts = period_starts(period, count, today)
    days = db.session.scalars(
        select(ExerciseLog.performed_on).where(
            ExerciseLog.employee_id == employee.id, ExerciseLog.performed_on >= starts[0]
        )
    ).all()
    counted = Counter(period_start(day, period) for day in days)
    result = []
    for start in starts:
        weeks = (period_end(start, period) - start).days / 7
        sessions = counted.get(start, 0)
        result.append(Frequency(start, sessions, round(sessions / weeks, 1)))
    return result
