"""Employee endpoints: own checklist responses.

``GET /me/checklists`` lists the person's own responses with their scores and answers;
``GET /me/checklists/templates`` the checklists they may answer now (what to send);
``POST /me/checklists`` submits a complete response::

    {"template": "screen-workstation", "version": 1, "workplace": "office",
     "answers": {"screen_height": "yes", "viewing_distance": 70, ...}}

Invalid answers answer 422 with a problem document whose ``errors`` list names each item;
a version other than the current one 409; a template not available to the person 404.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from wellness.api import bp
from wellness.api import schemas as s
from wellness.api.openapi import Reply, operation
from wellness.api.problems import problem
from wellness.auth.guards import allow, current_employee
from wellness.auth.models import Role
from wellness.extensions import db
from wellness.health.checklist_scoring import Evaluation
from wellness.health.checklists import (
    AnswersInvalid,
    area_label,
    current_templates,
    evaluation_of,
    load_shipped_templates,
    own_responses,
    parse_version,
    rules_for,
    submit_response,
)
from wellness.health.models import ChecklistResponse, ChecklistTemplate
from wellness.i18n import current_language


def _text(obj: Any, name: str) -> str:
    """A template text in the person's language."""
    return str(getattr(obj, f"{name}_{current_language()}"))


def template_json(template: ChecklistTemplate) -> dict[str, Any]:
    rules = rules_for(template)
    items = []
    for item in template.items:
        item_rules = rules.item(item.key)
        entry: dict[str, Any] = {
            "key": item.key,
            "area": item.area,
            "question": _text(item, "question"),
            "help": _text(item, "help"),
            "answer_type": item.answer_type,
            "weight": item.weight,
        }
        if item.answer_type == "number":
            entry |= {"unit": item.unit, "min": item_rules.input_min, "max": item_rules.input_max}
        else:
            entry["choices"] = list(item_rules.choices)
        items.append(entry)
    return {
        "key": template.key,
        "version": template.version,
        "title": _text(template, "title"),
        "workplace": rules.workplace,
        "items": items,
    }


def response_json(response: ChecklistResponse, evaluation: Evaluation) -> dict[str, Any]:
    return {
        "id": response.id,
        "template": {
            "key": response.template.key,
            "version": response.template.version,
            "title": _text(response.template, "title"),
        },
        "workplace": response.workplace,
        "submitted_at": response.submitted_at.isoformat(),
        "score": response.score,
        "areas": [
            {"area": area.area, "label": area_label(area.area), "score": area.score}
            for area in evaluation.areas
        ],
        "to_fix": [result.item.key for result in evaluation.to_fix],
        "answers": {
            result.item.key: result.number if result.number is not None else result.choice
            for result in evaluation.results
        },
    }


@bp.get("/me/checklists")
@allow(Role.EMPLOYEE)
@operation(
    "Own checklist responses",
    tag="me",
    responses={200: Reply("Every response, newest first.", s.Items[s.ChecklistResponseOut])},
)
def my_checklists() -> ResponseReturnValue:
    """Not paged: a person answers a checklist a few times a year (per workstation check)."""
    responses = own_responses(current_employee())
    return jsonify(items=[response_json(r, evaluation_of(r)) for r in responses])


@bp.get("/me/checklists/templates")
@allow(Role.EMPLOYEE)
@operation(
    "Checklists to answer now",
    tag="me",
    responses={
        200: Reply("The current version of each checklist.", s.Items[s.ChecklistTemplateOut])
    },
)
def my_checklist_templates() -> ResponseReturnValue:
    employee = current_employee()
    load_shipped_templates()
    templates = current_templates(employee.employer_id)
    db.session.commit()  # the first call after a deployment stores new shipped templates
    return jsonify(items=[template_json(t) for t in templates])


def _invalid(exc: AnswersInvalid) -> ResponseReturnValue:
    """A problem document (RFC 9457) with one entry per item in the ``errors`` extension."""
    errors = [{"item": key, "detail": text} for key, text in exc.problems.items()]
    return problem(exc.status_code, _("Not possible"), exc.summary, errors=errors)


@bp.post("/me/checklists")
@allow(Role.EMPLOYEE)
@operation(
    "Submit a checklist response",
    tag="me",
    body=s.ChecklistBody,
    responses={201: Reply("The stored response with its scores.", s.ChecklistResponseOut)},
    errors={
        404: "There is no such checklist for the person.",
        409: "The template version is not the current one: load the templates again.",
        422: "Answers are refused: `errors` names each item; nothing was stored.",
    },
)
def submit_checklist(body: s.ChecklistBody) -> ResponseReturnValue:
    """A complete response to the current version of a checklist the person may answer."""
    employee = current_employee()
    load_shipped_templates()
    try:
        response = submit_response(
            employee,
            body.template,
            parse_version(body.version),
            body.workplace,
            body.answers,
        )
    except AnswersInvalid as exc:
        return _invalid(exc)
    result = response_json(response, evaluation_of(response))
    db.session.commit()
    return jsonify(result), 201
