"""Single sign-on per employer against a real OpenID provider (npm ``oidc-provider``) on
loopback: the whole browser round trip through the Flask test client, the provider's own login
and consent pages, the code exchange with PKCE, and ID token validation against its JWKS."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.oidc import Provider, sign_in, start_provider
from wellness.audit.models import AuditEvent
from wellness.auth.models import Role, User
from wellness.tenants.models import Employer

ALPHA_CALLBACK = "http://localhost/sso/alpha/callback"
BETA_CALLBACK = "http://localhost/sso/beta/callback"
SECRETS = {
    "alpha-app": "alpha-secret-0123456789",
    "beta-app": "beta-secret-0123456789",
    "alpha-wrong-aud": "wrong-aud-secret-0123456789",
    "alpha-expired": "expired-secret-0123456789",
}


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """One provider per test worker. Fails (never skips) when node or npm are missing."""
    clients = [
        {"client_id": "alpha-app", "redirect_uris": [ALPHA_CALLBACK]},
        {"client_id": "beta-app", "redirect_uris": [BETA_CALLBACK]},
        {"client_id": "alpha-wrong-aud", "redirect_uris": [ALPHA_CALLBACK]},
        {"client_id": "alpha-expired", "redirect_uris": [ALPHA_CALLBACK]},
    ]
    for client in clients:
        client["client_secret"] = SECRETS[client["client_id"]]
    clients[2]["misbehave"] = "wrong-audience"
    clients[3]["misbehave"] = "expired"
    accounts = {
        "alice": {"email": "alice@alpha.test"},
        "bob": {"email": "bob@beta.test"},
        "stranger": {"email": "stranger@alpha.test"},
    }
    try:
        with start_provider(tmp_path_factory.mktemp("oidc"), clients, accounts) as provider:
            yield provider
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def sso_employer(make_employer, oidc_provider):
    """``sso_employer("alpha")``: an employer signing in through the provider's client."""

    def build(slug: str, client_id: str | None = None, **fields) -> Employer:
        client_id = client_id or f"{slug}-app"
        return make_employer(
            slug=slug,
            oidc_issuer=oidc_provider.issuer,
            oidc_client_id=client_id,
            oidc_client_secret=SECRETS[client_id],
            **fields,
        )

    return build


