"""Gunicorn settings for wellness, read by ``wellness serve`` (and ``make run``).

Every value can be set from the environment, so the same file serves a laptop and a container:
``gunicorn --config infra/gunicorn.conf.py 'wellness:create_app()'``. Without this file,
``gunicorn 'wellness:create_app()'`` still works with gunicorn's defaults and the app's own
environment variables.
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


# Loopback by default: a development machine should not expose the app to its network by
# accident. In a container, set GUNICORN_BIND=0.0.0.0:8000. ``--bind`` on the command line
# (as ``wellness serve --bind`` passes it) wins over this file.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# The usual (2 x cores) + 1, capped: each worker holds its own Dash app and database pool,
# so more processes cost memory and connections without helping an I/O-bound app.
# WEB_CONCURRENCY is the conventional override (Heroku, Render, uvicorn, gunicorn docs).
workers = _int("WEB_CONCURRENCY", min(2 * (os.cpu_count() or 1) + 1, 8))

# Threads inside each worker: requests mostly wait on the database, and threads let one
# process serve several of them without a worker per request. gthread also keeps idle
# keep-alive connections from blocking a worker.
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

# Kill a worker stuck longer than this (a hung query, a runaway report), so it cannot hold
# its slot forever. The CSV import and dashboard callbacks finish well within it.
timeout = _int("GUNICORN_TIMEOUT", 60)
# Time given to in-flight requests on restart or shutdown before workers are killed.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Behind a load balancer that reuses connections, keep-alive must outlast its idle timeout.
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then so a slow leak (in our code or a library) cannot grow
# without bound; jitter avoids all workers restarting at once. Rarely: a new worker spends
# about 1.5 s of CPU building the app, which at 2,000 requests cost a visible share of a loaded
# 2-core machine (benchmarks/README.md).
max_requests = _int("GUNICORN_MAX_REQUESTS", 50000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 5000)

# Logs go to stdout/stderr: the process supervisor (systemd, the container runtime) collects
# them; the app never writes log files of its own.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Trust X-Forwarded-* only from the reverse proxy; the default (loopback) suits a proxy on
# the same host. Set FORWARDED_ALLOW_IPS to the proxy's address in other setups; "*" is
# only safe when nothing but the proxy can reach gunicorn.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Off on purpose: each worker builds its own app after the fork, so database connections
# and pools are never shared between processes (a pool opened before fork breaks in the
# children), and code reloads on HUP pick up new code.
preload_app = False
