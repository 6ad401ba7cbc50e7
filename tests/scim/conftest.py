"""SCIM fixtures: an employer admin's integration token and a SCIM client over the real app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from wellness.auth.models import Role, User
from wellness.auth.services import create_api_token
from wellness.extensions import db
from wellness.tenants.models import Employer


@pytest.fixture
def make_token(make_user: Callable[..., User]) -> Callable[..., str]:
    """``make_token(employer)``: a new admin of ``employer`` and a token with ``scopes``."""

    def build(
        employer: Employer,
        scopes: tuple[str, ...] = ("scim",),
        role: Role = Role.ADMIN,
        expires_in: int | None = None,
    ) -> str:
        admin = make_user(role, employer=employer)
        token = create_api_token(admin, "idp", scopes, expires_in)
        db.session.commit()
        return token

    return build


class Scim:
    """Requests to ``/scim/v2`` with a bearer token, through the Flask test client."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.open(
            f"/scim/v2{path}",
            method=method,
            json=body,
            headers=self.headers,
            content_type="application/scim+json" if body is not None else None,
            **kwargs,
        )

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def patch(self, path: str, *operations: dict[str, Any]) -> Any:
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": list(operations),
        }
        return self.request("PATCH", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)


@pytest.fixture
def scim_for(app: Flask, client: FlaskClient) -> Callable[[str], Scim]:
    return lambda token: Scim(client, token)
