"""Employee endpoints: own pain check-ins and training log.

Only the signed-in employee's own records exist here; no other role can call these endpoints.
A refused answer is a 422 problem (RFC 9457) whose ``invalid-params`` name the field, e.g.
``scores.low_back`` or ``entries[1].reps``, and nothing is stored.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from wellness.api import bp, params
from wellness.auth.guards import allow, current_employee
from wellness.auth.models import Role
from wellness.extensions import db
from wellness.health import checkins, training
from wellness.health.checkins import InvalidEntry, Page
from wellness.health.models import ExerciseLog, PainCheckin
from wellness.health.training import EntryInput
from wellness.web import private

DEFAULT_PER_PAGE = 20


def _refused(refused: InvalidEntry) -> ResponseReturnValue:
    """The API's problem details with the field named as RFC 9457 suggests (invalid-params)."""
    db.session.rollback()
    body = {
        "type": "about:blank",
        "title": _("Not possible"),
        "status": refused.status_code,
        "detail": refused.message,
        "invalid-params": [{"name": refused.field, "reason": refused.message}],
    }
    return jsonify(body), refused.status_code, {"Content-Type": "application/problem+json"}


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidEntry("body", _("Send a JSON object (Content-Type: application/json)."))
    return data


def _date(data: dict[str, Any], name: str) -> date | None:
    raw = data.get(name)
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


def _paging() -> tuple[int, int]:
    return params.integer("page", 1), params.integer(
        "per_page", DEFAULT_PER_PAGE, maximum=params.MAX_PER_PAGE
    )


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


@bp.get("/me/checkins")
@allow(Role.EMPLOYEE)
def my_checkins() -> ResponseReturnValue:
    """Own check-ins, newest first; every region is listed, 0 meaning no pain."""
    page_number, per_page = _paging()
    page = checkins.history(current_employee(), page=page_number, per_page=per_page)
    return private(jsonify(_page_json(page, [checkin_json(item) for item in page.items])))


@bp.post("/me/checkins")
@allow(Role.EMPLOYEE)
def create_checkin() -> ResponseReturnValue:
    """``{"checked_on": "2026-03-02", "prevented_activity": false, "scores": {"low_back": 4}}``;
    regions left out had no pain. 201 when new, 200 when it replaced that day's check-in."""
    try:
        data = _body()
        recorded = checkins.record_checkin(
            current_employee(),
            data.get("scores", {}),
            prevented_activity=data.get("prevented_activity", False),
            checked_on=_date(data, "checked_on"),
        )
    except InvalidEntry as refused:
        return _refused(refused)
    body = checkin_json(recorded.checkin)
    db.session.commit()
    return private(jsonify(body)), 200 if recorded.replaced else 201


@bp.get("/me/training")
@allow(Role.EMPLOYEE)
def my_training() -> ResponseReturnValue:
    """Own training sessions, newest first."""
    page_number, per_page = _paging()
    page = training.history(current_employee(), page=page_number, per_page=per_page)
    return private(jsonify(_page_json(page, [log_json(item) for item in page.items])))


def _entries(data: dict[str, Any]) -> list[EntryInput]:
    raw = data.get("entries")
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
def create_training() -> ResponseReturnValue:
    """``{"performed_on": "2026-03-02", "entries": [{"exercise": "bridge", "sets": 3,
    "reps": 12}, {"exercise": "stretching", "minutes": 10}]}``; 201 with the stored session."""
    try:
        data = _body()
        log = training.log_session(
            current_employee(), _entries(data), performed_on=_date(data, "performed_on")
        )
    except InvalidEntry as refused:
        return _refused(refused)
    body = log_json(log)
    db.session.commit()
    return private(jsonify(body)), 201
