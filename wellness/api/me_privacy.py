"""Employee endpoints: consents, data export, erasure of health data.

Like the pages, they act only on the caller's own employee record.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from wellness.api import bp
from wellness.auth.guards import allow, current_employee
from wellness.auth.models import Role
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.health import consent, personal_data
from wellness.health.consent import ConsentState
from wellness.health.privacy_views import send_personal_data
from wellness.i18n import current_language


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def consent_json(state: ConsentState) -> dict[str, Any]:
    locale = current_language()
    return {
        "purpose": state.purpose.value,
        "given": state.given,
        "given_at": _iso(state.active.granted_at) if state.active else None,
        "given_version": state.active.text_version if state.active else None,
        "renewal_due": state.renewal_due,
        "text": {
            "version": state.text.version,
            "published_on": state.text.published_on.isoformat(),
            "title": state.text.title(locale),
            "paragraphs": list(state.text.paragraphs(locale)),
        },
        "history": [
            {
                "version": given.text_version,
                "granted_at": _iso(given.granted_at),
                "withdrawn_at": _iso(given.withdrawn_at),
            }
            for given in state.history
        ],
    }


@bp.get("/me/consents")
@allow(Role.EMPLOYEE)
def my_consents() -> ResponseReturnValue:
    return jsonify(items=[consent_json(s) for s in consent.consent_states(current_employee())])


@bp.post("/me/consents")
@allow(Role.EMPLOYEE)
def give_my_consent() -> ResponseReturnValue:
    """Body: ``{"purpose": "health_aggregates", "version": "<the text version read>"}``."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not all(
        isinstance(body.get(key), str) for key in ("purpose", "version")
    ):
        raise DomainError(
            _("Send a JSON object with the purpose and the version of the text you agree to.")
        )
    employee = current_employee()
    purpose = consent.parse_purpose(body["purpose"])
    consent.give_consent(employee, purpose, body["version"])
    db.session.commit()
    return jsonify(consent_json(consent.consent_state(employee, purpose)))


@bp.delete("/me/consents/<purpose>")
@allow(Role.EMPLOYEE)
def withdraw_my_consent(purpose: str) -> ResponseReturnValue:
    """Withdrawing what is not in force is not an error: the outcome is the same."""
    employee = current_employee()
    chosen = consent.parse_purpose(purpose)
    consent.withdraw_consent(employee, chosen)
    db.session.commit()
    return jsonify(consent_json(consent.consent_state(employee, chosen)))


@bp.get("/me/export")
@allow(Role.EMPLOYEE)
def export_my_data() -> ResponseReturnValue:
    return send_personal_data(current_employee())


@bp.delete("/me/health-data")
@allow(Role.EMPLOYEE)
def erase_my_health_data() -> ResponseReturnValue:
    erasure = personal_data.erase_health_data(current_employee())
    db.session.commit()
    deleted = erasure.health.as_dict()
    return jsonify(
        deleted=deleted,
        measures_unlinked=deleted.pop("measures_anonymized"),
        enrollments_pseudonymized=erasure.enrollments_pseudonymized,
    )
