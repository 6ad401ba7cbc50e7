"""The OpenAPI document: valid 3.1, complete against the URL map, and true to the running API
(Schemathesis fuzzes every operation with real tokens of each role); the reference page comes
from our own static files only."""

from __future__ import annotations

import re
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance
from werkzeug.serving import make_server

from tests.attendance.test_roster import enroll
from tests.conftest import TEST_CONFIG
from wellness import create_app
from wellness.api.openapi import OPERATION_ATTR
from wellness.auth.guards import ACCESS_ATTR
from wellness.auth.models import Role
from wellness.auth.services import create_api_token
from wellness.health import checkins

SPEC = "/api/v1/openapi.json"
STATIC = Path(__file__).resolve().parents[2] / "wellness" / "static"


@pytest.fixture
def spec(client):
    response = client.get(SPEC)
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def tokens(db, make_employer, make_provider, make_user, make_offering):
    """Bearer headers per role, for an employer and a provider with real rows behind them:
    an offering open to the employer with an enrolled employee, a check-in, a second offering."""
    employer, provider = make_employer(locale="en"), make_provider()
    offering = make_offering(employer, provider=provider, sessions=2)
    make_offering(None, provider=provider, starts_in_days=40)
    people = {
        Role.EMPLOYEE: make_user(Role.EMPLOYEE, employer=employer, locale="en"),
        Role.HR: make_user(Role.HR, employer=employer, locale="en"),
        Role.ADMIN: make_user(Role.ADMIN, employer=employer, locale="en"),
        Role.PROVIDER: make_user(Role.PROVIDER, provider=provider, locale="en"),
    }
    enroll(make_user, employer, offering, "Anna Arnold")
    checkins.record_checkin(people[Role.EMPLOYEE].employee, {"low_back": 3})
    headers = {  # every scope each role may hold
        role.value: {"Authorization": f"Bearer {create_api_token(user, 'fuzz')}"}
        for role, user in people.items()
    }
    db.session.commit()
    return headers


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule)


def test_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_every_api_route_of_the_url_map_is_documented_and_nothing_else(app, spec):
    routes = {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert routes == documented
    assert not any(path.startswith("/scim") for path, _ in documented)


def test_operations_name_the_roles_of_their_guard_and_the_token_scopes(app, spec):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, OPERATION_ATTR), rule.rule
        access = getattr(view, ACCESS_ATTR)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            entry = spec["paths"][_openapi_path(rule.rule)][method.lower()]
            if access.public:
                assert entry["security"] == []
            else:
                assert entry["x-roles"] == sorted(role.value for role in access.roles)
                assert {"sessionCookie": []} in entry["security"]
                assert "401" in entry["responses"]
                assert "403" in entry["responses"]
    paths = spec["paths"]
    assert paths["/api/v1/analytics/{measure}"]["get"]["security"][0] == {
        "bearerToken": ["analytics:read"]
    }
    upload = paths["/api/v1/provider/offerings/{offering_id}/attendance"]["post"]
    assert upload["security"][0] == {"bearerToken": ["attendance:write"]}
    roster = paths["/api/v1/provider/offerings/{offering_id}/roster.csv"]["get"]
    assert {"bearerToken": ["attendance:read"]} in roster["security"]
    assert {"bearerToken": ["me"]} in paths["/api/v1/offerings"]["get"]["security"]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerToken"] == schemes["bearerToken"] | {"type": "http", "scheme": "bearer"}
    assert schemes["sessionCookie"]["in"] == "cookie"


