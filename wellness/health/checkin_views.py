"""Employee pages: pain check-in and the own trend chart."""

from __future__ import annotations

from flask import Blueprint

checkins_bp = Blueprint("checkins", __name__)
