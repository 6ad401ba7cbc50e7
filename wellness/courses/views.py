"""The provider portal: a provider's own courses and offerings."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from wellness.auth.guards import allow, current_provider_id
from wellness.auth.models import Role
from wellness.courses.models import Course, Offering
from wellness.extensions import db

provider_bp = Blueprint("provider", __name__, url_prefix="/provider")


@provider_bp.route("/")
@allow(Role.PROVIDER)
def index() -> ResponseReturnValue:
    provider_id = current_provider_id()
    courses = db.session.scalars(
        select(Course).where(Course.provider_id == provider_id).order_by(Course.title)
    ).all()
    offerings = db.session.scalars(
        select(Offering)
        .join(Course)
        .where(Course.provider_id == provider_id)
        .order_by(Offering.starts_on.desc())
    ).all()
    return render_template("provider/index.html", courses=courses, offerings=offerings)
