"""The observability settings: JSON logs by default in production, refused bad values."""

from __future__ import annotations

import pytest

from wellness.config import ConfigError, load_settings

PRODUCTION = {
    "WELLNESS_ENV": "production",
    "DATABASE_URL": "postgresql+psycopg://u@db/wellness",
    "SECRET_KEY": "s" * 40,
    "BASE_URL": "https://wellness.example",
    "MAIL_SERVER": "smtp.example",
}


def test_production_logs_json_and_development_text(tmp_path):
    production = load_settings(tmp_path, PRODUCTION).as_flask_config()
    development = load_settings(tmp_path, {"WELLNESS_ENV": "development"}).as_flask_config()
    assert production["LOG_FORMAT"] == "json"
    assert development["LOG_FORMAT"] == "text"
    assert development["LOG_LEVEL"] == "INFO"
    assert development["METRICS_TOKEN"] is None
    chosen = load_settings(tmp_path, {**PRODUCTION, "LOG_FORMAT": "TEXT", "LOG_LEVEL": "debug"})
    assert chosen.as_flask_config()["LOG_FORMAT"] == "text"
    assert chosen.as_flask_config()["LOG_LEVEL"] == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be json or text, got 'xml'"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL"),
        ("METRICS_TOKEN", "short", "METRICS_TOKEN must be at least 32 characters"),
    ],
)
def test_bad_observability_settings_are_refused_by_name(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path, {"WELLNESS_ENV": "development", name: value})
