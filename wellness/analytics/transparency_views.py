"""The transparency page: what the platform collects and shows, for the works council and every
employee of the employer (§87(1) no. 6 BetrVG). Employer roles only, and only their own employer:
the tenant comes from the signed-in account, never from the request."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from wellness.analytics.transparency import transparency_facts
from wellness.auth.guards import allow, current_employer_id
from wellness.auth.models import Role
from wellness.extensions import db
from wellness.tenants.models import Employer

transparency_bp = Blueprint("transparency", __name__)


@transparency_bp.get("/transparency")
@allow(Role.EMPLOYEE, Role.HR, Role.ADMIN)
def index() -> ResponseReturnValue:
    employer = db.session.get(Employer, current_employer_id())
    if employer is None:
        abort(403)
    return render_template("transparency.html", facts=transparency_facts(employer))
