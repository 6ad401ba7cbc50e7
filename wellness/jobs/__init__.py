"""Background jobs through one interface: RQ on Redis when ``REDIS_URL`` is set, inline without.

:func:`enqueue` takes a job name from :data:`JOBS` (or a module-level function) and its
arguments. Without Redis (the embedded default, and the test suite) the job runs at once in the
caller's process and app context, before :func:`enqueue` returns: deterministic, and the same
order of events as a worker that is instantly free. With Redis it goes onto an RQ queue and a
``wellness worker`` runs it. Either way the caller must **commit before enqueueing**: a worker
reads the database in its own transaction and sees only committed rows, and the inline run
commits what the job does. A job failure never reaches the caller: inline it is logged and rolled
back, on a worker RQ records it (failed job registry). While Redis does not answer, jobs run
inline too (logged as a warning), so the product keeps serving.

Every job is safe to run twice (RQ retries, a second scheduler, a rerun by hand); each task in
:mod:`wellness.jobs.tasks` says why.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError

from wellness.extensions import db

#: Queues in the order a worker serves them: mail is small and urgent, imports are long.
QUEUES = ("mail", "default", "imports")


@dataclass(frozen=True)
class JobSpec:
    #: Dotted path of the function the worker imports.
    path: str
    queue: str
    #: Seconds before RQ stops the job (and, for a killed worker, gives it up as abandoned).
    timeout: int = 10 * 60
    #: RQ retries after a failure or an abandoned run (the job must be idempotent).
    retries: int = 0


#: The jobs by name, as :func:`enqueue` and the scheduler use them.
JOBS: dict[str, JobSpec] = {
    "send_mail": JobSpec("wellness.jobs.tasks.send_mail", "mail", timeout=5 * 60),
    "send_reminders": JobSpec("wellness.jobs.tasks.send_reminders", "default"),
    "purge_expired": JobSpec("wellness.jobs.tasks.purge_expired", "default", timeout=60 * 60),
    "rebuild_rollups": JobSpec("wellness.jobs.tasks.rebuild_rollups", "default", timeout=60 * 60),
    "import_attendance": JobSpec(
        "wellness.jobs.imports.run_import", "imports", timeout=30 * 60, retries=2
    ),
}


class JobsNotConfigured(RuntimeError):
    """Raised by worker and scheduler when ``REDIS_URL`` is not set (jobs run inline)."""


def is_inline(app: Flask | None = None) -> bool:
    """Whether jobs run in the caller's process (no ``REDIS_URL``)."""
    return not (app or current_app).config.get("REDIS_URL")


def prefix(app: Flask | None = None) -> str:
    """Namespace of our queue names (``JOB_QUEUE_PREFIX``), so deployments or test runs sharing
    one Redis never see each other's jobs."""
    return str((app or current_app).config.get("JOB_QUEUE_PREFIX") or "wellness")


def queue_name(queue: str, app: Flask | None = None) -> str:
    return f"{prefix(app)}-{queue}"


def redis_connection(app: Flask | None = None) -> Redis:
    """One client (and connection pool) per app; raises :class:`JobsNotConfigured` inline."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    url = app.config.get("REDIS_URL")
    if not url:
        raise JobsNotConfigured(
            "REDIS_URL is not set: background jobs run inline in the web process, so there is "
            "no queue to serve. Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to use a worker."
        )
    client: Redis | None = app.extensions.get("wellness_jobs_redis")
    if client is None:
        # Fail fast when Redis is unreachable (the job then runs inline); no read timeout, as
        # the worker's blocking dequeue waits on the socket for minutes.
        client = Redis.from_url(url, socket_connect_timeout=2)
        app.extensions["wellness_jobs_redis"] = client
    return client


def _resolve(job: str | Callable[..., Any]) -> tuple[Callable[..., Any], JobSpec]:
    if isinstance(job, str):
        spec = JOBS.get(job)
        if spec is None:
            raise ValueError(f"unknown job {job!r}; known jobs: {', '.join(sorted(JOBS))}")
    else:
        path = f"{job.__module__}.{job.__qualname__}"
        spec = next((s for s in JOBS.values() if s.path == path), JobSpec(path, "default"))
    module, _dot, name = spec.path.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function, spec


def enqueue(job: str | Callable[..., Any], *args: Any, **kwargs: Any) -> str | None:
    """Run ``job(*args, **kwargs)`` in the background; returns the RQ job id (None inline).

    Commit first (see the module docstring). Arguments must be picklable and small: pass ids,
    not rows or files (the worker loads them from the database).
    """
    function, spec = _resolve(job)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not is_inline(app):
        from rq import Queue, Retry

        queue = Queue(queue_name(spec.queue, app), connection=redis_connection(app))
        try:
            enqueued = queue.enqueue_call(
                spec.path,
                args=args,
                kwargs=kwargs,
                timeout=spec.timeout,
                retry=Retry(max=spec.retries) if spec.retries else None,
                job_id=f"{prefix(app)}-{uuid.uuid4().hex}",
                result_ttl=60 * 60,
                failure_ttl=7 * 24 * 60 * 60,
            )
        except RedisError as exc:
            # Redis down: keep serving, do the work here as without Redis.
            app.logger.warning("Redis unavailable (%s): job %s runs inline", exc, spec.path)
        else:
            return str(enqueued.id)
    try:
        function(*args, **kwargs)
    except Exception:  # noqa: BLE001 - as on a worker, a failed job does not fail the caller
        db.session.rollback()
        app.logger.exception("job %s failed (inline)", spec.path)
    return None


def queue_depth(app: Flask | None = None) -> dict[str, int]:
    """Jobs waiting per queue (short names: mail, default, imports); ``{}`` inline or while
    Redis does not answer.

    For the Prometheus gauge: cheap (one LLEN per queue).
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if is_inline(app):
        return {}
    from rq import Queue

    connection = redis_connection(app)
    try:
        return {name: Queue(queue_name(name, app), connection=connection).count for name in QUEUES}
    except RedisError:
        return {}
