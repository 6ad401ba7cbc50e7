"""SCIM Users: employees (and their accounts) of the token's employer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from wellness.auth.models import ApiToken, Role, User
from wellness.auth.services import create_api_token, set_password
from wellness.courses import enrollment as enrollments
from wellness.courses.models import Enrollment, EnrollmentStatus
from wellness.db import utcnow
from wellness.tenants.models import Department, Employee

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def employer(make_employer):
    return make_employer()


@pytest.fixture
def scim(employer, make_token, scim_for):
    return scim_for(make_token(employer))


def user_payload(user_name: str, **extra):
    return {"schemas": [USER], "userName": user_name, **extra}


def create(scim, user_name: str, **extra) -> dict:
    response = scim.post("/Users", user_payload(user_name, **extra))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_create_user_with_email_gives_an_enabled_employee_account(db, scim, employer):
    created = create(
        scim,
        "Ada.Lovelace@example.org",
        externalId="entra-1",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        displayName="Ada Lovelace",
        emails=[{"value": "Ada.Lovelace@example.org", "type": "work", "primary": True}],
        phoneNumbers=[{"value": "+49 40 1234"}],  # not kept: ignored, not refused
        **{ENTERPRISE: {"employeeNumber": "P-7", "department": "Logistik"}},
    )
    assert created["userName"] == "Ada.Lovelace@example.org"
    assert created["active"] is True
    assert created["emails"] == [
        {"value": "ada.lovelace@example.org", "type": "work", "primary": True}
    ]
    assert created[ENTERPRISE] == {"employeeNumber": "P-7", "department": "Logistik"}
    assert created["meta"]["location"].endswith(f"/scim/v2/Users/{created['id']}")
    assert "phoneNumbers" not in created
    employee = db.session.get(Employee, int(created["id"]))
    assert employee.employer_id == employer.id
    assert employee.external_id == "entra-1"
    assert employee.user.email == "ada.lovelace@example.org"
    assert employee.user.name == "Ada Lovelace"
    assert employee.user.role_names == {Role.EMPLOYEE}
    assert employee.user.is_enabled
    assert employee.department.name == "Logistik"
    assert employee.department.employer_id == employer.id
    assert scim.get(f"/Users/{created['id']}").get_json() == created


def test_filter_by_user_name_is_case_insensitive_and_by_external_id_exact(scim):
    ada = create(scim, "ada@example.org", externalId="X-1")
    create(scim, "grace@example.org", externalId="x-2")
    found = scim.get("/Users", query_string={"filter": 'userName eq "ADA@example.org"'})
    body = found.get_json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == 1
    assert [r["id"] for r in body["Resources"]] == [ada["id"]]
    by_external = scim.get("/Users", query_string={"filter": 'externalId eq "X-1"'}).get_json()
    assert [r["id"] for r in by_external["Resources"]] == [ada["id"]]
    none = scim.get("/Users", query_string={"filter": 'externalId eq "x-1"'}).get_json()
    assert none["totalResults"] == 0
    assert none.get("Resources", []) == []


def test_existing_employee_is_found_by_account_email_as_user_name(scim, employer, make_user):
    person = make_user(Role.EMPLOYEE, employer=employer, email="imported@example.org")
    body = scim.get("/Users", query_string={"filter": 'userName eq "imported@example.org"'})
    assert [r["id"] for r in body.get_json()["Resources"]] == [str(person.employee.id)]


def test_filters_we_do_not_translate_to_sql_still_work(scim):
    create(scim, "ada@example.org", displayName="Ada")
    create(scim, "grace@example.org", displayName="Grace")
    body = scim.get("/Users", query_string={"filter": 'displayName sw "Gr"'}).get_json()
    assert [r["userName"] for r in body["Resources"]] == ["grace@example.org"]


def test_invalid_filter_is_a_scim_invalid_filter_error(scim):
    response = scim.get("/Users", query_string={"filter": 'userName eq "unclosed'})
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidFilter"


def test_pagination_counts_from_one_and_reports_the_total(scim):
    for n in range(5):
        create(scim, f"p{n}@example.org")
    everyone = scim.get("/Users").get_json()
    ids = [r["id"] for r in everyone["Resources"]]
    assert everyone["totalResults"] == len(ids) == 6  # the five and the token's admin
    page = scim.get("/Users", query_string={"startIndex": 2, "count": 2}).get_json()
    assert page["totalResults"] == 6
    assert page["startIndex"] == 2
    assert page["itemsPerPage"] == 2
    assert [r["id"] for r in page["Resources"]] == ids[1:3]
    last = scim.get("/Users", query_string={"startIndex": 5, "count": 10}).get_json()
    assert [r["id"] for r in last["Resources"]] == ids[4:]
    counted = scim.get("/Users", query_string={"count": 0}).get_json()
    assert counted["totalResults"] == 6
    assert counted.get("Resources", []) == []
    bad = scim.get("/Users", query_string={"count": "many"})
    assert bad.status_code == 400
    assert bad.get_json()["scimType"] == "invalidValue"


def test_duplicate_user_name_external_id_or_number_is_a_409_uniqueness(scim):
    create(scim, "ada@example.org", externalId="E1", **{ENTERPRISE: {"employeeNumber": "7"}})
    for payload in (
        user_payload("ADA@example.org"),
        user_payload("other@example.org", externalId="E1"),
        user_payload("third@example.org", **{ENTERPRISE: {"employeeNumber": "7"}}),
    ):
        response = scim.post("/Users", payload)
        assert response.status_code == 409, payload
        assert response.get_json()["scimType"] == "uniqueness"


def test_missing_user_name_is_a_400(scim):
    response = scim.post("/Users", {"schemas": [USER], "displayName": "Nobody"})
    assert response.status_code == 400
    assert response.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_put_replaces_and_patch_changes_single_attributes(db, scim):
    ada = create(scim, "ada@example.org", displayName="Ada")
    boss = create(scim, "boss@example.org")
    put = scim.put(
        f"/Users/{ada['id']}",
        user_payload(
            "ada.l@example.org",
            displayName="Ada L.",
            emails=[{"value": "ada.l@example.org", "primary": True}],
            **{ENTERPRISE: {"manager": {"value": boss["id"]}}},
        ),
    )
    assert put.status_code == 200, put.get_data(as_text=True)
    body = put.get_json()
    assert body["userName"] == "ada.l@example.org"
    assert body[ENTERPRISE]["manager"]["value"] == boss["id"]
    patched = scim.patch(
        f"/Users/{ada['id']}",
        {"op": "replace", "path": "displayName", "value": "Countess"},
        {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Forschung"},
        {"op": "remove", "path": f"{ENTERPRISE}:manager"},
    )
    assert patched.status_code == 200, patched.get_data(as_text=True)
    body = patched.get_json()
    assert body["displayName"] == "Countess"
    assert body[ENTERPRISE] == {"department": "Forschung"}
    employee = db.session.get(Employee, int(ada["id"]))
    assert employee.manager_id is None
    assert employee.user.name == "Countess"


def test_patch_in_entra_style_with_a_value_filter_path(scim):
    ada = create(scim, "ada@example.org")
    patched = scim.patch(
        f"/Users/{ada['id']}",
        {"op": "add", "path": 'emails[type eq "work"].value', "value": "ada@example.org"},
        {"op": "replace", "path": "name.givenName", "value": "Ada"},
    )
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert patched.get_json()["emails"][0]["value"] == "ada@example.org"
    assert patched.get_json()["name"] == {"givenName": "Ada"}


def test_a_user_cannot_be_their_own_manager(scim):
    ada = create(scim, "ada@example.org")
    response = scim.patch(
        f"/Users/{ada['id']}",
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": ada["id"]}},
    )
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"


@pytest.fixture
def enrolled(db, employer, make_user, make_offering, scim):
    """A SCIM-provisioned person with a password, a seat in an upcoming course (someone else
    waiting for it), a waitlist place elsewhere and a finished course in the past."""
    created = create(scim, "leaver@example.org", emails=[{"value": "leaver@example.org"}])
    leaver = db.session.get(Employee, int(created["id"]))
    set_password(leaver.user, PASSWORD)
    waiting = make_user(Role.EMPLOYEE, employer=employer).employee
    full_holder = make_user(Role.EMPLOYEE, employer=employer).employee
    seat = make_offering(employer, capacity=1)
    elsewhere = make_offering(employer, capacity=1)
    past = make_offering(employer, capacity=5)
    running = make_offering(employer, capacity=5)
    enrollments.enroll(leaver, running.id)
    running.cancellation_deadline = utcnow() - timedelta(hours=1)
    enrollments.enroll(leaver, seat.id)
    enrollments.enroll(waiting, seat.id)
    enrollments.enroll(full_holder, elsewhere.id)
    enrollments.enroll(leaver, elsewhere.id)
    enrollments.enroll(leaver, past.id)
    db.session.flush()
    past.starts_on -= timedelta(days=400)
    past.ends_on -= timedelta(days=400)
    personal_token = create_api_token(leaver.user, "phone", ("me",))
    db.session.commit()
    return {
        "id": created["id"],
        "leaver": leaver,
        "waiting": waiting,
        "seat": seat,
        "elsewhere": elsewhere,
        "past": past,
        "running": running,
        "token": personal_token,
    }


def _status(db, employee, offering) -> str:
    return db.session.scalar(
        select(Enrollment.status).where(
            Enrollment.employee_id == employee.id, Enrollment.offering_id == offering.id
        )
    )


def test_patch_active_false_ends_access_and_open_enrollments_but_keeps_history(
    db, app, scim, enrolled, login
):
    browser = login(app.test_client(), enrolled["leaver"].user)
    assert browser.get("/me/courses").status_code == 200
    response = scim.patch(
        f"/Users/{enrolled['id']}", {"op": "replace", "path": "active", "value": False}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["active"] is False
    db.session.expire_all()
    leaver = db.session.get(Employee, int(enrolled["id"]))
    # Access ends: no new sign-in, the open session is over, personal tokens stop working.
    assert not leaver.user.is_enabled
    again = app.test_client().post(
        "/login", data={"email": "leaver@example.org", "password": PASSWORD}
    )
    assert again.status_code != 302
    assert browser.get("/me/courses").status_code == 302
    assert (
        app.test_client()
        .get("/api/v1/me/enrollments", headers={"Authorization": f"Bearer {enrolled['token']}"})
        .status_code
        == 401
    )
    # Open enrollments end: the seat goes to the first on the waitlist, the waitlist place too.
    assert _status(db, leaver, enrolled["seat"]) == EnrollmentStatus.CANCELLED.value
    assert _status(db, enrolled["waiting"], enrolled["seat"]) == EnrollmentStatus.ENROLLED.value
    assert _status(db, leaver, enrolled["elsewhere"]) == EnrollmentStatus.CANCELLED.value
    # History stays: the finished course, the person, their department for aggregates.
    assert _status(db, leaver, enrolled["past"]) == EnrollmentStatus.ENROLLED.value
    # A seat past its cancellation deadline is not cancellable by anyone: it stays, as history.
    assert _status(db, leaver, enrolled["running"]) == EnrollmentStatus.ENROLLED.value
    assert leaver.pseudonymized_at is None
    assert db.session.scalar(select(Employee.id).where(Employee.id == leaver.id)) == leaver.id
    # The identity provider still sees the person, inactive, and can bring them back.
    listed = scim.get("/Users", query_string={"filter": 'userName eq "leaver@example.org"'})
    assert listed.get_json()["Resources"][0]["active"] is False
    back = scim.patch(f"/Users/{enrolled['id']}", {"op": "replace", "value": {"active": True}})
    assert back.get_json()["active"] is True
    db.session.expire_all()
    assert db.session.get(Employee, leaver.id).user.is_enabled


def test_delete_removes_the_person_from_scim_and_the_login_but_keeps_history(db, scim, enrolled):
    assert scim.delete(f"/Users/{enrolled['id']}").status_code == 204
    assert scim.get(f"/Users/{enrolled['id']}").status_code == 404
    assert scim.delete(f"/Users/{enrolled['id']}").status_code == 404
    db.session.expire_all()
    leaver = db.session.get(Employee, int(enrolled["id"]))
    assert leaver is not None
    assert not leaver.active
    assert leaver.deprovisioned_at is not None
    assert leaver.user_id is None
    assert leaver.user_name is None
    assert db.session.scalar(select(User).where(User.email == "leaver@example.org")) is None
    assert db.session.scalar(select(ApiToken).where(ApiToken.name == "phone")) is None
    assert _status(db, leaver, enrolled["past"]) == EnrollmentStatus.ENROLLED.value
    assert _status(db, leaver, enrolled["seat"]) == EnrollmentStatus.CANCELLED.value
    # A rehire can be provisioned again under the same name and address.
    create(scim, "leaver@example.org", emails=[{"value": "leaver@example.org"}])


def test_department_from_the_enterprise_extension_is_reused_per_employer(db, scim, employer):
    create(scim, "a@example.org", **{ENTERPRISE: {"department": "Einkauf"}})
    create(scim, "b@example.org", **{ENTERPRISE: {"department": "einkauf"}})
    names = db.session.scalars(
        select(Department.name).where(Department.employer_id == employer.id)
    ).all()
    assert names == ["Einkauf"]
