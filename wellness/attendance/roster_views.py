"""Provider pages: participants of an offering and the roster download."""

from __future__ import annotations

from flask import Blueprint

roster_bp = Blueprint("roster", __name__, url_prefix="/provider")