def test_lists_document_the_same_page_parameters_and_envelope(spec):
    for path in ("/api/v1/offerings", "/api/v1/provider/offerings", "/api/v1/me/checkins"):
        entry = spec["paths"][path]["get"]
        names = {p["name"] for p in entry["parameters"] if p["in"] == "query"}
        assert {"page", "per_page"} <= names
        ref = entry["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(page["required"]) == {"items", "page", "per_page", "total", "pages"}


@pytest.mark.parametrize(
    ("url", "role", "parameter", "detail"),
    [
        ("/api/v1/analytics/pain_mean?from=2026-13", "hr", "from", "a month like 2026-03"),
        ("/api/v1/analytics/pain_mean?department=x", "hr", "department", "whole number"),
        ("/api/v1/analytics/budget_used?region=neck", "hr", "region", "pain measures only"),
        ("/api/v1/analytics/pain_mean?group_by=field", "hr", "group_by", "one of"),
        ("/api/v1/offerings?per_page=1000", "employee", "per_page", "between 1 and 100"),
        (
            "/api/v1/offerings?format=party",
            "employee",
            "format",
            "one of: in_person, online, hybrid",
        ),
        ("/api/v1/me/checkins?page=two", "employee", "page", "whole number"),
    ],
)
def test_a_bad_parameter_is_a_problem_that_names_it(client, tokens, url, role, parameter, detail):
    response = client.get(url, headers=tokens[role])

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == 400
    assert detail in problem["detail"]
    assert problem["invalid-params"] == [{"name": parameter, "reason": problem["detail"]}]


def test_guard_and_not_found_errors_are_problems_too(client, tokens):
    for response, status in (
        (client.get("/api/v1/offerings"), 401),
        (client.get("/api/v1/analytics", headers=tokens["employee"]), 403),
        (client.get("/api/v1/offerings/999999", headers=tokens["employee"]), 404),
        (client.get("/api/v1/analytics/salary", headers=tokens["hr"]), 404),
        # Beyond PostgreSQL's integer: nothing to find, not a database error.
        (client.get("/api/v1/offerings/2147483648", headers=tokens["employee"]), 404),
        (client.get("/api/v1/analytics/pain_mean?site=2147483648", headers=tokens["hr"]), 400),
    ):
        assert response.status_code == status
        assert response.mimetype == "application/problem+json"
        assert {"type", "title", "status", "detail"} <= response.get_json().keys()


def test_a_refused_upload_is_a_problem_carrying_the_report(client, tokens, spec):
    offering_id = client.get("/api/v1/provider/offerings", headers=tokens["provider"]).get_json()[
        "items"
    ][0]["id"]
    response = client.post(
        f"/api/v1/provider/offerings/{offering_id}/attendance",
        data=b"code,date,status\nNOBODY99,2026-09-07,present\n",
        headers=tokens["provider"] | {"Content-Type": "text/csv"},
    )

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 422
    assert problem["errors_total"] >= 1
    assert problem["stored"] is False
    assert problem["errors"][0]["message"]


def _load_schema() -> schemathesis.BaseSchema:
    """The document of an app without a database (it is built from the URL map alone); the
    cases call the test app. (``schemathesis.pytest.from_fixture`` fails on pytest 9.2.)"""
    return schemathesis.openapi.from_wsgi(
        SPEC, create_app(TEST_CONFIG | {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    )


schema = _load_schema()


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_answers_as_documented(case, app, tokens):
    """Every operation, called with a token of a role it allows: no server error, and every
    answer (status, media type, body) as the document says."""
    roles = case.operation.definition.raw.get("x-roles", [])
    response = case.call_and_validate(
        headers=tokens[roles[0]] if roles else {},
        app=app,
        excluded_checks=[
            # Domain rules refuse some schema-valid requests on purpose (a region for a
            # measure without regions, a day more than 90 days back, a privacy refusal).
            positive_data_acceptance,
            # It cannot strip a token sent as a plain header, so it would see the token work;
            # refusals without or with a wrong token are tested above and in tests/auth.
            ignored_auth,
        ],
    )
    if roles:
        assert response.status_code not in (401, 403), "the token of an allowed role was refused"


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.urls.append(found[name] or "")
        if tag == "script" and not found.get("src"):
            self.inline_scripts += 1


def test_reference_page_loads_our_own_static_files_only(client):
    page = client.get("/api/v1/docs")

    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assets = _Assets()
    assets.feed(page.get_data(as_text=True))
    assert assets.inline_scripts == 0
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets.urls
    for url in assets.urls:
        assert url.startswith(("/static/", "/api/v1/")), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()  # a static file is streamed from disk
    boot = (STATIC / "js" / "api-docs.js").read_text(encoding="utf-8")
    assert "validatorUrl: null" in boot
    assert not re.search(r"https?://", boot)
    assert (STATIC / "vendor" / "swagger-ui" / "LICENSE").is_file()


@pytest.fixture
def docs_server(make_app):
    """The app on a loopback port (a thread of our own process): the page needs no data."""
    app = make_app(SERVER_NAME=None)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join()


def test_reference_page_renders_every_operation_under_a_strict_csp_without_leaving(docs_server):
    """In a real Chromium: the viewer boots from our static files with no inline script or
    style allowed, lists every operation, and sends no request to another host."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    base, app = docs_server

    @app.after_request
    def strict_csp(response):
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'"
        )
        return response

    requests, problems = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{base}/api/v1/docs")
            page.wait_for_selector(".opblock", timeout=15_000)
            shown = page.locator(".opblock").count()
        finally:
            browser.close()

    operations = sum(len(ops) for ops in app.test_client().get(SPEC).get_json()["paths"].values())
    assert shown == operations
    assert problems == []
    assert [url for url in requests if not url.startswith(base + "/")] == []
