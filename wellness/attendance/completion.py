"""Attendance rates, completion and participation certificates.

An enrollment is completed when, after the offering's last session, the share of sessions
marked present reaches the course's threshold (default 80 %). Completion issues a certificate;
a later correction below the threshold revokes it, and a correction back above restores it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from wellness.attendance.models import Attendance, AttendanceStatus, Certificate
from wellness.audit.services import record
from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Offering,
    OfferingStatus,
)
from wellness.db import utcnow
from wellness.extensions import db
from wellness.notifications import course_mails
from wellness.tenants.models import Employee

#: No 0/O or 1/I: codes are read aloud and typed from paper (the demo uses the same alphabet).
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#: Three groups of four: 60 random bits, printed as ``ABCD-EFGH-JKLM``.
CODE_GROUPS = 3
CODE_GROUP_LENGTH = 4
_GROUP = f"[{CODE_ALPHABET}]{{{CODE_GROUP_LENGTH}}}"
_CODE_SHAPE = re.compile(_GROUP + f"(-{_GROUP}){{{CODE_GROUPS - 1}}}")
#: What people type between the groups: spaces, ASCII and typographic dashes.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]")


@dataclass(frozen=True)
class Presence:
    """Sessions attended of all sessions of the offering."""

    attended: int
    total: int

    @property
    def rate(self) -> float:
        return self.attended / self.total if self.total else 0.0


def presence_by_enrollment(offering_id: int) -> dict[int, Presence]:
    """Per enrollment with at least one mark: sessions marked present, of all sessions."""
    total = db.session.scalar(
        select(func.count(CourseSession.id)).where(CourseSession.offering_id == offering_id)
    )
    rows = db.session.execute(
        select(
            Attendance.enrollment_id,
            func.sum(case((Attendance.status == AttendanceStatus.PRESENT.value, 1), else_=0)),
        )
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(CourseSession.offering_id == offering_id)
        .group_by(Attendance.enrollment_id)
    ).all()
    return {enrollment_id: Presence(int(n or 0), int(total or 0)) for enrollment_id, n in rows}


def presence_of(enrollment_ids: Collection[int]) -> dict[int, Presence]:
    """Like :func:`presence_by_enrollment`, for enrollments across offerings in two queries
    (the employee's "My courses" lists several offerings at once)."""
    if not enrollment_ids:
        return {}
    attended = db.session.execute(
        select(
            Attendance.enrollment_id,
            func.sum(case((Attendance.status == AttendanceStatus.PRESENT.value, 1), else_=0)),
        )
        .where(Attendance.enrollment_id.in_(enrollment_ids))
        .group_by(Attendance.enrollment_id)
    ).all()
    if not attended:
        return {}
    totals = {
        enrollment_id: int(count)
        for enrollment_id, count in db.session.execute(
            select(Enrollment.id, func.count(CourseSession.id))
            .join(CourseSession, CourseSession.offering_id == Enrollment.offering_id)
            .where(Enrollment.id.in_([enrollment_id for enrollment_id, _n in attended]))
            .group_by(Enrollment.id)
        )
    }
    return {
        enrollment_id: Presence(int(n or 0), totals.get(enrollment_id, 0))
        for enrollment_id, n in attended
    }


def valid_certificates(enrollment_ids: Collection[int]) -> dict[int, Certificate]:
    """The enrollments' certificates that are not revoked, by enrollment."""
    if not enrollment_ids:
        return {}
    found = db.session.scalars(
        select(Certificate).where(
            Certificate.enrollment_id.in_(enrollment_ids), Certificate.revoked_at.is_(None)
        )
    )
    return {certificate.enrollment_id: certificate for certificate in found}


def reaches_threshold(attended: int, total: int, threshold_pct: int) -> bool:
    """In whole numbers, so exactly 80 % (8 of 10, 4 of 5) counts and no rounding decides."""
    return total > 0 and attended * 100 >= threshold_pct * total


# --- Verification codes ---------------------------------------------------------------------


def new_verification_code() -> str:
    """An unguessable code; checked against existing ones, so a collision cannot fail a flush."""
    while True:
        code = "-".join(
            "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LENGTH))
            for _ in range(CODE_GROUPS)
        )
        taken = db.session.scalar(
            select(Certificate.id).where(Certificate.verification_code == code)
        )
        if taken is None:
            return code


def normalise_code(raw: str) -> str | None:
    """The printed form of what someone typed (any case, with or without dashes or spaces);
    ``None`` when it cannot be a code, so the database is not even asked."""
    letters = _SEPARATORS.sub("", raw or "").upper()
    if len(letters) != CODE_GROUPS * CODE_GROUP_LENGTH:
        return None
    code = "-".join(
        letters[i : i + CODE_GROUP_LENGTH] for i in range(0, len(letters), CODE_GROUP_LENGTH)
    )
    return code if _CODE_SHAPE.fullmatch(code) else None


def find_by_code(raw: str) -> Certificate | None:
    """The certificate with this code, valid or revoked; ``None`` for unknown or forged codes."""
    code = normalise_code(raw)
    if code is None:
        return None
    return db.session.scalar(
        select(Certificate)
        .where(Certificate.verification_code == code)
        .options(
            selectinload(Certificate.enrollment)
            .selectinload(Enrollment.offering)
            .selectinload(Offering.course)
            .selectinload(Course.provider),
            selectinload(Certificate.enrollment)
            .selectinload(Enrollment.employee)
            .selectinload(Employee.user),
        )
    )


def certificate_for_employee(employee_id: int, enrollment_id: int) -> Certificate | None:
    """The employee's own valid certificate for one enrollment (another's does not exist)."""
    return db.session.scalar(
        select(Certificate)
        .join(Enrollment, Enrollment.id == Certificate.enrollment_id)
        .where(
            Enrollment.id == enrollment_id,
            Enrollment.employee_id == employee_id,
            Certificate.revoked_at.is_(None),
        )
    )


# --- Settling an offering --------------------------------------------------------------------


@dataclass
class Settled:
    """What :func:`settle` changed, for the import's report and for tests."""

    issued: list[Certificate] = field(default_factory=list)
    #: Figures corrected on a certificate (its validity may have changed too).
    updated: list[Certificate] = field(default_factory=list)
    revoked: list[Certificate] = field(default_factory=list)
    #: Revoked before, valid again after a correction.
    restored: list[Certificate] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.issued or self.updated or self.revoked or self.restored)


