"""Employer admin pages: ergonomic measures workflow and checklist templates."""

from __future__ import annotations

from flask import Blueprint

measures_bp = Blueprint("measures", __name__)
