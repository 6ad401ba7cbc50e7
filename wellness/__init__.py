"""wellness: certified prevention courses, ergonomics and pain check-ins for employers.

``create_app()`` is the only way to get an application (no global app object).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from wellness.config import load_settings


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app with the Dash dashboard mounted at ``/hr/``.

    ``config`` overrides settings read from the environment (tests pass a database URL).
    """
    app = Flask(__name__, instance_relative_config=True)
    instance_path = Path(app.instance_path)
    app.config.from_mapping(load_settings(instance_path).as_flask_config())
    if config:
        app.config.update(config)

    from wellness import extensions, models  # noqa: F401  (models: complete the metadata)
    from wellness.sqlite import enable_sqlite_foreign_keys

    extensions.db.init_app(app)
    extensions.migrate.init_app(
        app,
        extensions.db,
        directory=str(Path(__file__).resolve().parent.parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    extensions.csrf.init_app(app)
    with app.app_context():
        enable_sqlite_foreign_keys(extensions.db.engine)

    from wellness.health.pain_months import keep_current

    keep_current()

    from wellness.analytics import data_version

    data_version.install()

    from wellness.auth.session import init_login
    from wellness.i18n import init_i18n

    init_login(app)
    init_i18n(app)

    from wellness.web import register_web

    register_web(app)

    from wellness.ratelimit import init_rate_limits

    init_rate_limits(app)

    from dashboards import init_dashboard

    init_dashboard(app)

    from wellness.cli import register_cli

    register_cli(app)
    return app
