"""Ergonomic measures: an employee asks for one from a checklist item; the employer's admins
work it through requested → approved → ordered → done (or reject it, with a reason). The dates
are the documentation a risk assessment (Gefährdungsbeurteilung) needs.

What the employer sees of a request, and why:

- the requester's name and site: someone has to bring the footrest to a person and a desk;
- what is asked for (a kind such as ``footrest``, or the employee's own words) and the checklist
  item it came from (question, area, template and version): the item is the hazard the measure
  addresses, which is how a risk assessment is organised;
- the employee's free-text note, which the request form says the employer will read;
- the status, the date of every step, who took it, and the reason for a rejection.

Never the checklist answers or scores: a measure stores the item, not the response, so there is
no path from a measure to anyone's answers. Asking for a measure tells the employer only what
the employee chose to ask for.

``ErgonomicMeasure`` has one ``note`` column; it holds the employee's note. The reason for a
rejection is kept in the audit event of that step and shown from there, to the admin and to
the employee (a column of its own would be cleaner; see the schema wish list).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from wellness.audit.models import AuditEvent
from wellness.audit.services import record
from wellness.auth.models import User
from wellness.db import utcnow
from wellness.errors import Conflict, DomainError, NotFound
from wellness.extensions import db
from wellness.health.checklists import own_response
from wellness.health.models import ChecklistItem, ChecklistTemplate, ErgonomicMeasure, MeasureStatus
from wellness.i18n import BERLIN, local_today
from wellness.tenants.models import Employee, Site

TARGET_TYPE = "ergonomic_measure"
REQUESTED_ACTION = "employee.measure_requested"
#: The audit action of each step an admin takes.
STEP_ACTIONS = {
    MeasureStatus.APPROVED: "admin.measure_approved",
    MeasureStatus.ORDERED: "admin.measure_ordered",
    MeasureStatus.DONE: "admin.measure_done",
    MeasureStatus.REJECTED: "admin.measure_rejected",
}
#: Where each status can go. Something already at hand (an eye test, re-adjusting a chair)
#: goes from approved straight to done; once ordered, a measure is seen through.
NEXT_STEPS: dict[MeasureStatus, tuple[MeasureStatus, ...]] = {
    MeasureStatus.REQUESTED: (MeasureStatus.APPROVED, MeasureStatus.REJECTED),
    MeasureStatus.APPROVED: (MeasureStatus.ORDERED, MeasureStatus.DONE, MeasureStatus.REJECTED),
    MeasureStatus.ORDERED: (MeasureStatus.DONE,),
}
OPEN_STATUSES = tuple(NEXT_STEPS)
DATE_COLUMNS = {
    MeasureStatus.REQUESTED: "requested_at",
    MeasureStatus.APPROVED: "approved_at",
    MeasureStatus.ORDERED: "ordered_at",
    MeasureStatus.DONE: "done_at",
    MeasureStatus.REJECTED: "rejected_at",
}
STATUS_LABELS = {
    MeasureStatus.REQUESTED.value: _l("Requested"),
    MeasureStatus.APPROVED.value: _l("Approved"),
    MeasureStatus.ORDERED.value: _l("Ordered"),
    MeasureStatus.DONE.value: _l("Done"),
    MeasureStatus.REJECTED.value: _l("Rejected"),
}
#: Kinds of measure people can pick; the checklist items suggest one of these keys.
MEASURE_KINDS = {
    "monitor_arm": _l("Monitor arm"),
    "external_monitor": _l("External monitor"),
    "new_monitor": _l("New monitor"),
    "laptop_stand": _l("Laptop stand"),
    "glare_protection": _l("Glare protection (blinds, anti-glare film)"),
    "external_keyboard_mouse": _l("External keyboard and mouse"),
    "ergonomic_mouse": _l("Ergonomic mouse"),
    "office_chair": _l("Office chair"),
    "sit_stand_desk": _l("Sit-stand desk"),
    "footrest": _l("Footrest"),
    "document_holder": _l("Document holder"),
    "cable_management": _l("Cable management"),
    "desk_lamp": _l("Desk lamp"),
    "acoustic_panel": _l("Noise protection (acoustic panels)"),
    "headset": _l("Headset"),
    "eye_examination": _l("Eye examination (occupational health check)"),
    "screen_glasses": _l("Screen glasses"),
    "workplace_visit": _l("Workplace visit by health and safety"),
}
#: The kind for a measure the employee describes in their own words.
OTHER_KIND = "other"
MAX_NOTE = 2000
MAX_REASON = 1000
MAX_TITLE = 200


def kind_label(title: str) -> str:
    """A known kind in the reader's language; the employee's own words as they wrote them."""
    label = MEASURE_KINDS.get(title)
    return str(label) if label is not None else title


# --- the employee's side ------------------------------------------------------------------


def request_measure(
    employee: Employee,
    actor_id: int,
    response_id: int,
    item_key: str,
    kind: str,
    own_title: str | None = None,
    note: str | None = None,
) -> ErgonomicMeasure:
    """Ask the employer for a measure for one item of one's own checklist result."""
    response = own_response(employee, response_id)
    item = next((i for i in response.template.items if i.key == item_key), None)
    if item is None:
        raise NotFound(_("This checklist has no such question."))
    if kind == OTHER_KIND:
        title = (own_title or "").strip()
        if not title:
            raise DomainError(_("Describe the measure you need, e.g. “a smaller keyboard”."))
        if len(title) > MAX_TITLE:
            raise DomainError(_("Please describe the measure in at most 200 characters."))
    elif kind in MEASURE_KINDS:
        title = kind
    else:
        raise DomainError(_("Choose a measure from the list, or “Something else”."))
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise DomainError(_("Please keep the note to at most 2000 characters."))
    duplicate = db.session.scalar(
        select(ErgonomicMeasure.id).where(
            ErgonomicMeasure.employee_id == employee.id,
            ErgonomicMeasure.item_id == item.id,
            ErgonomicMeasure.title == title,
            ErgonomicMeasure.status.in_([s.value for s in OPEN_STATUSES]),
        )
    )
    if duplicate is not None:
        raise Conflict(
            _("You have already asked for this measure; you can follow it under My measures.")
        )
    measure = ErgonomicMeasure(
        employer_id=employee.employer_id,
        employee_id=employee.id,
        item_id=item.id,
        title=title,
        note=note,
        status=MeasureStatus.REQUESTED.value,
        requested_at=utcnow(),
    )
    db.session.add(measure)
    db.session.flush()
    record(
        REQUESTED_ACTION,
        actor_id=actor_id,
        employer_id=employee.employer_id,
        target_type=TARGET_TYPE,
        target_id=measure.id,
    )
    return measure


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureRow:
    """A measure with what explains it; see the module docstring for why these fields."""

    measure: ErgonomicMeasure
    #: ``None`` once the person has left (the employee row was deleted).
    requester: str | None
    site: str | None
    item: ChecklistItem | None
    template: ChecklistTemplate | None

    @property
    def status(self) -> str:
        return self.measure.status

    @property
    def next_steps(self) -> tuple[MeasureStatus, ...]:
        return NEXT_STEPS.get(MeasureStatus(self.measure.status), ())


