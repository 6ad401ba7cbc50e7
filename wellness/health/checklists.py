"""Workstation checklists: shipped templates, which version an employee answers, and answering.

Templates live as JSON under ``data/checklists`` so health & safety experts can review and
version them without touching code; a changed checklist gets a new ``version`` and old responses
keep pointing at the version (and so the items) they answered. Employers may publish adapted
copies (:mod:`wellness.health.templates_admin`); an employee answers the current published
version of a shipped template or of one of their employer's copies, nothing else.

Some of the shipped data has no column: the workplace a template is for, the choices an item
allows, plausible input ranges of numbers, and ranges computed from another answer (viewing
distance against screen diagonal). They are read from the JSON by the template's *root key*
(a copy's key starts with the key of the shipped template it came from) and the item key, which
copies keep, so an adapted copy is checked and scored like its original.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.orm import Session, selectinload

from wellness.db import dialect_insert, utcnow
from wellness.errors import Conflict, DomainError, NotFound
from wellness.extensions import db
from wellness.health.checklist_scoring import (
    ALL_CHOICES,
    DEFAULT_RULES,
    Answered,
    Evaluation,
    ItemRules,
    RelativeRange,
    evaluate,
)
from wellness.health.models import (
    AnswerType,
    ChecklistAnswer,
    ChecklistItem,
    ChecklistResponse,
    ChecklistTemplate,
    Choice,
)
from wellness.tenants.models import Employee

TEMPLATE_DIR = Path(__file__).resolve().parent / "data" / "checklists"
#: Shipped keys are lower-case words joined by hyphens; a copy appends ``.<employer>.<n>``.
SHIPPED_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
COPY_SEPARATOR = "."
WORKPLACES = ("office", "home")
#: Whole or decimal numbers as people type them, with a comma or a point: ``65``, ``72,5``.
NUMBER_TEXT = re.compile(r"^\d{1,6}(?:[.,]\d{1,2})?$")

AREA_LABELS = {
    "screen": _l("Screen"),
    "keyboard_mouse": _l("Keyboard and mouse"),
    "chair": _l("Chair"),
    "desk": _l("Desk"),
    "accessories": _l("Document holder and footrest"),
    "lighting": _l("Lighting and glare"),
    "climate_noise": _l("Climate and noise"),
    "breaks": _l("Breaks and task changes"),
    "eyes": _l("Eye tests and vision"),
    "home_office": _l("Home office"),
}
CHOICE_LABELS = {
    Choice.YES.value: _l("Yes"),
    Choice.PARTLY.value: _l("Partly"),
    Choice.NO.value: _l("No"),
    Choice.NOT_APPLICABLE.value: _l("Not applicable"),
}
WORKPLACE_LABELS = {"office": _l("At the office"), "home": _l("At home (home office)")}
UNIT_LABELS = {"cm": _l("cm"), "inch": _l("inches")}


def area_label(area: str) -> str:
    label = AREA_LABELS.get(area)
    return str(label) if label is not None else area


def unit_label(unit: str | None) -> str:
    if unit is None:
        return ""
    label = UNIT_LABELS.get(unit)
    return str(label) if label is not None else unit


@dataclass(frozen=True)
class TemplateRules:
    """The shipped data of a template that has no column (see the module docstring)."""

    workplace: str = "office"
    #: Where the template comes in the employee's list (the general screen check first).
    order: int = 100
    items: Mapping[str, ItemRules] = field(default_factory=dict)

    def item(self, key: str) -> ItemRules:
        return self.items.get(key, DEFAULT_RULES)


# --- shipped data -------------------------------------------------------------------------


def _check_template_data(data: dict[str, Any], path: Path) -> None:
    """Catch mistakes in a reviewed JSON file at load time instead of in an employee's form."""
    problems = []
    if not SHIPPED_KEY.match(str(data.get("key", ""))):
        problems.append("key must be lower-case words joined by hyphens")
    if data.get("workplace", "office") not in WORKPLACES:
        problems.append("workplace must be office or home")
    items = data.get("items") or []
    keys = [item.get("key") for item in items]
    if len(set(keys)) != len(keys):
        problems.append("item keys must be unique")
    number_keys = {i["key"] for i in items if i.get("answer_type") == AnswerType.NUMBER.value}
    for item in items:
        relative = item.get("relative_to")
        if relative and relative.get("item") not in number_keys:
            problems.append(f"{item['key']}: relative_to must name a number item")
        if not set(item.get("choices", ALL_CHOICES)) <= set(ALL_CHOICES):
            problems.append(f"{item['key']}: unknown choice")
    if problems:
        raise ValueError(f"{path.name}: " + "; ".join(problems))


