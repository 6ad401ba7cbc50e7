"""Gunicorn settings for wellness, read by ``wellness serve`` (and ``make run``, the container).

Every value can be set from the environment, so the same file serves a laptop, a container and
a Kubernetes pod: ``gunicorn --config infra/gunicorn.conf.py 'wellness:create_app()'``. Without
this file, ``gunicorn 'wellness:create_app()'`` still works with gunicorn's defaults and the
app's own environment variables. Sizing and the measurements behind it: infra/README.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _cpus() -> int:
    """CPUs this process may really use: a container's CPU limit (cgroup v2 ``cpu.max``), not
    the host's core count that ``os.cpu_count()`` reports inside a pod on a 32-core node."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            return max(1, round(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# Loopback by default: a development machine should not expose the app to its network by
# accident. The container image sets GUNICORN_BIND=0.0.0.0:8000. ``--bind`` on the command line
# (as ``wellness serve --bind`` passes it) wins over this file.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Workers: (2 x CPUs) + 1, at most 8; on the 2-core machines we size for, 5 processes. A
# request costs 20-45 ms of CPU in Python (benchmarks/README.md: catalog ~45 ms, enrollment ~37
# ms, /readyz ~3 ms), so throughput is bounded by the cores, not by the worker count: 2x4, 4x4
# and 5x4 measured the same. Processes beyond that cost memory (each holds its own app, Dash
# app and database pool, ~165 MB resident) and PostgreSQL connections (workers x pool size per
# instance). Scale out with more instances, not more workers. WEB_CONCURRENCY is the
# conventional override.
workers = _int("WEB_CONCURRENCY", min(2 * _cpus() + 1, 8))

# Threads inside each worker: requests spend part of their time waiting on PostgreSQL, Redis
# and SMTP, and threads let one process serve several of them (the GIL is released while
# waiting). 5 x 4 = 20 requests in flight per 2-core instance. gthread also keeps idle
# keep-alive connections from blocking a worker. Keep workers x threads at or below the
# database pool (SQLAlchemy: 5 + 10 overflow per process) so no thread waits for a connection.
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

# Kill a worker stuck longer than this (a hung query, a runaway report), so it cannot hold its
# slot forever. Large attendance imports run as background jobs when REDIS_URL is set; inline
# (embedded mode) the 100,000-row import takes ~5 s, well within it.
timeout = _int("GUNICORN_TIMEOUT", 60)
# Time given to in-flight requests on restart or shutdown before workers are killed. Below
# Kubernetes' terminationGracePeriodSeconds (infra/k8s/deployment.yaml: 40 s).
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Behind a load balancer that reuses connections, keep-alive must outlast the balancer's idle
# timeout, or the balancer sends a request on a connection gunicorn is just closing (a 502).
# 5 s suits a proxy on the same host; set 65 behind AWS ALB / GCP LB / nginx-ingress defaults.
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then so a slow leak (in our code or a library) cannot grow without
# bound; the jitter (10%) keeps workers from restarting at the same moment. Rarely: a new
# worker spends ~1.5 s of CPU building the app, which at 2,000 requests cost a visible share
# of a loaded 2-core machine (benchmarks/README.md). 0 switches recycling off.
max_requests = _int("GUNICORN_MAX_REQUESTS", 50000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 5000)

# Logs go to stderr; the process supervisor (systemd, the container runtime) collects them and
# the app never writes log files of its own.
#
# No gunicorn access log: the app writes one line per request itself (wellness.request, JSON in
# production) with the request id, the route *template*, status, duration and the user as a
# number. Gunicorn's access log would print the raw path and query string, which can carry
# calendar-feed and password-reset tokens, search terms and e-mail addresses. Set
# GUNICORN_ACCESS_LOG=- only to debug the server itself.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '{"logger":"gunicorn.access","method":"%(m)s","status":"%(s)s","ms":"%(M)s"}'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Gunicorn's own messages (worker boots, timeouts, signals) in the app's format, so one log
# pipeline parses every line: JSON in production, text in development (LOG_FORMAT as in
# wellness/config.py).
_log_format = os.environ.get("LOG_FORMAT") or (
    "json" if os.environ.get("WELLNESS_ENV", "").strip().lower() == "production" else "text"
)
if _log_format.strip().lower() == "json":
    logconfig_dict: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        # The app configures the root logger itself in each worker (wellness/observability).
        "root": {"level": "INFO", "handlers": []},
        "formatters": {"json": {"()": "wellness.observability.logs.JsonFormatter"}},
        "handlers": {
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["error_console"],
                "propagate": False,
            },
        },
    }

# Behind a load balancer: trust X-Forwarded-Proto (and the other forwarded headers) only from
# the proxy's addresses, or any client could claim to have come over HTTPS. The default
# (loopback) suits a proxy on the same host. In Kubernetes the ingress controller's pods have
# changing cluster addresses and nothing else can reach the pod port, so the manifests set the
# pod network's range (e.g. 10.0.0.0/8); "*" is only safe when nothing but the proxy can
# reach gunicorn.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Off on purpose: each worker builds its own app after the fork, so database connections and
# pools are never shared between processes (a pool opened before fork breaks in the children),
# and code reloads on HUP pick up new code.
preload_app = False


# Prometheus multiprocess mode (wellness/observability/metrics.py): with
# PROMETHEUS_MULTIPROC_DIR set, every worker writes its counters to files there and /metrics adds
# them up. The directory must start empty (stale files from a previous run would be counted),
# and a dead worker's live gauges must be dropped.
def on_starting(server: Any) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):  # only the metric files, nothing else
            stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
