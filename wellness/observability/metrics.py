"""Prometheus metrics: request latency and errors, job queue depth, attendance import time.

Under gunicorn every worker is its own process with its own counters. Set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by the workers (wiped before each
start; infra/gunicorn.conf.py marks dead workers) and ``/metrics`` adds up all of them;
without it each scrape sees the one process that answered (fine for a single process).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUEST_LATENCY = Histogram(
    "wellness_http_request_duration_seconds",
    "Time from the start of a request to its response, by route template.",
    ["method", "route", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
REQUEST_ERRORS = Counter(
    "wellness_http_request_errors_total",
    "Responses with a 5xx status (unhandled errors included), by route template.",
    ["method", "route", "status"],
)
IMPORT_DURATION = Histogram(
    "wellness_attendance_import_duration_seconds",
    "Duration of one attendance import (check and store), by mode and outcome.",
    ["mode", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(method, route, f"{status // 100}xx").observe(seconds)
    if status >= 500:
        REQUEST_ERRORS.labels(method, route, str(status)).inc()


F = TypeVar("F", bound=Callable[..., Any])


def observe_import(import_function: F) -> F:
    """Time each call of the attendance import, labelled by mode and outcome."""

    @wraps(import_function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        mode = "dry_run" if kwargs.get("dry_run") else "commit"
        started = time.perf_counter()
        outcome = "failed"
        try:
            report = import_function(*args, **kwargs)
            if not getattr(report, "ok", True):
                outcome = "refused"
            else:
                outcome = "checked" if mode == "dry_run" else "stored"
            return report
        finally:
            IMPORT_DURATION.labels(mode, outcome).observe(time.perf_counter() - started)

    return timed  # type: ignore[return-value]


class QueueDepthCollector(Collector):
    """Jobs waiting per queue, asked at scrape time from ``wellness.jobs.queue_depth()``.

    Reports nothing when the job module is absent or the queue backend cannot be reached:
    a metrics scrape must not fail because Redis is down (readyz says that).
    """

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            from wellness.jobs import queue_depth  # type: ignore[attr-defined, unused-ignore]

            depths = queue_depth()
        except Exception:  # noqa: BLE001 - no queue, no figure
            return []
        family = GaugeMetricFamily(
            "wellness_job_queue_depth", "Jobs waiting in each queue.", labels=["queue"]
        )
        for queue, depth in sorted(depths.items()):
            family.add_metric([str(queue)], float(depth))
        return [family]


_QUEUE_COLLECTOR = QueueDepthCollector()
REGISTRY.register(_QUEUE_COLLECTOR)


def registry() -> CollectorRegistry:
    """The registry to export: this process's, or every worker's in multiprocess mode."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(_QUEUE_COLLECTOR)
    return registry