@pytest.fixture(autouse=True)
def _english(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def _start(client, slug: str) -> str:
    response = client.get(f"/sso/{slug}")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response.headers["Location"]


def _callback(client, url: str):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def test_employee_signs_in_through_the_company_provider(
    client, db, sso_employer, make_user, oidc_provider
):
    alpha = sso_employer("alpha")
    alice = make_user(Role.EMPLOYEE, employer=alpha, email="alice@alpha.test")

    authorize = _start(client, "alpha")
    assert authorize.startswith(f"{oidc_provider.issuer}/auth?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["client_id"] == ["alpha-app"]
    assert query["redirect_uri"] == [ALPHA_CALLBACK]
    assert query["code_challenge_method"] == ["S256"]
    for required in ("code_challenge", "state", "nonce"):
        assert query[required], required
    assert "code_verifier" not in query

    answer = _callback(client, sign_in(authorize, "alice"))
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    assert client.get("/me").status_code == 200

    db.session.refresh(alice)
    assert alice.oidc_subject == "alice"
    assert alice.last_login_at is not None
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.login", AuditEvent.actor_id == alice.id)
    ).one()
    assert json.loads(event.details) == {"method": "sso"}


def test_login_page_finds_the_provider_by_the_typed_address(
    client, sso_employer, make_user, oidc_provider
):
    alpha = sso_employer("alpha")
    make_user(Role.HR, employer=alpha, email="alice@alpha.test")
    assert b'href="/sso/start?next=/hr/"' in client.get("/login?next=/hr/").data
    assert b'name="sso-email"' in client.get("/sso/start?next=/hr/").data

    response = client.post("/sso/start?next=/hr/", data={"sso-email": "Alice@Alpha.test"})
    assert response.status_code == 302
    authorize = response.headers["Location"]
    assert parse_qs(urlsplit(authorize).query)["login_hint"] == ["Alice@Alpha.test"]

    answer = _callback(client, sign_in(authorize, "alice"))
    assert answer.headers["Location"].endswith("/hr/")
    assert client.get("/hr/").status_code == 200


def test_address_without_company_sign_in_is_sent_back_to_password_login(
    client, make_employer, make_user
):
    user = make_user(employer=make_employer())
    for email in (user.email, "nobody@example.test"):
        response = client.post("/sso/start", data={"sso-email": email})
        assert response.status_code == 400
        assert "There is no company sign-in for this address" in response.get_data(as_text=True)


def test_id_token_for_another_audience_is_refused(client, sso_employer, make_user, caplog):
    alpha = sso_employer("alpha", client_id="alpha-wrong-aud")
    make_user(employer=alpha, email="alice@alpha.test")

    answer = _callback(client, sign_in(_start(client, "alpha"), "alice"))
    assert answer.status_code == 401
    assert "not valid for us" in answer.get_data(as_text=True)
    assert "invalid_claim: Invalid claim: 'aud'" in caplog.text
    assert client.get("/me").status_code == 302  # not signed in


def test_expired_id_token_is_refused(client, sso_employer, make_user, caplog):
    alpha = sso_employer("alpha", client_id="alpha-expired")
    make_user(employer=alpha, email="alice@alpha.test")

    answer = _callback(client, sign_in(_start(client, "alpha"), "alice"))
    assert answer.status_code == 401
    assert "not valid for us" in answer.get_data(as_text=True)
    assert "expired_token" in caplog.text
    assert client.get("/me").status_code == 302


def test_identity_without_an_account_is_refused(client, db, sso_employer, make_user):
    sso_employer("alpha")

    answer = _callback(client, sign_in(_start(client, "alpha"), "stranger"))
    assert answer.status_code == 401
    assert "there is no wellness account for it" in answer.get_data(as_text=True)
    assert client.get("/me").status_code == 302
    assert db.session.scalar(select(User).where(User.email == "stranger@alpha.test")) is None


def test_identity_matches_the_employee_scim_provisioned_with_its_id(
    client, db, sso_employer, make_user
):
    """The provider's SCIM client stored its id of the person as externalId; their address
    at the provider differs from the wellness login (a name change, a second domain)."""
    from wellness.tenants.models import Employee

    alpha = sso_employer("alpha")
    person = make_user(Role.EMPLOYEE, employer=alpha, email="s.tranger@old-alpha.test")
    record = db.session.scalars(select(Employee).where(Employee.user_id == person.id)).one()
    record.external_id = "stranger"  # the subject the provider sends
    db.session.commit()

    answer = _callback(client, sign_in(_start(client, "alpha"), "stranger"))

    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    assert client.get("/me").status_code == 200
    db.session.refresh(person)
    assert person.oidc_subject == "stranger"


def test_callback_with_a_foreign_state_is_refused(app, client, sso_employer, make_user):
    alpha = sso_employer("alpha")
    make_user(employer=alpha, email="alice@alpha.test")
    callback = sign_in(_start(client, "alpha"), "alice")

    tampered = callback.replace("state=", "state=x")
    assert _callback(client, tampered).status_code == 401
    # A browser that did not start this sign-in (the code was handed to someone else).
    stranger = app.test_client()
    stranger.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    refused = _callback(stranger, callback)
    assert refused.status_code == 401
    assert "not started here" in refused.get_data(as_text=True)
    assert stranger.get("/me").status_code == 302


def test_account_linked_to_another_subject_is_not_taken_over(client, sso_employer, make_user):
    alpha = sso_employer("alpha")
    make_user(employer=alpha, email="alice@alpha.test", oidc_subject="the-real-alice")

    answer = _callback(client, sign_in(_start(client, "alpha"), "alice"))
    assert answer.status_code == 401
    assert "linked to another company account" in answer.get_data(as_text=True)


def test_user_of_one_employer_cannot_sign_in_through_another_employers_provider(
    app, client, sso_employer, make_user
):
    alpha = sso_employer("alpha")
    sso_employer("beta")
    make_user(employer=alpha, email="alice@alpha.test")

    # Alice's identity at beta's provider configuration finds nobody at beta.
    answer = _callback(client, sign_in(_start(client, "beta"), "alice"))
    assert answer.status_code == 401
    assert client.get("/me").status_code == 302

    # An answer to alpha's sign-in presented at beta's callback has no state there.
    callback = sign_in(_start(client, "alpha"), "alice")
    crossed = _callback(client, callback.replace("/sso/alpha/", "/sso/beta/"))
    assert crossed.status_code == 401
    assert client.get("/me").status_code == 302


def test_unknown_or_unconfigured_employer_has_no_sso_pages(client, make_employer):
    make_employer(slug="plain")
    assert client.get("/sso/plain").status_code == 404
    assert client.get("/sso/plain/callback?code=x&state=y").status_code == 404
    assert client.get("/sso/missing").status_code == 404


def test_password_login_is_refused_when_the_employer_turned_it_off(
    client, sso_employer, make_provider, make_user
):
    alpha = sso_employer("alpha", password_login_enabled=False)
    employee = make_user(employer=alpha, email="alice@alpha.test")
    trainer = make_user(Role.PROVIDER, provider=make_provider())
    operator = make_user(Role.OPERATOR)

    refused = client.post("/login", data={"email": employee.email, "password": PASSWORD})
    assert refused.status_code == 401
    assert "single sign-on" in refused.get_data(as_text=True)
    assert "Sign in with your company account" in refused.get_data(as_text=True)
    assert client.get("/me").status_code == 302
    for other in (trainer, operator):
        other_client = client.application.test_client()
        answer = other_client.post("/login", data={"email": other.email, "password": PASSWORD})
        assert answer.status_code == 302

    # The company account still works.
    assert _callback(client, sign_in(_start(client, "alpha"), "alice")).status_code == 302
    assert client.get("/me").status_code == 200


# --- the admin's configuration page ----------------------------------------------------------


@pytest.fixture
def admin_client(client, login, make_employer, make_user):
    employer = make_employer(slug="alpha", locale="en")
    login(client, make_user(Role.ADMIN, employer=employer))
    client.employer = employer
    return client


def _save(client, **data):
    fields = {"issuer": "", "client_id": "", "client_secret": "", "password_login_enabled": "y"}
    fields.update(data)
    return client.post("/admin/sso", data={k: v for k, v in fields.items() if v is not None})


def test_admin_configures_sso_after_discovery_is_checked(admin_client, db, oidc_provider):
    page = admin_client.get("/admin/sso")
    assert page.status_code == 200
    assert ALPHA_CALLBACK in page.get_data(as_text=True)

    saved = _save(
        admin_client,
        issuer=oidc_provider.issuer + "/",
        client_id="alpha-app",
        client_secret=SECRETS["alpha-app"],
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    employer = db.session.get(Employer, admin_client.employer.id)
    assert employer.oidc_issuer == oidc_provider.issuer  # as the provider spells it
    assert employer.oidc_client_secret == SECRETS["alpha-app"]

    shown = admin_client.get("/admin/sso").get_data(as_text=True)
    assert SECRETS["alpha-app"] not in shown
    assert "leave blank to keep" in shown

    # A blank secret keeps the stored one; password login can now be turned off.
    kept = _save(
        admin_client,
        issuer=oidc_provider.issuer,
        client_id="alpha-app",
        password_login_enabled=None,
    )
    assert kept.status_code == 302
    db.session.refresh(employer)
    assert employer.oidc_client_secret == SECRETS["alpha-app"]
    assert employer.password_login_enabled is False
    changes = db.session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "admin.settings_changed")
    ).all()
    assert [json.loads(details) for details in changes] == [
        {"fields": ["oidc_issuer", "oidc_client_id", "oidc_client_secret"]},
        {"fields": ["password_login_enabled"]},
    ]
    assert all(SECRETS["alpha-app"] not in details for details in changes)


