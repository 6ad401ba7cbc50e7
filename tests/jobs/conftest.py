"""Fixtures of the job tests: Redis mode on the real Redis at 127.0.0.1:6379, isolated per test.

Each test gets its own queue prefix (and so its own queues, job ids, worker names and scheduler
keys) in a Redis database no other suite uses; every key carrying the prefix is deleted after
the test, so concurrent test workers and test runs never see each other's jobs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from redis import Redis

#: Database 0 is left to the app's own rate limits and cache tests.
REDIS_URL = "redis://127.0.0.1:6379/11"


def _purge(client: Redis, prefix: str) -> None:
    for key in client.scan_iter(match=f"*{prefix}*", count=500):
        client.delete(key)
    for members in ("rq:queues", "rq:workers"):
        for member in client.smembers(members):
            if prefix in member.decode():
                client.srem(members, member)


@pytest.fixture
def redis_jobs(app: Flask) -> Iterator[str]:
    """Switch the test app to Redis mode with a queue prefix of its own; yields the prefix."""
    prefix = f"wtest-{uuid.uuid4().hex[:12]}"
    saved = {key: app.config.get(key) for key in ("REDIS_URL", "JOB_QUEUE_PREFIX")}
    app.config.update(REDIS_URL=REDIS_URL, JOB_QUEUE_PREFIX=prefix)
    app.extensions.pop("wellness_jobs_redis", None)
    client = Redis.from_url(REDIS_URL)
    try:
        yield prefix
    finally:
        _purge(client, prefix)
        client.close()
        cached = app.extensions.pop("wellness_jobs_redis", None)
        if cached is not None:
            cached.close()
        app.config.update(saved)


@pytest.fixture
def background_imports(app: Flask) -> Iterator[None]:
    """Every attendance file counts as large (imported by the job)."""
    saved = app.config.get("ATTENDANCE_JOB_BYTES")
    app.config["ATTENDANCE_JOB_BYTES"] = 16
    try:
        yield
    finally:
        app.config["ATTENDANCE_JOB_BYTES"] = saved
