"""Every route, every role, and a user of another employer: who gets what.

The table below is written by hand, independently of the ``allow()`` declarations, so a
wrong declaration fails here. A route missing from the table fails
``test_every_route_is_in_the_matrix``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from wellness.auth.guards import get_for_tenant
from wellness.auth.models import Role
from wellness.tenants.models import Department, Employee, Site

ANON, EMPLOYEE, HR, ADMIN, PROVIDER, OPERATOR = (
    "anonymous",
    "employee",
    "hr",
    "admin",
    "provider",
    "operator",
)
EVERYONE_SIGNED_IN = {EMPLOYEE, HR, ADMIN, PROVIDER, OPERATOR}
PERSONAS = [ANON, *sorted(EVERYONE_SIGNED_IN)]

#: GET routes: URL -> personas that may see it. Everyone else: 403 (signed in) or login.
PAGES: dict[str, set[str]] = {
    "/me": {EMPLOYEE},
    "/courses": {EMPLOYEE},
    "/me/courses": {EMPLOYEE},
    "/me/calendar": {EMPLOYEE},
    "/me/checklists": {EMPLOYEE},
    "/me/checklists/screen-workstation": {EMPLOYEE},
    "/me/checklists/measures": {EMPLOYEE},
    "/me/pain": {EMPLOYEE},
    "/me/pain/trend": {EMPLOYEE},
    "/me/training": {EMPLOYEE},
    "/me/training/exercises": {EMPLOYEE},
    "/me/training/new": {EMPLOYEE},
    "/me/privacy": {EMPLOYEE},
    "/me/privacy/erase": {EMPLOYEE},
    "/account": EVERYONE_SIGNED_IN,
    "/account/tokens": {EMPLOYEE, HR, ADMIN, PROVIDER},  # operators hold no scope
    "/outbox": EVERYONE_SIGNED_IN,
    "/admin/": {ADMIN},
    "/admin/employees": {ADMIN},
    "/admin/employees/import": {ADMIN},
    "/admin/sso": {ADMIN},
    "/admin/organisation": {ADMIN},
    "/admin/settings": {ADMIN},
    "/admin/audit": {ADMIN},
    "/admin/audit.csv": {ADMIN},
    "/admin/measures": {ADMIN},
    "/transparency": {EMPLOYEE, HR, ADMIN},
    "/admin/checklists": {ADMIN},
    "/admin/offerings/": {ADMIN},
    "/provider/": {PROVIDER},
    "/provider/courses/new": {PROVIDER},
    "/operator/": {OPERATOR},
    "/hr/": {HR, ADMIN},
    "/hr/some/page": {HR, ADMIN},
}
#: Dash's machinery: XHR answers 401/403, never a redirect.
DASH_XHR = ["/hr/_dash-layout", "/hr/_dash-dependencies", "/hr/_reload-hash"]
PUBLIC = [
    "/login",
    "/password/forgot",
    "/healthz",
    "/readyz",
    "/verify",
    "/sso/start",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/metrics",  # from loopback; from elsewhere only with METRICS_TOKEN (tests/observability)
]
#: SCIM answers bearer tokens with the ``scim`` scope only (tests/scim): a browser session of
#: any persona gets a SCIM 401, never data.
SCIM = ["/scim/v2/Users", "/scim/v2/Groups", "/scim/v2/Users/1", "/scim/v2/Groups/1"]

#: Every rule in the URL map, to notice routes added without a matrix entry.
KNOWN_RULES = {
    "/static/<path:filename>",
    "/login",
    "/logout",
    "/password/forgot",
    "/password/reset/<token>",
    "/account",
    "/account/tokens",
    "/admin/audit.csv",
    "/metrics",
    "/provider/offerings/<int:offering_id>/attendance/imports/<int:import_id>",
    "/api/v1/provider/offerings/<int:offering_id>/attendance/imports/<int:import_id>",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/admin/employees/import",
    "/admin/sso",
    "/sso/start",
    "/sso/<slug>",
    "/sso/<slug>/callback",
    "/scim/v2/",
    "/scim/v2/.search",
    "/scim/v2/<path:rest>",
    "/scim/v2/Groups",
    "/scim/v2/Groups/.search",
    "/scim/v2/Groups/<ident>",
    "/scim/v2/ResourceTypes",
    "/scim/v2/ResourceTypes/<type_id>",
    "/scim/v2/Schemas",
    "/scim/v2/Schemas/<path:schema_id>",
    "/scim/v2/ServiceProviderConfig",
    "/scim/v2/Users",
    "/scim/v2/Users/.search",
    "/scim/v2/Users/<ident>",
    "/account/tokens/<int:token_id>/revoke",
    "/language",
    "/",
    "/me",
    "/admin/",
    "/admin/employees",
    "/admin/organisation",
    "/admin/settings",
    "/admin/audit",
    "/operator/",
    "/provider/",
    "/outbox",
    "/healthz",
    "/readyz",
    "/hr/assets/<path:filename>",
    "/hr/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
    "/hr/_dash-layout",
    "/hr/_dash-dependencies",
    "/hr/_dash-update-component",
    "/hr/_reload-hash",
    "/hr/_favicon.ico",
    "/hr/",
    "/hr/<path:path>",
    "/admin/offerings/",
    "/admin/offerings/<int:offering_id>",
    "/api/v1/me/enrollments",
    "/api/v1/offerings",
    "/api/v1/offerings/<int:offering_id>",
    "/api/v1/offerings/<int:offering_id>/enrollment",
    "/calendar/<token>.ics",
    "/courses",
    "/courses/<int:offering_id>",
    "/courses/<int:offering_id>/cancel",
    "/courses/<int:offering_id>/enroll",
    "/me/calendar",
    "/me/calendar/rotate",
    "/me/courses",
    "/offerings/<int:offering_id>/calendar.ics",
    "/provider/courses/<int:course_id>",
    "/provider/courses/<int:course_id>/offerings/new",
    "/provider/courses/new",
    "/provider/offerings/<int:offering_id>",
    "/provider/offerings/<int:offering_id>/participants",
    "/provider/offerings/<int:offering_id>/roster.csv",
    "/provider/offerings/<int:offering_id>/roster.xlsx",
    "/provider/offerings/<int:offering_id>/attendance",
    "/api/v1/provider/offerings",
    "/api/v1/provider/offerings/<int:offering_id>/roster.csv",
    "/api/v1/provider/offerings/<int:offering_id>/roster.xlsx",
    "/api/v1/provider/offerings/<int:offering_id>/attendance",
    "/me/courses/<int:enrollment_id>/certificate.pdf",
    "/verify",
    "/verify/<code>",
    "/api/v1/analytics",
    "/transparency",
    "/api/v1/analytics/<measure>",
    "/admin/checklists",
    "/admin/checklists/<int:template_id>",
    "/admin/measures",
    "/admin/measures/<int:measure_id>",
    "/api/v1/me/checkins",
    "/api/v1/me/checklists",
    "/api/v1/me/checklists/templates",
    "/api/v1/me/consents",
    "/api/v1/me/consents/<purpose>",
    "/api/v1/me/export",
    "/api/v1/me/health-data",
    "/api/v1/me/training",
    "/me/checklists",
    "/me/checklists/<key>",
    "/me/checklists/measures",
    "/me/checklists/results/<int:response_id>",
    "/me/checklists/results/<int:response_id>/items/<item_key>/measure",
    "/me/pain",
    "/me/pain/plotly.min.js",
    "/me/pain/reminder",
    "/me/pain/trend",
    "/me/privacy",
    "/me/privacy/consents/<purpose>",
    "/me/privacy/consents/<purpose>/withdraw",
    "/me/privacy/erase",
    "/me/privacy/export",
    "/me/training",
    "/me/training/<int:log_id>/delete",
    "/me/training/exercises",
    "/me/training/new",
}


@pytest.fixture
def people(app, make_employer, make_provider, make_user):
    """One user per persona at employer A, plus an admin of employer B."""
    employer_a = make_employer(name="Alpha GmbH")
    employer_b = make_employer(name="Beta AG")
    provider = make_provider()
    return {
        "provider_org": provider,
        EMPLOYEE: make_user(Role.EMPLOYEE, employer=employer_a, name="Anna Alpha"),
        HR: make_user(Role.HR, employer=employer_a),
        ADMIN: make_user(Role.ADMIN, employer=employer_a),
        PROVIDER: make_user(Role.PROVIDER, provider=provider),
        OPERATOR: make_user(Role.OPERATOR),
        "other_admin": make_user(Role.ADMIN, employer=employer_b, name="Bert Beta"),
        "other_employee": make_user(Role.EMPLOYEE, employer=employer_b),
        "other_provider": make_user(Role.PROVIDER, provider=make_provider()),
        "employer_a": employer_a,
        "employer_b": employer_b,
    }


def _client_for(app, people, persona):
    client = app.test_client()
    if persona != ANON:
        user = people[persona]
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302
    return client


def test_every_route_is_in_the_matrix(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert rules == KNOWN_RULES


def test_every_flask_view_declares_its_access(app):
    from wellness.auth.guards import access_for

    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if access_for(rule.endpoint, app, rule.rule) is None
    ]
    assert undeclared == []


@pytest.mark.parametrize("persona", PERSONAS)
def test_pages_answer_each_persona_as_the_matrix_says(app, people, persona):
    client = _client_for(app, people, persona)
    for url, allowed in PAGES.items():
        response = client.get(url)
        if persona in allowed:
            assert response.status_code == 200, (persona, url, response.status_code)
        elif persona == ANON:
            assert response.status_code == 302, (persona, url)
            assert response.headers["Location"].startswith("/login?next="), url
        else:
            assert response.status_code == 403, (persona, url, response.status_code)
    for url in DASH_XHR:
        expected = 200 if persona in (HR, ADMIN) else 401 if persona == ANON else 403
        assert client.get(url).status_code == expected, (persona, url)
    if persona not in (HR, ADMIN):
        update = client.post("/hr/_dash-update-component", json={})
        assert update.status_code == (401 if persona == ANON else 403), persona
    for url in PUBLIC:
        assert client.get(url).status_code in (200, 302), (persona, url)
    for url in SCIM:
        response = client.get(url)
        assert response.status_code == 401, (persona, url)
        assert response.headers["Content-Type"].startswith("application/scim+json"), url


def test_anonymous_post_to_signed_in_actions_is_redirected_to_login(client):
    for url in ("/logout", "/account", "/admin/settings", "/admin/organisation", "/operator/"):
        response = client.post(url, data={})
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login"), url


def test_json_clients_get_problem_details_not_redirects(client):
    response = client.get("/admin/", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["status"] == 401


def test_admin_of_another_employer_sees_only_their_own_people(app, db, people):
    a, b = people["employer_a"], people["employer_b"]
    db.session.add_all(
        [
            Department(employer_id=a.id, name="Alpha Secret Unit"),
            Site(employer_id=a.id, name="Alpha Plant", city="Aachen"),
        ]
    )
    db.session.commit()
    client = _client_for(app, people, "other_admin")
    pages = "".join(
        client.get(url).get_data(as_text=True)
        for url in (
            "/admin/",
            "/admin/employees",
            "/admin/organisation",
            "/admin/settings",
            "/admin/audit",
            "/admin/employees?q=alpha",
        )
    )
    for secret in (
        "Anna Alpha",
        "Alpha Secret Unit",
        "Alpha Plant",
        "Alpha GmbH",
        people[EMPLOYEE].email,
    ):
        assert secret not in pages
    assert "Bert Beta" in pages
    assert b.name in pages


def test_admin_changes_only_reach_their_own_employer(app, db, people):
    a, b = people["employer_a"], people["employer_b"]
    client = _client_for(app, people, "other_admin")
    response = client.post(
        "/admin/organisation", data={"form": "site", "site-name": "Berlin", "site-city": "Berlin"}
    )
    assert response.status_code == 302
    sites = db.session.execute(select(Site.employer_id, Site.name)).all()
    assert sites == [(b.id, "Berlin")]
    # A parent department of another employer is refused as if it did not exist.
    foreign = Department(employer_id=a.id, name="Alpha Dept")
    db.session.add(foreign)
    db.session.commit()
    response = client.post(
        "/admin/organisation",
        data={
            "form": "department",
            "department-name": "Sneaky",
            "department-parent_id": str(foreign.id),
        },
    )
    assert response.status_code == 400
    names = db.session.scalars(select(Department.name).where(Department.employer_id == b.id))
    assert list(names) == []


def test_tenant_lookup_of_another_employers_row_is_not_found(app, people):
    from werkzeug.exceptions import NotFound

    foreign = people[EMPLOYEE].employee
    own_admin = people[ADMIN]
    other_admin = people["other_admin"]
    with app.test_request_context():
        from flask_login import login_user

        login_user(other_admin)
        with pytest.raises(NotFound):
            get_for_tenant(Employee, foreign.id)
        login_user(own_admin)
        assert get_for_tenant(Employee, foreign.id) is foreign


#: Pages of one object (an offering of ``people["provider_org"]`` opened to employer A):
#: URL template -> who may see it. A user of another employer or provider gets 404 (the object
#: does not exist for them); other roles 403.
OBJECT_PAGES: dict[str, set[str]] = {
    "/courses/{offering}": {EMPLOYEE},
    "/courses/{offering}/enroll": {EMPLOYEE},
    "/api/v1/offerings/{offering}": {EMPLOYEE},
    "/offerings/{offering}/calendar.ics": {EMPLOYEE, PROVIDER},
    # Every employer may open any published offering: admins of both see it (each only their
    # own subsidy, tests/courses/test_opening.py).
    "/admin/offerings/{offering}": {ADMIN, "other_admin"},
    "/provider/offerings/{offering}": {PROVIDER},
    "/provider/offerings/{offering}/participants": {PROVIDER},
    "/provider/offerings/{offering}/roster.csv": {PROVIDER},
    "/provider/offerings/{offering}/roster.xlsx": {PROVIDER},
    "/provider/offerings/{offering}/attendance": {PROVIDER},
    "/api/v1/provider/offerings/{offering}/roster.csv": {PROVIDER},
    "/api/v1/provider/offerings/{offering}/roster.xlsx": {PROVIDER},
    "/provider/courses/{course}": {PROVIDER},
    "/provider/courses/{course}/offerings/new": {PROVIDER},
}
#: The persona of another tenant that must get 404 for each role's pages.
OUTSIDERS = {EMPLOYEE: "other_employee", PROVIDER: "other_provider", ADMIN: "other_admin"}


@pytest.mark.parametrize("persona", [*PERSONAS, *OUTSIDERS.values()])
def test_object_pages_answer_owners_only(app, people, make_offering, persona):
    offering = make_offering(people["employer_a"], provider=people["provider_org"])
    ids = {"offering": offering.id, "course": offering.course_id}
    insiders = {v: k for k, v in OUTSIDERS.items()}
    client = _client_for(app, people, persona)
    for template, allowed in OBJECT_PAGES.items():
        url = template.format(**ids)
        status = client.get(url, headers={"Accept": "text/html"}).status_code
        if persona in allowed:
            expected = {200}
        elif persona == ANON:
            expected = {302, 401}
        elif insiders.get(persona) in allowed:
            expected = {404}
        else:
            expected = {403}
        assert status in expected, (persona, url, status)
