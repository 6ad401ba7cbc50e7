"""Employee pages: workstation checklist, its result and measure requests."""

from __future__ import annotations

from flask import Blueprint

checklists_bp = Blueprint("checklists", __name__)
