"""Groups (departments) and tenant isolation: employer A's token never reaches employer B."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from wellness.tenants.models import Department, Employee

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def two(make_employer, make_token, scim_for):
    a, b = make_employer(), make_employer()
    return scim_for(make_token(a)), scim_for(make_token(b)), a, b


def _create_user(scim, user_name: str, **extra) -> dict:
    response = scim.post("/Users", {"schemas": [USER], "userName": user_name, **extra})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _create_group(scim, name: str, members=()) -> dict:
    response = scim.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_groups_are_departments_and_members_their_employees(db, two):
    scim, _other, employer, _ = two
    ada = _create_user(scim, "ada@example.org", displayName="Ada")
    grace = _create_user(scim, "grace@example.org")
    group = _create_group(scim, "Vertrieb", members=[ada["id"]])
    assert group["members"][0]["value"] == ada["id"]
    assert group["members"][0]["display"] == "Ada"
    department = db.session.get(Department, int(group["id"]))
    assert department.employer_id == employer.id
    patched = scim.patch(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": grace["id"]}]},
        {"op": "remove", "path": f'members[value eq "{ada["id"]}"]'},
    )
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert [m["value"] for m in patched.get_json()["members"]] == [grace["id"]]
    user = scim.get(f"/Users/{grace['id']}").get_json()
    assert user[ENTERPRISE]["department"] == "Vertrieb"
    filtered = scim.get("/Groups", query_string={"filter": 'displayName eq "vertrieb"'})
    assert [g["id"] for g in filtered.get_json()["Resources"]] == [group["id"]]
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    db.session.expire_all()
    assert db.session.get(Department, int(group["id"])) is None
    assert db.session.get(Employee, int(grace["id"])).department_id is None
    assert scim.get(f"/Groups/{group['id']}").status_code == 404


def test_duplicate_group_name_is_409(two):
    scim, *_ = two
    _create_group(scim, "Vertrieb")
    response = scim.post("/Groups", {"schemas": [GROUP], "displayName": "vertrieb"})
    assert response.status_code == 409
    assert response.get_json()["scimType"] == "uniqueness"


def test_token_of_one_employer_cannot_see_or_change_another_employers_users(db, two):
    scim_a, scim_b, _a, b = two
    theirs = _create_user(scim_b, "secret@b.example", externalId="B-1")
    path = f"/Users/{theirs['id']}"
    assert scim_a.get(path).status_code == 404
    assert scim_a.put(path, {"schemas": [USER], "userName": "taken@a.example"}).status_code == 404
    assert (
        scim_a.patch(path, {"op": "replace", "path": "active", "value": False}).status_code == 404
    )
    assert scim_a.delete(path).status_code == 404
    for query in ('userName eq "secret@b.example"', 'externalId eq "B-1"', "userName pr"):
        listed = scim_a.get("/Users", query_string={"filter": query}).get_json()
        assert theirs["id"] not in [r["id"] for r in listed.get("Resources", [])]
    searched = scim_a.post("/.search", {"filter": 'userName eq "secret@b.example"'}).get_json()
    assert searched["totalResults"] == 0
    # Nor can A point at B's person as a manager or group member.
    mine = _create_user(scim_a, "mine@a.example")
    manager = scim_a.patch(
        f"/Users/{mine['id']}",
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": theirs["id"]}},
    )
    assert manager.status_code == 400
    member = scim_a.post(
        "/Groups", {"schemas": [GROUP], "displayName": "X", "members": [{"value": theirs["id"]}]}
    )
    assert member.status_code == 400
    # B's person is untouched, and the same userName is free within A.
    db.session.expire_all()
    person = db.session.get(Employee, int(theirs["id"]))
    assert person.employer_id == b.id
    assert person.active
    assert person.department_id is None
    assert scim_b.get(path).get_json()["userName"] == "secret@b.example"
    _create_user(scim_a, "secret-twin@a.example", externalId="B-1")


def test_token_of_one_employer_cannot_see_or_change_another_employers_groups(db, two):
    scim_a, scim_b, *_ = two
    theirs = _create_group(scim_b, "Geheim")
    path = f"/Groups/{theirs['id']}"
    assert scim_a.get(path).status_code == 404
    assert scim_a.put(path, {"schemas": [GROUP], "displayName": "Mine"}).status_code == 404
    assert (
        scim_a.patch(path, {"op": "replace", "path": "displayName", "value": "M"}).status_code
        == 404
    )
    assert scim_a.delete(path).status_code == 404
    listed = scim_a.get("/Groups").get_json()
    assert theirs["id"] not in [g["id"] for g in listed.get("Resources", [])]
    # The same department name is fine in A, and B's keeps its name.
    _create_group(scim_a, "Geheim")
    db.session.expire_all()
    assert db.session.get(Department, int(theirs["id"])).name == "Geheim"
    names = db.session.scalars(select(Department.name).order_by(Department.id)).all()
    assert names == ["Geheim", "Geheim"]
