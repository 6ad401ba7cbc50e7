"""What the dashboard asks the analytics layer, and the checks before it asks.

Callbacks are reachable only through the ``/hr/`` guard, and check again here: the role, and
that the page was built for the signed-in user's employer. Filter values come from the browser,
so they are checked against the employer's own months, departments and sites.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, partial

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from dashboards.layout import department_ids, known_months, site_ids
from dashboards.pages import Chart
from wellness.analytics.grid import Organisation, Period
from wellness.analytics.measures import DEFAULT_REGION, MEASURES, Spec, run, stored
from wellness.analytics.privacy import PrivacyRefused, Release, budget_spent, period_of
from wellness.analytics.reports import record_view
from wellness.auth.guards import current_employer_id, user
from wellness.auth.models import Role
from wellness.db import utcnow
from wellness.extensions import db
from wellness.health.models import BodyRegion
from wellness.i18n import local_today
from wellness.tenants.models import Employer

DASHBOARD_ROLES = (Role.HR, Role.ADMIN)


def employer_for(tenant: object) -> Employer:
    """The signed-in user's employer, when the page asking was built for it; else 401/403."""
    if not current_user.is_authenticated:
        abort(401)
    if not current_user.has_role(*DASHBOARD_ROLES):
        abort(403)
    employer_id = current_employer_id()
    if tenant != employer_id:
        abort(403)
    employer = db.session.get(Employer, employer_id)
    if employer is None:
        abort(403)
    return employer


@dataclass(frozen=True)
class Filters:
    period: Period
    department_id: int | None
    site_id: int | None
    region: BodyRegion = DEFAULT_REGION


class BadFilter(ValueError):
    """A filter combination HR can pick but that makes no sense (the period ends before it
    starts); the message says what to change."""


def filters(
    first: object, last: object, department: object, site: object, region: object
) -> Filters:
    """Filters from the dropdowns; a value no dropdown offers is a crafted request (400)."""
    today = local_today(utcnow())
    allowed = known_months(today)
    if first not in allowed or last not in allowed:
        abort(400)
    if department is not None and department not in department_ids():
        abort(400)
    if site is not None and site not in site_ids():
        abort(400)
    if region not in {r.value for r in BodyRegion}:
        abort(400)
    start = date(int(str(first)[:4]), int(str(first)[5:]), 1)
    end = date(int(str(last)[:4]), int(str(last)[5:]), 1)
    if start > end:
        raise BadFilter(_("The period starts after it ends: choose a 'From' month before 'To'."))
    return Filters(Period(start, end), department, site, BodyRegion(region))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Shown:
    """One chart's figures, or why there are none."""

    chart: Chart
    #: The chart's title for the filters chosen (pain charts name the body region).
    title: str
    release: Release | None
    refused: str | None = None


def spec_of(chart: Chart, chosen: Filters) -> Spec:
    """The analytics query behind ``chart`` for the filters chosen."""
    return Spec(
        chart.measure,
        chart.group_by,
        chosen.period,
        chosen.department_id,
        chosen.site_id,
        chosen.region if MEASURES[chart.measure].by_region else DEFAULT_REGION,
    )


def show_page(
    employer: Employer, charts: Sequence[Chart], chosen: Filters, *, channel: str
) -> list[Shown]:
    """Every chart of a page: those stored already read at once, the others run one by one
    with the employer's organisation loaded once for all of them, and only if one needs it."""
    known = stored(employer, [spec_of(chart, chosen) for chart in charts])
    organisation = cache(partial(Organisation.load, employer.id))
    return [
        show(employer, chart, chosen, channel=channel, organisation=organisation, known=known)
        for chart in charts
    ]


def show(
    employer: Employer,
    chart: Chart,
    chosen: Filters,
    *,
    channel: str,
    organisation: Callable[[], Organisation] | None = None,
    known: Mapping[Spec, Release] | None = None,
) -> Shown:
    """Run one chart's query through the privacy layer and audit the look (refusals too).

    Each chart runs in a savepoint: a refused chart must not undo the releases of the charts
    before it on the same page, which the budget has paid for. A chart in ``known`` (see
    :func:`show_page`) is shown as stored, without running anything.
    """
    spec = spec_of(chart, chosen)
    release = (known or {}).get(spec)
    if release is None:
        try:
            with db.session.begin_nested():
                release = run(employer, spec, organisation=organisation)
        except PrivacyRefused as refused:
            record_view(employer.id, user().id, spec, channel=channel, refused=True)
            return Shown(chart, chart.heading(chosen.region), None, refused.message)
    record_view(employer.id, user().id, spec, channel=channel)
    return Shown(chart, chart.heading(chosen.region), release)


@dataclass(frozen=True)
class Budget:
    spent: float
    total: float
    period: str

    @property
    def left(self) -> float:
        return max(0.0, self.total - self.spent)


def privacy_budget(employer: Employer) -> Budget | None:
    """This quarter's privacy budget for new health figures; None when noise is off."""
    if not employer.dp_enabled:
        return None
    period = period_of(utcnow())
    return Budget(budget_spent(employer.id, period), employer.dp_epsilon_per_period, period)
