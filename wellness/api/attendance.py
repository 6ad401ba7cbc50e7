"""Provider endpoint: attendance upload (dry run for the preview)."""

from __future__ import annotations
