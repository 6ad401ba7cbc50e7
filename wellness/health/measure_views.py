"""Employer admin pages: ergonomic measures workflow and checklist templates.

Admins see measures (what was asked for, for which checklist item, by whom, and the steps);
they never see a checklist answer or score, see :mod:`wellness.health.measures`. Every lookup
is scoped to the admin's employer, so another employer's measure or copy answers 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from wellness.api import params
from wellness.auth.guards import allow, current_employer_id, user
from wellness.auth.models import Role
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.forms import form_status, to_cents
from wellness.health import measures, templates_admin
from wellness.health.checklist_forms import (
    ApproveForm,
    DoneForm,
    OrderForm,
    RejectForm,
    TemplateEditForm,
)
from wellness.health.checklist_views import template_labels
from wellness.health.checklists import AREA_LABELS, rules_for
from wellness.health.models import ChecklistTemplate, MeasureStatus
from wellness.health.templates_admin import ItemEdit, TemplateEdit, is_draft

measures_bp = Blueprint("measures", __name__, url_prefix="/admin")
measures_bp.context_processor(template_labels)

PER_PAGE = 50
#: One form per step an admin can take, by the status it leads to.
STEP_FORMS: dict[MeasureStatus, type[FlaskForm]] = {
    MeasureStatus.APPROVED: ApproveForm,
    MeasureStatus.ORDERED: OrderForm,
    MeasureStatus.DONE: DoneForm,
    MeasureStatus.REJECTED: RejectForm,
}


@measures_bp.route("/measures")
@allow(Role.ADMIN)
def index() -> ResponseReturnValue:
    status = request.args.get("status", "")[:20]
    area = request.args.get("area", "")[:40]
    if status not in {"", measures.OPEN_FILTER, *measures.STATUS_LABELS}:
        status = ""
    if area not in AREA_LABELS:
        area = ""
    page = measures.list_for_employer(
        current_employer_id(), status or None, area or None, params.page_number(), PER_PAGE
    )
    return render_template(
        "admin/measures.html",
        page=page,
        status=status,
        area=area,
        area_labels=AREA_LABELS,
        open_filter=measures.OPEN_FILTER,
    )


def _step_forms(row: measures.MeasureRow) -> dict[str, FlaskForm]:
    return {step.value: STEP_FORMS[step](prefix=step.value) for step in row.next_steps}


@measures_bp.route("/measures/<int:measure_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def detail(measure_id: int) -> ResponseReturnValue:
    employer_id = current_employer_id()
    row = measures.measure_for_employer(employer_id, measure_id)
    forms = _step_forms(row)
    if request.method == "POST":
        step = request.form.get("form", "")
        form = forms.get(step)
        if form is None:
            # A step no longer possible (someone else moved the measure): say so, show it now.
            flash(
                _(
                    "This step is no longer possible; the measure is %(status)s now.",
                    status=measures.STATUS_LABELS[row.status],
                ),
                "error",
            )
            return redirect(url_for("measures.detail", measure_id=measure_id))
        if form.validate_on_submit():
            try:
                _take_step(employer_id, measure_id, MeasureStatus(step), form)
            except DomainError as exc:
                db.session.rollback()
                form.form_errors.append(exc.message)
            else:
                db.session.commit()
                flash(
                    _("Saved: the measure is now %(status)s.", status=measures.STATUS_LABELS[step]),
                    "success",
                )
                return redirect(url_for("measures.detail", measure_id=measure_id))
        row = measures.measure_for_employer(employer_id, measure_id)
    return render_template(
        "admin/measures_detail.html",
        row=row,
        steps=measures.history([row.measure])[row.measure.id],
        forms=forms,
    ), form_status()


def _take_step(employer_id: int, measure_id: int, step: MeasureStatus, form: FlaskForm) -> None:
    on = form["on"].data
    if isinstance(form, RejectForm):
        measures.reject(employer_id, measure_id, form.reason.data or "", user().id, on)
        return
    cost = form._fields.get("cost_eur")
    cents = to_cents(cost.data) if cost is not None and cost.data is not None else None
    measures.advance(employer_id, measure_id, step, user().id, on, cents)


# --- checklist templates ------------------------------------------------------------------


@measures_bp.route("/checklists")
@allow(Role.ADMIN)
def templates() -> ResponseReturnValue:
    overview = templates_admin.templates_for_admin(current_employer_id())
    db.session.commit()  # the first visit stores new shipped templates
    return render_template("admin/checklists.html", overview=overview, action_form=FlaskForm())


def _edit_form(template: ChecklistTemplate) -> TemplateEditForm:
    if request.method == "POST":
        return TemplateEditForm(prefix="edit")
    data = {
        "title_de": template.title_de,
        "title_en": template.title_en,
        "items": [
            {
                "key": item.key,
                "question_de": item.question_de,
                "question_en": item.question_en,
                "help_de": item.help_de,
                "help_en": item.help_en,
                "weight": item.weight,
            }
            for item in template.items
        ],
    }
    return TemplateEditForm(prefix="edit", data=data)


def _edit_of(form: TemplateEditForm) -> TemplateEdit:
    return TemplateEdit(
        title_de=form.title_de.data or "",
        title_en=form.title_en.data or "",
        items=[
            ItemEdit(
                key=entry.key.data or "",
                question_de=entry.question_de.data or "",
                question_en=entry.question_en.data or "",
                help_de=entry.help_de.data or "",
                help_en=entry.help_en.data or "",
                weight=entry.weight.data if entry.weight.data is not None else -1,
                remove=bool(entry.remove.data),
            )
            for entry in form.items.entries
        ],
    )


#: Actions on one template, by the ``form`` value of the submitted form.
TEMPLATE_ACTIONS = {"edit", "publish", "discard", "new_version", "copy"}


@measures_bp.route("/checklists/<int:template_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def template(template_id: int) -> ResponseReturnValue:
    """A template's questions; for one's own draft, the edit form. Every action on a template
    (copy, edit, publish, discard, new version) posts here with its name in ``form``."""
    employer_id = current_employer_id()
    found = templates_admin.template_for_admin(employer_id, template_id)
    own_draft = found.employer_id == employer_id and is_draft(found)
    form = _edit_form(found) if own_draft else None
    action_form = FlaskForm()
    if request.method == "POST":
        action = request.form.get("form", "")
        if action not in TEMPLATE_ACTIONS or (action == "edit" and form is None):
            abort(400)
        checked = form if action == "edit" and form is not None else action_form
        if checked.validate_on_submit():
            try:
                target = _template_action(employer_id, template_id, action, form)
            except DomainError as exc:
                db.session.rollback()
                if action != "edit" or form is None:
                    flash(exc.message, "error")
                    return redirect(url_for("measures.template", template_id=template_id))
                form.form_errors.append(exc.message)
                found = templates_admin.template_for_admin(employer_id, template_id)
            else:
                db.session.commit()
                return redirect(target)
    rules = rules_for(found)
    return render_template(
        "admin/checklist_detail.html",
        template=found,
        choices={item.key: rules.item(item.key).choices for item in found.items},
        own=found.employer_id == employer_id,
        own_draft=own_draft,
        form=form,
        action_form=action_form,
    ), form_status()


def _template_action(
    employer_id: int, template_id: int, action: str, form: TemplateEditForm | None
) -> str:
    """Do one action and say so; returns where to go next."""
    actor = user().id
    if action == "edit" and form is not None:
        templates_admin.update_draft(employer_id, template_id, _edit_of(form), actor)
        flash(_("Draft saved. Employees see it once you publish it."), "success")
        return url_for("measures.template", template_id=template_id)
    if action == "publish":
        templates_admin.publish(employer_id, template_id, actor)
        flash(_("Published: your employees answer this version from now on."), "success")
        return url_for("measures.template", template_id=template_id)
    if action == "discard":
        templates_admin.discard_draft(employer_id, template_id, actor)
        flash(_("Draft discarded."), "success")
        return url_for("measures.templates")
    if action == "new_version":
        draft = templates_admin.start_new_version(employer_id, template_id, actor)
        flash(
            _(
                "A new draft version is open. Employees keep answering the published version "
                "until you publish this one."
            ),
            "success",
        )
        return url_for("measures.template", template_id=draft.id)
    copied = templates_admin.copy_template(employer_id, template_id, actor)
    flash(_("Copy created as a draft. Adapt it, then publish it for your employees."), "success")
    return url_for("measures.template", template_id=copied.id)
