"""Logs, request ids and metrics: what the operator sees of a running deployment."""

from __future__ import annotations

from flask import Flask


def init_observability(app: Flask) -> None:
    """Configure logging for the process, stamp requests, serve ``/metrics``."""
    from flask.logging import default_handler

    from wellness.observability.logs import configure_logging
    from wellness.observability.requests import init_request_logging
    from wellness.observability.views import metrics_view

    configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    # Our root handler writes app.logger's records; Flask's own would print them twice, unredacted.
    app.logger.removeHandler(default_handler)
    init_request_logging(app)
    app.add_url_rule("/metrics", "metrics", metrics_view)
