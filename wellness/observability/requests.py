"""Per-request id, one log line per request and the latency metric.

The line names the route *template* (``/api/v1/offerings/<int:offering_id>``), never the
concrete URL or its query string: paths and queries can carry search terms, e-mail addresses
or reset tokens. The user appears as a number only.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request
from sqlalchemy import inspect

from wellness.observability.metrics import observe_request

log = logging.getLogger("wellness.request")

REQUEST_ID_HEADER = "X-Request-ID"
#: An incoming id is kept when it is a plain token (as load balancers and tracers send them);
#: anything else could smuggle text into the logs and is replaced.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")

#: Route label for requests that matched no route (404s, scanners): one series, not one per URL.
UNMATCHED = "<unmatched>"


def request_id_from(header: str | None) -> str:
    if header and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def route_template() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def _start() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def _loaded_user_ids(user: object) -> tuple[int | None, int | None]:
    """The ids of a user the request already loaded, read from the ORM state without any
    query: after a rollback the user is expired, and reloading it could fail (the database
    went away) and turn a finished request into a 500."""
    state = inspect(user, raiseerr=False) if user is not None else None
    if state is None or not state.identity:
        return None, None  # anonymous, or nobody loaded
    employer_id = state.dict.get("employer_id")
    return int(state.identity[0]), employer_id if isinstance(employer_id, int) else None


def _finish(status: int) -> None:
    """Log and count the request once, whichever hook sees its end first."""
    if g.get("request_logged") or "request_started" not in g:
        return
    g.request_logged = True
    seconds = time.perf_counter() - g.request_started
    route = route_template()
    observe_request(request.method, route, status, seconds)
    user_id, employer_id = _loaded_user_ids(g.get("_login_user"))
    level = logging.ERROR if status >= 500 else logging.INFO
    log.log(
        level,
        "%s %s %s",
        request.method,
        route,
        status,
        extra={
            "request_id": g.request_id,
            "method": request.method,
            "path": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "user_id": user_id,
            "employer_id": employer_id,
        },
    )


def _after(response: Response) -> Response:
    if "request_id" in g:
        response.headers[REQUEST_ID_HEADER] = g.request_id
    _finish(response.status_code)
    return response


def _teardown(exc: BaseException | None) -> None:
    # Reached without _after only when an error escaped every handler.
    _finish(500)


def init_request_logging(app: Flask) -> None:
    """First before_request hook and last after_request hook, so the id is set before the
    access guard can refuse the request and the status logged is the one sent."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _after)
    app.teardown_request(_teardown)
