"""What an API token may do: its scopes, which roles may hold them, which endpoints need them.

A signed-in browser session reaches what its roles allow; a bearer token reaches only the
endpoints one of its scopes names, and only while its user still holds a role the scope
belongs to. So a leaked analytics token cannot read anyone's check-ins, a provider's upload
script cannot open the HR dashboard, and no token reaches an HTML page at all.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from wellness.auth.models import Role, User


class Scope(StrEnum):
    #: A personal token: the employee's own data, the course catalog and their enrollments.
    ME = "me"
    #: A provider's offerings and rosters.
    ATTENDANCE_READ = "attendance:read"
    #: A provider's attendance uploads (and what reading they need).
    ATTENDANCE_WRITE = "attendance:write"
    #: The employer's anonymized analytics (the privacy layer applies as for HR).
    ANALYTICS_READ = "analytics:read"
    #: Provisioning of the employer's employees and departments over SCIM 2.0.
    SCIM = "scim"


LABELS: dict[Scope, LazyString] = {
    Scope.ME: _l("My own data, courses and enrollments"),
    Scope.ATTENDANCE_READ: _l("Read my offerings and rosters"),
    Scope.ATTENDANCE_WRITE: _l("Upload attendance"),
    Scope.ANALYTICS_READ: _l("Read anonymized analytics"),
    Scope.SCIM: _l("Provision employees and departments (SCIM)"),
}

#: The roles whose holders may have a token with the scope.
ROLES: dict[Scope, frozenset[Role]] = {
    Scope.ME: frozenset({Role.EMPLOYEE}),
    Scope.ATTENDANCE_READ: frozenset({Role.PROVIDER}),
    Scope.ATTENDANCE_WRITE: frozenset({Role.PROVIDER}),
    Scope.ANALYTICS_READ: frozenset({Role.HR, Role.ADMIN}),
    Scope.SCIM: frozenset({Role.ADMIN}),
}

#: Endpoints a token may call, and the scopes that let it (any one is enough). The view's own
#: ``allow()`` declaration still applies on top.
ENDPOINTS: dict[str, frozenset[Scope]] = {
    **dict.fromkeys(
        (
            "api.my_checkins",
            "api.create_checkin",
            "api.my_checklists",
            "api.submit_checklist",
            "api.my_checklist_templates",
            "api.my_consents",
            "api.give_my_consent",
            "api.withdraw_my_consent",
            "api.my_enrollments",
            "api.export_my_data",
            "api.erase_my_health_data",
            "api.my_training",
            "api.create_training",
            "api.list_offerings",
            "api.get_offering",
            "api.enroll",
            "api.cancel",
        ),
        frozenset({Scope.ME}),
    ),
    **dict.fromkeys(
        (
            "api.provider_offerings",
            "api.provider_roster_csv",
            "api.provider_roster_xlsx",
        ),
        frozenset({Scope.ATTENDANCE_READ, Scope.ATTENDANCE_WRITE}),
    ),
    "api.upload_attendance": frozenset({Scope.ATTENDANCE_WRITE}),
    "api.attendance_import": frozenset({Scope.ATTENDANCE_READ, Scope.ATTENDANCE_WRITE}),
    **dict.fromkeys(("api.list_measures", "api.show_measure"), frozenset({Scope.ANALYTICS_READ})),
}


def allowed_scopes(user: User) -> list[Scope]:
    """The scopes ``user``'s roles let them put on a token, in the order of :class:`Scope`."""
    return [scope for scope in Scope if user.has_role(*ROLES[scope])]


def grants(scopes: frozenset[str], scope: Scope, user: User) -> bool:
    """Whether a token of ``user`` with ``scopes`` may act under ``scope``: it carries the
    scope and the user still holds a role of it (a demoted admin's SCIM token stops)."""
    return scope in scopes and user.has_role(*ROLES[scope])


def token_may_call(scopes: frozenset[str], endpoint: str | None, user: User) -> bool:
    """Whether a token with ``scopes`` of ``user`` may call ``endpoint`` (SCIM checks its own
    requests with :func:`grants`: its errors have a format of their own)."""
    needed = ENDPOINTS.get(endpoint or "", frozenset())
    return any(grants(scopes, scope, user) for scope in needed)
