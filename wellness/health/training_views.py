"""Employee pages: home training log."""

from __future__ import annotations

from flask import Blueprint

training_bp = Blueprint("training", __name__)
