"""The roster of an offering: who is enrolled, and their mark per session.

The roster is the file a provider fills in and uploads again, so its words are part of the
upload format: the attendance importer reads the same header words (:data:`HEADERS`), mark
words (:data:`MARK_WORDS`) and session labels (:func:`session_labels`). A roster downloaded
and uploaded untouched therefore changes nothing. Session labels are German dates
(Europe/Berlin) written as the reader's spreadsheet expects them, not as Babel would format
them for display, so they stay the same across Babel versions.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from wellness.attendance.completion import Presence, presence_by_enrollment
from wellness.attendance.models import Attendance, AttendanceStatus, Certificate
from wellness.auth.models import User
from wellness.courses.calendar import ics_filename
from wellness.courses.models import CourseSession, Enrollment, EnrollmentStatus, Offering
from wellness.extensions import db
from wellness.i18n import BERLIN, current_language
from wellness.spreadsheet import (
    CSV_DELIMITER,
    CSV_MIMETYPE,
    XLSX_MIMETYPE,
    csv_bytes,
    xlsx_bytes,
)
from wellness.tenants.models import Employee

#: Headers of the first two columns, per language.
HEADERS: dict[str, tuple[str, str]] = {
    "de": ("Teilnehmercode", "Name"),
    "en": ("Participant code", "Name"),
}

#: The word written for each attendance status, per language.
MARK_WORDS: dict[str, dict[str, str]] = {
    "de": {
        AttendanceStatus.PRESENT.value: "anwesend",
        AttendanceStatus.ABSENT.value: "abwesend",
        AttendanceStatus.EXCUSED.value: "entschuldigt",
    },
    "en": {
        AttendanceStatus.PRESENT.value: "present",
        AttendanceStatus.ABSENT.value: "absent",
        AttendanceStatus.EXCUSED.value: "excused",
    },
}

DATE_FORMATS = {"de": "%d.%m.%Y", "en": "%Y-%m-%d"}
FILENAME_PREFIXES = {"de": "teilnehmerliste", "en": "roster"}
SHEET_TITLES = {"de": "Teilnehmerliste", "en": "Roster"}
FILE_KINDS = ("csv", "xlsx")


def roster_language() -> str:
    """The request's language, or German (the default) when it is neither German nor English."""
    return current_language()


@dataclass(frozen=True)
class RosterRow:
    enrollment_id: int
    participant_code: str
    #: Empty when the person's account was erased; the code still identifies the row.
    name: str
    #: Attendance status per session, in the roster's session order; ``None`` where unmarked.
    marks: tuple[str | None, ...]


@dataclass(frozen=True)
class Roster:
    offering: Offering
    language: str
    sessions: tuple[CourseSession, ...]
    #: Column header per session, see :func:`session_labels`.
    labels: tuple[str, ...]
    rows: tuple[RosterRow, ...]

    def header(self) -> list[str]:
        return [*HEADERS[self.language], *self.labels]

    def mark_word(self, status: str | None) -> str:
        return MARK_WORDS[self.language][status] if status else ""

    def table(self) -> list[list[str]]:
        """Header and rows as written to the file."""
        return [self.header()] + [
            [row.participant_code, row.name, *(self.mark_word(mark) for mark in row.marks)]
            for row in self.rows
        ]


def session_labels(sessions: Sequence[CourseSession], language: str) -> list[str]:
    """One column label per session: its local date, plus `` HH:MM`` when the day has two.

    The time is added to every session of such a day, so each label names one session.
    """
    starts = [session.starts_at.astimezone(BERLIN) for session in sessions]
    per_day = Counter(start.date() for start in starts)
    date_format = DATE_FORMATS[language]
    return [
        start.strftime(f"{date_format} %H:%M" if per_day[start.date()] > 1 else date_format)
        for start in starts
    ]


