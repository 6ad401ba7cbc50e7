"""Settings: development works with no variables; production names every unsafe setting."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from wellness.config import ConfigError, load_settings

#: A production environment that passes every check; tests remove or spoil one thing at a time.
PRODUCTION = {
    "WELLNESS_ENV": "production",
    "SECRET_KEY": "x" * 48,
    "DATABASE_URL": "postgresql+psycopg://wellness@db.internal:5432/wellness",
    "BASE_URL": "https://wellness.example",
    "MAIL_SERVER": "smtp.example",
}


def test_complete_production_settings_are_accepted(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ=dict(PRODUCTION))
    assert settings.is_production
    config = settings.as_flask_config()
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["PREFERRED_URL_SCHEME"] == "https"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY is required in production"),
        ({"SECRET_KEY": "too-short"}, "SECRET_KEY must be at least 32 characters"),
        ({"DATABASE_URL": None}, "DATABASE_URL must point at PostgreSQL in production"),
        ({"DATABASE_URL": "sqlite:////srv/w.sqlite"}, "DATABASE_URL must point at PostgreSQL"),
        ({"BASE_URL": "http://wellness.example"}, "BASE_URL must start with https://"),
        ({"BASE_URL": None}, "BASE_URL must start with https://"),
        ({"MAIL_SERVER": None}, "MAIL_SERVER is required in production"),
        ({"MAIL_SERVER": ""}, "MAIL_SERVER is required in production"),
    ],
)
def test_production_refuses_an_unsafe_setting(
    tmp_path: Path, change: dict[str, str | None], expected: str
) -> None:
    environ = dict(PRODUCTION)
    for key, value in change.items():
        if value is None:
            environ.pop(key)
        else:
            environ[key] = value
    with pytest.raises(ConfigError, match=expected):
        load_settings(tmp_path, environ=environ)
    assert not (tmp_path / "secret_key").exists(), "production must never invent a secret"


def test_production_lists_every_problem_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(tmp_path, environ={"WELLNESS_ENV": "production"})
    message = str(excinfo.value)
    for name in ("SECRET_KEY", "DATABASE_URL", "BASE_URL", "MAIL_SERVER"):
        assert name in message
    assert message.count("\n- ") == 4


def test_heroku_style_postgres_scheme_is_refused_everywhere(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="postgresql\\+psycopg://"):
        load_settings(tmp_path, environ={"DATABASE_URL": "postgres://u@h/db"})


def test_development_generates_and_keeps_a_secret_key(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    first = load_settings(instance, environ={})
    second = load_settings(instance, environ={"WELLNESS_ENV": "development"})
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    key_file = instance / "secret_key"
    assert key_file.read_text().strip() == first.secret_key
    assert key_file.stat().st_mode & 0o077 == 0, "the key file must be private to its owner"


def _development_keys(start_at: float, instances: list[Path]) -> list[str]:
    """Run in a separate process: the key each instance path gives this process."""
    time.sleep(max(0.0, start_at - time.time()))
    return [load_settings(instance, environ={}).secret_key for instance in instances]


def test_processes_starting_together_share_one_complete_development_key(tmp_path: Path) -> None:
    """Test and server workers all start on a fresh checkout at the same moment."""
    instances = [tmp_path / f"instance-{n}" for n in range(300)]
    # Each process walks the same fresh instance paths, all starting at the same moment.
    start_at = time.time() + 1.5
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        per_process = pool.starmap(_development_keys, [(start_at, instances)] * 4, chunksize=1)
    for instance, keys in zip(instances, zip(*per_process, strict=True), strict=True):
        assert len(set(keys)) == 1, f"{instance.name}: processes got different keys {keys}"
        assert len(keys[0]) >= 32, f"{instance.name}: a process read a half-written key"


def test_development_defaults_to_sqlite_under_the_instance_path(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.env == "development"
    assert settings.database_url == f"sqlite:///{tmp_path / 'wellness.sqlite'}"
    assert settings.mail_port == 25


def test_development_uses_a_given_secret_key_and_writes_none(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={"SECRET_KEY": "given"})
    assert settings.secret_key == "given"
    assert not (tmp_path / "secret_key").exists()


def test_bad_mail_port_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MAIL_PORT must be a whole number, got 'smtp'"):
        load_settings(tmp_path, environ={"MAIL_PORT": "smtp"})


def test_mail_settings_are_read(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        environ={"MAIL_SERVER": "smtp.example", "MAIL_PORT": "587", "MAIL_USE_TLS": "true"},
    )
    assert (settings.mail_server, settings.mail_port, settings.mail_use_tls) == (
        "smtp.example",
        587,
        True,
    )


@pytest.mark.parametrize("mode", ["prod", "producton", "staging"])
def test_unknown_wellness_env_is_refused(tmp_path: Path, mode: str) -> None:
    with pytest.raises(ConfigError, match=f"WELLNESS_ENV must be .* got '{mode}'"):
        load_settings(tmp_path, environ={"WELLNESS_ENV": mode})
