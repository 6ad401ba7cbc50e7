"""Consent to use health data in employer aggregates: versioned texts, give, withdraw, state,
and the one filter every aggregate uses to decide whose health data counts.

The texts live in ``data/consents.json`` so a data-protection officer or works council can
review them without reading code. Each purpose keeps every version it ever had (the last is
current), because a consent row must always point to the exact text the person agreed to.

Consent is evaluated when an aggregate is computed, not when the data was recorded: once
someone withdraws, none of their data (old or new) counts in any figure computed afterwards.
Giving and withdrawing are audit-logged without an employer, so the employer's own audit log
never shows who agreed or refused (refusal must have no visible consequence).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select

from wellness.audit.services import record
from wellness.db import utcnow
from wellness.errors import Conflict, NotFound
from wellness.extensions import db
from wellness.health.models import Consent, ConsentPurpose
from wellness.tenants.models import Employee

TEXTS_FILE = Path(__file__).resolve().parent / "data" / "consents.json"


@dataclass(frozen=True)
class ConsentText:
    """One version of the text a person agrees to, in German and English."""

    purpose: ConsentPurpose
    version: str
    published_on: date
    titles: dict[str, str]
    bodies: dict[str, tuple[str, ...]]

    def title(self, locale: str) -> str:
        return self.titles.get(locale) or self.titles["de"]

    def paragraphs(self, locale: str) -> tuple[str, ...]:
        return self.bodies.get(locale) or self.bodies["de"]


@cache
def _texts() -> dict[ConsentPurpose, tuple[ConsentText, ...]]:
    raw = json.loads(TEXTS_FILE.read_text(encoding="utf-8"))
    return {
        ConsentPurpose(purpose): tuple(
            ConsentText(
                purpose=ConsentPurpose(purpose),
                version=entry["version"],
                published_on=date.fromisoformat(entry["published_on"]),
                titles=dict(entry["title"]),
                bodies={lang: tuple(paras) for lang, paras in entry["paragraphs"].items()},
            )
            for entry in versions
        )
        for purpose, versions in raw.items()
    }


def current_text(purpose: ConsentPurpose) -> ConsentText:
    """The version people agree to from now on (the last one in the file)."""
    return _texts()[purpose][-1]


def text_version(purpose: ConsentPurpose, version: str) -> ConsentText | None:
    """The exact text of an earlier agreement, to show it in the history and the export."""
    return next((t for t in _texts()[purpose] if t.version == version), None)


def parse_purpose(value: str) -> ConsentPurpose:
    """A purpose from a URL or request body; unknown purposes do not exist (404)."""
    try:
        return ConsentPurpose(value)
    except ValueError:
        raise NotFound(_("There is no consent for “%(purpose)s”.", purpose=value)) from None


@dataclass(frozen=True)
class ConsentState:
    """What the privacy page and the API show for one purpose."""

    purpose: ConsentPurpose
    #: The current text, which giving consent agrees to.
    text: ConsentText
    #: The consent in force, if any.
    active: Consent | None
    #: Every consent ever given for this purpose, newest first (withdrawn ones included).
    history: list[Consent]

    @property
    def given(self) -> bool:
        return self.active is not None

    @property
    def renewal_due(self) -> bool:
        """Consent was given to an older text: it still counts, but the person should reread."""
        return self.active is not None and self.active.text_version != self.text.version


def consent_state(employee: Employee, purpose: ConsentPurpose) -> ConsentState:
    history = list(
        db.session.scalars(
            select(Consent)
            .where(Consent.employee_id == employee.id, Consent.purpose == purpose.value)
            .order_by(Consent.granted_at.desc(), Consent.id.desc())
        )
    )
    active = next((c for c in history if c.withdrawn_at is None), None)
    return ConsentState(purpose=purpose, text=current_text(purpose), active=active, history=history)


def consent_states(employee: Employee) -> list[ConsentState]:
    return [consent_state(employee, purpose) for purpose in ConsentPurpose]


def _lock(employee: Employee) -> None:
    """Serialise one person's consent changes (PostgreSQL), so a double click cannot leave two
    consents in force; SQLite serialises writers anyway."""
    db.session.execute(select(Employee.id).where(Employee.id == employee.id).with_for_update())


def give_consent(
    employee: Employee, purpose: ConsentPurpose, version: str, *, now: datetime | None = None
) -> Consent:
    """Agree to the current text. ``version`` is the one the person read: agreeing to a text
    that has changed since the page was drawn would be agreeing to something unseen.

    Giving again to the same text changes nothing; agreeing to a newer text replaces the
    consent to the older one without a gap in which the person would not count.
    """
    text = current_text(purpose)
    if version != text.version:
        raise Conflict(
            _("The consent text has changed since you opened the page. Please read it again.")
        )
    now = now or utcnow()
    _lock(employee)
    state = consent_state(employee, purpose)
    if state.active is not None and not state.renewal_due:
        return state.active
    _close(state, now)
    consent = Consent(
        employee_id=employee.id, purpose=purpose.value, text_version=version, granted_at=now
    )
    db.session.add(consent)
    db.session.flush()
    record(
        "privacy.consent_given",
        actor_id=employee.user_id,
        target_type="consent",
        target_id=consent.id,
        details={"purpose": purpose.value, "version": version},
    )
    return consent


def _close(state: ConsentState, now: datetime) -> bool:
    """End every consent in force (normally one); ``False`` when there was none."""
    in_force = [c for c in state.history if c.withdrawn_at is None]
    for consent in in_force:
        consent.withdrawn_at = max(now, consent.granted_at)
    db.session.flush()
    return bool(in_force)


def withdraw_consent(
    employee: Employee, purpose: ConsentPurpose, *, now: datetime | None = None
) -> bool:
    """Withdraw with effect from ``now``; ``False`` when no consent was in force (no-op)."""
    _lock(employee)
    if not _close(consent_state(employee, purpose), now or utcnow()):
        return False
    record(
        "privacy.consent_withdrawn",
        actor_id=employee.user_id,
        target_type="employee",
        target_id=employee.id,
        details={"purpose": purpose.value},
    )
    return True


def consented(
    purpose: ConsentPurpose, *, at: datetime | None = None, employer_id: int | None = None
) -> Select[int]:
    """Ids of the employees whose health data may count for ``purpose`` at ``at`` (now).

    Every aggregate over health data must restrict its rows with this, e.g.
    ``.where(PainCheckin.employee_id.in_(consented(ConsentPurpose.HEALTH_AGGREGATES)))``.
    Pass the employer to scope it (the analytics layer always should).
    """
    at = at or utcnow()
    query = select(Consent.employee_id).where(
        Consent.purpose == purpose.value,
        Consent.granted_at <= at,
        or_(Consent.withdrawn_at.is_(None), Consent.withdrawn_at > at),
    )
    if employer_id is not None:
        query = query.join(Employee, Employee.id == Consent.employee_id).where(
            Employee.employer_id == employer_id
        )
    return query


def consenting_employee_ids(
    employer_id: int, purpose: ConsentPurpose, at: datetime | None = None
) -> set[int]:
    return set(db.session.scalars(consented(purpose, at=at, employer_id=employer_id)))
