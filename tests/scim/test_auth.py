"""Who may call /scim/v2: a valid token with the scim scope of an employer admin, nobody else,
and always with SCIM error bodies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wellness.auth.models import ApiToken, Role
from wellness.db import utcnow

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _assert_scim_error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/scim+json"
    body = response.get_json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body["detail"]
    return body


@pytest.mark.parametrize("path", ["/Users", "/Groups", "/ServiceProviderConfig", "/Nothing"])
def test_request_without_token_is_refused_with_scim_401(client, path):
    response = client.get(f"/scim/v2{path}")
    _assert_scim_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_refused(scim_for):
    _assert_scim_error(scim_for("wl_not-a-token").get("/Users"), 401)


def test_revoked_token_is_refused(db, scim_for, make_employer, make_token):
    token = make_token(make_employer())
    scim = scim_for(token)
    assert scim.get("/Users").status_code == 200
    db.session.query(ApiToken).update({ApiToken.revoked_at: utcnow()})
    db.session.commit()
    _assert_scim_error(scim.get("/Users"), 401)


def test_expired_token_is_refused(db, scim_for, make_employer, make_token):
    token = make_token(make_employer(), expires_in=3600)
    db.session.query(ApiToken).update({ApiToken.expires_at: utcnow() - timedelta(seconds=1)})
    db.session.commit()
    _assert_scim_error(scim_for(token).get("/Users"), 401)


def test_token_without_scim_scope_is_refused(scim_for, make_employer, make_token):
    token = make_token(make_employer(), scopes=("analytics:read",))
    body = _assert_scim_error(scim_for(token).get("/Users"), 403)
    assert "scim" in body["detail"]
    _assert_scim_error(
        scim_for(token).post("/Users", {"schemas": [], "userName": "x@example.org"}), 403
    )


def test_scim_token_whose_user_is_no_longer_admin_is_refused(
    db, scim_for, make_employer, make_token
):
    token = make_token(make_employer())
    api_token = db.session.query(ApiToken).one()
    for role in list(api_token.user.roles):
        role.role = Role.HR.value
    db.session.commit()
    _assert_scim_error(scim_for(token).get("/Users"), 403)


def test_unknown_path_and_method_are_scim_errors(scim_for, make_employer, make_token):
    scim = scim_for(make_token(make_employer()))
    _assert_scim_error(scim.get("/Nothing/here"), 404)
    _assert_scim_error(scim.get("/Users/999999"), 404)
    _assert_scim_error(scim.get("/Users/not-a-number"), 404)
    _assert_scim_error(scim.request("DELETE", "/ServiceProviderConfig"), 405)
    _assert_scim_error(scim.request("PUT", "/Users"), 405)


def test_discovery_endpoints_describe_what_we_serve(scim_for, make_employer, make_token):
    scim = scim_for(make_token(make_employer()))
    config = scim.get("/ServiceProviderConfig").get_json()
    assert config["patch"]["supported"] is True
    assert config["bulk"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 200}
    types = {t["id"]: t for t in scim.get("/ResourceTypes").get_json()["Resources"]}
    assert types["User"]["endpoint"] == "/Users"
    assert types["User"]["schemaExtensions"][0]["schema"].endswith("enterprise:2.0:User")
    assert types["Group"]["endpoint"] == "/Groups"
    schemas = {s["id"]: s for s in scim.get("/Schemas").get_json()["Resources"]}
    user_attributes = {
        a["name"] for a in schemas["urn:ietf:params:scim:schemas:core:2.0:User"]["attributes"]
    }
    assert user_attributes == {"userName", "name", "displayName", "active", "emails"}
    one = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")
    assert one.status_code == 200
    assert one.get_json()["id"].endswith(":Group")


def test_bearer_requests_need_no_csrf_token(make_app, make_employer, make_token):
    token = make_token(make_employer())
    app = make_app(WTF_CSRF_ENABLED=True)
    response = app.test_client().post(
        "/scim/v2/Users",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x@e.org"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