def _sort_key(name: str) -> str:
    """Names as a German reader sorts them: ``Ärger`` next to ``Arnold``, any case."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def build_roster(offering: Offering, language: str) -> Roster:
    """The enrolled participants (not waitlisted or cancelled) with their existing marks."""
    sessions = tuple(offering.sessions)
    column = {session.id: index for index, session in enumerate(sessions)}
    enrolled = (
        Enrollment.offering_id == offering.id,
        Enrollment.status == EnrollmentStatus.ENROLLED.value,
    )
    people = db.session.execute(
        select(Enrollment.id, Enrollment.participant_code, User.name)
        .join(Employee, Employee.id == Enrollment.employee_id)
        .outerjoin(User, User.id == Employee.user_id)
        .where(*enrolled)
    ).all()
    marks: dict[int, list[str | None]] = {row.id: [None] * len(sessions) for row in people}
    for enrollment_id, session_id, status in db.session.execute(
        select(Attendance.enrollment_id, Attendance.session_id, Attendance.status)
        .join(Enrollment, Enrollment.id == Attendance.enrollment_id)
        .where(*enrolled)
    ):
        if session_id in column:
            marks[enrollment_id][column[session_id]] = status
    rows = sorted(
        (
            RosterRow(row.id, row.participant_code, row.name or "", tuple(marks[row.id]))
            for row in people
        ),
        key=lambda row: (_sort_key(row.name), row.participant_code),
    )
    return Roster(
        offering=offering,
        language=language,
        sessions=sessions,
        labels=tuple(session_labels(sessions, language)),
        rows=tuple(rows),
    )


@dataclass(frozen=True)
class RosterFile:
    content: bytes
    mimetype: str
    filename: str


def roster_filename(offering: Offering, language: str, kind: str) -> str:
    """E.g. ``teilnehmerliste-neue-rueckenschule-2026-03-02.csv``: ASCII, safe in any header."""
    stem = ics_filename(offering).removesuffix(".ics")
    return f"{FILENAME_PREFIXES[language]}-{stem}.{kind}"


def roster_file(roster: Roster, kind: str) -> RosterFile:
    """The roster as a CSV or XLSX download (``kind`` is one of :data:`FILE_KINDS`)."""
    filename = roster_filename(roster.offering, roster.language, kind)
    if kind == "csv":
        content = csv_bytes(roster.table(), delimiter=CSV_DELIMITER[roster.language])
        return RosterFile(content, CSV_MIMETYPE, filename)
    if kind == "xlsx":
        content = xlsx_bytes(SHEET_TITLES[roster.language], roster.table())
        return RosterFile(content, XLSX_MIMETYPE, filename)
    raise ValueError(f"unknown roster file kind {kind!r}")


# --- overview for the provider -------------------------------------------------------------


@dataclass(frozen=True)
class EnrollmentCounts:
    enrolled: int = 0
    waitlisted: int = 0


def enrollment_counts(offering_ids: Collection[int]) -> dict[int, EnrollmentCounts]:
    """Participants and waitlist per offering in one grouped query (lists show many offerings).

    Offerings without any enrollment are missing; use ``.get(id, EnrollmentCounts())``.
    """
    if not offering_ids:
        return {}
    rows = db.session.execute(
        select(
            Enrollment.offering_id,
            func.count(Enrollment.id).filter(Enrollment.status == EnrollmentStatus.ENROLLED.value),
            func.count(Enrollment.id).filter(
                Enrollment.status == EnrollmentStatus.WAITLISTED.value
            ),
        )
        .where(Enrollment.offering_id.in_(offering_ids))
        .group_by(Enrollment.offering_id)
    ).all()
    return {
        offering_id: EnrollmentCounts(enrolled, waiting) for offering_id, enrolled, waiting in rows
    }


@dataclass(frozen=True)
class Participant:
    """A roster row with what the provider's participants page shows beside it."""

    row: RosterRow
    presence: Presence
    certificate: Certificate | None


def participants(roster: Roster) -> list[Participant]:
    """The roster's rows with attendance so far and the certificate, if one was issued."""
    presence = presence_by_enrollment(roster.offering.id)
    ids = [row.enrollment_id for row in roster.rows]
    certificates = (
        {
            found.enrollment_id: found
            for found in db.session.scalars(
                select(Certificate).where(Certificate.enrollment_id.in_(ids))
            )
        }
        if ids
        else {}
    )
    nothing_yet = Presence(0, len(roster.sessions))
    return [
        Participant(
            row,
            presence.get(row.enrollment_id, nothing_yet),
            certificates.get(row.enrollment_id),
        )
        for row in roster.rows
    ]
