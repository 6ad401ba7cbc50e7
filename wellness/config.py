"""Settings from environment variables, validated once at start.

Development works with no variables at all (SQLite and a generated secret under ``instance/``);
production refuses to start when a setting would be unsafe and says which one.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(RuntimeError):
    """Raised at start when the environment describes an unsafe or broken setup."""


MIN_SECRET_LENGTH = 32
#: Werkzeug's name of the password hash (bandit and ruff flag string literals beside names
#: that say "password"; this is an algorithm, not a secret).
HASH_ALGORITHM = "scrypt"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _dev_secret_key(instance_path: Path) -> str:
    """Keep one random key per checkout so sessions survive restarts in development.

    Several processes may start at once (gunicorn or test workers): each writes a complete key
    to a private file and hard-links it into place, so the first one wins and nobody reads a
    half-written file.
    """
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        draft = instance_path / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first; use its key
        finally:
            draft.unlink()
    return path.read_text().strip()


@dataclass
class Settings:
    """The validated environment, turned into Flask config keys by :meth:`as_flask_config`."""

    env: str
    database_url: str
    secret_key: str
    redis_url: str | None
    mail_server: str | None
    mail_port: int
    mail_username: str | None
    mail_password: str | None
    mail_use_tls: bool
    mail_sender: str
    base_url: str
    attendance_max_bytes: int = 5 * 1024 * 1024
    attendance_max_rows: int = 200_000
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def as_flask_config(self) -> dict[str, Any]:
        return {
            "ENV_NAME": self.env,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "REDIS_URL": self.redis_url,
            "RATELIMIT_STORAGE_URI": self.redis_url or "memory://",
            #: Redis down: count the same limits in each process's memory (so N processes allow
            #: up to N times the limit) and go back to Redis when it answers; never fail a request.
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "RATELIMIT_SWALLOW_ERRORS": True,
            "MAIL_SERVER": self.mail_server,
            "MAIL_PORT": self.mail_port,
            "MAIL_USERNAME": self.mail_username,
            "MAIL_PASSWORD": self.mail_password,
            "MAIL_USE_TLS": self.mail_use_tls,
            "MAIL_SENDER": self.mail_sender,
            "BASE_URL": self.base_url,
            "SESSION_COOKIE_SECURE": self.is_production,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.is_production,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "PREFERRED_URL_SCHEME": "https" if self.is_production else "http",
            "BABEL_DEFAULT_LOCALE": "de",
            "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
            "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
            "PASSWORD_HASH_METHOD": HASH_ALGORITHM,
            #: Per-IP throttle on sign-in and reset requests (Flask-Limiter syntax).
            "LOGIN_RATE_LIMIT": "10 per minute;100 per hour",
            #: Per API token (or per address without one), and per address on top.
            "API_RATE_LIMIT": "300 per minute",
            "API_ADDRESS_RATE_LIMIT": "1200 per minute",
            #: Per-IP throttle on the public certificate check (guessing verification codes).
            "VERIFY_RATE_LIMIT": "20 per minute;200 per hour",
            #: Attendance files: largest upload and most data rows accepted.
            "ATTENDANCE_MAX_BYTES": self.attendance_max_bytes,
            "ATTENDANCE_MAX_ROWS": self.attendance_max_rows,
            **self.extra,
        }


def load_settings(instance_path: Path, environ: dict[str, str] | None = None) -> Settings:
    """Read and validate the environment. Raises :class:`ConfigError` listing every problem."""
    env = dict(os.environ if environ is None else environ)
    mode = env.get("WELLNESS_ENV", "development").strip().lower()
    if mode not in {"development", "production", "testing"}:
        raise ConfigError(f"WELLNESS_ENV must be development, production or testing, got {mode!r}")
    production = mode == "production"
    problems: list[str] = []

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'wellness.sqlite'}"
    if database_url.startswith("postgres://"):
        problems.append("DATABASE_URL must use postgresql+psycopg://, not postgres://")
    if production and database_url.startswith("sqlite"):
        problems.append("DATABASE_URL must point at PostgreSQL in production, not SQLite")

    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if production:
            problems.append("SECRET_KEY is required in production (at least 32 random characters)")
        else:
            secret_key = _dev_secret_key(instance_path)
    elif production and len(secret_key) < MIN_SECRET_LENGTH:
        problems.append(f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production")

    base_url = env.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    if production and not base_url.startswith("https://"):
        problems.append("BASE_URL must start with https:// in production")

    mail_server = env.get("MAIL_SERVER") or None
    if production and not mail_server:
        problems.append("MAIL_SERVER is required in production (password resets are sent by mail)")

    try:
        mail_port = _int(env, "MAIL_PORT", 25)
    except ConfigError as exc:
        problems.append(str(exc))
        mail_port = 25

    limits: dict[str, int] = {}
    for name, default in (
        ("ATTENDANCE_MAX_BYTES", 5 * 1024 * 1024),
        ("ATTENDANCE_MAX_ROWS", 200_000),
    ):
        try:
            limits[name.lower()] = _int(env, name, default)
        except ConfigError as exc:
            problems.append(str(exc))

    # Observability (wellness/observability): JSON lines in production, text in development.
    log_format = (env.get("LOG_FORMAT") or ("json" if production else "text")).strip().lower()
    if log_format not in {"json", "text"}:
        problems.append(f"LOG_FORMAT must be json or text, got {log_format!r}")
    log_level = (env.get("LOG_LEVEL") or "INFO").strip().upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        problems.append(
            f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {log_level!r}"
        )
    metrics_token = env.get("METRICS_TOKEN") or None
    if metrics_token is not None and len(metrics_token) < MIN_SECRET_LENGTH:
        problems.append(f"METRICS_TOKEN must be at least {MIN_SECRET_LENGTH} characters")

    # Background jobs (wellness/jobs): larger attendance files are imported by a job (0: never).
    jobs: dict[str, Any] = {"JOB_QUEUE_PREFIX": env.get("JOB_QUEUE_PREFIX") or "wellness"}
    try:
        jobs["ATTENDANCE_JOB_BYTES"] = _int(env, "ATTENDANCE_JOB_BYTES", 512 * 1024)
    except ConfigError as exc:
        problems.append(str(exc))

    if problems:
        raise ConfigError("Unsafe or invalid configuration:\n- " + "\n- ".join(problems))

    return Settings(
        env=mode,
        database_url=database_url,
        secret_key=secret_key,
        redis_url=env.get("REDIS_URL") or None,
        mail_server=mail_server,
        mail_port=mail_port,
        mail_username=env.get("MAIL_USERNAME") or None,
        mail_password=env.get("MAIL_PASSWORD") or None,
        mail_use_tls=_bool(env.get("MAIL_USE_TLS")),
        mail_sender=env.get("MAIL_SENDER", "wellness <no-reply@wellness.example>"),
        base_url=base_url,
        attendance_max_bytes=limits.get("attendance_max_bytes", 0),
        attendance_max_rows=limits.get("attendance_max_rows", 0),
        extra={
            "LOG_FORMAT": log_format,
            "LOG_LEVEL": log_level,
            "METRICS_TOKEN": metrics_token,
            **jobs,
        },
    )
