"""CSRF everywhere except the token-authenticated API, SCIM and Dash's own routes."""

from __future__ import annotations

import re

import pytest

from wellness.extensions import csrf

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
#: Exempt on purpose: bearer tokens (API without a cookie session, SCIM) cannot be sent by
#: another site, and Dash posts JSON from its own scripts behind the role guard.
EXEMPT_PREFIXES = ("/api/", "/scim/", "/hr/")


@pytest.fixture
def strict_app(make_app, app):
    return make_app(WTF_CSRF_ENABLED=True)


def _url(rule) -> str:
    """A concrete URL for a rule: ids become 1, other parts a word."""
    return re.sub(
        r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>",
        lambda m: "1" if m.group(1) == "int" else "x",
        rule.rule,
    )


def _state_changing_html_rules(app):
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & STATE_CHANGING
        if methods and not rule.rule.startswith(EXEMPT_PREFIXES):
            yield rule, sorted(methods)


def test_every_state_changing_html_route_refuses_a_post_without_token(strict_app) -> None:
    client = strict_app.test_client()
    checked, unprotected = 0, []
    for rule, methods in _state_changing_html_rules(strict_app):
        for method in methods:
            response = client.open(_url(rule), method=method, data={"x": "1"})
            body = response.get_data(as_text=True)
            if response.status_code != 400 or not (
                "Form expired" in body or "Formular abgelaufen" in body
            ):
                unprotected.append(f"{method} {rule.rule} -> {response.status_code}")
            checked += 1
    assert unprotected == []
    assert checked >= 30  # the walk really saw the app's forms


def test_only_the_api_scim_and_dash_are_exempt(strict_app) -> None:
    exempt_blueprints = {bp.name for bp in csrf._exempt_blueprints}  # noqa: SLF001
    assert exempt_blueprints == {"api", "scim"}
    for view in csrf._exempt_views:  # noqa: SLF001
        endpoint = next(
            (name for name, func in strict_app.view_functions.items() if _name(func) == view),
            None,
        )
        if endpoint is None:
            continue  # a view of another app built in this process
        rules = [r.rule for r in strict_app.url_map.iter_rules(endpoint)]
        assert all(r.startswith("/hr/") for r in rules), (view, rules)


def _name(func) -> str:
    return f"{func.__module__}.{func.__name__}"


def test_api_with_a_cookie_session_needs_the_token(strict_app, make_employer, make_user) -> None:
    from tests.conftest import PASSWORD
    from wellness.auth.models import Role

    user = make_user(Role.EMPLOYEE, employer=make_employer())
    client = strict_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    refused = client.post("/api/v1/me/checkins", json={})
    assert refused.status_code == 400
    assert refused.content_type == "application/problem+json"
    passed = client.post("/api/v1/me/checkins", json={}, headers={"X-CSRFToken": token})
    assert passed.status_code == 201, passed.get_data(as_text=True)
