"""Demo enrollments, waitlist, attendance with its audit trail, and participation certificates."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from wellness.attendance.models import (
    Attendance,
    AttendanceChange,
    AttendanceStatus,
    AttendanceUpload,
    Certificate,
)
from wellness.courses.models import (
    CourseFormat,
    Enrollment,
    EnrollmentStatus,
    FieldOfAction,
    Offering,
)
from wellness.demo.context import CourseRun, Demo, Person, PlannedOffering, bulk_insert, local
from wellness.demo.people import HAMBURG, KOELN
from wellness.extensions import db
from wellness.tenants.models import Employer

#: The demo employee's journey: one finished course with certificate, one coming up.
DEMO_EMPLOYEE = "employee@musterfirma.example"
DEMO_EMPLOYEE_OFFERINGS = ("neue-rueckenschule-2", "neue-rueckenschule-4")
WAITLIST_LENGTH = 4
#: People take at most this many courses a year (insurers reimburse two).
MAX_COURSES_PER_YEAR = 2
#: Share of participants who attend enough sessions for the certificate.
RELIABLE_SHARE = 0.82


def _pool(demo: Demo, planned: PlannedOffering, busy: dict[int, list[Offering]]) -> list[Person]:
    """Musterfirma staff who could take this offering: right city, free, courses left this year."""
    offering = planned.offering
    site = {"Hamburg": HAMBURG, "Köln": KOELN}.get(offering.city or "")
    if offering.format != CourseFormat.IN_PERSON.value:
        site = None
    people = []
    for person in demo.people:
        taken = busy.get(id(person), [])
        if site is not None and person.site != site:
            continue
        if any(o.starts_on <= offering.ends_on and offering.starts_on <= o.ends_on for o in taken):
            continue
        if sum(o.starts_on.year == offering.starts_on.year for o in taken) >= MAX_COURSES_PER_YEAR:
            continue
        people.append(person)
    return people


def _pick(demo: Demo, pool: list[Person], count: int, planned: PlannedOffering) -> list[Person]:
    """Weighted sampling without replacement: people in pain sign up for back courses more."""
    movement = planned.course.field_of_action == FieldOfAction.MOVEMENT.value
    region = "neck" if "nacken" in planned.key else "low_back"
    remaining = list(pool)
    chosen: list[Person] = []
    while remaining and len(chosen) < count:
        weights = [0.3 + p.pain_base[region] / 2.5 if movement else 1.0 for p in remaining]
        person = demo.rng.choices(remaining, weights=weights)[0]
        remaining.remove(person)
        chosen.append(person)
    return chosen


def _target(demo: Demo, planned: PlannedOffering) -> tuple[int, int]:
    """(requests that get or wait for a seat, cancelled requests) for this offering."""
    capacity = planned.offering.capacity
    if planned.full_with_waitlist:
        return capacity + WAITLIST_LENGTH, 1
    if planned.offering.starts_on <= demo.today:
        return capacity - demo.rng.randint(0, 3), demo.rng.randint(0, 2)
    return demo.rng.randint(capacity // 4, capacity * 3 // 4), demo.rng.randint(0, 1)


def _moment(demo: Demo, start: datetime, end: datetime) -> datetime:
    end = min(end, demo.now)
    seconds = max(0, int((end - start).total_seconds()))
    return start + timedelta(seconds=demo.rng.randint(0, seconds))


def seed_enrollments(demo: Demo) -> None:
    rng = demo.rng
    busy: dict[int, list[Offering]] = {}
    spent: dict[tuple[int, int], int] = {}
    employer_of = {id(p): demo.musterfirma for p in demo.people}
    employer_of.update({id(p): demo.beispiel for p in demo.beispiel_people})
    demo_employee = demo.person(DEMO_EMPLOYEE)
    enrolled: list[tuple[PlannedOffering, Person, Enrollment]] = []
    rows: list[object] = []

    for planned in demo.offerings:
        offering = planned.offering
        opens, closes = offering.enrollment_opens_at, offering.enrollment_closes_at
        if opens is None or closes is None or opens > demo.now:
            continue  # not bookable yet: the demo shows it as "opens on ..."
        requests, cancelled = _target(demo, planned)
        forced = [demo_employee] if planned.key in DEMO_EMPLOYEE_OFFERINGS else []
        guests = (
            rng.sample(demo.beispiel_people, rng.randint(1, 3)) if planned.open_to_beispiel else []
        )
        pool = [p for p in _pool(demo, planned, busy) if p is not demo_employee]
        people = forced + guests
        people += _pick(demo, pool, requests + cancelled - len(people), planned)
        rng.shuffle(people)
        times = sorted(_moment(demo, opens, closes) for _ in people)
        if forced:  # the demo employee booked early, so she always has a seat
            people.remove(demo_employee)
            people.insert(0, demo_employee)
        optional = [p for p in people if p is not demo_employee]
        cancelled_ids = {id(p) for p in rng.sample(optional, min(cancelled, len(optional)))}
        seats = offering.capacity
        waiting = 0
        links = {link.employer_id: link.subsidy_cents for link in offering.employer_links}
        for person, at in zip(people, times, strict=True):
            employer: Employer = employer_of[id(person)]
            if id(person) in cancelled_ids:
                status, position = EnrollmentStatus.CANCELLED, None
            elif seats > 0:
                status, position, seats = EnrollmentStatus.ENROLLED, None, seats - 1
            else:
                waiting += 1
                status, position = EnrollmentStatus.WAITLISTED, waiting
            year = offering.starts_on.year
            left = employer.budget_per_employee_cents - spent.get((id(person), year), 0)
            employer_share = min(links[employer.id], max(0, left), offering.price_cents)
            enrollment = Enrollment(
                offering=offering,
                employee=person.employee,
                status=status.value,
                waitlist_position=position,
                participant_code=demo.code(8),
                budget_year=year,
                created_at=at,
                enrolled_at=at,
            )
            if status == EnrollmentStatus.CANCELLED:
                enrollment.cancelled_at = _moment(
                    demo, at, offering.cancellation_deadline or closes
                )
            else:
                enrollment.employer_share_cents = employer_share
                enrollment.employee_share_cents = offering.price_cents - employer_share
            if status == EnrollmentStatus.ENROLLED:
                spent[(id(person), year)] = spent.get((id(person), year), 0) + employer_share
                busy.setdefault(id(person), []).append(offering)
                if offering.starts_on <= demo.today:
                    enrollment.paid_at = local(
                        offering.starts_on - timedelta(rng.randint(1, 9)), 10
                    )
                enrolled.append((planned, person, enrollment))
            rows.append(enrollment)
        offering.seats_taken = offering.capacity - seats
        offering.waitlist_seq = waiting
    db.session.add_all(rows)
    db.session.flush()
    _seed_attendance(demo, enrolled, demo_employee)


def _seed_uploads(
    demo: Demo, enrolled: list[tuple[PlannedOffering, Person, Enrollment]]
) -> dict[str, AttendanceUpload]:
    """One committed attendance file per offering that has had sessions, as providers upload."""
    trainer = demo.logins["trainer@rueckenfit.example"]
    uploads: dict[str, AttendanceUpload] = {}
    for planned, _person, _enrollment in enrolled:
        past = [day for day in planned.session_days if day < demo.today]
        if not past or planned.key in uploads:
            continue
        uploads[planned.key] = AttendanceUpload(
            offering=planned.offering,
            uploaded_by_id=trainer.id if planned.course.provider.slug == "rueckenfit" else None,
            filename=f"Anwesenheit_{planned.key}_{past[-1]:%Y-%m-%d}.csv",
            sha256=f"{demo.rng.getrandbits(256):064x}",
            row_count=0,
            created_count=0,
            created_at=local(past[-1] + timedelta(days=1), 9),
        )
    db.session.add_all(uploads.values())
    db.session.flush()
    return uploads


def _seed_attendance(
    demo: Demo,
    enrolled: list[tuple[PlannedOffering, Person, Enrollment]],
    demo_employee: Person,
) -> None:
    """Marks for every past session with their audit trail; certificates for finished offerings
    where the participant reached the course's attendance threshold."""
    rng = demo.rng
    uploads = _seed_uploads(demo, enrolled)
    marks: list[Attendance] = []
    rows: list[object] = []
    for planned, person, enrollment in enrolled:
        total = len(planned.session_days)
        threshold = planned.course.attendance_threshold_pct
        allowed = total - math.ceil(total * threshold / 100)
        if person is demo_employee:
            missed = 0
        elif rng.random() < RELIABLE_SHARE:
            missed = rng.randint(0, allowed)
        else:
            missed = rng.randint(allowed + 1, max(allowed + 1, total // 2))
        missed_sessions = set(rng.sample(range(total), missed))
        person.runs.append(
            CourseRun(
                planned.offering.starts_on,
                planned.offering.ends_on,
                planned.course.field_of_action == FieldOfAction.MOVEMENT.value,
                (total - missed) / total,
            )
        )
        upload = uploads.get(planned.key)
        if upload is None:
            continue
        for index, day in enumerate(planned.session_days):
            if day >= demo.today:
                break
            if index in missed_sessions:
                status = AttendanceStatus.EXCUSED if rng.random() < 0.3 else AttendanceStatus.ABSENT
            else:
                status = AttendanceStatus.PRESENT
            marks.append(
                Attendance(
                    enrollment=enrollment,
                    session=planned.offering.sessions[index],
                    status=status.value,
                    upload_id=upload.id,
                    updated_at=upload.created_at,
                )
            )
            upload.row_count += 1
            upload.created_count += 1
        if planned.offering.ends_on < demo.today and (total - missed) * 100 >= total * threshold:
            rows.append(
                Certificate(
                    enrollment=enrollment,
                    verification_code="-".join(demo.code(4) for _ in range(3)),
                    sessions_attended=total - missed,
                    sessions_total=total,
                    fee_cents=planned.offering.price_cents,
                    fee_paid=True,
                    issued_at=local(planned.offering.ends_on + timedelta(days=1), 10),
                )
            )
    db.session.add_all([*marks, *rows])
    db.session.flush()
    by_id = {upload.id: upload for upload in uploads.values()}
    bulk_insert(
        AttendanceChange,
        [
            {
                "attendance_id": mark.id,
                "upload_id": mark.upload_id,
                "changed_by_id": by_id[mark.upload_id].uploaded_by_id,
                "old_status": None,
                "new_status": mark.status,
                "changed_at": mark.updated_at,
            }
            for mark in marks
            if mark.upload_id is not None
        ],
    )
