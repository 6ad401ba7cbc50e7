"""Employee endpoints: own checklist responses."""

from __future__ import annotations
