"""Analytics for HR and employer admins: aggregates of their own employer only, released by the
privacy layer (minimum group size, complementary suppression, complement rule, noise).

The tenant is always the signed-in user's employer; department and site ids of another
employer answer 404 as if they did not exist. Every query is audit-logged with the measure and
grouping, never with figures.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from wellness.analytics import calendar_periods
from wellness.analytics.grid import MAX_MONTHS, GroupBy, Period, default_period, months_between
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
from wellness.auth.guards import allow, current_employer_id, get_for_tenant, user
from wellness.auth.models import Role
from wellness.db import utcnow
from wellness.errors import DomainError, NotFound
from wellness.extensions import db
from wellness.health.models import BodyRegion
from wellness.i18n import local_today
from wellness.tenants.models import Department, Employer, Site

#: Months from 2000 to 2099: earlier or later is a typing mistake (and year 9999 overflows).
MONTH = re.compile(r"^20\d\d-(0[1-9]|1[0-2])$")


class BadParameter(DomainError):
    """A query parameter the API cannot use; ``name`` says which (RFC 9457 invalid-params)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def _problem(status: int, title: str, detail: str, param: str | None = None) -> ResponseReturnValue:
    db.session.rollback()
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if param is not None:
        body["invalid-params"] = [{"name": param, "reason": detail}]
    return jsonify(body), status, {"Content-Type": "application/problem+json"}


def _month(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    if not MONTH.match(raw):
        raise BadParameter(name, _("Parameter '%(name)s' must be a month like 2026-03.", name=name))
    return date(int(raw[:4]), int(raw[5:]), 1)


def _id(name: str) -> int | None:
    raw = request.args.get(name)
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise BadParameter(name, _("Parameter '%(name)s' must be a whole number.", name=name))
    return int(raw)


def _period(exact: bool) -> Period:
    """The from/to months; by default the last 12 months, or this calendar year for exact
    figures (which are given for calendar periods only)."""
    today = local_today(utcnow())
    default = calendar_periods.current_year(today) if exact else default_period(today)
    first, last = _month("from"), _month("to")
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


def _spec(measure: str, employer: Employer) -> Spec:
    found = MEASURES.get(measure)
    if found is None:
        raise NotFound(_("There is no measure '%(name)s'.", name=measure))
    allowed = groupings(found.name)
    raw_group = request.args.get("group_by") or default_grouping(found.name).value
    # A StrEnum member equals its text, so this also refuses names that are no grouping at all.
    if raw_group not in allowed:
        raise BadParameter(
            "group_by",
            _(
                "Parameter '%(name)s' must be one of: %(allowed)s.",
                name="group_by",
                allowed=", ".join(g.value for g in allowed),
            ),
        )
    region = DEFAULT_REGION
    raw_region = request.args.get("region")
    if raw_region:
        if not found.by_region:
            raise BadParameter("region", _("Parameter 'region' applies to pain measures only."))
        try:
            region = BodyRegion(raw_region)
        except ValueError:
            raise BadParameter(
                "region",
                _(
                    "Parameter '%(name)s' must be one of: %(allowed)s.",
                    name="region",
                    allowed=", ".join(r.value for r in BodyRegion),
                ),
            ) from None
    department_id, site_id = _id("department"), _id("site")
    # get_for_tenant answers 404 for another employer's ids: they do not exist for this user.
    if department_id is not None:
        get_for_tenant(Department, department_id)
    if site_id is not None:
        get_for_tenant(Site, site_id)
    period = _period(releases_exactly(employer, found.name))
    return Spec(found.name, GroupBy(raw_group), period, department_id, site_id, region)


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
def show_measure(measure: str) -> ResponseReturnValue:
    employer_id = current_employer_id()
    employer = db.session.get(Employer, employer_id)
    if employer is None:
        raise NotFound(_("Employer not found."))
    try:
        spec = _spec(measure, employer)
    except BadParameter as bad:
        return _problem(400, _("Bad request"), bad.message, bad.name)
    try:
        released = run(employer, spec)
    except PrivacyRefused as refused:
        db.session.rollback()
        record_view(employer_id, user().id, spec, channel="api", refused=True)
        db.session.commit()
        return _problem(refused.status_code, _("Not possible"), refused.message)
    record_view(employer_id, user().id, spec, channel="api")
    db.session.commit()
    return jsonify(release_json(spec.measure, released))