@functools.cache
def shipped_data() -> tuple[dict[str, Any], ...]:
    """Every shipped template file, parsed once per process (the files ship with the code)."""
    found = []
    for path in sorted(TEMPLATE_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        _check_template_data(data, path)
        found.append(data)
    return tuple(found)


def _item_rules(item: dict[str, Any]) -> ItemRules:
    relative = item.get("relative_to")
    return ItemRules(
        choices=tuple(item.get("choices", ALL_CHOICES)),
        input_min=item.get("input_min", DEFAULT_RULES.input_min),
        input_max=item.get("input_max", DEFAULT_RULES.input_max),
        relative_to=RelativeRange(**relative) if relative else None,
    )


@functools.cache
def _rules_by_root() -> dict[str, TemplateRules]:
    """Rules of the newest shipped version of every key."""
    rules: dict[str, TemplateRules] = {}
    for data in sorted(shipped_data(), key=lambda d: d["version"]):
        rules[data["key"]] = TemplateRules(
            workplace=data.get("workplace", "office"),
            order=data.get("order", 100),
            items={item["key"]: _item_rules(item) for item in data["items"]},
        )
    return rules


def root_key(template: ChecklistTemplate) -> str:
    """The shipped template a copy descends from (its own key for a shipped template)."""
    return template.key.split(COPY_SEPARATOR, 1)[0]


def rules_for(template: ChecklistTemplate) -> TemplateRules:
    return _rules_by_root().get(root_key(template), TemplateRules())


def load_shipped_templates() -> list[ChecklistTemplate]:
    """Return the shipped templates, creating those not yet stored (by key and version).

    Only flushes, so callers (the pages, the API, the demo seed) decide when to commit. An
    existing key+version is never rewritten: responses refer to its items. Two first requests
    at once do not collide: the template row is inserted with ``ON CONFLICT DO NOTHING``, and
    only the request whose row went in adds the items.
    """
    stored = {
        (t.key, t.version): t
        for t in db.session.scalars(
            select(ChecklistTemplate).where(ChecklistTemplate.employer_id.is_(None))
        )
    }
    templates = []
    for data in shipped_data():
        ident = (data["key"], data["version"])
        if ident not in stored:
            new_id = db.session.scalar(
                dialect_insert()(ChecklistTemplate)
                .values(
                    key=data["key"],
                    version=data["version"],
                    employer_id=None,
                    title_de=data["title_de"],
                    title_en=data["title_en"],
                    published_at=utcnow(),
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["key", "version"])
                .returning(ChecklistTemplate.id)
            )
            if new_id is not None:
                db.session.execute(
                    insert(ChecklistItem),
                    [
                        _item_row(new_id, position, item)
                        for position, item in enumerate(data["items"], 1)
                    ],
                )
            stored[ident] = db.session.scalars(
                select(ChecklistTemplate).where(
                    ChecklistTemplate.key == data["key"],
                    ChecklistTemplate.version == data["version"],
                )
            ).one()
        templates.append(stored[ident])
    return templates


def _item_row(template_id: int, position: int, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "template_id": template_id,
        "key": item["key"],
        "area": item["area"],
        "position": position,
        "question_de": item["question_de"],
        "question_en": item["question_en"],
        "help_de": item.get("help_de", ""),
        "help_en": item.get("help_en", ""),
        "answer_type": AnswerType(item.get("answer_type", AnswerType.CHOICE)).value,
        "weight": item.get("weight", 1),
        "number_min": item.get("number_min"),
        "number_max": item.get("number_max"),
        "unit": item.get("unit"),
        "suggested_measure": item.get("suggested_measure"),
    }


# --- which template an employee answers ---------------------------------------------------


def _visible_to(employer_id: int) -> Any:
    """Published templates an employer's people may answer: shipped ones and their own copies."""
    return and_(
        ChecklistTemplate.published_at.is_not(None),
        or_(ChecklistTemplate.employer_id.is_(None), ChecklistTemplate.employer_id == employer_id),
    )


def current_templates(employer_id: int) -> list[ChecklistTemplate]:
    """The newest published version of every template the employer's people may answer:
    shipped ones first, in their shipped order, each followed by the employer's copies."""
    latest = (
        select(ChecklistTemplate.key, func.max(ChecklistTemplate.version).label("version"))
        .where(_visible_to(employer_id))
        .group_by(ChecklistTemplate.key)
        .subquery()
    )
    found = db.session.scalars(
        select(ChecklistTemplate)
        .join(
            latest,
            and_(
                ChecklistTemplate.key == latest.c.key,
                ChecklistTemplate.version == latest.c.version,
            ),
        )
        .options(selectinload(ChecklistTemplate.items))
    )
    return sorted(
        found, key=lambda t: (rules_for(t).order, root_key(t), t.employer_id is not None, t.key)
    )


def current_template(employer_id: int, key: str) -> ChecklistTemplate:
    """The version of ``key`` to answer now; another employer's copy does not exist here."""
    found = db.session.scalars(
        select(ChecklistTemplate)
        .where(_visible_to(employer_id), ChecklistTemplate.key == key)
        .order_by(ChecklistTemplate.version.desc())
        .limit(1)
        .options(selectinload(ChecklistTemplate.items))
    ).first()
    if found is None:
        raise NotFound(_("There is no checklist '%(key)s' for you.", key=key[:80]))
    return found


# --- answering ----------------------------------------------------------------------------


class AnswersInvalid(DomainError):
    """Some answers were missing or wrong; nothing was stored. ``problems`` maps each item key
    (or ``workplace`` / ``version``) to what to do."""

    status_code = 422

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        self.summary = _(
            "Some answers are missing or not valid, so nothing was saved. "
            "Please check the marked questions."
        )
        details = "; ".join(f"{key}: {problem}" for key, problem in problems.items())
        super().__init__(f"{self.summary} {details}")


def parse_version(raw: object) -> int:
    """The template version a form or API client says it answered."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 10:
        return int(raw)
    raise AnswersInvalid({"version": _("Send the checklist version as a whole number.")})


def _choice_list(choices: tuple[str, ...]) -> str:
    return ", ".join(f"{CHOICE_LABELS[c]} ({c})" for c in choices)


def _parse_answer(
    item: ChecklistItem, rules: ItemRules, raw: object
) -> tuple[str | None, float | None]:
    """One answer as stored, or :class:`ValueError` with the message for the person."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError(_("Please answer this question."))
    if item.answer_type == AnswerType.NUMBER.value:
        number: float | None = None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            try:
                number = float(raw) if math.isfinite(raw) else None
            except OverflowError:  # an integer beyond any float: not a measurement
                number = None
        elif isinstance(raw, str) and NUMBER_TEXT.match(raw.strip()):
            number = float(raw.strip().replace(",", "."))
        if number is None:
            raise ValueError(_("Enter a number such as 65."))
        if not rules.input_min <= number <= rules.input_max:
            raise ValueError(
                _(
                    "Enter a value between %(low)s and %(high)s %(unit)s.",
                    low=f"{rules.input_min:g}",
                    high=f"{rules.input_max:g}",
                    unit=unit_label(item.unit),
                ).strip()
            )
        return None, round(number, 2)
    if not isinstance(raw, str) or raw not in rules.choices:
        raise ValueError(_("Choose one of: %(choices)s.", choices=_choice_list(rules.choices)))
    return raw, None


def check_answers(
    template: ChecklistTemplate, workplace: object, answers: Mapping[str, object]
) -> list[Answered]:
    """Every item answered validly and nothing else, or :class:`AnswersInvalid` listing all
    problems at once (so a person fixes a form in one go)."""
    rules = rules_for(template)
    problems: dict[str, str] = {}
    if workplace not in WORKPLACES:
        problems["workplace"] = _("Choose where this workstation is: office or home.")
    known = {item.key for item in template.items}
    for key in answers:
        if key not in known:
            problems[str(key)[:80]] = _("This checklist has no question with this key.")
    answered: list[Answered] = []
    for item in template.items:
        try:
            choice, number = _parse_answer(item, rules.item(item.key), answers.get(item.key))
        except ValueError as exc:
            problems[item.key] = str(exc)
            continue
        answered.append((item, choice, number))
    if problems:
        raise AnswersInvalid(problems)
    return answered


def submit_response(
    employee: Employee,
    key: str,
    version: int,
    workplace: object | None,
    answers: Mapping[str, object],
) -> ChecklistResponse:
    """Store a complete, valid response to the current version of ``key``; ``workplace``
    (office or home) defaults to the one the template is for.

    A version other than the current one is refused (an old form left open, or a tampered
    one): its items may differ from what the person saw, so the answers cannot be trusted.
    """
    template = current_template(employee.employer_id, key)
    if version != template.version:
        raise Conflict(
            _(
                "This checklist has changed: you answered version %(sent)d, the current one is "
                "version %(current)d. Please open the checklist again and answer it anew.",
                sent=version,
                current=template.version,
            )
        )
    if workplace is None:
        workplace = rules_for(template).workplace
    answered = check_answers(template, workplace, answers)
    evaluation = evaluate_answers(template, answered)
    response = ChecklistResponse(
        employee_id=employee.id,
        template_id=template.id,
        workplace=str(workplace),
        score=evaluation.score,
        items_to_fix=len(evaluation.to_fix),
        answers=[
            ChecklistAnswer(item_id=item.id, choice=choice, number=number)
            for item, choice, number in answered
        ],
    )
    db.session.add(response)
    db.session.flush()
    return response


def evaluate_answers(template: ChecklistTemplate, answered: list[Answered]) -> Evaluation:
    return evaluate(answered, rules_for(template).items)


def evaluation_of(response: ChecklistResponse) -> Evaluation:
    answered = [(a.item, a.choice, a.number) for a in response.answers]
    return evaluate_answers(response.template, answered)


def count_items_to_fix(session: Session, batch: int = 1000) -> int:
    """Fill ``items_to_fix`` of responses stored before it was counted at submission
    (migration 0009), evaluating their answers as the results page does; returns how many."""
    counted = 0
    last = 0
    while True:
        responses = session.scalars(
            select(ChecklistResponse)
            .where(ChecklistResponse.id > last, ChecklistResponse.items_to_fix.is_(None))
            .order_by(ChecklistResponse.id)
            .limit(batch)
            .options(
                selectinload(ChecklistResponse.template),
                selectinload(ChecklistResponse.answers).selectinload(ChecklistAnswer.item),
            )
        ).all()
        if not responses:
            return counted
        for response in responses:
            response.items_to_fix = len(evaluation_of(response).to_fix)
        session.flush()
        counted += len(responses)
        last = responses[-1].id


# --- reading one's own responses ----------------------------------------------------------


def _own(employee: Employee) -> Any:
    return (
        select(ChecklistResponse)
        .where(ChecklistResponse.employee_id == employee.id)
        .options(
            selectinload(ChecklistResponse.template),
            selectinload(ChecklistResponse.answers).selectinload(ChecklistAnswer.item),
        )
    )


def own_responses(employee: Employee) -> list[ChecklistResponse]:
    """The person's responses, newest first. Only ever called for the signed-in employee."""
    return list(
        db.session.scalars(
            _own(employee).order_by(
                ChecklistResponse.submitted_at.desc(), ChecklistResponse.id.desc()
            )
        )
    )


def own_response(employee: Employee, response_id: int) -> ChecklistResponse:
    """One of the person's own responses; anyone else's does not exist (404)."""
    found = db.session.scalars(_own(employee).where(ChecklistResponse.id == response_id)).first()
    if found is None:
        raise NotFound(_("This checklist result does not exist or is not yours."))
    return found
