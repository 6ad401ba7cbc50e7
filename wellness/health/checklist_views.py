"""Employee pages: workstation checklist, its result and measure requests.

Everything here shows the signed-in person's own answers and nobody else's: responses are
looked up by id *and* the person's employee record, so another person's id answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from wellness.auth.guards import allow, current_employee, user
from wellness.auth.models import Role
from wellness.errors import Conflict, DomainError
from wellness.extensions import db
from wellness.forms import form_status
from wellness.health import measures
from wellness.health.checklist_forms import MeasureRequestForm
from wellness.health.checklists import (
    CHOICE_LABELS,
    WORKPLACE_LABELS,
    AnswersInvalid,
    area_label,
    current_template,
    current_templates,
    evaluation_of,
    load_shipped_templates,
    own_response,
    own_responses,
    parse_version,
    rules_for,
    submit_response,
    unit_label,
)
from wellness.health.models import ChecklistItem, ChecklistTemplate
from wellness.web import private

checklists_bp = Blueprint("checklists", __name__, url_prefix="/me/checklists")


@checklists_bp.after_request
def _no_store(response: Response) -> Response:
    """Answers and scores are health data."""
    return private(response)


def template_labels() -> dict[str, Any]:
    """Readable names for codes stored in checklists and measures (also for the admin pages)."""
    return {
        "area_label": area_label,
        "unit_label": unit_label,
        "choice_labels": CHOICE_LABELS,
        "workplace_labels": WORKPLACE_LABELS,
        "kind_label": measures.kind_label,
        "status_labels": measures.STATUS_LABELS,
    }


checklists_bp.context_processor(template_labels)


def _shipped_templates_stored() -> None:
    """The first visit after a deployment stores new shipped templates (idempotent)."""
    load_shipped_templates()
    db.session.commit()


def _sections(items: list[ChecklistItem]) -> list[tuple[str, list[ChecklistItem]]]:
    """Items grouped by area, in checklist order."""
    sections: dict[str, list[ChecklistItem]] = {}
    for item in items:
        sections.setdefault(item.area, []).append(item)
    return list(sections.items())


@checklists_bp.route("")
@allow(Role.EMPLOYEE)
def index() -> ResponseReturnValue:
    employee = current_employee()
    _shipped_templates_stored()
    return render_template(
        "health/checklists.html",
        templates=current_templates(employee.employer_id),
        responses=own_responses(employee),
    )


def _fill_page(
    template: ChecklistTemplate,
    workplace: str,
    values: dict[str, str],
    problems: dict[str, str],
    summary: str | None = None,
) -> str:
    rules = rules_for(template)
    return render_template(
        "health/checklist_fill.html",
        template=template,
        sections=_sections(template.items),
        items_by_key={item.key: item for item in template.items},
        choices={item.key: rules.item(item.key).choices for item in template.items},
        workplace=workplace,
        values=values,
        problems=problems,
        summary=summary,
    )


@checklists_bp.route("/<key>", methods=["GET", "POST"])
@allow(Role.EMPLOYEE)
def fill(key: str) -> ResponseReturnValue:
    employee = current_employee()
    _shipped_templates_stored()
    template = current_template(employee.employer_id, key)
    if request.method == "GET":
        return _fill_page(template, rules_for(template).workplace, {}, {})
    workplace = request.form.get("workplace", "")
    values = {item.key: request.form.get(f"answer-{item.key}", "") for item in template.items}
    try:
        version = parse_version(request.form.get("version", ""))
        response = submit_response(employee, key, version, workplace, values)
    except AnswersInvalid as exc:
        db.session.rollback()
        return _fill_page(template, workplace, values, exc.problems, exc.summary), 422
    except Conflict as exc:
        # The checklist changed since the form was opened: show the current version, keeping
        # the answers to questions that are still there.
        db.session.rollback()
        template = current_template(employee.employer_id, key)
        return _fill_page(template, workplace, values, {}, exc.message), 409
    db.session.commit()
    flash(_("Thank you. Your answers are saved; here is your result."), "success")
    return redirect(url_for("checklists.result", response_id=response.id))


@checklists_bp.route("/results/<int:response_id>")
@allow(Role.EMPLOYEE)
def result(response_id: int) -> ResponseReturnValue:
    employee = current_employee()
    response = own_response(employee, response_id)
    item_ids = {item.id for item in response.template.items}
    requested: dict[int, list[measures.MeasureRow]] = {}
    for row in measures.own_measures(employee):
        if row.measure.item_id in item_ids:
            requested.setdefault(row.measure.item_id, []).append(row)
    return render_template(
        "health/checklist_result.html",
        response=response,
        evaluation=evaluation_of(response),
        requested=requested,
    )


@checklists_bp.route("/results/<int:response_id>/items/<item_key>/measure", methods=["GET", "POST"])
@allow(Role.EMPLOYEE)
def request_measure(response_id: int, item_key: str) -> ResponseReturnValue:
    employee = current_employee()
    response = own_response(employee, response_id)
    item = next((i for i in response.template.items if i.key == item_key), None)
    if item is None:
        abort(404)
    form = MeasureRequestForm()
    if request.method == "GET":
        form.kind.data = item.suggested_measure or measures.OTHER_KIND
    if form.validate_on_submit():
        try:
            measures.request_measure(
                employee,
                user().id,
                response_id,
                item_key,
                form.kind.data or "",
                form.own_title.data,
                form.note.data,
            )
        except DomainError as exc:
            db.session.rollback()
            field = form.own_title if form.kind.data == measures.OTHER_KIND else form.kind
            field.errors = [*field.errors, exc.message]
        else:
            db.session.commit()
            flash(_("Your request was sent to your employer. You can follow it here."), "success")
            return redirect(url_for("checklists.my_measures"))
    return render_template(
        "health/checklist_measure.html", response=response, item=item, form=form
    ), form_status()


@checklists_bp.route("/measures")
@allow(Role.EMPLOYEE)
def my_measures() -> ResponseReturnValue:
    rows = measures.own_measures(current_employee())
    return render_template(
        "health/measures_mine.html",
        rows=rows,
        steps=measures.history([row.measure for row in rows]),
    )
