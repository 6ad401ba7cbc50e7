"""Log records as one JSON object per line (production) or readable text (development).

Logs leave the process to whoever runs it (container runtime, log shipper, support staff), so
they must never carry health data or credentials. Callers log ids and route templates only; the
:class:`RedactingFilter` is the second line: it masks anything that still looks like an API token,
a bearer header, a password field or SQL parameters before a record is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

#: Attributes a log call may attach with ``extra=``; everything else on a record is ignored.
CONTEXT_FIELDS = (
    "request_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "user_id",
    "employer_id",
)

REDACTED = "[redacted]"

#: What a secret looks like in text that escaped the first line of defence.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Our API tokens (wellness.auth.services.TOKEN_PREFIX) wherever they appear.
    (re.compile(r"wl_[A-Za-z0-9_\-]{6,}"), "wl_" + REDACTED),
    # Authorization headers of any scheme.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+"), r"\1 " + REDACTED),
    # password=..., "password": "...", passwort: ..., secret / token / cookie fields.
    (
        re.compile(
            r"(?i)([\"']?\b[\w-]*(?:password|passwort|secret|token|cookie|authorization)[\w-]*"
            r"[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
        ),
        r"\1" + REDACTED,
    ),
    # SQLAlchemy puts the statement's bound values into exception messages.
    (
        re.compile(r"\[parameters: .*?\](?=\s*(?:\n|\(Background|$))", re.S),
        "[parameters: " + REDACTED + "]",
    ),
)


def redact(text: str) -> str:
    """``text`` with every token, bearer header, password field and SQL parameter masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in the message and the traceback of every record a handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RequestContextFilter(logging.Filter):
    """Stamps records logged during a request with its request id (when none was given)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            from flask import g, has_request_context

            if has_request_context():
                record.request_id = g.get("request_id")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Development: a readable line, with the request context appended when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None) is not None
        )
        if not context:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} [{context}]{newline}{rest}"


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test capture replaces it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always the current sys.stderr


#: Libraries whose debug output carries values (SQL parameters, HTTP headers): kept quiet even
#: when the root logger is set to DEBUG. Set a level on them explicitly to debug them.
NOISY_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool", "urllib3", "authlib", "werkzeug")

HANDLER_NAME = "wellness"


def make_handler(log_format: str) -> logging.Handler:
    handler = StderrHandler()
    handler.set_name(HANDLER_NAME)
    handler.addFilter(RequestContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def configure_logging(log_format: str, level: str) -> None:
    """Install our handler on the root logger (once per process; replaced on a second call)."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(make_handler(log_format))
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        noisy = logging.getLogger(name)
        if noisy.level == logging.NOTSET:
            noisy.setLevel(logging.WARNING)
