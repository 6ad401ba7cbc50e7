"""The navigation each role sees, and the start page each role lands on."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from wellness.auth.models import Role


@dataclass(frozen=True)
class NavItem:
    #: A Flask endpoint, or a path for pages outside Flask's views (the Dash app).
    endpoint: str
    label: str
    #: Paths below this one mark the item as current.
    prefix: str

    @property
    def url(self) -> str:
        return self.endpoint if self.endpoint.startswith("/") else url_for(self.endpoint)


_ITEMS: dict[Role, list[NavItem]] = {
    Role.EMPLOYEE: [
        NavItem("home.employee", _l("My overview"), "/me"),
        NavItem("courses.catalog_page", _l("Courses"), "/courses"),
        NavItem("courses.mine", _l("My courses"), "/me/courses"),
        NavItem("checklists.index", _l("Workstation check"), "/me/checklists"),
        NavItem("checkins.checkin", _l("Pain check-in"), "/me/pain"),
        NavItem("training.index", _l("Home training"), "/me/training"),
        NavItem("privacy.index", _l("Privacy and my data"), "/me/privacy"),
        NavItem("transparency.index", _l("Transparency"), "/transparency"),
    ],
    Role.HR: [
        NavItem("/hr/", _l("HR dashboard"), "/hr/"),
        NavItem("transparency.index", _l("Transparency"), "/transparency"),
    ],
    Role.ADMIN: [
        NavItem("admin.index", _l("Administration"), "/admin/"),
        NavItem("/hr/", _l("HR dashboard"), "/hr/"),
        NavItem("admin.employees", _l("Employees"), "/admin/employees"),
        NavItem("admin.organisation", _l("Organisation"), "/admin/organisation"),
        NavItem("admin_offerings.index", _l("Course offerings"), "/admin/offerings"),
        NavItem("measures.index", _l("Ergonomic measures"), "/admin/measures"),
        NavItem("measures.templates", _l("Checklists"), "/admin/checklists"),
        NavItem("admin.settings", _l("Settings"), "/admin/settings"),
        NavItem("sso.configure", _l("Single sign-on"), "/admin/sso"),
        NavItem("admin.audit", _l("Audit log"), "/admin/audit"),
        NavItem("transparency.index", _l("Transparency"), "/transparency"),
    ],
    Role.PROVIDER: [NavItem("provider.index", _l("My courses"), "/provider/")],
    Role.OPERATOR: [NavItem("operator.platform", _l("Platform"), "/operator/")],
}

#: Where "/" sends a user with several roles: the most specific role first.
START_PRIORITY = (Role.OPERATOR, Role.PROVIDER, Role.ADMIN, Role.HR, Role.EMPLOYEE)


def start_url(roles: frozenset[Role]) -> str:
    for role in START_PRIORITY:
        if role in roles:
            return _ITEMS[role][0].url
    return url_for("auth.account")


def navigation_for() -> list[NavItem]:
    if not current_user.is_authenticated:
        return []
    roles = current_user.role_names
    items = [item for role in Role if role in roles for item in _ITEMS[role]]
    return list({item.endpoint: item for item in items}.values())  # each page once
