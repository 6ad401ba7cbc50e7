"""Shipped checklist templates and how a response is scored.

Templates live as JSON under ``data/checklists`` so health & safety experts can review and
version them without touching code; a changed checklist gets a new ``version`` and old responses
keep pointing at the version they answered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from wellness.db import utcnow
from wellness.extensions import db
from wellness.health.models import AnswerType, ChecklistItem, ChecklistTemplate, Choice

TEMPLATE_DIR = Path(__file__).resolve().parent / "data" / "checklists"


def _template_from_json(data: dict[str, Any]) -> ChecklistTemplate:
    template = ChecklistTemplate(
        key=data["key"],
        version=data["version"],
        employer_id=None,
        title_de=data["title_de"],
        title_en=data["title_en"],
        published_at=utcnow(),
    )
    template.items = [
        ChecklistItem(
            key=item["key"],
            area=item["area"],
            position=position,
            question_de=item["question_de"],
            question_en=item["question_en"],
            help_de=item.get("help_de", ""),
            help_en=item.get("help_en", ""),
            answer_type=AnswerType(item.get("answer_type", AnswerType.CHOICE)).value,
            weight=item.get("weight", 1),
            number_min=item.get("number_min"),
            number_max=item.get("number_max"),
            unit=item.get("unit"),
            suggested_measure=item.get("suggested_measure"),
        )
        for position, item in enumerate(data["items"], start=1)
    ]
    return template


def load_shipped_templates() -> list[ChecklistTemplate]:
    """Return the shipped templates, creating those not yet stored (by key and version).

    Only flushes, so callers (migrations, CLI, the demo seed) decide when to commit. An existing
    key+version is never rewritten: responses refer to its items.
    """
    templates = []
    for path in sorted(TEMPLATE_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        existing = db.session.scalar(
            select(ChecklistTemplate).where(
                ChecklistTemplate.key == data["key"],
                ChecklistTemplate.version == data["version"],
                ChecklistTemplate.employer_id.is_(None),
            )
        )
        if existing is None:
            existing = _template_from_json(data)
            db.session.add(existing)
            db.session.flush()
        templates.append(existing)
    return templates


def answer_is_fine(item: ChecklistItem, choice: str | None, number: float | None) -> float | None:
    """How far one answer meets the requirement (1, 0.5 or 0); None when it does not count.

    "partly" counts half so that a nearly right workstation is not scored like a missing one.
    """
    if item.answer_type == AnswerType.NUMBER.value:
        if number is None:
            return None
        low = item.number_min if item.number_min is not None else float("-inf")
        high = item.number_max if item.number_max is not None else float("inf")
        return 1.0 if low <= number <= high else 0.0
    return {Choice.YES.value: 1.0, Choice.PARTLY.value: 0.5, Choice.NO.value: 0.0}.get(choice or "")


def score_answers(answers: list[tuple[ChecklistItem, str | None, float | None]]) -> int | None:
    """Weighted share of items answered fine, 0-100; None when nothing applicable was answered."""
    total = achieved = 0.0
    for item, choice, number in answers:
        fine = answer_is_fine(item, choice, number)
        if fine is None:
            continue
        total += item.weight
        achieved += item.weight * fine
    if total == 0:
        return None
    return round(100 * achieved / total)
