"""Analytics for HR and employer admins: aggregates of their own employer only, released by the
privacy layer (minimum group size, complementary suppression, complement rule, noise).

The tenant is always the signed-in user's employer; department and site ids of another
employer answer 404 as if they did not exist. Every query is audit-logged with the measure and
grouping, never with figures.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from wellness.analytics import calendar_periods
from wellness.analytics.grid import MAX_MONTHS, Period, default_period, months_between
from wellness.analytics.measures import (
    DEFAULT_REGION,
    MEASURES,
    Spec,
    default_grouping,
    groupings,
    releases_exactly,
    run,
)
from wellness.analytics.privacy import CellOut, PrivacyRefused, Release
from wellness.analytics.reports import record_view
from wellness.api import bp
from wellness.api import schemas as s
from wellness.api.openapi import Reply, operation
from wellness.api.problems import problem
from wellness.auth.guards import allow, current_employer_id, get_for_tenant, user
from wellness.auth.models import Role
from wellness.db import utcnow
from wellness.errors import BadParameter, NotFound
from wellness.extensions import db
from wellness.i18n import local_today
from wellness.tenants.models import Department, Employer, Site


def _period(query: s.AnalyticsQuery, exact: bool) -> Period:
    """The from/to months; by default the last 12 months, or this calendar year for exact
    figures (which are given for calendar periods only)."""
    today = local_today(utcnow())
    default = calendar_periods.current_year(today) if exact else default_period(today)
    first, last = query.from_, query.to
    if first is None and last is None:
        return default
    if last is None:
        last = max(first or default.last, default.last)
    if first is None:
        first = date(last.year, 1, 1) if exact else default_period(last).first
    if first > last:
        raise BadParameter("from", _("Parameter 'from' must not be after 'to'."))
    if months_between(first, last) > MAX_MONTHS:
        raise BadParameter(
            "to", _("A query may span at most %(months)d months.", months=MAX_MONTHS)
        )
    return Period(first, last)


def _spec(measure: str, employer: Employer, query: s.AnalyticsQuery) -> Spec:
    """What to compute: the measure's own rules on top of what the query model checked."""
    found = MEASURES.get(measure)
    if found is None:
        raise NotFound(_("There is no measure '%(name)s'.", name=measure))
    allowed = groupings(found.name)
    group_by = query.group_by or default_grouping(found.name)
    if group_by not in allowed:
        raise BadParameter(
            "group_by",
            _(
                "Parameter '%(name)s' must be one of: %(allowed)s.",
                name="group_by",
                allowed=", ".join(g.value for g in allowed),
            ),
        )
    if query.region is not None and not found.by_region:
        raise BadParameter("region", _("Parameter 'region' applies to pain measures only."))
    region = query.region or DEFAULT_REGION
    department_id, site_id = query.department, query.site
    # get_for_tenant answers 404 for another employer's ids: they do not exist for this user.
    if department_id is not None:
        get_for_tenant(Department, department_id)
    if site_id is not None:
        get_for_tenant(Site, site_id)
    period = _period(query, releases_exactly(employer, found.name))
    return Spec(found.name, group_by, period, department_id, site_id, region)


def _cell(cell: CellOut) -> dict[str, Any]:
    return {
        "group": None if cell.group is None else {"id": cell.group.id, "name": cell.group.name},
        "n": cell.n,
        "value": cell.value,
        "suppressed": cell.suppressed,
        "ci": None if cell.ci is None else [cell.ci[0], cell.ci[1]],
    }


def release_json(measure: str, release: Release) -> dict[str, Any]:
    return {
        "measure": measure,
        "k": release.k,
        "noisy": release.noisy,
        "epsilon": release.epsilon,
        "reused": release.reused,
        "budget_left": release.budget_left,
        "total": _cell(release.total),
        "cells": [_cell(cell) for cell in release.cells],
    }


@bp.get("/analytics")
@allow(Role.HR, Role.ADMIN)
@operation(
    "Measures",
    tag="analytics",
    responses={200: Reply("Every measure with its groupings.", s.Measures)},
)
def list_measures() -> ResponseReturnValue:
    return jsonify(
        measures=[
            {
                "name": m.name,
                "label": str(m.label),
                "health": m.health,
                "unit": m.unit,
                "group_by": [g.value for g in m.groupings],
                "default_group_by": default_grouping(m.name).value,
                "region": m.by_region,
            }
            for m in MEASURES.values()
        ]
    )


@bp.get("/analytics/<measure>")
@allow(Role.HR, Role.ADMIN)
@operation(
    "One measure, released by the privacy layer",
    tag="analytics",
    query=s.AnalyticsQuery,
    path={"measure": {"enum": sorted(MEASURES)}},
    responses={200: Reply("The released cells and total.", s.ReleaseOut)},
    errors={
        422: "A privacy rule refuses the figure (complement rule, privacy budget, period); "
        "`detail` says which and why."
    },
)
def show_measure(measure: str, query: s.AnalyticsQuery) -> ResponseReturnValue:
    """The measure for the caller's own employer, grouped as asked; cells based on fewer than
    k people are suppressed (`value` null, never 0). Every query is audit-logged."""
    employer_id = current_employer_id()
    employer = db.session.get(Employer, employer_id)
    if employer is None:
        raise NotFound(_("Employer not found."))
    spec = _spec(measure, employer, query)
    try:
        released = run(employer, spec)
    except PrivacyRefused as refused:
        db.session.rollback()
        record_view(employer_id, user().id, spec, channel="api", refused=True)
        db.session.commit()
        return problem(refused.status_code, _("Not possible"), refused.message)
    record_view(employer_id, user().id, spec, channel="api")
    db.session.commit()
    return jsonify(release_json(spec.measure, released))
