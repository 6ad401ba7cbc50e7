"""Employers adapt checklists: copy a template, edit the copy as a draft, publish it.

A copy belongs to the employer and gets its own key (``<shipped key>.<employer id>.<n>``, so
its shipped rules still apply, see :mod:`wellness.health.checklists`) and version 1. Drafts
(``published_at`` unset) are edited in place: nobody can have answered them. A published version
never changes, because responses point at its items; changing it starts a new draft version of
the same key, and publishing that makes it the one employees answer from then on. Older
responses keep the version they answered.

What an admin can change: the titles, and per item the question, the help text, the weight, or
removing it. Answer types, ranges and areas stay, so scores remain comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from wellness.audit.services import record
from wellness.db import utcnow
from wellness.errors import Conflict, DomainError, NotFound
from wellness.extensions import db
from wellness.health.checklists import COPY_SEPARATOR, load_shipped_templates, root_key, rules_for
from wellness.health.models import ChecklistItem, ChecklistTemplate
from wellness.tenants.models import Employer

TARGET_TYPE = "checklist_template"
MAX_WEIGHT = 10
MAX_QUESTION = 1000
MAX_HELP = 3000
MAX_TITLE = 200


@dataclass(frozen=True)
class ItemEdit:
    key: str
    question_de: str
    question_en: str
    help_de: str
    help_en: str
    weight: int
    remove: bool = False


@dataclass(frozen=True)
class TemplateEdit:
    title_de: str
    title_en: str
    items: list[ItemEdit]


@dataclass(frozen=True)
class CopyVersions:
    """One of the employer's copies: what employees answer now, and the draft being edited."""

    key: str
    published: ChecklistTemplate | None
    draft: ChecklistTemplate | None


@dataclass(frozen=True)
class AdminTemplates:
    shipped: list[ChecklistTemplate]
    copies: list[CopyVersions]


def is_draft(template: ChecklistTemplate) -> bool:
    return template.published_at is None


def templates_for_admin(employer_id: int) -> AdminTemplates:
    """The shipped templates (newest versions) and the employer's own copies."""
    shipped: dict[str, ChecklistTemplate] = {}
    for template in load_shipped_templates():
        if template.key not in shipped or template.version > shipped[template.key].version:
            shipped[template.key] = template
    own = db.session.scalars(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.employer_id == employer_id)
        .order_by(ChecklistTemplate.key, ChecklistTemplate.version)
    )
    published: dict[str, ChecklistTemplate] = {}
    drafts: dict[str, ChecklistTemplate] = {}
    for template in own:
        (drafts if is_draft(template) else published)[template.key] = template
    keys = sorted(set(published) | set(drafts))
    return AdminTemplates(
        shipped=sorted(shipped.values(), key=lambda t: (rules_for(t).order, t.key)),
        copies=[CopyVersions(key, published.get(key), drafts.get(key)) for key in keys],
    )


def template_for_admin(employer_id: int, template_id: int) -> ChecklistTemplate:
    """A shipped template or one of the employer's own; another employer's does not exist."""
    found = db.session.scalars(
        select(ChecklistTemplate)
        .where(
            ChecklistTemplate.id == template_id,
            or_(
                ChecklistTemplate.employer_id.is_(None),
                ChecklistTemplate.employer_id == employer_id,
            ),
        )
        .options(selectinload(ChecklistTemplate.items))
    ).first()
    if found is None:
        raise NotFound(_("This checklist does not exist."))
    return found


def _own_draft(employer_id: int, template_id: int) -> ChecklistTemplate:
    template = template_for_admin(employer_id, template_id)
    if template.employer_id != employer_id or not is_draft(template):
        raise Conflict(
            _(
                "Only a draft of your own copy can be changed. Copy the checklist or start a "
                "new version."
            )
        )
    return template


def _clone(
    source: ChecklistTemplate, employer_id: int, key: str, version: int, titles: tuple[str, str]
) -> ChecklistTemplate:
    title_de, title_en = titles
    template = ChecklistTemplate(
        key=key,
        version=version,
        employer_id=employer_id,
        based_on_id=source.id,
        title_de=title_de[:MAX_TITLE],
        title_en=title_en[:MAX_TITLE],
        published_at=None,
    )
    template.items = [
        ChecklistItem(
            key=item.key,
            area=item.area,
            position=item.position,
            question_de=item.question_de,
            question_en=item.question_en,
            help_de=item.help_de,
            help_en=item.help_en,
            answer_type=item.answer_type,
            weight=item.weight,
            number_min=item.number_min,
            number_max=item.number_max,
            unit=item.unit,
            suggested_measure=item.suggested_measure,
        )
        for item in source.items
    ]
    return template


def _audit(action: str, template: ChecklistTemplate, actor_id: int, **details: object) -> None:
    record(
        action,
        actor_id=actor_id,
        employer_id=template.employer_id,
        target_type=TARGET_TYPE,
        target_id=template.id,
        details={"key": template.key, "version": template.version, **details},
    )


