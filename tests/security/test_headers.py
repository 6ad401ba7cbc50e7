"""Security headers and cookie flags as the browser receives them."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from flask import render_template_string

from tests.conftest import PASSWORD
from wellness.auth.guards import public
from wellness.auth.models import Role
from wellness.config import load_settings

#: A production environment that passes every check of wellness.config.
PRODUCTION = {
    "WELLNESS_ENV": "production",
    "SECRET_KEY": "x" * 48,
    "DATABASE_URL": "postgresql+psycopg://wellness@db.internal:5432/wellness",
    "BASE_URL": "https://wellness.example",
    "MAIL_SERVER": "smtp.example",
}


#: An executable inline script: no src, not a JSON data block.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>")


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


def test_pages_get_a_strict_policy_and_the_small_headers(client) -> None:
    response = client.get("/login")
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert "style-src-attr" not in policy  # style attributes fall under style-src: refused
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_templates_set_no_style_attributes() -> None:
    """The policy refuses them; a class in app.css does the same job."""
    templates = Path(__file__).resolve().parents[2] / "wellness" / "templates"
    found = [
        f"{path.relative_to(templates)}:{number}"
        for path in sorted(templates.rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bstyle\s*=", line)
    ]
    assert not found, f"style attributes (use a class in app.css): {found}"


def test_json_and_error_responses_carry_the_headers_too(client) -> None:
    for path in ("/healthz", "/no-such-page"):
        response = client.get(path)
        assert "object-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_template_nonce_is_named_in_the_header_and_new_per_request(make_app) -> None:
    app = make_app()

    @public
    def inline() -> str:
        return render_template_string(
            '<script nonce="{{ csp_nonce() }}">1</script><style nonce="{{ csp_nonce() }}"></style>'
        )

    app.add_url_rule("/nonce-probe", "nonce_probe", inline)
    client = app.test_client()
    nonces = []
    for _ in range(2):
        response = client.get("/nonce-probe")
        nonce = re.search(r'nonce="([^"]+)"', response.get_data(as_text=True)).group(1)
        policy = _directives(response.headers["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
        assert policy["style-src"] == ["'self'", f"'nonce-{nonce}'"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
    assert len(nonces[0]) >= 22


def test_the_dashboard_allows_exactly_dash_s_inline_boot_script(
    client, make_employer, make_user, login
) -> None:
    login(client, make_user(Role.HR, employer=make_employer()))
    response = client.get("/hr/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    inline = re.findall(INLINE_SCRIPT, page)
    assert inline, "Dash's index page boots with an inline script"
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in inline
    ]
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'", *hashes]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["object-src"] == ["'none'"]


def test_hsts_is_sent_in_production_only(make_app, client) -> None:
    assert "Strict-Transport-Security" not in client.get("/login").headers
    production = make_app(ENV_NAME="production")
    hsts = production.test_client().get("/login").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=31536000")


def _cookie_settings(tmp_path: Path) -> dict[str, object]:
    config = load_settings(tmp_path, environ=dict(PRODUCTION)).as_flask_config()
    return {key: value for key, value in config.items() if "COOKIE" in key}


def test_production_cookies_are_secure_httponly_and_samesite(
    tmp_path, make_app, make_employer, make_user
) -> None:
    cookies = _cookie_settings(tmp_path)
    assert cookies["SESSION_COOKIE_SECURE"] is True
    assert cookies["REMEMBER_COOKIE_SECURE"] is True
    app = make_app(ENV_NAME="production", **cookies)
    user = make_user(employer=make_employer())
    response = app.test_client().post(
        "/login", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    set_cookies = response.headers.getlist("Set-Cookie")
    names = {header.split("=", 1)[0] for header in set_cookies}
    assert {"session", "remember_token"} <= names
    for header in set_cookies:
        assert "; Secure" in header, header
        assert "; HttpOnly" in header, header
        assert "SameSite=Lax" in header, header


def test_development_cookies_work_over_plain_http(tmp_path) -> None:
    config = load_settings(tmp_path, environ={"WELLNESS_ENV": "development"}).as_flask_config()
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_HTTPONLY"] is True
