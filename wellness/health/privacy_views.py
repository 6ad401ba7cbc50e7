"""Employee pages: consent, data export and erasure."""

from __future__ import annotations

from flask import Blueprint

privacy_bp = Blueprint("privacy", __name__)
