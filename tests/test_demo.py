"""The demo seed: shape, consistency, idempotency, determinism, and the story the data tells.

Seeding takes a few seconds, so each test seeds once and checks many things.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from statistics import mean
from typing import Any

from sqlalchemy import func, select

from wellness.attendance.models import Attendance, AttendanceStatus, Certificate
from wellness.auth.models import User
from wellness.auth.services import authenticate
from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    FieldOfAction,
    Offering,
    OfferingEmployer,
)
from wellness.demo import DEMO_LOGINS, DEMO_PASSWORD, seed
from wellness.demo.context import local
from wellness.health.checklists import load_shipped_templates
from wellness.health.models import (
    ChecklistResponse,
    Consent,
    ErgonomicMeasure,
    ExerciseLog,
    PainCheckin,
    PainScore,
)
from wellness.tenants.models import Department, Employee, Employer, Site

TODAY = date(2026, 5, 4)
AREAS = {
    "screen",
    "keyboard_mouse",
    "chair",
    "desk",
    "accessories",
    "lighting",
    "climate_noise",
    "breaks",
    "eyes",
    "home_office",
}


def _row_counts(db: Any) -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def _employer(db: Any, slug: str) -> Employer:
    return db.session.scalar(select(Employer).where(Employer.slug == slug))


def _count(db: Any, model: type, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seed_builds_a_consistent_demo_once(db: Any) -> None:
    assert seed(TODAY) is True
    counts = _row_counts(db)
    assert counts["employees"] > 0
    assert seed(TODAY) is False
    assert _row_counts(db) == counts

    # Organisation: Musterfirma with two-level departments, Beispiel AG small and separate.
    muster, beispiel = _employer(db, "musterfirma"), _employer(db, "beispiel")
    assert 380 <= _count(db, Employee, Employee.employer_id == muster.id) <= 420
    assert 25 <= _count(db, Employee, Employee.employer_id == beispiel.id) <= 35
    departments = db.session.scalars(
        select(Department).where(Department.employer_id == muster.id)
    ).all()
    assert len(departments) == 8
    by_id = {d.id: d for d in departments}
    assert any(d.parent_id is None for d in departments)
    assert any(d.parent_id is not None for d in departments)
    assert all(d.parent_id is None or by_id[d.parent_id].parent_id is None for d in departments)
    assert _count(db, Site, Site.employer_id == muster.id) == 3
    assert _count(db, Department, Department.employer_id == beispiel.id) == 2
    assert _count(db, Site, Site.employer_id == beispiel.id) == 1
    emails = db.session.scalars(
        select(User.email)
        .join(Employee, Employee.user_id == User.id)
        .where(Employee.employer_id == muster.id)
    ).all()
    assert len(emails) == len(set(emails))
    assert all(e.endswith("@musterfirma.example") for e in emails)
    # Staff users point at their own employer, never across tenants.
    mismatched = db.session.scalar(
        select(func.count())
        .select_from(Employee)
        .join(User, User.id == Employee.user_id)
        .where(User.employer_id != Employee.employer_id)
    )
    assert mismatched == 0

    # Catalogue: certified courses covering their offerings, one expiring soon.
    courses = db.session.scalars(select(Course)).all()
    certified = [c for c in courses if c.zpp_course_id and c.zpp_course_id.startswith("KU-")]
    assert len(certified) >= 6
    titles = {c.title for c in courses}
    assert "Neue Rückenschule" in titles
    assert any(t.startswith("Rückenkräftigung") for t in titles)
    assert {c.field_of_action for c in courses} >= {"movement", "stress", "nutrition"}
    assert any(c.certified_until <= TODAY + timedelta(days=90) for c in certified)
    offerings = db.session.scalars(select(Offering)).all()
    assert all(o.course.certified_for(o.starts_on, o.ends_on) for o in offerings)
    assert any(o.ends_on < TODAY for o in offerings)
    assert any(o.starts_on > TODAY for o in offerings)
    assert all(o.capacity <= 15 for o in offerings)
    for offering in offerings:
        sessions = offering.sessions
        assert 8 <= len(sessions) <= 12
        assert all(s.starts_at.tzinfo is not None for s in sessions)
        assert all((s.ends_at - s.starts_at) == timedelta(minutes=60) for s in sessions)
    assert _count(db, OfferingEmployer, OfferingEmployer.employer_id == beispiel.id) >= 2

    # Enrollments: seats, waitlist and budget stay consistent.
    per_offering: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for offering_id, status in db.session.execute(
        select(Enrollment.offering_id, Enrollment.status)
    ):
        per_offering[offering_id][status] += 1
    for offering in offerings:
        enrolled = per_offering[offering.id][EnrollmentStatus.ENROLLED.value]
        assert offering.seats_taken == enrolled
        assert enrolled <= offering.capacity
        if per_offering[offering.id][EnrollmentStatus.WAITLISTED.value]:
            assert enrolled == offering.capacity
    assert any(per_offering[o.id]["waitlisted"] for o in offerings if o.starts_on > TODAY)
    spent = db.session.execute(
        select(
            Enrollment.employee_id,
            Enrollment.budget_year,
            func.sum(Enrollment.employer_share_cents),
        )
        .where(Enrollment.status == EnrollmentStatus.ENROLLED.value)
        .group_by(Enrollment.employee_id, Enrollment.budget_year)
    ).all()
    assert spent
    assert max(total for _, _, total in spent) <= 60000

    # Certificates only with enough attendance, only for finished offerings.
    for certificate in db.session.scalars(select(Certificate)):
        enrollment = certificate.enrollment
        present = _count(
            db,
            Attendance,
            Attendance.enrollment_id == enrollment.id,
            Attendance.status == AttendanceStatus.PRESENT.value,
        )
        assert certificate.sessions_attended == present
        assert present * 100 >= certificate.sessions_total * 80
        assert enrollment.offering.ends_on < TODAY
    assert _count(db, Certificate) > 50
    assert _count(db, Attendance) > 500
    future_marks = db.session.scalar(
        select(func.count())
        .select_from(Attendance)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(CourseSession.starts_at >= local(TODAY, 0))
    )
    assert future_marks == 0

    # The demo employee's journey.
    erika = db.session.scalar(
        select(Employee).join(User).where(User.email == "employee@musterfirma.example")
    )
    journeys = db.session.scalars(select(Enrollment).where(Enrollment.employee_id == erika.id))
    journey = {(e.offering.starts_on > TODAY, e.status) for e in journeys}
    assert {(True, "enrolled"), (False, "enrolled")} <= journey
    assert (
        _count(
            db,
            Certificate,
            Certificate.enrollment_id.in_(
                select(Enrollment.id).where(Enrollment.employee_id == erika.id)
            ),
        )
        == 1
    )
    assert _count(db, PainCheckin, PainCheckin.employee_id == erika.id) >= 3

    # Health history.
    consented = _count(db, Consent, Consent.text_version == "2026-01")
    assert 0.6 * 400 <= consented <= 0.8 * 400
    assert _count(db, PainCheckin) > 1000
    assert _count(db, ChecklistResponse) > 100
    statuses = set(db.session.scalars(select(ErgonomicMeasure.status).distinct()))
    assert {"requested", "approved", "ordered", "done"} <= statuses
    assert _count(db, ExerciseLog) > 100
    assert db.session.scalar(select(func.min(PainScore.nrs))) >= 0
    assert db.session.scalar(select(func.max(PainScore.nrs))) <= 10

    # Every login works with the printed password (tests hash with cheap pbkdf2).
    assert len(DEMO_LOGINS) == 6
    for email, _role in DEMO_LOGINS:
        assert authenticate(email, DEMO_PASSWORD).email == email


def test_participants_improve_more_than_others(db: Any) -> None:
    seed(TODAY)
    participants = set(
        db.session.scalars(
            select(Enrollment.employee_id)
            .join(Offering)
            .join(Course)
            .where(
                Enrollment.status == EnrollmentStatus.ENROLLED.value,
                Course.field_of_action == FieldOfAction.MOVEMENT.value,
                Offering.ends_on < TODAY,
            )
        )
    )
    series: dict[int, list[int]] = defaultdict(list)
    rows = db.session.execute(
        select(PainCheckin.employee_id, PainScore.nrs)
        .join(PainScore)
        .where(PainScore.region == "low_back")
        .order_by(PainCheckin.employee_id, PainCheckin.checked_on)
    )
    for employee_id, nrs in rows:
        series[employee_id].append(nrs)
    change = {e: values[-1] - values[0] for e, values in series.items() if len(values) >= 2}
    with_course = [c for e, c in change.items() if e in participants]
    without = [c for e, c in change.items() if e not in participants]
    assert len(with_course) >= 30
    assert len(without) >= 30
    assert mean(with_course) < mean(without) - 0.8


def _empty(db: Any) -> None:
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def test_seed_is_deterministic(db: Any) -> None:
    def snapshot() -> tuple[list[Any], ...]:
        return (
            db.session.scalars(select(User.email).order_by(User.email)).all(),
            db.session.scalars(
                select(Enrollment.participant_code).order_by(Enrollment.participant_code)
            ).all(),
            db.session.scalars(select(Course.zpp_course_id).order_by(Course.zpp_course_id)).all(),
            db.session.execute(
                select(PainCheckin.checked_on, func.sum(PainScore.nrs))
                .join(PainScore)
                .group_by(PainCheckin.id, PainCheckin.checked_on)
                .order_by(PainCheckin.checked_on, func.sum(PainScore.nrs))
            ).all(),
        )

    assert seed(TODAY) is True
    first = snapshot()
    _empty(db)
    assert seed(TODAY) is True
    assert snapshot() == first
    assert "employee@musterfirma.example" in first[0]


def test_shipped_checklist_template(db: Any) -> None:
    first = load_shipped_templates()
    again = load_shipped_templates()
    assert [t.id for t in first] == [t.id for t in again]
    template = next(t for t in first if t.key == "screen-workstation")
    assert template.version == 1
    assert template.title_de
    assert template.title_en
    items = template.items
    assert 25 <= len(items) <= 30
    assert {i.area for i in items} == AREAS
    assert len({i.key for i in items}) == len(items)
    assert all(i.question_de and i.question_en and i.help_de and i.help_en for i in items)
    distance = next(i for i in items if i.key == "viewing_distance")
    assert distance.answer_type == "number"
    assert distance.unit == "cm"
    assert distance.number_min == 50
    measures = {i.suggested_measure for i in items}
    assert {"monitor_arm", "footrest", "sit_stand_desk", "document_holder", "desk_lamp"} <= measures
