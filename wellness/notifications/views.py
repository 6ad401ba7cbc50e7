"""The in-app outbox: each person reads the mails the product wrote to them."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from wellness.auth.guards import allow, user
from wellness.auth.models import Role
from wellness.extensions import db
from wellness.notifications.models import OutboundMail

bp = Blueprint("outbox", __name__)


@bp.route("/outbox")
@allow(*Role)
def index() -> ResponseReturnValue:
    mails = db.session.scalars(
        select(OutboundMail)
        .where(OutboundMail.user_id == user().id)
        .order_by(OutboundMail.created_at.desc())
        .limit(50)
    ).all()
    return render_template("outbox.html", mails=mails)