def copy_template(employer_id: int, template_id: int, actor_id: int) -> ChecklistTemplate:
    """A new draft copy of a shipped template (or of one's own published copy) under a new key."""
    source = template_for_admin(employer_id, template_id)
    if is_draft(source):
        raise Conflict(_("Publish the draft before copying it, or copy its published version."))
    root = root_key(source)
    prefix = f"{root}{COPY_SEPARATOR}{employer_id}{COPY_SEPARATOR}"
    taken = db.session.scalars(
        select(ChecklistTemplate.key).where(
            ChecklistTemplate.employer_id == employer_id,
            ChecklistTemplate.key.startswith(prefix, autoescape=True),
        )
    )
    number = 1 + max(
        (int(k[len(prefix) :]) for k in taken if k[len(prefix) :].isdigit()), default=0
    )
    if source.employer_id is None:
        employer = db.session.get(Employer, employer_id)
        suffix = f" ({employer.name})" if employer is not None else ""
        titles = (source.title_de + suffix, source.title_en + suffix)
    else:
        titles = (source.title_de, source.title_en)
    copy = _clone(source, employer_id, f"{prefix}{number}", 1, titles)
    db.session.add(copy)
    db.session.flush()
    _audit("admin.checklist_copied", copy, actor_id, source=f"{source.key} v{source.version}")
    return copy


def start_new_version(employer_id: int, template_id: int, actor_id: int) -> ChecklistTemplate:
    """A draft of the next version of one's own published copy (the open draft, if any)."""
    source = template_for_admin(employer_id, template_id)
    if source.employer_id != employer_id:
        raise Conflict(_("Shipped checklists cannot be changed; make a copy instead."))
    versions = db.session.scalars(
        select(ChecklistTemplate).where(ChecklistTemplate.key == source.key)
    ).all()
    draft = next((t for t in versions if is_draft(t)), None)
    if draft is not None:
        return draft
    newest = max(versions, key=lambda t: t.version)
    titles = (newest.title_de, newest.title_en)
    draft = _clone(newest, employer_id, newest.key, newest.version + 1, titles)
    db.session.add(draft)
    db.session.flush()
    _audit("admin.checklist_version_started", draft, actor_id)
    return draft


def update_draft(
    employer_id: int, template_id: int, edit: TemplateEdit, actor_id: int
) -> ChecklistTemplate:
    """Apply the admin's edits to a draft: texts and weights changed, items removed."""
    template = _own_draft(employer_id, template_id)
    items = {item.key: item for item in template.items}
    if sorted(e.key for e in edit.items) != sorted(items):
        raise Conflict(
            _("The checklist changed while you edited it. Reload the page and try again.")
        )
    if not edit.title_de.strip() or not edit.title_en.strip():
        raise DomainError(_("Give the checklist a German and an English title."))
    if any(len(t) > MAX_TITLE for t in (edit.title_de, edit.title_en)):
        raise DomainError(_("Titles can have at most 200 characters."))
    kept = [e for e in edit.items if not e.remove]
    if not kept:
        raise DomainError(_("Keep at least one question."))
    for e in kept:
        if not e.question_de.strip() or not e.question_en.strip():
            raise DomainError(_("Every question needs a German and an English text."))
        if any(len(q) > MAX_QUESTION for q in (e.question_de, e.question_en)):
            raise DomainError(_("Questions can have at most 1000 characters."))
        if any(len(h) > MAX_HELP for h in (e.help_de, e.help_en)):
            raise DomainError(_("Help texts can have at most 3000 characters."))
        if not 0 <= e.weight <= MAX_WEIGHT:
            raise DomainError(_("Weights go from 0 to 10."))
    title_changed = (template.title_de, template.title_en) != (
        edit.title_de.strip(),
        edit.title_en.strip(),
    )
    template.title_de, template.title_en = edit.title_de.strip(), edit.title_en.strip()
    edited = 0
    for e in kept:
        item = items[e.key]
        before = (item.question_de, item.question_en, item.help_de, item.help_en, item.weight)
        after = (
            e.question_de.strip(),
            e.question_en.strip(),
            e.help_de.strip(),
            e.help_en.strip(),
            e.weight,
        )
        if after != before:
            edited += 1
            item.question_de, item.question_en, item.help_de, item.help_en, item.weight = after
    removed = [e.key for e in edit.items if e.remove]
    for key in removed:
        db.session.delete(items[key])
    db.session.flush()
    db.session.expire(template, ["items"])
    _audit(
        "admin.checklist_changed",
        template,
        actor_id,
        title_changed=title_changed,
        items_changed=edited,
        items_removed=len(removed),
    )
    return template


def publish(employer_id: int, template_id: int, actor_id: int) -> ChecklistTemplate:
    """Make a draft the version employees answer from now on."""
    template = _own_draft(employer_id, template_id)
    count = db.session.scalar(select(func.count()).where(ChecklistItem.template_id == template.id))
    if not count:
        raise DomainError(_("A checklist needs at least one question."))
    template.published_at = utcnow()
    db.session.flush()
    _audit("admin.checklist_published", template, actor_id)
    return template


def discard_draft(employer_id: int, template_id: int, actor_id: int) -> None:
    """Throw a draft away; published versions are kept for the responses that use them."""
    template = _own_draft(employer_id, template_id)
    _audit("admin.checklist_draft_discarded", template, actor_id)
    for item in template.items:
        db.session.delete(item)
    db.session.delete(template)
    db.session.flush()
