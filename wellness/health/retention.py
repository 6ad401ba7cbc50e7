"""Retention: health data older than the employer's retention period (default 36 months) is
deleted by a daily job (``wellness purge-expired``).

Age counts from the day the data is about: the check-in day, the training day, the day a
checklist was submitted. Workplace measures closed (done or rejected) before the cutoff stay
as the employer's risk-assessment record but are anonymised exactly as on erasure. Running the
job again the same day finds nothing left to do, so it is safe to repeat.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import and_, func, select

from wellness.audit.services import record
from wellness.db import utcnow
from wellness.extensions import db
from wellness.health.models import ChecklistResponse, ErgonomicMeasure, ExerciseLog, PainCheckin
from wellness.health.personal_data import HealthDataCounts, HealthRows, delete_health_data
from wellness.i18n import BERLIN, local_today
from wellness.tenants.models import Employee, Employer


def retention_cutoff(today: date, months: int) -> date:
    """The oldest day still kept: the same day ``months`` calendar months back (the month's
    last day when that month is shorter, e.g. 31 May minus 3 months is 28/29 February)."""
    year, month_index = divmod(today.year * 12 + today.month - 1 - months, 12)
    month = month_index + 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class EmployerPurge:
    employer_id: int
    employer_slug: str
    retention_months: int
    cutoff: date
    counts: HealthDataCounts


def expired_rows(employer: Employer, cutoff: date) -> HealthRows:
    """The employer's health data from before ``cutoff`` (a German calendar day)."""
    staff = select(Employee.id).where(Employee.employer_id == employer.id)
    start = datetime.combine(cutoff, time(), tzinfo=BERLIN)
    closed_at = func.coalesce(ErgonomicMeasure.done_at, ErgonomicMeasure.rejected_at)
    return HealthRows(
        checkins=and_(PainCheckin.employee_id.in_(staff), PainCheckin.checked_on < cutoff),
        responses=and_(
            ChecklistResponse.employee_id.in_(staff), ChecklistResponse.submitted_at < start
        ),
        logs=and_(ExerciseLog.employee_id.in_(staff), ExerciseLog.performed_on < cutoff),
        measures=and_(ErgonomicMeasure.employer_id == employer.id, closed_at < start),
        pain_people=staff,
        pain_until=cutoff,
    )


def purge_expired(now: datetime | None = None) -> list[EmployerPurge]:
    """Delete every employer's expired health data; one result per employer, in id order.

    Only flushes; the caller commits. Employers with nothing expired get no audit event, so a
    daily run does not flood the log.
    """
    today = local_today(now or utcnow())
    results = []
    for employer in db.session.scalars(select(Employer).order_by(Employer.id)):
        cutoff = retention_cutoff(today, employer.retention_months)
        counts = delete_health_data(expired_rows(employer, cutoff))
        if counts.total:
            record(
                "privacy.retention_purged",
                employer_id=employer.id,
                target_type="employer",
                target_id=employer.id,
                details={
                    **counts.as_dict(),
                    "retention_months": employer.retention_months,
                    "cutoff": cutoff.isoformat(),
                },
            )
        results.append(
            EmployerPurge(
                employer_id=employer.id,
                employer_slug=employer.slug,
                retention_months=employer.retention_months,
                cutoff=cutoff,
                counts=counts,
            )
        )
    return results
