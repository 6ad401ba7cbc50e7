"""What the columns of an attendance file mean, and what its dates and marks say.

Two layouts exist in the wild: "long" files with one row per participant and session
(participant, date, status) and "wide" files like our roster (one row per participant, one
column per session date). Headers may be English or German, in any case, with extra spaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _

from wellness.attendance.files import FileRefused
from wellness.attendance.models import AttendanceStatus
from wellness.tabular import DATE_FORMATS, EMAIL_HEADERS, column_roles, normalize, parse_with

CODE_HEADERS = frozenset(
    {
        "participant code",
        "participant",
        "participant id",
        "code",
        "teilnehmercode",
        "teilnehmer-code",
        "teilnehmer code",
        "teilnehmer",
        "teilnehmer-id",
        "kennung",
    }
)
DATE_HEADERS = frozenset({"date", "session", "session date", "datum", "termin", "kurstermin"})
STATUS_HEADERS = frozenset(
    {"status", "attendance", "mark", "anwesenheit", "teilnahme", "anwesenheitsstatus"}
)

PRESENT, ABSENT, EXCUSED = (
    AttendanceStatus.PRESENT.value,
    AttendanceStatus.ABSENT.value,
    AttendanceStatus.EXCUSED.value,
)
#: Marks as providers write them; an empty cell is handled by the importer (see there).
MARKS = {
    "present": PRESENT,
    "anwesend": PRESENT,
    "x": PRESENT,
    "1": PRESENT,
    "yes": PRESENT,
    "ja": PRESENT,
    "✓": PRESENT,
    "✔": PRESENT,
    "absent": ABSENT,
    "abwesend": ABSENT,
    "0": ABSENT,
    "no": ABSENT,
    "nein": ABSENT,
    "excused": EXCUSED,
    "entschuldigt": EXCUSED,
}

_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%H.%M")


@dataclass(frozen=True)
class SessionRef:
    """A date as written in a file, with a start time when the file gives one."""

    day: date
    start: str | None = None  # "HH:MM"


def parse_session_ref(text: str) -> SessionRef | None:
    """``2026-03-12``, ``12.03.2026``, ``12.03.26``, optionally with `` 18:00`` or ``T18:00``."""
    value = text.strip()
    if not value:
        return None
    day_part, _sep, time_part = value.replace("T", " ").partition(" ")
    day = parse_with(day_part, DATE_FORMATS)
    if day is None:
        return None
    if not time_part.strip():
        return SessionRef(day.date())
    moment = parse_with(time_part.strip(), _TIME_FORMATS)
    if moment is None:
        return None
    if moment.hour == 0 and moment.minute == 0:  # Excel's date cells carry midnight
        return SessionRef(day.date())
    return SessionRef(day.date(), f"{moment.hour:02d}:{moment.minute:02d}")


@dataclass(frozen=True)
class Layout:
    """Column positions: who (code and/or e-mail), and either date+status or session columns."""

    code: int | None
    email: int | None
    date: int | None = None
    status: int | None = None
    #: Wide files: column index -> the session date in its header.
    sessions: tuple[tuple[int, SessionRef], ...] = ()

    @property
    def wide(self) -> bool:
        return bool(self.sessions)

    @property
    def long_columns(self) -> tuple[int, int]:
        """(date, status) of a long file; :func:`read_layout` guarantees both."""
        if self.date is None or self.status is None:
            raise FileRefused(_missing_header())
        return self.date, self.status


def read_layout(header: list[str]) -> Layout:
    """Recognise the columns, or refuse the file saying what the header needs."""
    found, others = column_roles(header, _ROLES)
    sessions: list[tuple[int, SessionRef]] = []
    for index in others:
        raw = header[index]
        name = normalize(raw)
        ref = parse_session_ref(raw)
        if ref is not None:
            if any(ref == other for _i, other in sessions):
                raise FileRefused(
                    _('The session column "%(name)s" appears twice.', name=raw.strip())
                )
            sessions.append((index, ref))
        elif any(ch.isdigit() for ch in name):
            raise FileRefused(
                _(
                    'Column %(column)d ("%(name)s") is neither a known column nor a date; write '
                    "session dates as dd.mm.yyyy or yyyy-mm-dd.",
                    column=index + 1,
                    name=raw.strip(),
                )
            )
    if "code" not in found and "email" not in found:
        raise FileRefused(_missing_header())
    layout = Layout(
        code=found.get("code"),
        email=found.get("email"),
        date=found.get("date"),
        status=found.get("status"),
        sessions=tuple(sessions),
    )
    long_ready = layout.date is not None and layout.status is not None
    if long_ready == layout.wide:  # neither or both
        raise FileRefused(_missing_header())
    return layout


_ROLES = {
    "code": CODE_HEADERS,
    "email": EMAIL_HEADERS,
    "date": DATE_HEADERS,
    "status": STATUS_HEADERS,
}


def _missing_header() -> str:
    return _(
        "The first row must be a header naming the columns: a participant code (or e-mail) "
        'column, and either "date" and "status" columns (one row per participant and session) '
        "or one column per session date (one row per participant, as in the roster)."
    )