#: A measure with requester name, site name, item and template (all but the measure may be NULL).
MeasureSelect = Select[ErgonomicMeasure, str, str, ChecklistItem, ChecklistTemplate]


def _rows() -> MeasureSelect:
    return (
        select(ErgonomicMeasure, User.name, Site.name, ChecklistItem, ChecklistTemplate)
        .outerjoin(Employee, Employee.id == ErgonomicMeasure.employee_id)
        .outerjoin(User, User.id == Employee.user_id)
        .outerjoin(Site, Site.id == Employee.site_id)
        .outerjoin(ChecklistItem, ChecklistItem.id == ErgonomicMeasure.item_id)
        .outerjoin(ChecklistTemplate, ChecklistTemplate.id == ChecklistItem.template_id)
    )


def _newest_first(query: MeasureSelect) -> MeasureSelect:
    return query.order_by(ErgonomicMeasure.requested_at.desc(), ErgonomicMeasure.id.desc())


@dataclass(frozen=True)
class MeasurePage:
    rows: list[MeasureRow]
    total: int
    page: int
    pages: int
    #: Measures per status for the whole employer, unfiltered: the state of the to-do list.
    counts: dict[str, int]


#: Filter value for every status that still needs someone to act.
OPEN_FILTER = "open"


def list_for_employer(
    employer_id: int,
    status: str | None = None,
    area: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> MeasurePage:
    """The employer's measures, newest request first, filtered by status (or ``open``) and by
    checklist area."""
    query = _rows().where(ErgonomicMeasure.employer_id == employer_id)
    if status == OPEN_FILTER:
        query = query.where(ErgonomicMeasure.status.in_([s.value for s in OPEN_STATUSES]))
    elif status:
        query = query.where(ErgonomicMeasure.status == status)
    if area:
        query = query.where(ChecklistItem.area == area)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    found = db.session.execute(
        _newest_first(query).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return MeasurePage(
        [MeasureRow(*row) for row in found], total, page, pages, status_counts(employer_id)
    )


def status_counts(employer_id: int) -> dict[str, int]:
    """The employer's measures per status (the filter tabs, the admin's to-dos)."""
    return dict(
        db.session.execute(
            select(ErgonomicMeasure.status, func.count())
            .where(ErgonomicMeasure.employer_id == employer_id)
            .group_by(ErgonomicMeasure.status)
        ).all()
    )


def open_count(counts: dict[str, int]) -> int:
    """Measures the ``open`` filter lists, from :func:`status_counts`."""
    return sum(counts.get(status.value, 0) for status in OPEN_STATUSES)


def measure_for_employer(employer_id: int, measure_id: int) -> MeasureRow:
    """One of the employer's measures; another employer's does not exist here (404)."""
    found = db.session.execute(
        _rows().where(
            ErgonomicMeasure.employer_id == employer_id, ErgonomicMeasure.id == measure_id
        )
    ).first()
    if found is None:
        raise NotFound(_("This measure does not exist."))
    return MeasureRow(*found)


def own_measures(employee: Employee) -> list[MeasureRow]:
    """The measures a person asked for, newest first."""
    found = db.session.execute(
        _newest_first(_rows().where(ErgonomicMeasure.employee_id == employee.id))
    ).all()
    return [MeasureRow(*row) for row in found]


@dataclass(frozen=True)
class Step:
    """One dated step of a measure's history."""

    status: str
    at: datetime
    #: Who took the step, from the audit log (``None`` when not recorded, e.g. imported data).
    actor: str | None = None
    reason: str | None = None


def history(measures: list[ErgonomicMeasure]) -> dict[int, list[Step]]:
    """Each measure's steps in order: the dates from the measure, who and why from the audit
    log (one query for all measures)."""
    events: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    if measures:
        actions = {action: status.value for status, action in STEP_ACTIONS.items()}
        actions[REQUESTED_ACTION] = MeasureStatus.REQUESTED.value
        found = db.session.execute(
            select(AuditEvent.target_id, AuditEvent.action, AuditEvent.details, User.name)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(
                AuditEvent.employer_id == measures[0].employer_id,
                AuditEvent.target_type == TARGET_TYPE,
                AuditEvent.target_id.in_([str(m.id) for m in measures]),
                AuditEvent.action.in_(list(actions)),
            )
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        )
        for target_id, action, details, actor in found:
            reason = json.loads(details).get("reason") if details else None
            events[(target_id or "", actions[action])] = (actor, reason)
    steps: dict[int, list[Step]] = {}
    for measure in measures:
        steps[measure.id] = sorted(
            (
                Step(status.value, at, *events.get((str(measure.id), status.value), (None, None)))
                for status, column in DATE_COLUMNS.items()
                if (at := getattr(measure, column)) is not None
            ),
            key=lambda step: step.at,
        )
    return steps


# --- the employer's side ------------------------------------------------------------------


def _moment(on: date, today: date, now: datetime) -> datetime:
    """A step dated today keeps the exact time; one recorded afterwards is dated noon."""
    if on == today:
        return now
    return datetime.combine(on, time(12), tzinfo=BERLIN)


def _move(
    employer_id: int,
    measure_id: int,
    to: MeasureStatus,
    actor_id: int,
    on: date | None,
    now: datetime | None,
    details: dict[str, Any],
    cost_cents: int | None = None,
) -> ErgonomicMeasure:
    now = now or utcnow()
    today = local_today(now)
    measure = measure_for_employer(employer_id, measure_id).measure
    current = MeasureStatus(measure.status)
    if to not in NEXT_STEPS.get(current, ()):
        raise Conflict(
            _(
                "This measure is %(status)s and cannot be marked %(to)s. Reload the page to see "
                "its current state.",
                status=STATUS_LABELS[current.value],
                to=STATUS_LABELS[to.value],
            )
        )
    on = on or today
    if on > today:
        raise DomainError(_("The date cannot be in the future."))
    previous = max(
        getattr(measure, column)
        for column in DATE_COLUMNS.values()
        if getattr(measure, column) is not None
    )
    if on < local_today(previous):
        raise DomainError(
            _(
                "The date cannot be before the previous step (%(day)s).",
                day=local_today(previous).isoformat(),
            )
        )
    if cost_cents is not None and cost_cents < 0:
        raise DomainError(_("The cost cannot be negative."))
    # Never before the step before it, also on the same day: the history stays in order.
    setattr(measure, DATE_COLUMNS[to], max(_moment(on, today, now), previous))
    measure.status = to.value
    measure.updated_by_id = actor_id
    if cost_cents is not None:
        measure.cost_cents = cost_cents
        details = {**details, "cost_cents": cost_cents}
    db.session.flush()
    record(
        STEP_ACTIONS[to],
        actor_id=actor_id,
        employer_id=employer_id,
        target_type=TARGET_TYPE,
        target_id=measure.id,
        details={"from": current.value, "to": to.value, "on": on.isoformat(), **details},
    )
    return measure


def advance(
    employer_id: int,
    measure_id: int,
    to: MeasureStatus,
    actor_id: int,
    on: date | None = None,
    cost_cents: int | None = None,
    now: datetime | None = None,
) -> ErgonomicMeasure:
    """Approve, order or complete a measure, dated ``on`` (default today; an admin may record
    a step afterwards, but not in the future nor before the step before it)."""
    if to == MeasureStatus.REJECTED:
        raise DomainError(_("Give a reason to reject a measure."))
    return _move(employer_id, measure_id, to, actor_id, on, now, {}, cost_cents)


def reject(
    employer_id: int,
    measure_id: int,
    reason: str,
    actor_id: int,
    on: date | None = None,
    now: datetime | None = None,
) -> ErgonomicMeasure:
    """Turn a measure down. The reason is required: the employee reads it, and a risk
    assessment has to say why a hazard was left as it is."""
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Give a reason, so the employee knows why."))
    if len(reason) > MAX_REASON:
        raise DomainError(_("Please keep the reason to at most 1000 characters."))
    return _move(
        employer_id, measure_id, MeasureStatus.REJECTED, actor_id, on, now, {"reason": reason}
    )
