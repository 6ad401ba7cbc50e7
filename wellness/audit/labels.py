"""Readable names for audit actions; the stored action code stays stable across languages."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

ACTION_LABELS: dict[str, LazyString] = {
    "auth.login": _l("Signed in"),
    "auth.login_failed": _l("Sign-in failed"),
    "auth.locked": _l("Account locked after failed sign-ins"),
    "audit.exported": _l("Audit log downloaded"),
    "auth.password_changed": _l("Password changed"),
    "auth.password_reset_requested": _l("Password reset requested"),
    "auth.password_reset": _l("Password reset"),
    "auth.token_created": _l("API token created"),
    "auth.token_revoked": _l("API token revoked"),
    "admin.settings_changed": _l("Settings changed"),
    "admin.department_created": _l("Department added"),
    "admin.site_created": _l("Site added"),
    "admin.employees_imported": _l("Employees imported"),
    "scim.user_created": _l("Employee provisioned (SCIM)"),
    "scim.user_updated": _l("Employee updated (SCIM)"),
    "employee.deactivated": _l("Employee deactivated"),
    "employee.reactivated": _l("Employee reactivated"),
    "scim.user_deleted": _l("Employee deprovisioned (SCIM)"),
    "scim.group_updated": _l("Department updated (SCIM)"),
    "scim.group_deleted": _l("Department deleted (SCIM)"),
    "operator.employer_created": _l("Employer added"),
    "operator.provider_created": _l("Provider added"),
    "provider.course_created": _l("Course added"),
    "provider.course_updated": _l("Course changed"),
    "provider.offering_created": _l("Offering added"),
    "provider.offering_updated": _l("Offering changed"),
    "provider.offering_cancelled": _l("Offering cancelled"),
    "admin.offering_opened": _l("Offering opened for employees"),
    "admin.offering_closed": _l("Offering closed for new enrollments"),
    "admin.subsidy_changed": _l("Employer subsidy changed"),
    "employee.calendar_token_rotated": _l("Calendar address renewed"),
    "attendance.uploaded": _l("Attendance uploaded"),
    "attendance.certificate_issued": _l("Participation certificate issued"),
    "attendance.certificate_updated": _l("Participation certificate corrected"),
    "attendance.certificate_revoked": _l("Participation certificate revoked"),
    "attendance.certificate_restored": _l("Participation certificate valid again"),
    "employee.measure_requested": _l("Ergonomic measure requested"),
    "admin.measure_approved": _l("Ergonomic measure approved"),
    "admin.measure_ordered": _l("Ergonomic measure ordered"),
    "admin.measure_done": _l("Ergonomic measure completed"),
    "admin.measure_rejected": _l("Ergonomic measure rejected"),
    "admin.checklist_copied": _l("Checklist copied for adaptation"),
    "admin.checklist_version_started": _l("New checklist version started"),
    "admin.checklist_changed": _l("Checklist draft changed"),
    "admin.checklist_published": _l("Checklist published"),
    "admin.checklist_draft_discarded": _l("Checklist draft discarded"),
    "hr.analytics_viewed": _l("Analytics figures viewed"),
    "privacy.consent_given": _l("Consent given"),
    "privacy.consent_withdrawn": _l("Consent withdrawn"),
    "privacy.data_exported": _l("Personal data downloaded"),
    "privacy.health_data_erased": _l("Health data erased"),
    "privacy.retention_purged": _l("Expired health data deleted"),
}


def action_label(action: str) -> str:
    """The translated label, or the code itself for actions without one."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
