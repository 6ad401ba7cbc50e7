"""Employee endpoints: own pain check-ins and training log.

Only the signed-in employee's own records exist here; no other role can call these endpoints.
A refused answer is a 422 problem (RFC 9457) whose ``invalid-params`` name the field, e.g.
``scores.low_back`` or ``entries[1].reps``, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from wellness.api import bp
from wellness.api import schemas as s
from wellness.api.openapi import Reply, operation
from wellness.api.problems import problem
from wellness.auth.guards import allow, current_employee
from wellness.auth.models import Role
from wellness.extensions import db
from wellness.health import checkins, training
from wellness.health.checkins import InvalidEntry, Page
from wellness.health.models import ExerciseLog, PainCheckin
from wellness.health.training import EntryInput
from wellness.web import private


def _refused(refused: InvalidEntry) -> ResponseReturnValue:
    """The API's problem details with the field named as RFC 9457 suggests (invalid-params)."""
    invalid = [{"name": refused.field, "reason": refused.message}]
    return problem(
        refused.status_code, _("Not possible"), refused.message, **{"invalid-params": invalid}
    )


def _date(raw: Any, name: str) -> date | None:
    if raw is None:
        return None
    try:
        if isinstance(raw, str):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise InvalidEntry(name, _("'%(name)s' must be a date like 2026-03-31.", name=name))


def _page_json(page: Page[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


def checkin_json(checkin: PainCheckin) -> dict[str, Any]:
    return {
        "checked_on": checkin.checked_on.isoformat(),
        "prevented_activity": checkin.prevented_activity,
        "scores": {region.value: nrs for region, nrs in checkins.scores_of(checkin).items()},
    }


def log_json(log: ExerciseLog) -> dict[str, Any]:
    return {
        "id": log.id,
        "performed_on": log.performed_on.isoformat(),
        "entries": [
            {
                "exercise": entry.exercise,
                "sets": entry.sets,
                "reps": entry.reps,
                "minutes": entry.minutes,
            }
            for entry in log.entries
        ],
    }


def _last_page_past_the_end(page: Page[Any], again: Callable[[int], Page[Any]]) -> Page[Any]:
    """Past the end every list answers its last page."""
    if not page.items and page.page > page.pages:
        return again(page.pages)
    return page


@bp.get("/me/checkins")
@allow(Role.EMPLOYEE)
@operation(
    "Own pain check-ins",
    tag="me",
    query=s.Paging,
    responses={200: Reply("One page of check-ins, newest first.", s.Page[s.CheckinOut])},
)
def my_checkins(query: s.Paging) -> ResponseReturnValue:
    """Own check-ins, newest first; every region is listed, 0 meaning no pain."""
    employee = current_employee()

    def one(number: int) -> Page[Any]:
        return checkins.history(employee, page=number, per_page=query.per_page)

    page = _last_page_past_the_end(one(query.page), one)
    return private(jsonify(_page_json(page, [checkin_json(item) for item in page.items])))


@bp.post("/me/checkins")
@allow(Role.EMPLOYEE)
@operation(
    "Record a pain check-in",
    tag="me",
    body=s.CheckinBody,
    responses={
        200: Reply("It replaced that day's check-in.", s.CheckinOut),
        201: Reply("A new check-in.", s.CheckinOut),
    },
)
def create_checkin(body: s.CheckinBody) -> ResponseReturnValue:
    """``{"checked_on": "2026-03-02", "prevented_activity": false, "scores": {"low_back": 4}}``;
    regions left out had no pain. 201 when new, 200 when it replaced that day's check-in."""
    try:
        recorded = checkins.record_checkin(
            current_employee(),
            body.scores if "scores" in body.model_fields_set else {},
            prevented_activity=body.prevented_activity,
            checked_on=_date(body.checked_on, "checked_on"),
        )
    except InvalidEntry as refused:
        return _refused(refused)
    answer = checkin_json(recorded.checkin)
    db.session.commit()
    return private(jsonify(answer)), 200 if recorded.replaced else 201


@bp.get("/me/training")
@allow(Role.EMPLOYEE)
@operation(
    "Own training log",
    tag="me",
    query=s.Paging,
    responses={200: Reply("One page of training sessions, newest first.", s.Page[s.TrainingOut])},
)
def my_training(query: s.Paging) -> ResponseReturnValue:
    """Own training sessions, newest first."""
    employee = current_employee()

    def one(number: int) -> Page[Any]:
        return training.history(employee, page=number, per_page=query.per_page)

    page = _last_page_past_the_end(one(query.page), one)
    return private(jsonify(_page_json(page, [log_json(item) for item in page.items])))


def _entries(raw: Any) -> list[EntryInput]:
    if not isinstance(raw, list):
        raise InvalidEntry("entries", _("'entries' must be a list of exercises."))
    entries = []
    for position, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InvalidEntry(
                f"entries[{position}]",
                _("Each entry must be an object with 'exercise' and 'reps' or 'minutes'."),
                position,
            )
        entries.append(
            EntryInput(
                exercise=str(item.get("exercise") or ""),
                sets=item.get("sets"),
                reps=item.get("reps"),
                minutes=item.get("minutes"),
            )
        )
    return entries


@bp.post("/me/training")
@allow(Role.EMPLOYEE)
@operation(
    "Log a training session",
    tag="me",
    body=s.TrainingBody,
    responses={201: Reply("The stored session.", s.TrainingOut)},
)
def create_training(body: s.TrainingBody) -> ResponseReturnValue:
    """``{"performed_on": "2026-03-02", "entries": [{"exercise": "bridge", "sets": 3,
    "reps": 12}, {"exercise": "stretching", "minutes": 10}]}``; 201 with the stored session."""
    try:
        log = training.log_session(
            current_employee(),
            _entries(body.entries),
            performed_on=_date(body.performed_on, "performed_on"),
        )
    except InvalidEntry as refused:
        return _refused(refused)
    answer = log_json(log)
    db.session.commit()
    return private(jsonify(answer)), 201
