"""Employee endpoints: consents, data export, erasure of health data."""

from __future__ import annotations
