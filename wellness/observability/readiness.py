"""Readiness of the shared services beyond the database (which ``/readyz`` checks itself)."""

from __future__ import annotations

from flask import current_app

#: Seconds a probe waits for Redis: well under the probe's own timeout (infra/k8s).
REDIS_TIMEOUT = 1.0


def redis_reachable() -> bool | None:
    """``None`` when no Redis is configured, else whether it answers a PING."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    import redis

    clients = current_app.extensions.setdefault("wellness_readiness_redis", {})
    client = clients.get(url)
    if client is None:
        client = clients[url] = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
