"""HR looking at an aggregate, the same way from the API, the dashboard and its downloads:
the figure comes from :func:`wellness.analytics.measures.run`, and every look is audit-logged
with what was asked (measure, grouping, filters), never with the figures."""

from __future__ import annotations

from typing import Any

from wellness.analytics.measures import Spec
from wellness.audit.services import record


def record_view(
    employer_id: int, actor_id: int, spec: Spec, *, channel: str, refused: bool = False
) -> None:
    """``channel`` says where HR looked: ``api``, ``dashboard`` or ``download``."""
    details: dict[str, Any] = {
        "measure": spec.measure,
        "group_by": spec.group_by.value,
        "period": spec.period.key(),
        "channel": channel,
    }
    if spec.department_id is not None:
        details["department"] = spec.department_id
    if spec.site_id is not None:
        details["site"] = spec.site_id
    if refused:
        details["refused"] = True
    record(
        "hr.analytics_viewed",
        actor_id=actor_id,
        employer_id=employer_id,
        target_type="measure",
        target_id=spec.measure,
        details=details,
    )
