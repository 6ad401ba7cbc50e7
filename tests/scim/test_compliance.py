"""The scim2-tester compliance checks against our SCIM server, through scim2-client's WSGI engine.

Every check must succeed, except the ones listed in ``UNSUPPORTED`` with the reason; those
are the only non-successes allowed (a listed check that happens to pass is fine: some depend
on random values). Nothing is skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server

from wellness.extensions import db
from wellness.tenants.models import Employer

#: (check title, resource type, attribute or None) -> why we do not support it.
EMAILS = (
    "We keep one e-mail address per person, the account's login; it is always returned as the "
    "primary work address, so a random type or primary flag does not round-trip."
)
UNSUPPORTED: dict[tuple[str, str | None, str | None], str] = {
    ("check_add_attribute", "User", "emails"): EMAILS,
    ("check_replace_attribute", "User", "emails"): EMAILS,
    ("check_remove_attribute", "User", "emails"): (
        "An account cannot exist without its address: removing emails keeps the account and "
        "its address (deleting a login is what DELETE or active=false is for)."
    ),
    ("check_remove_attribute", "User", "active"): (
        "active is always returned: removing it leaves the person as they are, so a PATCH or "
        "PUT that drops the attribute never deactivates or reactivates anyone by accident."
    ),
}


def _wsgi(app: Flask) -> Callable[..., Any]:
    """Each request in its own app context, as under a real server (see RequestIsolatingClient)."""

    def call(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        db.session.commit()
        with app.app_context():
            return list(app.wsgi_app(environ, start_response))

    return call


def _key(result: Any) -> tuple[str, str | None, str | None]:
    data = result.data if isinstance(result.data, dict) else {}
    return (result.title, result.resource_type, data.get("urn"))


def test_scim2_tester_checks_pass(
    app: Flask, make_employer: Callable[..., Employer], make_token: Callable[..., str]
) -> None:
    token = make_token(make_employer())
    client = WSGISCIMClient(
        _wsgi(app),
        base_url="http://localhost/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
    )
    client.discover()
    results = check_server(client)
    assert results
    failures = {
        _key(r): f"{r.status.name}: {r.reason}" for r in results if r.status != Status.SUCCESS
    }
    unexpected = {k: v for k, v in failures.items() if k not in UNSUPPORTED}
    assert not unexpected, "\n".join(f"{k}: {v}" for k, v in unexpected.items())
    # The CRUD and PATCH checks really ran for both resource types (not skipped or missing).
    ran = {(r.title, r.resource_type) for r in results}
    for resource_type in ("User", "Group"):
        for title in (
            "object_creation",
            "object_query",
            "object_query_without_id",
            "object_replacement",
            "object_deletion",
            "check_add_attribute",
            "check_replace_attribute",
            "check_remove_attribute",
        ):
            assert (title, resource_type) in ran
    successes = sum(r.status == Status.SUCCESS for r in results)
    assert successes >= len(results) - len(UNSUPPORTED)
