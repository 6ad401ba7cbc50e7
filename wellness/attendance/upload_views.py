"""Provider pages: attendance upload, preview and confirmation."""

from __future__ import annotations

from flask import Blueprint

upload_bp = Blueprint("attendance", __name__, url_prefix="/provider")
