"""Demo health history for Musterfirma: consents, pain check-ins, workstation checklists with
the measures they led to, and home training logs.

The pain history is built so the HR dashboard has a story to tell: course participants' back
pain falls over the months after their course starts (by how much depends on attendance), while
everyone else's stays where it was, give or take noise.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from wellness.audit.models import AuditEvent
from wellness.demo.context import Demo, Person, bulk_insert, local
from wellness.extensions import db
from wellness.health import pain_months
from wellness.health.checklist_scoring import Answered, Evaluation
from wellness.health.checklists import evaluate_answers, load_shipped_templates
from wellness.health.measures import STEP_ACTIONS, TARGET_TYPE
from wellness.health.models import (
    AnswerType,
    BodyRegion,
    ChecklistAnswer,
    ChecklistItem,
    ChecklistResponse,
    ChecklistTemplate,
    Choice,
    Consent,
    ConsentPurpose,
    ErgonomicMeasure,
    ExerciseEntry,
    ExerciseLog,
    MeasureStatus,
    PainCheckin,
    PainScore,
)
from wellness.i18n import local_today

CONSENT_TEXT_VERSION = "2026-01"
CONSENT_SHARE = 0.7
MONTHS = 12
#: Regions beyond the big three that some people report now and then.
OCCASIONAL_REGIONS = (
    BodyRegion.UPPER_BACK,
    BodyRegion.WRISTS_HANDS,
    BodyRegion.HIPS_THIGHS,
    BodyRegion.KNEES,
    BodyRegion.ELBOWS,
    BodyRegion.ANKLES_FEET,
)
#: How strongly back training relieves each region (the low back most).
RELIEF_FACTOR = {"low_back": 1.0, "neck": 0.6, "shoulders": 0.6}
#: Typical price of each suggested measure, for the budget view of the measures list.
MEASURE_COST_CENTS: dict[str, int | None] = {
    "monitor_arm": 8900,
    "glare_protection": 24000,
    "new_monitor": 22900,
    "external_keyboard_mouse": 6900,
    "ergonomic_mouse": 4900,
    "office_chair": 48900,
    "sit_stand_desk": 69000,
    "cable_management": 3900,
    "document_holder": 2900,
    "footrest": 5900,
    "desk_lamp": 8900,
    "acoustic_panel": 39000,
    "eye_examination": None,
    "screen_glasses": 25000,
    "external_monitor": 19900,
    "laptop_stand": 4900,
    "headset": 12900,
}
#: Screen sizes in inches, as offices and homes have them.
OFFICE_SCREENS = (22.0, 24.0, 24.0, 24.0, 27.0, 27.0, 32.0)
HOME_SCREENS = (14.0, 15.6, 15.6, 24.0, 24.0, 27.0)
REJECTION_REASON = "Vorhandene Ausstattung wurde bei einer Begehung neu eingestellt."
MEASURE_OUTCOMES: dict[MeasureStatus, float] = {
    MeasureStatus.REQUESTED: 0.2,
    MeasureStatus.APPROVED: 0.15,
    MeasureStatus.ORDERED: 0.15,
    MeasureStatus.DONE: 0.42,
    MeasureStatus.REJECTED: 0.08,
}
#: (exercise key, "reps" or "minutes", low, high): the home programme of the back courses.
EXERCISES: tuple[tuple[str, str, int, int], ...] = (
    ("bridge", "reps", 10, 15),
    ("bird_dog", "reps", 8, 12),
    ("squat", "reps", 10, 15),
    ("dead_bug", "reps", 8, 12),
    ("hip_hinge", "reps", 10, 12),
    ("cat_cow", "reps", 8, 12),
    ("plank", "minutes", 1, 2),
    ("stretching", "minutes", 5, 15),
)


def _insert_with_children(
    parents: list[tuple[Any, list[dict[str, Any]]]], model: Any, fk: str
) -> None:
    """Add the parents, then bulk-insert their many children in one statement: ORM objects for
    tens of thousands of pain scores and answers would dominate the seeding time."""
    db.session.add_all(parent for parent, _ in parents)
    db.session.flush()
    rows = [{fk: parent.id, **child} for parent, children in parents for child in children]
    bulk_insert(model, rows)


def seed_health(demo: Demo) -> None:
    templates = {t.key: t for t in load_shipped_templates()}
    _seed_consents(demo)
    _seed_pain(demo)
    _seed_checklists(demo, templates["screen-workstation"], templates["home-office"])
    _seed_exercise(demo)


def _seed_consents(demo: Demo) -> None:
    rng = demo.rng
    rows = []
    for person in demo.people:
        if person.user is not None and person.user.email == "employee@musterfirma.example":
            person.consented = True
        else:
            person.consented = rng.random() < CONSENT_SHARE
        if not person.consented:
            continue
        early = rng.random() < 0.75
        granted = demo.today - timedelta(
            days=rng.randint(345, 400) if early else rng.randint(30, 300)
        )
        consent = Consent(
            employee_id=person.employee.id,
            purpose=ConsentPurpose.HEALTH_AGGREGATES.value,
            text_version=CONSENT_TEXT_VERSION,
            granted_at=local(granted, rng.randint(8, 20), rng.randint(0, 59)),
        )
        if rng.random() < 0.03:
            withdrawn = granted + timedelta(days=rng.randint(30, 200))
            if withdrawn < demo.today:
                consent.withdrawn_at = local(withdrawn, 18)
        rows.append(consent)
    db.session.add_all(rows)
    db.session.flush()


def _relief(person: Person, gain: float, day: date) -> float:
    """NRS points of relief on ``day``: builds up over ten weeks of training, scaled by how
    many sessions the person attended, and never more than most of their baseline."""
    relief = 0.0
    for run in person.runs:
        if run.movement and run.starts_on <= day:
            ramp = min(1.0, (day - run.starts_on).days / 70)
            relief += gain * ramp * run.attended_share
    return relief


def _seed_pain(demo: Demo) -> None:
    rng = demo.rng
    checkins: list[tuple[Any, list[dict[str, Any]]]] = []
    for person in demo.people:
        is_demo = person.user is not None and person.user.email == "employee@musterfirma.example"
        if is_demo:
            person.pain_base.update(low_back=5.5, neck=3.0, shoulders=2.0)
            months = [0, 2, 4, 7, 9, 11]
        elif rng.random() < (0.8 if person.consented else 0.25):
            start = 0 if rng.random() < 0.75 else rng.randint(1, 8)
            regularity = rng.uniform(0.55, 0.95)
            months = [m for m in range(start, MONTHS) if rng.random() < regularity]
        else:
            continue
        gain = min(3.5, max(0.5, rng.gauss(2.2, 0.6)))
        for month in months:
            day = demo.today - timedelta(days=30 * (MONTHS - 1 - month) + rng.randint(0, 20))
            relief = _relief(person, gain, day)
            scores = []
            for region, base in person.pain_base.items():
                eased = base - min(RELIEF_FACTOR[region] * relief, 0.7 * base)
                scores.append((region, min(10, max(0, round(eased + rng.gauss(0, 0.9))))))
            if rng.random() < 0.15:
                scores.append((rng.choice(OCCASIONAL_REGIONS).value, rng.randint(1, 5)))
            rows = [
                {
                    "region": region,
                    "nrs": nrs,
                    "prevented_activity": nrs >= 6 and rng.random() < 0.5,
                }
                for region, nrs in scores
            ]
            checkin = PainCheckin(
                employee_id=person.employee.id,
                checked_on=day,
                prevented_activity=any(row["prevented_activity"] for row in rows),
                created_at=local(day, rng.randint(7, 21), rng.randint(0, 59)),
            )
            checkins.append((checkin, rows))
    _insert_with_children(checkins, PainScore, "checkin_id")
    # The scores went in as one bulk insert, past the rollup's flush hook.
    people = sorted({checkin.employee_id for checkin, _ in checkins})
    pain_months.refresh(db.session.connection(), people, None, None)


def _answer(
    demo: Demo, item: ChecklistItem, workplace: str, quality: float, screen: float
) -> tuple[str | None, float | None]:
    """One plausible answer; the viewing distance grows with the ``screen`` diagonal, and the
    better the workstation (``quality``), the closer it comes to 1.6 times the diagonal."""
    rng = demo.rng
    if item.key == "screen_diagonal":
        return None, screen
    if item.answer_type == AnswerType.NUMBER.value:
        factor = rng.gauss(1.0 + 0.6 * quality, 0.2)
        return None, float(min(150, max(35, round(factor * screen * 2.54))))
    if item.area == "home_office" and workplace == "office":
        return Choice.NOT_APPLICABLE.value, None
    not_applicable = {"document_holder": 0.55, "footrest": 0.65}.get(item.key, 0.0)
    if rng.random() < not_applicable:
        return Choice.NOT_APPLICABLE.value, None
    draw = rng.random()
    if draw < quality:
        return Choice.YES.value, None
    if draw < quality + (1 - quality) / 2:
        return Choice.PARTLY.value, None
    return Choice.NO.value, None


def _response(
    demo: Demo,
    person: Person,
    template: ChecklistTemplate,
    workplace: str,
    quality: float,
    at: datetime,
) -> tuple[ChecklistResponse, list[Answered], Evaluation]:
    screen = demo.rng.choice(HOME_SCREENS if workplace == "home" else OFFICE_SCREENS)
    answered: list[Answered] = [
        (item, *_answer(demo, item, workplace, quality, screen)) for item in template.items
    ]
    evaluation = evaluate_answers(template, answered)
    response = ChecklistResponse(
        employee_id=person.employee.id,
        template_id=template.id,
        workplace=workplace,
        score=evaluation.score,
        items_to_fix=len(evaluation.to_fix),
        submitted_at=at,
    )
    return response, answered, evaluation


def _answer_rows(answered: list[Answered]) -> list[dict[str, Any]]:
    return [
        {"item_id": item.id, "choice": choice, "number": number}
        for item, choice, number in answered
    ]


def _measure(
    demo: Demo, person: Person, item: ChecklistItem, title: str, at: datetime
) -> ErgonomicMeasure:
    """A measure taken as far through requested → approved → ordered → done as time allows."""
    rng = demo.rng
    admin = demo.logins["admin@musterfirma.example"]
    outcome = rng.choices(list(MEASURE_OUTCOMES), weights=list(MEASURE_OUTCOMES.values()))[0]
    measure = ErgonomicMeasure(
        employer_id=demo.musterfirma.id,
        employee_id=person.employee.id,
        item_id=item.id,
        title=title,
        status=MeasureStatus.REQUESTED.value,
        requested_at=at + timedelta(hours=rng.randint(1, 48)),
    )
    if outcome == MeasureStatus.REJECTED:
        rejected_at = measure.requested_at + timedelta(days=rng.randint(2, 10))
        if rejected_at <= demo.now:
            measure.status = outcome.value
            measure.rejected_at = rejected_at
            measure.updated_by_id = admin.id
        return measure
    steps = (
        (MeasureStatus.APPROVED, "approved_at", 2, 10),
        (MeasureStatus.ORDERED, "ordered_at", 1, 7),
        (MeasureStatus.DONE, "done_at", 5, 25),
    )
    moment = measure.requested_at
    order = list(MEASURE_OUTCOMES)
    for status, column, low, high in steps:
        if order.index(status) > order.index(outcome):
            break
        moment = moment + timedelta(days=rng.randint(low, high))
        if moment > demo.now:
            break
        setattr(measure, column, moment)
        measure.status = status.value
        measure.updated_by_id = admin.id
        measure.cost_cents = MEASURE_COST_CENTS.get(title)
    return measure


def _rejection_events(demo: Demo, measures: list[ErgonomicMeasure]) -> list[AuditEvent]:
    """The audit trail of rejected measures: it carries the reason (see measures.py)."""
    admin = demo.logins["admin@musterfirma.example"]
    return [
        AuditEvent(
            occurred_at=m.rejected_at,
            actor_id=admin.id,
            employer_id=m.employer_id,
            action=STEP_ACTIONS[MeasureStatus.REJECTED],
            target_type=TARGET_TYPE,
            target_id=str(m.id),
            details=json.dumps(
                {
                    "from": MeasureStatus.REQUESTED.value,
                    "on": local_today(m.rejected_at).isoformat(),
                    "reason": REJECTION_REASON,
                    "to": MeasureStatus.REJECTED.value,
                },
                sort_keys=True,
            ),
        )
        for m in measures
        if m.rejected_at is not None
    ]


def _seed_checklists(
    demo: Demo, office_template: ChecklistTemplate, home_template: ChecklistTemplate
) -> None:
    rng = demo.rng
    responses: list[tuple[Any, list[dict[str, Any]]]] = []
    measure_rows: list[ErgonomicMeasure] = []
    for person in demo.people:
        manual = person.department in ("Montage", "Logistik")
        is_demo = person.user is not None and person.user.email == "employee@musterfirma.example"
        if not is_demo and rng.random() >= (0.08 if manual else 0.6):
            continue
        workplaces = ["office"] + (["home"] if person.home_office and rng.random() < 0.8 else [])
        for workplace in workplaces:
            template = home_template if workplace == "home" else office_template
            quality = rng.uniform(0.45, 0.95) - (0.15 if workplace == "home" else 0.0)
            at = local(demo.today - timedelta(days=rng.randint(20, 330)), rng.randint(9, 16))
            response, answered, evaluation = _response(
                demo, person, template, workplace, quality, at
            )
            responses.append((response, _answer_rows(answered)))
            measures: dict[str, ErgonomicMeasure] = {}
            for result in evaluation.results:
                item = result.item
                if (
                    result.fulfilment == 0.0
                    and item.suggested_measure
                    and item.suggested_measure not in measures
                    and rng.random() < 0.55
                ):
                    measures[item.suggested_measure] = _measure(
                        demo, person, item, item.suggested_measure, at
                    )
            measure_rows.extend(measures.values())
            done = [m.done_at for m in measures.values() if m.done_at is not None]
            if done and rng.random() < 0.5:
                again = max(done) + timedelta(days=rng.randint(3, 20))
                if again < demo.now:
                    better = min(0.98, quality + 0.25)
                    response, answered, _ = _response(
                        demo, person, template, workplace, better, again
                    )
                    responses.append((response, _answer_rows(answered)))
    db.session.add_all(measure_rows)
    _insert_with_children(responses, ChecklistAnswer, "response_id")
    db.session.add_all(_rejection_events(demo, measure_rows))
    db.session.flush()


def _seed_exercise(demo: Demo) -> None:
    """Home training of back-course participants: during the course and, less often, after."""
    rng = demo.rng
    logs: list[tuple[Any, list[dict[str, Any]]]] = []
    for person in demo.people:
        runs = [r for r in person.runs if r.movement and r.starts_on < demo.today]
        if not runs or rng.random() < 0.3:
            continue
        motivation = rng.uniform(0.25, 0.9)
        days: set[date] = set()
        for run in runs:
            week = run.starts_on
            stop = min(demo.today, run.ends_on + timedelta(weeks=8))
            while week <= stop:
                during = week <= run.ends_on
                count = sum(rng.random() < (motivation if during else motivation / 2) for _ in "ab")
                for offset in sorted(rng.sample(range(7), count)):
                    day = week + timedelta(days=offset)
                    if day <= demo.today:
                        days.add(day)
                week += timedelta(weeks=1)
        for day in sorted(days):
            entries = []
            for key, kind, low, high in rng.sample(EXERCISES, rng.randint(2, 4)):
                amount = rng.randint(low, high)
                entries.append(
                    {
                        "exercise": key,
                        "sets": rng.randint(2, 3) if kind == "reps" or key == "plank" else None,
                        "reps": amount if kind == "reps" else None,
                        "minutes": amount if kind == "minutes" else None,
                    }
                )
            log = ExerciseLog(
                employee_id=person.employee.id,
                performed_on=day,
                created_at=local(day, rng.randint(6, 21)),
            )
            logs.append((log, entries))
    _insert_with_children(logs, ExerciseEntry, "log_id")
