"""Helpers shared by every HTML form view."""

from __future__ import annotations

from flask import request


def form_status() -> int:
    """A form shown again after a POST carries errors: answer 400, not 200."""
    return 400 if request.method == "POST" else 200
