"""Employee endpoints: own pain check-ins and training log."""

from __future__ import annotations
