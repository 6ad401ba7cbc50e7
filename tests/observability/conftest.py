"""Helpers for reading what the app writes to stderr: the log as the operator sees it."""

from __future__ import annotations

import json
from typing import Any

import pytest


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every JSON log line in captured stderr (other output, e.g. warnings, is skipped)."""
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


@pytest.fixture
def json_app(make_app):  # type: ignore[no-untyped-def]
    """An app logging JSON lines, as in production."""
    return make_app(LOG_FORMAT="json", LOG_LEVEL="INFO")
