"""The pain rollup under concurrency: one person's simultaneous check-ins, corrections and
double taps in one month, each a request of its own on a real gunicorn server, leave the rows
the scores say. New check-ins are summed into their rows and corrections recompute them, so
this is where the two ways of keeping the rollup current meet."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from threading import Barrier

from wellness.auth.services import create_api_token
from wellness.db import utcnow
from wellness.health.checkins import record_checkin
from wellness.i18n import local_today

from .test_pain_months import from_scores, rollup


def _post(url: str, token: str, body: dict) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback URL built by the test
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_simultaneous_check_ins_and_corrections_of_one_month_add_up(
    db, live_server, employee_user, employee
):
    # Last month: every day of it is within the days a check-in may be back-dated.
    month = (local_today(utcnow()).replace(day=1) - timedelta(days=1)).replace(day=1)
    for day in range(1, 11):
        record_checkin(employee, {"low_back": 2}, checked_on=month.replace(day=day))
    token = create_api_token(employee_user, "rollup concurrency")
    db.session.commit()

    def body(day: int, nrs: int, prevented: bool) -> dict:
        return {
            "checked_on": month.replace(day=day).isoformat(),
            "prevented_activity": prevented,
            "scores": {"low_back": nrs, "neck": nrs // 2},
        }

    # Corrections of days 1-10, new days 11-28, and a double tap of each of days 20-24.
    requests = [body(day, 7, day % 3 == 0) for day in range(1, 11)]
    requests += [body(day, day % 11, day % 4 == 0 and day % 11 > 0) for day in range(11, 29)]
    requests += [body(day, 5, False) for day in range(20, 25)]
    start = Barrier(len(requests))

    def send(request: dict) -> int:
        start.wait()
        return _post(f"{live_server}/api/v1/me/checkins", token, request)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        statuses = list(pool.map(send, requests))

    assert set(statuses) <= {200, 201}, statuses
    assert statuses.count(201) == 18
    db.session.expire_all()
    rows = rollup(db, employee)
    assert rows == from_scores(db)
    assert rows[(employee.id, date(month.year, month.month, 1), "low_back")][0] == 28
