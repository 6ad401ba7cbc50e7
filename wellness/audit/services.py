"""Writing audit events. Callers pass names and counts, never the data itself."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import has_request_context, request

from wellness.audit.models import AuditEvent
from wellness.db import utcnow
from wellness.extensions import db


def record(
    action: str,
    *,
    actor_id: int | None = None,
    employer_id: int | None = None,
    provider_id: int | None = None,
    target_type: str | None = None,
    target_id: int | str | None = None,
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Insert one event. ``occurred_at`` (default now) is for data dated in the past, such as
    demo data and tests: an event cannot be changed once written (:mod:`.append_only`)."""
    event = AuditEvent(
        occurred_at=occurred_at or utcnow(),
        action=action,
        actor_id=actor_id,
        employer_id=employer_id,
        provider_id=provider_id,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=json.dumps(details, sort_keys=True) if details else None,
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    db.session.flush()
    return event
