"""``wellness worker``: an RQ worker that runs every job inside our app's context.

The app is built once (by the CLI) and each job gets a fresh app context, hence a fresh
database session that is removed afterwards. Jobs run in the worker process itself (RQ's
:class:`~rq.SimpleWorker`, no fork per job): no database connection crosses a fork, and a
killed worker takes its open transaction with it (the database rolls it back).
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from rq import Queue, SimpleWorker
from rq.job import Job

from wellness.extensions import db
from wellness.jobs import QUEUES, prefix, queue_name, redis_connection


class AppWorker(SimpleWorker):
    """A :class:`~rq.SimpleWorker` that pushes an app context around every job."""

    def __init__(self, *args: Any, app: Flask, **kwargs: Any) -> None:
        self.app = app
        super().__init__(*args, **kwargs)

    def perform_job(self, job: Job, queue: Queue) -> bool:
        with self.app.app_context():
            try:
                return bool(super().perform_job(job, queue))
            finally:
                db.session.remove()


def make_worker(app: Flask, queues: tuple[str, ...] = QUEUES) -> AppWorker:
    """A worker for our queues (served in the order given)."""
    connection = redis_connection(app)
    return AppWorker(
        [Queue(queue_name(name, app), connection=connection) for name in queues],
        connection=connection,
        name=f"{prefix(app)}-{os.uname().nodename}-{os.getpid()}",
        app=app,
    )
