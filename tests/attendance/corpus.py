"""A fixed offering and the files its provider's tools would export for it.

Dates are fixed in the past (September 2026), so files are stable text and every session has
taken place. Codes follow the real alphabet (no 0/O, 1/I).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select

from wellness.attendance.models import (
    Attendance,
    AttendanceChange,
    AttendanceDraft,
    AttendanceUpload,
    Certificate,
)
from wellness.auth.models import Role
from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Offering,
    OfferingEmployer,
)
from wellness.i18n import BERLIN
from wellness.tenants.models import Employee

SESSION_DAYS = [date(2026, 9, 7), date(2026, 9, 14), date(2026, 9, 21), date(2026, 9, 28)]
PEOPLE = [  # (name, e-mail, code, status)
    ("Anna Adler", "anna@alpha.test", "ANNA2345", EnrollmentStatus.ENROLLED),
    ("Bernd Müller", "bernd@alpha.test", "BERN3456", EnrollmentStatus.ENROLLED),
    ("Clara Çelik", "clara@alpha.test", "CLAR4567", EnrollmentStatus.ENROLLED),
    ("Dora Dorn", "dora@alpha.test", "DORA5678", EnrollmentStatus.WAITLISTED),
    ("Emil Engel", "emil@alpha.test", "EMIL6789", EnrollmentStatus.CANCELLED),
]


@dataclass
class Setting:
    offering: Offering
    other_offering: Offering
    foreign_offering: Offering
    sessions: list[CourseSession]
    enrollments: dict[str, Enrollment]
    provider_user: Any
    other_provider_user: Any


def build(db: Any, make_employer: Any, make_provider: Any, make_user: Any) -> Setting:
    employer = make_employer(name="Alpha GmbH")
    provider = make_provider(name="Rückenfit Hamburg")
    foreign = make_provider(name="Other Provider")
    offering, sessions = _offering(db, provider, employer, "Rückenfit kompakt", SESSION_DAYS)
    other, _ = _offering(db, provider, employer, "Nackenschule", [date(2026, 10, 5)])
    foreign_offering, _ = _offering(db, foreign, employer, "Fremdkurs", [date(2026, 10, 6)])
    enrollments = {}
    for name, email, code, status in PEOPLE:
        enrollments[code] = _enroll(db, make_user, employer, offering, name, email, code, status)
    _enroll(db, make_user, employer, other, "Finn Fink", "finn@alpha.test", "FNNF7892", None)
    _enroll(
        db, make_user, employer, foreign_offering, "Greta G", "greta@alpha.test", "GRTA8923", None
    )
    db.session.commit()
    return Setting(
        offering=offering,
        other_offering=other,
        foreign_offering=foreign_offering,
        sessions=sessions,
        enrollments=enrollments,
        provider_user=make_user(
            Role.PROVIDER, provider=provider, name="Paula Provider", locale="en"
        ),
        other_provider_user=make_user(Role.PROVIDER, provider=foreign, locale="en"),
    )


def _offering(
    db: Any, provider: Any, employer: Any, title: str, days: list[date]
) -> tuple[Offering, list[CourseSession]]:
    course = Course(
        provider_id=provider.id,
        title=title,
        field_of_action="movement",
        zpp_course_id=f"KU-{title[:4].upper()}-01",
        certified_from=date(2026, 1, 1),
        certified_until=date(2027, 12, 31),
    )
    db.session.add(course)
    db.session.flush()
    offering = Offering(
        course_id=course.id,
        starts_on=days[0],
        ends_on=days[-1],
        capacity=20,
        price_cents=12000,
        instructor_name="Ina Instruktor",
    )
    db.session.add(offering)
    db.session.flush()
    db.session.add(OfferingEmployer(offering_id=offering.id, employer_id=employer.id))
    sessions = []
    for day in days:
        start = datetime.combine(day, time(18), tzinfo=BERLIN)
        session = CourseSession(
            offering_id=offering.id, starts_at=start, ends_at=start + timedelta(hours=1)
        )
        db.session.add(session)
        sessions.append(session)
    db.session.flush()
    return offering, sessions


def _enroll(
    db: Any,
    make_user: Any,
    employer: Any,
    offering: Offering,
    name: str,
    email: str,
    code: str,
    status: EnrollmentStatus | None,
) -> Enrollment:
    user = make_user(Role.EMPLOYEE, employer=employer, name=name, email=email)
    employee = db.session.scalar(select(Employee).where(Employee.user_id == user.id))
    status = status or EnrollmentStatus.ENROLLED
    enrollment = Enrollment(
        offering_id=offering.id,
        employee_id=employee.id,
        participant_code=code,
        status=status.value,
        budget_year=2026,
        waitlist_position=1 if status == EnrollmentStatus.WAITLISTED else None,
    )
    db.session.add(enrollment)
    db.session.flush()
    return enrollment


def snapshot(db: Any) -> dict[str, Any]:
    """Everything an import may write, to compare before and after a refused file."""
    db.session.expire_all()
    return {
        "marks": sorted(
            db.session.execute(
                select(Attendance.enrollment_id, Attendance.session_id, Attendance.status)
            ).all()
        ),
        "changes": db.session.scalar(select(func.count()).select_from(AttendanceChange)),
        "uploads": db.session.scalar(select(func.count()).select_from(AttendanceUpload)),
        "drafts": db.session.scalar(select(func.count()).select_from(AttendanceDraft)),
        "certificates": db.session.scalar(select(func.count()).select_from(Certificate)),
    }


def marks(db: Any, setting: Setting) -> dict[tuple[str, date], str]:
    """Stored marks as {(participant code, session day): status}."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Enrollment.participant_code, CourseSession.starts_at, Attendance.status)
        .join(Enrollment, Enrollment.id == Attendance.enrollment_id)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(Enrollment.offering_id == setting.offering.id)
    ).all()
    return {(code, start.astimezone(BERLIN).date()): status for code, start, status in rows}


def xlsx(rows: list[list[Any]], extra_sheets: int = 0) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for n in range(extra_sheets):
        workbook.create_sheet(f"Blatt {n + 2}")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A zip that looks like a workbook and expands a thousandfold."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<row>" + " " * 20_000_000 + "</row>")
    return out.getvalue()