def _audit(action: str, certificate: Certificate, offering: Offering, actor_id: int | None) -> None:
    """Counts only: who attended what stays in the attendance tables."""
    enrollment = certificate.enrollment
    record(
        action,
        actor_id=actor_id,
        employer_id=enrollment.employee.employer_id,
        provider_id=offering.course.provider_id,
        target_type="certificate",
        target_id=certificate.id,
        details={
            "offering_id": offering.id,
            "sessions_attended": certificate.sessions_attended,
            "sessions_total": certificate.sessions_total,
        },
    )


def settle(
    offering_id: int, now: datetime | None = None, *, actor_id: int | None = None
) -> Settled:
    """Issue, correct, revoke or restore the offering's certificates from its attendance marks.

    Called by the attendance import inside its transaction after writing marks; idempotent, so
    calling it again without new marks changes nothing. Nothing happens before the last session
    has ended: a rate is only final then. Flushes, never commits.
    """
    now = now or utcnow()
    settled = Settled()
    offering = db.session.get(Offering, offering_id)
    if offering is None or offering.status == OfferingStatus.CANCELLED.value:
        return settled
    sessions = offering.sessions
    if not sessions or now < max(session.ends_at for session in sessions):
        return settled
    total = len(sessions)
    threshold = offering.course.attendance_threshold_pct
    presence = presence_by_enrollment(offering_id)
    # Plain rows first: a large offering has thousands of enrollments, few of which change.
    enrollments = db.session.execute(
        select(Enrollment.id, Enrollment.paid_at)
        .where(
            Enrollment.offering_id == offering_id,
            Enrollment.status == EnrollmentStatus.ENROLLED.value,
        )
        .order_by(Enrollment.id)
    ).all()
    existing = {
        certificate.enrollment_id: certificate
        for certificate in db.session.scalars(
            select(Certificate)
            .join(Enrollment, Enrollment.id == Certificate.enrollment_id)
            .where(Enrollment.offering_id == offering_id)
            # corrections are audited with the employer: no query per certificate
            .options(selectinload(Certificate.enrollment).selectinload(Enrollment.employee))
        )
    }
    to_issue: dict[int, dict[str, int | bool]] = {}
    for enrollment in enrollments:
        attended = presence.get(enrollment.id, Presence(0, total)).attended
        reached = reaches_threshold(attended, total, threshold)
        figures: dict[str, int | bool] = {
            "sessions_attended": attended,
            "sessions_total": total,
            "fee_cents": offering.price_cents,
            # Nothing to pay counts as paid; otherwise only a recorded payment does.
            "fee_paid": enrollment.paid_at is not None or offering.price_cents == 0,
        }
        certificate = existing.get(enrollment.id)
        if certificate is None:
            if reached:
                to_issue[enrollment.id] = figures
            continue
        changed = [name for name, value in figures.items() if getattr(certificate, name) != value]
        for name in changed:
            setattr(certificate, name, figures[name])
        if changed:
            settled.updated.append(certificate)
        if not reached and certificate.revoked_at is None:
            certificate.revoked_at = now
            settled.revoked.append(certificate)
            _audit("attendance.certificate_revoked", certificate, offering, actor_id)
        elif reached and certificate.revoked_at is not None:
            certificate.revoked_at = None
            settled.restored.append(certificate)
            _audit("attendance.certificate_restored", certificate, offering, actor_id)
        elif changed:
            _audit("attendance.certificate_updated", certificate, offering, actor_id)
    if to_issue:
        for person in db.session.scalars(
            select(Enrollment)
            .where(Enrollment.id.in_(to_issue))
            .options(selectinload(Enrollment.employee).selectinload(Employee.user))
            .order_by(Enrollment.id)
        ):
            settled.issued.append(_issue(person, offering, to_issue[person.id], now, actor_id))
    db.session.flush()
    return settled


def _issue(
    enrollment: Enrollment,
    offering: Offering,
    figures: dict[str, int | bool],
    now: datetime,
    actor_id: int | None,
) -> Certificate:
    certificate = Certificate(
        enrollment=enrollment,
        verification_code=new_verification_code(),
        issued_at=now,
        revoked_at=None,
        **figures,
    )
    db.session.add(certificate)
    db.session.flush()
    _audit("attendance.certificate_issued", certificate, offering, actor_id)
    course_mails.certificate_ready(certificate)
    return certificate
