"""Attendance import: check a provider's file against the offering, then store it all or nothing.

The file is read once, row by row. Participants, sessions and existing marks of the offering are
loaded up front, so each row costs dictionary lookups, and memory is bounded by the offering
(participants x sessions), not by the file. Any error refuses the whole file; the report says
which row, which column and why. Writing is set-based: new marks, corrections and their audit
trail go to the database in bulk statements, never one ORM object per row.

Empty marks: in a long file an empty status means absent. In a wide file an empty cell means
absent when others were marked for that session; a session column nobody was marked in is left
alone (not recorded yet). Sessions that have not started take only "excused".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import IO, Any

from flask import current_app
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from sqlalchemy import Integer, insert, literal, select, update

from wellness.attendance import completion
from wellness.attendance.files import FileRefused, Table, read_table
from wellness.attendance.layout import (
    ABSENT,
    EXCUSED,
    MARKS,
    Layout,
    SessionRef,
    parse_session_ref,
    read_layout,
)
from wellness.attendance.models import Attendance, AttendanceChange, AttendanceUpload
from wellness.audit.services import record
from wellness.auth.models import User
from wellness.courses.models import Course, CourseSession, Enrollment, EnrollmentStatus, Offering
from wellness.db import UTCDateTime, copy_rows, utcnow
from wellness.extensions import db
from wellness.i18n import BERLIN
from wellness.observability.metrics import observe_import
from wellness.tabular import RowErrors, data_rows, normalize
from wellness.tenants.models import Employee

#: Changes listed in a preview; the counts are always complete.
MAX_LISTED_CHANGES = 500


@dataclass(frozen=True)
class Change:
    """One mark that the file creates or corrects, for the preview."""

    row: int
    participant: str
    code: str
    session: CourseSession
    old: str | None
    new: str


@dataclass
class Report(RowErrors):
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = True
    upload_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "errors": [error.as_json() for error in self.errors],
            "errors_total": self.errors_total,
            "dry_run": self.dry_run,
            "stored": self.upload_id is not None,
            "upload_id": self.upload_id,
        }


@dataclass(frozen=True)
class _Participant:
    enrollment_id: int
    code: str
    name: str
    status: str


@dataclass
class _Mark:
    row: int
    column: str
    status: str


class _Offering:
    """What a file is checked against, loaded once."""

    def __init__(self, offering: Offering, now: datetime) -> None:
        self.offering = offering
        self.now = now
        rows = db.session.execute(
            select(
                Enrollment.id,
                Enrollment.participant_code,
                Enrollment.status,
                User.name,
                User.email,
            )
            .join(Employee, Employee.id == Enrollment.employee_id)
            .outerjoin(User, User.id == Employee.user_id)
            .where(Enrollment.offering_id == offering.id)
        ).all()
        self.by_code: dict[str, _Participant] = {}
        self.by_email: dict[str, _Participant] = {}
        self.by_enrollment: dict[int, _Participant] = {}
        for enrollment_id, code, status, name, email in rows:
            person = _Participant(enrollment_id, code, name or code, status)
            self.by_code[code.upper()] = person
            self.by_enrollment[enrollment_id] = person
            if email:
                self.by_email[email.lower()] = person
        self.sessions = list(
            db.session.scalars(
                select(CourseSession)
                .where(CourseSession.offering_id == offering.id)
                .order_by(CourseSession.starts_at)
            )
        )
        stored = db.session.execute(
            select(
                Attendance.id, Attendance.enrollment_id, Attendance.session_id, Attendance.status
            ).where(
                Attendance.enrollment_id.in_(
                    select(Enrollment.id).where(Enrollment.offering_id == offering.id)
                )
            )
        ).all()
        #: Stored marks by (enrollment, session), and the rows' ids for corrections.
        self.existing: dict[tuple[int, int], str] = {(e, s): status for _i, e, s, status in stored}
        self.attendance_ids: dict[tuple[int, int], int] = {(e, s): i for i, e, s, _st in stored}
        self._session_cache: dict[str, CourseSession | str] = {}
        self._unknown_cache: dict[str, str] = {}
        self._started = {session.id for session in self.sessions if session.starts_at <= now}

    def session_for(self, text: str) -> CourseSession | str:
        """The session a date (and time) names, or why none does."""
        found = self._session_cache.get(text)
        if found is None:
            found = self._session_cache[text] = self._find_session(text)
        return found

    def _find_session(self, text: str) -> CourseSession | str:
        ref = parse_session_ref(text)
        if ref is None:
            return _('"%(value)s" is not a date; write dd.mm.yyyy or yyyy-mm-dd.', value=text)
        return self.match(ref)

    def match(self, ref: SessionRef) -> CourseSession | str:
        same_day = [s for s in self.sessions if s.starts_at.astimezone(BERLIN).date() == ref.day]
        if ref.start is not None:
            same_day = [
                s for s in same_day if s.starts_at.astimezone(BERLIN).strftime("%H:%M") == ref.start
            ]
        if len(same_day) == 1:
            return same_day[0]
        day = format_date(ref.day, "medium")
        if len(same_day) > 1:
            return _(
                "This offering has %(count)d sessions on %(day)s; add the start time, e.g. "
                '"%(example)s".',
                count=len(same_day),
                day=day,
                example=f"{ref.day:%d.%m.%Y} "
                + same_day[0].starts_at.astimezone(BERLIN).strftime("%H:%M"),
            )
        return _(
            "%(day)s is not a session of this offering. Its sessions are: %(sessions)s.",
            day=day + (f" {ref.start}" if ref.start else ""),
            sessions=", ".join(self.label(s) for s in self.sessions) or _("none yet"),
        )

    def unknown(self, reference: str) -> str:
        """Why nobody here has this code or e-mail; another offering of the same provider says
        so by name (another provider's participant is just unknown: nothing leaks)."""
        if reference not in self._unknown_cache:
            other = db.session.execute(
                select(Course.title, Offering.starts_on)
                .select_from(Enrollment)
                .join(Offering, Offering.id == Enrollment.offering_id)
                .join(Course, Course.id == Offering.course_id)
                .join(Employee, Employee.id == Enrollment.employee_id)
                .outerjoin(User, User.id == Employee.user_id)
                .where(
                    Course.provider_id == self.offering.course.provider_id,
                    Offering.id != self.offering.id,
                    (Enrollment.participant_code == reference.upper())
                    | (User.email == reference.lower()),
                )
                .limit(1)
            ).first()
            self._unknown_cache[reference] = (
                _(
                    "%(who)s is a participant of another offering (%(course)s, starting "
                    "%(day)s), not of this one.",
                    who=reference,
                    course=other[0],
                    day=format_date(other[1], "medium"),
                )
                if other is not None
                else _(
                    "No participant of this offering has the code or e-mail %(who)s.",
                    who=reference,
                )
            )
        return self._unknown_cache[reference]

    @staticmethod
    def label(session: CourseSession) -> str:
        return str(format_date(session.starts_at.astimezone(BERLIN), "short"))

    def started(self, session: CourseSession) -> bool:
        return session.id in self._started


@observe_import  # wellness_attendance_import_duration_seconds (wellness/observability)
def import_attendance(
    offering: Offering,
    stream: IO[bytes],
    *,
    filename: str,
    actor_id: int | None,
    dry_run: bool,
    now: datetime | None = None,
) -> Report:
    """Check the file and, unless ``dry_run`` or anything is wrong, store every mark in it.

    Never commits; the caller commits when ``report.ok`` and not ``dry_run``, else rolls back.
    """
    report = Report(dry_run=dry_run)
    config = current_app.config
    if not dry_run:
        # One import per offering at a time: the comparison with stored marks stays true.
        db.session.execute(select(Offering.id).where(Offering.id == offering.id).with_for_update())
    try:
        table = read_table(stream, int(config["ATTENDANCE_MAX_BYTES"]))
        layout = read_layout(table.header)
        known = _Offering(offering, now or utcnow())
        marks = _collect(table, layout, known, report, int(config["ATTENDANCE_MAX_ROWS"]))
    except FileRefused as exc:
        report.error(None, None, exc.message)
        return report
    _compare(marks, known, report)
    report.errors.sort(key=lambda error: error.row or 0)
    if report.ok and not dry_run:
        report.upload_id = _store(offering, marks, known, report, filename, stream, actor_id)
    return report


def _collect(
    table: Table, layout: Layout, known: _Offering, report: Report, max_rows: int
) -> dict[tuple[int, int], _Mark]:
    """Every mark in the file by (enrollment, session); row errors go to the report."""
    header = [cell.strip() for cell in table.header]
    width = len(header)
    marks: dict[tuple[int, int], _Mark] = {}
    columns = _session_columns(layout, header, known, report)
    marked_columns: set[int] = set()
    blanks: list[tuple[int, int, int]] = []  # (row, column, enrollment) of empty wide cells

    for number, cells in data_rows(table.rows, width, report, max_rows):
        person = _participant(cells, layout, header, number, known, report)
        if layout.wide:
            for index, session in columns:
                text = cells[index].strip()
                if not text:
                    if person is not None:
                        blanks.append((number, index, person.enrollment_id))
                    continue
                marked_columns.add(index)
                status = _status(text, number, header[index], session, known, report)
                if person is not None and status is not None:
                    _add(marks, person, session, _Mark(number, header[index], status), report)
            continue
        date_index, status_index = layout.long_columns
        date_text = cells[date_index].strip()
        if not date_text:
            report.error(number, header[date_index], _("The date is missing."))
            continue
        found = known.session_for(date_text)
        if isinstance(found, str):
            report.error(number, header[date_index], found)
            continue
        text = cells[status_index].strip()
        if not text and not known.started(found):
            continue
        status = _status(text or ABSENT, number, header[status_index], found, known, report)
        if person is not None and status is not None:
            _add(marks, person, found, _Mark(number, header[status_index], status), report)

    sessions = dict(columns)
    for number, index, enrollment_id in blanks:
        session = sessions[index]
        if index in marked_columns and known.started(session):
            person = known.by_enrollment[enrollment_id]
            _add(marks, person, session, _Mark(number, header[index], ABSENT), report)
    return marks


def _session_columns(
    layout: Layout, header: list[str], known: _Offering, report: Report
) -> list[tuple[int, CourseSession]]:
    columns: list[tuple[int, CourseSession]] = []
    for index, ref in layout.sessions:
        found = known.match(ref)
        if isinstance(found, str):
            report.error(1, header[index], found)
        else:
            columns.append((index, found))
    return columns


def _participant(
    cells: list[str],
    layout: Layout,
    header: list[str],
    number: int,
    known: _Offering,
    report: Report,
) -> _Participant | None:
    code = cells[layout.code].strip().replace(" ", "").upper() if layout.code is not None else ""
    email = cells[layout.email].strip().lower() if layout.email is not None else ""
    uses_code = layout.code is not None and (code or not email)
    column = header[layout.code if uses_code else layout.email]  # type: ignore[index]
    if not code and not email:
        report.error(number, column, _("The participant code (or e-mail) is missing."))
        return None
    by_code = known.by_code.get(code) if code else None
    by_email = known.by_email.get(email) if email else None
    if code and email and by_code is not None and by_email is not None and by_code != by_email:
        report.error(
            number,
            column,
            _(
                "The participant code %(code)s and the e-mail %(email)s belong to different "
                "participants.",
                code=code,
                email=email,
            ),
        )
        return None
    person = by_code or by_email
    if person is None:
        # The lookup in other offerings only serves a listed message: a file of unknown codes
        # must not cost a query per row.
        report.error(number, column, known.unknown(code or email) if report.listing else "")
        return None
    if person.status != EnrollmentStatus.ENROLLED.value:
        report.error(
            number,
            column,
            _(
                "%(name)s (%(code)s) is on the waiting list, not a participant.",
                name=person.name,
                code=person.code,
            )
            if person.status == EnrollmentStatus.WAITLISTED.value
            else _(
                "%(name)s (%(code)s) cancelled their enrollment.",
                name=person.name,
                code=person.code,
            ),
        )
        return None
    return person


def _status(
    text: str,
    number: int,
    column: str,
    session: CourseSession,
    known: _Offering,
    report: Report,
) -> str | None:
    status = _mark(text)
    if status is None:
        report.error(
            number,
            column,
            _(
                '"%(mark)s" is not a mark we know. Use present, absent or excused (anwesend, '
                "abwesend, entschuldigt), x or 1 for present, 0 for absent.",
                mark=text,
            ),
        )
        return None
    if status != EXCUSED and not known.started(session):
        report.error(
            number,
            column,
            _(
                "The session on %(day)s at %(time)s has not taken place yet; only "
                '"excused" can be recorded in advance.',
                day=format_date(session.starts_at.astimezone(BERLIN), "medium"),
                time=format_time(session.starts_at, "short"),
            ),
        )
        return None
    return status


@lru_cache(maxsize=1024)
def _mark(text: str) -> str | None:
    """A mark as stored, or ``None``; files repeat a handful of spellings, hence the cache."""
    return MARKS.get(normalize(text))


def _add(
    marks: dict[tuple[int, int], _Mark],
    person: _Participant,
    session: CourseSession,
    mark: _Mark,
    report: Report,
) -> None:
    key = (person.enrollment_id, session.id)
    earlier = marks.get(key)
    if earlier is None:
        marks[key] = mark
    elif earlier.status != mark.status:
        report.error(
            mark.row,
            mark.column,
            _(
                "Row %(earlier)d already marks %(name)s (%(code)s) on %(day)s as %(first)s; "
                "this row says %(second)s.",
                earlier=earlier.row,
                name=person.name,
                code=person.code,
                day=_Offering.label(session),
                first=_mark_label(earlier.status),
                second=_mark_label(mark.status),
            ),
        )


def _mark_label(status: str) -> str:
    return {"present": _("present"), "absent": _("absent"), "excused": _("excused")}[status]


def _compare(marks: dict[tuple[int, int], _Mark], known: _Offering, report: Report) -> None:
    sessions = {s.id: s for s in known.sessions}
    for (enrollment_id, session_id), mark in sorted(marks.items(), key=lambda kv: kv[1].row):
        old = known.existing.get((enrollment_id, session_id))
        if old == mark.status:
            report.unchanged += 1
            continue
        if old is None:
            report.created += 1
        else:
            report.changed += 1
        if len(report.changes) < MAX_LISTED_CHANGES:
            person = known.by_enrollment[enrollment_id]
            report.changes.append(
                Change(mark.row, person.name, person.code, sessions[session_id], old, mark.status)
            )


def _store(
    offering: Offering,
    marks: dict[tuple[int, int], _Mark],
    known: _Offering,
    report: Report,
    filename: str,
    stream: IO[bytes],
    actor_id: int | None,
) -> int:
    now = known.now
    upload = AttendanceUpload(
        offering_id=offering.id,
        uploaded_by_id=actor_id,
        filename=filename[:255],
        sha256=_sha256(stream),
        row_count=report.rows,
        created_count=report.created,
        changed_count=report.changed,
        unchanged_count=report.unchanged,
        created_at=now,
    )
    db.session.add(upload)
    db.session.flush()
    common = {"upload_id": upload.id, "updated_at": now}
    new = [
        (e, s, mark.status, upload.id, now)
        for (e, s), mark in marks.items()
        if (e, s) not in known.existing
    ]
    corrected = [
        (known.attendance_ids[key], known.existing[key], mark.status)
        for key, mark in marks.items()
        if known.existing.get(key) not in (None, mark.status)
    ]
    copy_rows(Attendance, ("enrollment_id", "session_id", "status", "upload_id", "updated_at"), new)
    # The audit trail of new marks, from the rows just written (only they have this upload yet).
    db.session.execute(
        insert(AttendanceChange).from_select(
            ["attendance_id", "upload_id", "changed_by_id", "new_status", "changed_at"],
            select(
                Attendance.id,
                Attendance.upload_id,
                literal(actor_id, Integer),
                Attendance.status,
                literal(now, UTCDateTime()),
            ).where(Attendance.upload_id == upload.id),
        )
    )
    if corrected:
        copy_rows(
            AttendanceChange,
            (
                "attendance_id",
                "upload_id",
                "changed_by_id",
                "old_status",
                "new_status",
                "changed_at",
            ),
            [(i, upload.id, actor_id, old, new, now) for i, old, new in corrected],
        )
        db.session.execute(
            update(Attendance),  # bulk UPDATE by primary key
            [{"id": i, "status": new, **common} for i, _old, new in corrected],
        )
    record(
        "attendance.uploaded",
        actor_id=actor_id,
        provider_id=offering.course.provider_id,
        target_type="offering",
        target_id=offering.id,
        details={
            "file": filename[:255],
            "rows": report.rows,
            "created": report.created,
            "changed": report.changed,
        },
    )
    completion.settle(offering.id, now, actor_id=actor_id)
    return upload.id


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(64 * 1024):
        digest.update(chunk)
    return digest.hexdigest()