@pytest.mark.parametrize(
    ("issuer", "message"),
    [
        ("http://login.example.com", "must use https://"),
        ("login.example.com", "must be a full URL"),
        ("https://login.example.com/?tenant=1", "must not contain a query"),
    ],
)
def test_admin_gets_a_clear_error_for_an_unusable_issuer(admin_client, db, issuer, message):
    refused = _save(admin_client, issuer=issuer, client_id="c", client_secret="s")
    assert refused.status_code == 400
    assert message in refused.get_data(as_text=True)
    assert db.session.get(Employer, admin_client.employer.id).oidc_issuer is None


def test_admin_gets_a_clear_error_when_discovery_fails(admin_client, db, oidc_provider):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = _save(admin_client, issuer=closed, client_id="c", client_secret="s")
    assert unreachable.status_code == 400
    assert "could not be fetched" in unreachable.get_data(as_text=True)

    wrong_path = _save(
        admin_client, issuer=oidc_provider.issuer + "/tenant", client_id="c", client_secret="s"
    )
    assert wrong_path.status_code == 400
    assert "answered with HTTP 404" in wrong_path.get_data(as_text=True)
    assert db.session.get(Employer, admin_client.employer.id).oidc_issuer is None


def test_a_new_issuer_unlinks_the_subjects_of_the_old_one(
    admin_client, db, make_user, oidc_provider
):
    """A subject is unique only at its issuer: the new provider's "alice" is not the old one's."""
    employer = db.session.get(Employer, admin_client.employer.id)
    employer.oidc_issuer = "https://old-idp.example"
    employer.oidc_client_id = "old-client"
    employer.oidc_client_secret = "old-secret"
    linked = make_user(employer=employer, email="bob@alpha.test", oidc_subject="alice")
    saved = _save(
        admin_client,
        issuer=oidc_provider.issuer,
        client_id="alpha-app",
        client_secret=SECRETS["alpha-app"],
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    db.session.refresh(linked)
    assert linked.oidc_subject is None


def test_password_login_cannot_be_turned_off_without_sso(admin_client, db):
    refused = _save(admin_client, password_login_enabled=None)
    assert refused.status_code == 400
    assert "once single sign-on is set up" in refused.get_data(as_text=True)
    assert db.session.get(Employer, admin_client.employer.id).password_login_enabled is True


def test_only_the_employers_admin_reaches_the_sso_page(client, login, make_employer, make_user):
    login(client, make_user(Role.HR, employer=make_employer()))
    assert client.get("/admin/sso").status_code == 403


def test_company_sign_in_form_works_with_csrf_protection(make_app, sso_employer, make_user):
    alpha = sso_employer("alpha")
    make_user(employer=alpha, email="alice@alpha.test")
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    page = client.get("/sso/start").get_data(as_text=True)
    token = re.search(r'name="sso-csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, page
    assert client.post("/sso/start", data={"sso-email": "alice@alpha.test"}).status_code == 400
    started = client.post(
        "/sso/start", data={"sso-email": "alice@alpha.test", "sso-csrf_token": token[1]}
    )
    assert started.status_code == 302
