"""Employee endpoints: consents, data export, erasure of health data.

Like the pages, they act only on the caller's own employee record.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from wellness.api import bp
from wellness.api import schemas as s
from wellness.api.openapi import Reply, operation
from wellness.auth.guards import allow, current_employee
from wellness.auth.models import Role
from wellness.extensions import db
from wellness.health import consent, personal_data
from wellness.health.consent import ConsentState
from wellness.health.models import ConsentPurpose
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
@operation(
    "Own consents",
    tag="me",
    responses={200: Reply("Each purpose with its text, state and history.", s.Items[s.ConsentOut])},
)
def my_consents() -> ResponseReturnValue:
    return jsonify(items=[consent_json(s) for s in consent.consent_states(current_employee())])


@bp.post("/me/consents")
@allow(Role.EMPLOYEE)
@operation(
    "Give consent",
    tag="me",
    body=s.ConsentBody,
    responses={200: Reply("The purpose's new state.", s.ConsentOut)},
    errors={
        404: "There is no such purpose.",
        409: "The version is not the current text: read it again.",
    },
)
def give_my_consent(body: s.ConsentBody) -> ResponseReturnValue:
    """Agree to the version of the text the person read; an unknown purpose answers 404."""
    employee = current_employee()
    purpose = consent.parse_purpose(body.purpose)
    consent.give_consent(employee, purpose, body.version)
    db.session.commit()
    return jsonify(consent_json(consent.consent_state(employee, purpose)))


@bp.delete("/me/consents/<purpose>")
@allow(Role.EMPLOYEE)
@operation(
    "Withdraw consent",
    tag="me",
    path={"purpose": {"enum": [p.value for p in ConsentPurpose]}},
    responses={200: Reply("The purpose's new state.", s.ConsentOut)},
)
def withdraw_my_consent(purpose: str) -> ResponseReturnValue:
    """Withdrawing what is not in force is not an error: the outcome is the same."""
    employee = current_employee()
    chosen = consent.parse_purpose(purpose)
    consent.withdraw_consent(employee, chosen)
    db.session.commit()
    return jsonify(consent_json(consent.consent_state(employee, chosen)))


@bp.get("/me/export")
@allow(Role.EMPLOYEE)
@operation(
    "Export own data (GDPR Art. 15/20)",
    tag="me",
    responses={
        200: Reply(
            "A ZIP archive of everything stored about the person.", media_type="application/zip"
        )
    },
)
def export_my_data() -> ResponseReturnValue:
    return send_personal_data(current_employee())


@bp.delete("/me/health-data")
@allow(Role.EMPLOYEE)
@operation(
    "Erase own health data (GDPR Art. 17)",
    tag="me",
    responses={200: Reply("What was deleted or pseudonymized.", s.ErasureOut)},
)
def erase_my_health_data() -> ResponseReturnValue:
    erasure = personal_data.erase_health_data(current_employee())
    db.session.commit()
    deleted = erasure.health.as_dict()
    return jsonify(
        deleted=deleted,
        measures_unlinked=deleted.pop("measures_anonymized"),
        enrollments_pseudonymized=erasure.enrollments_pseudonymized,
    )
