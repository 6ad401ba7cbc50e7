"""Certificate download for the participant and public verification by code."""

from __future__ import annotations

from flask import Blueprint

certificates_bp = Blueprint("certificates", __name__)
