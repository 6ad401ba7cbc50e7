"""The facts of the transparency page (issue 6, §87(1) no. 6 BetrVG), built from live data.

Works councils co-determine systems able to monitor staff, so the page must show what the
system *does*, not what a brochure says: every number here is read from the employer's current
settings, the measure registry, the stored privacy releases and the audit log at request time.
HR views are given as counts per month and measure only; who looked is never part of the facts.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from wellness.analytics.grid import add_months, berlin_midnight, month_start
from wellness.analytics.measures import MEASURES
from wellness.analytics.models import PrivacyRelease
from wellness.analytics.privacy import EPSILON_PER_RELEASE, budget_spent, k_for, period_of
from wellness.audit.models import AuditEvent
from wellness.auth.models import Role
from wellness.db import utcnow
from wellness.extensions import db
from wellness.health.consent import current_text
from wellness.health.models import ConsentPurpose
from wellness.i18n import BERLIN, local_today
from wellness.tenants.models import Employer

#: The audit action every HR/admin analytics query writes (wellness/api/analytics.py).
HR_VIEW_ACTION = "hr.analytics_viewed"
#: Budget periods (quarters) shown, the current one included.
BUDGET_PERIODS = 4
#: Calendar months of HR views shown, the current one included.
VIEW_MONTHS = 12


@dataclass(frozen=True)
class MeasureFact:
    """One figure HR can ask for and the minimum group size that applies to it."""

    name: str
    label: LazyString
    health: bool
    k: int


@dataclass(frozen=True)
class RoleFact:
    role: Role
    label: LazyString
    sees: LazyString


@dataclass(frozen=True)
class DataFact:
    """One kind of data the platform stores about employees."""

    label: LazyString
    #: Health data (GDPR Art. 9): counts in HR figures only with consent.
    health: bool
    #: Counts in any HR figure at all (consents, for instance, never do).
    in_figures: bool
    #: Deleted automatically after this many months; None when kept for another reason.
    retention_months: int | None
    #: Why and how long it is kept when there is no retention period.
    kept: LazyString | None


@dataclass(frozen=True)
class BudgetPeriod:
    """Privacy budget of one calendar quarter: epsilon spent and new health figures released.
    The budget itself is not kept per quarter, so only the current one is stated (on the page)."""

    period: str
    spent: float
    releases: int


@dataclass(frozen=True)
class ViewCount:
    """HR analytics queries of one month and measure (refused ones included, and counted)."""

    month: date
    measure: str
    label: LazyString | str
    count: int
    refused: int


@dataclass(frozen=True)
class Transparency:
    employer_name: str
    generated_at: datetime
    k_participation: int
    k_health: int
    dp_enabled: bool
    epsilon_per_release: float
    epsilon_per_period: float
    #: New health figures the quarterly budget pays for.
    releases_per_period: int
    retention_months: int
    consent_title: dict[str, str]
    consent_version: str
    measures: list[MeasureFact]
    roles: list[RoleFact]
    data: list[DataFact]
    #: Newest quarter first.
    budget: list[BudgetPeriod]
    #: Newest month first, then by measure name.
    views: list[ViewCount]
    views_since: date


def previous_period(period: str) -> str:
    year, quarter = int(period[:4]), int(period[-1])
    return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"


def _roles(k_participation: int, k_health: int) -> list[RoleFact]:
    return [
        RoleFact(
            Role.EMPLOYEE,
            _l("Employees"),
            _l(
                "Only their own data: courses, check-ins, checklists, training log and consents. "
                "They can download it all and erase their health data themselves."
            ),
        ),
        RoleFact(
            Role.HR,
            _l("HR / health management"),
            _l(
                "Only aggregated figures through the privacy layer: groups of at least "
                "%(k_health)s people for health figures and %(k_participation)s for participation, "
                "never a single person's entries. Every query is recorded in the audit log.",
                k_health=k_health,
                k_participation=k_participation,
            ),
        ),
        RoleFact(
            Role.ADMIN,
            _l("Employer administration"),
            _l(
                "Workplace measures requested of them, with the name of the person who asked, "
                "the organisation and employee list, and the settings on this page. No pain, "
                "checklist answers or training logs."
            ),
        ),
        RoleFact(
            Role.PROVIDER,
            _l("Course providers"),
            _l(
                "Names and attendance of the participants of their own courses, nothing else "
                "(no health data, no other employees)."
            ),
        ),
        RoleFact(
            Role.OPERATOR,
            _l("Platform operator"),
            _l("Employers and providers for running the platform; no health data."),
        ),
    ]


def _data(retention_months: int) -> list[DataFact]:
    accounting = _l(
        "Kept for accounting and certificates; after erasure, finished courses of past years "
        "stay without your name."
    )
    return [
        DataFact(_l("Course enrollments"), False, True, None, accounting),
        DataFact(_l("Course attendance"), False, True, None, accounting),
        DataFact(_l("Pain check-ins"), True, True, retention_months, None),
        DataFact(_l("Workstation checklist answers"), True, True, retention_months, None),
        DataFact(_l("Home training log"), True, True, retention_months, None),
        DataFact(
            _l("Consents"),
            False,
            False,
            None,
            _l("Kept as proof of what was agreed, including withdrawn consents."),
        ),
    ]


def _budget(employer: Employer, now: datetime) -> list[BudgetPeriod]:
    periods = [period_of(now)]
    while len(periods) < BUDGET_PERIODS:
        periods.append(previous_period(periods[-1]))
    counts = {
        period: count
        for period, count in db.session.execute(
            select(PrivacyRelease.period, func.count(PrivacyRelease.id))
            .where(PrivacyRelease.employer_id == employer.id, PrivacyRelease.period.in_(periods))
            .group_by(PrivacyRelease.period)
        )
    }
    return [
        BudgetPeriod(
            period=period,
            spent=budget_spent(employer.id, period),
            releases=int(counts.get(period, 0)),
        )
        for period in periods
    ]


def _views(employer_id: int, since: date) -> list[ViewCount]:
    """HR analytics queries per German calendar month and measure, counted in memory from the
    measure and flags alone: the actor column is never read."""
    rows = db.session.execute(
        select(AuditEvent.occurred_at, AuditEvent.target_id, AuditEvent.details).where(
            AuditEvent.employer_id == employer_id,
            AuditEvent.action == HR_VIEW_ACTION,
            AuditEvent.occurred_at >= berlin_midnight(since),
        )
    )
    counts: Counter[tuple[date, str]] = Counter()
    refused: Counter[tuple[date, str]] = Counter()
    for occurred_at, target_id, details in rows:
        parsed = json.loads(details) if details else {}
        measure = str(target_id or parsed.get("measure") or "")
        key = (month_start(occurred_at.astimezone(BERLIN).date()), measure)
        counts[key] += 1
        refused[key] += bool(parsed.get("refused"))
    return [
        ViewCount(
            month=month,
            measure=measure,
            label=MEASURES[measure].label if measure in MEASURES else measure,
            count=count,
            refused=refused[(month, measure)],
        )
        for (month, measure), count in sorted(
            counts.items(), key=lambda item: (-item[0][0].toordinal(), item[0][1])
        )
    ]


def transparency_facts(employer: Employer, *, now: datetime | None = None) -> Transparency:
    """Everything the transparency page states about ``employer``, as of ``now``."""
    now = now or utcnow()
    k_participation, k_health = k_for(employer, False), k_for(employer, True)
    since = add_months(month_start(local_today(now)), -(VIEW_MONTHS - 1))
    consent = current_text(ConsentPurpose.HEALTH_AGGREGATES)
    return Transparency(
        employer_name=employer.name,
        generated_at=now,
        k_participation=k_participation,
        k_health=k_health,
        dp_enabled=employer.dp_enabled,
        epsilon_per_release=EPSILON_PER_RELEASE,
        epsilon_per_period=employer.dp_epsilon_per_period,
        releases_per_period=math.floor(employer.dp_epsilon_per_period / EPSILON_PER_RELEASE + 1e-9),
        retention_months=employer.retention_months,
        consent_title=consent.titles,
        consent_version=consent.version,
        measures=[
            MeasureFact(m.name, m.label, m.health, k_health if m.health else k_participation)
            for m in MEASURES.values()
        ],
        roles=_roles(k_participation, k_health),
        data=_data(employer.retention_months),
        budget=_budget(employer, now),
        views=_views(employer.id, since),
        views_since=since,
    )
