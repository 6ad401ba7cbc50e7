"""``wellness scheduler``: enqueue the periodic jobs at their times.

A plain loop instead of rq-scheduler (a separate project that lags behind RQ releases) or RQ's
own cron (new in RQ 2.5, still marked experimental): once a minute it asks :func:`due` which
jobs are due and enqueues each one once per slot. The slot is claimed with ``SET NX`` in Redis,
so two schedulers (a rolling update, a mistake) do not enqueue twice, and a scheduler started
late catches up the day's run. The jobs are idempotent anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask

from wellness.db import utcnow
from wellness.i18n import BERLIN
from wellness.jobs import enqueue, prefix, redis_connection


@dataclass(frozen=True)
class Periodic:
    job: str
    #: None: every minute; else the Berlin hour from which the daily run is due.
    daily_at: int | None


SCHEDULE = (
    Periodic("send_mail", None),
    Periodic("rebuild_rollups", 2),
    Periodic("purge_expired", 3),
    Periodic("send_reminders", 8),
)


def due(now: datetime) -> list[tuple[str, str]]:
    """``(job, slot)`` pairs due at ``now``; a slot names one run (a minute or a day)."""
    local = now.astimezone(BERLIN)
    found = []
    for entry in SCHEDULE:
        if entry.daily_at is None:
            found.append((entry.job, local.strftime("%Y-%m-%dT%H:%M")))
        elif local.hour >= entry.daily_at:
            found.append((entry.job, local.date().isoformat()))
    return found


def tick(app: Flask, now: datetime | None = None) -> list[str]:
    """Enqueue what is due and not yet enqueued for its slot; returns the jobs enqueued."""
    connection = redis_connection(app)
    enqueued = []
    with app.app_context():
        for job, slot in due(now or utcnow()):
            key = f"{prefix(app)}:schedule:{job}:{slot}"
            if connection.set(key, "1", nx=True, ex=int(timedelta(days=2).total_seconds())):
                enqueue(job)
                enqueued.append(job)
    return enqueued


def run(
    app: Flask,
    *,
    sleep: Callable[[float], None] = time.sleep,
    echo: Callable[[str], None] = print,
) -> None:
    """Tick at the start of every minute until stopped (SIGTERM/SIGINT end the process)."""
    redis_connection(app)  # refuse at once without REDIS_URL
    while True:
        for job in tick(app):
            echo(f"{utcnow().isoformat(timespec='seconds')} enqueued {job}")
        sleep(60 - time.time() % 60)
