"""State shared by the seeding steps: one random generator, one reference day, and what the
earlier steps created, so later steps (enrollments, pain history) can build on it."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import insert

from wellness.auth.models import User
from wellness.courses.models import Course, Offering
from wellness.extensions import db
from wellness.i18n import BERLIN
from wellness.tenants.models import Employee, Employer

#: No 0/O or 1/I: codes are read aloud and typed from paper.
CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "0O1I")


def local(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A wall-clock time in Germany as the aware UTC datetime the database stores."""
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN).astimezone(UTC)


def bulk_insert(model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert plain rows with one executemany.

    Tens of thousands of ORM objects would make seeding several times slower. Every row must
    have the same keys (write ``None`` rather than leaving a key out).
    """
    if rows:
        db.session.execute(insert(model.__table__), rows)


@dataclass
class CourseRun:
    """One enrollment as the health history sees it: when training started, how much was done."""

    starts_on: date
    ends_on: date
    movement: bool
    attended_share: float


@dataclass
class Person:
    employee: Employee
    user: User | None
    name: str
    department: str
    site: str
    #: Works partly from home, so answers the home-office checklist too.
    home_office: bool
    #: Latent NRS baseline per body region; drives course interest and the pain history.
    pain_base: dict[str, float]
    runs: list[CourseRun] = field(default_factory=list)
    consented: bool = False

    @property
    def back_pain(self) -> float:
        return self.pain_base["low_back"]


@dataclass
class PlannedOffering:
    key: str
    course: Course
    offering: Offering
    #: Local session dates, in order; attendance exists only for those before ``today``.
    session_days: list[date]
    open_to_beispiel: bool
    full_with_waitlist: bool = False


@dataclass
class Demo:
    rng: random.Random
    today: date
    employers: dict[str, Employer] = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)
    beispiel_people: list[Person] = field(default_factory=list)
    logins: dict[str, User] = field(default_factory=dict)
    offerings: list[PlannedOffering] = field(default_factory=list)
    _codes: set[str] = field(default_factory=set)

    @property
    def musterfirma(self) -> Employer:
        return self.employers["musterfirma"]

    @property
    def beispiel(self) -> Employer:
        return self.employers["beispiel"]

    @property
    def now(self) -> datetime:
        """The reference moment: noon of the reference day, German time."""
        return local(self.today, 12)

    def code(self, length: int) -> str:
        """A fresh code from the seeded generator, unique within this demo."""
        while True:
            value = "".join(self.rng.choice(CODE_ALPHABET) for _ in range(length))
            if value not in self._codes:
                self._codes.add(value)
                return value

    def person(self, email: str) -> Person:
        return next(p for p in self.people if p.user is not None and p.user.email == email)
