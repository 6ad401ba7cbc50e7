"""Provider endpoints: their offerings and rosters."""

from __future__ import annotations
