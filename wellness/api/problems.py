"""RFC 9457 problem details: the one shape of every error the JSON API answers."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from wellness.errors import BadParameter, DomainError
from wellness.extensions import db

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, **extensions: Any) -> ResponseReturnValue:
    """A problem document; ``extensions`` add members such as ``invalid-params``. Rolls the
    request's transaction back: a refused request stores nothing."""
    db.session.rollback()
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return jsonify(body | extensions), status, {"Content-Type": PROBLEM_JSON}


def domain_problem(exc: DomainError) -> ResponseReturnValue:
    """Domain errors raised by services or by request validation; a refused parameter or
    field is named in ``invalid-params`` (RFC 9457 section 3)."""
    if isinstance(exc, BadParameter):
        invalid = [{"name": exc.name, "reason": exc.message}]
        title = _("Bad request") if exc.status_code == 400 else _("Not possible")
        return problem(exc.status_code, title, exc.message, **{"invalid-params": invalid})
    return problem(exc.status_code, _("Not possible"), exc.message)
