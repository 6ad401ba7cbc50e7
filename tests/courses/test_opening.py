"""Employer admins choose which offerings are open to their employees, with a subsidy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from wellness.audit.models import AuditEvent
from wellness.auth.models import Role
from wellness.courses import opening
from wellness.courses.models import Course, CourseSession, Enrollment, Offering, OfferingEmployer
from wellness.errors import DomainError
from wellness.tenants.models import Employee

TODAY = date.today()


@pytest.fixture
def make_run(db, make_provider):
    """``make_run(title, starts_in_days=30, ...)``: a course with one offering and sessions."""

    def build(
        title: str = "Neue Rückenschule",
        *,
        starts_in_days: int = 30,
        weeks: int = 8,
        status: str = "published",
        price_cents: int = 15000,
        field_of_action: str = "movement",
        provider: Any = None,
        certified: bool = True,
        city: str = "Hamburg",
    ) -> Offering:
        provider = provider or make_provider(name=f"Anbieter {title}")
        first = TODAY + timedelta(days=starts_in_days)
        last = first + timedelta(weeks=weeks - 1)
        course = Course(
            provider_id=provider.id,
            title=title,
            description="Beschreibung",
            field_of_action=field_of_action,
            zpp_course_id=f"KU-BE-{abs(hash(title)) % 1_000_000:06d}" if certified else None,
            certified_from=first - timedelta(days=100) if certified else None,
            certified_until=last + timedelta(days=100) if certified else None,
        )
        db.session.add(course)
        db.session.flush()
        offering = Offering(
            course_id=course.id,
            starts_on=first,
            ends_on=last,
            capacity=12,
            price_cents=price_cents,
            status=status,
            city=city,
        )
        db.session.add(offering)
        db.session.flush()
        for week in range(weeks):
            start = datetime.combine(first + timedelta(weeks=week), datetime.min.time(), UTC)
            start += timedelta(hours=16)
            db.session.add(
                CourseSession(
                    offering_id=offering.id, starts_at=start, ends_at=start + timedelta(hours=1)
                )
            )
        db.session.commit()
        return offering

    return build


@pytest.fixture
def employer(make_employer):
    return make_employer(name="Alpha GmbH")


@pytest.fixture
def admin(make_user, employer):
    return make_user(Role.ADMIN, employer=employer, locale="en")


@pytest.fixture
def as_admin(client, login, admin):
    return login(client, admin)


def _links(db) -> list[tuple[int, int, int]]:
    db.session.expire_all()
    return list(
        tuple(row)
        for row in db.session.execute(
            select(
                OfferingEmployer.offering_id,
                OfferingEmployer.employer_id,
                OfferingEmployer.subsidy_cents,
            ).order_by(OfferingEmployer.employer_id)
        )
    )


def _open(client, offering: Offering, amount: str):
    return client.post(
        f"/admin/offerings/{offering.id}", data={"form": "subsidy", "subsidy-subsidy_eur": amount}
    )


# --- the list ------------------------------------------------------------------------------


def test_admins_see_published_current_offerings_of_all_providers(as_admin, make_run):
    make_run("Rückenfit Hamburg", city="Hamburg")
    make_run("Stress lass nach", field_of_action="stress", city="Köln")
    make_run("Läuft gerade", starts_in_days=-14)
    make_run("Ohne Zertifikat", certified=False)
    make_run("Entwurf", status="draft")
    make_run("Abgesagt", status="cancelled")
    make_run("Vorbei", starts_in_days=-100)
    page = as_admin.get("/admin/offerings/").get_data(as_text=True)
    for shown in ("Rückenfit Hamburg", "Stress lass nach", "Läuft gerade", "Ohne Zertifikat"):
        assert shown in page
    for hidden in ("Entwurf", "Abgesagt", "Vorbei"):
        assert hidden not in page
    assert "Anbieter Rückenfit Hamburg" in page
    assert "€150.00" in page
    assert "Not certified for these dates" in page
    assert "4 offerings" in page


def test_certified_badge_needs_the_certification_to_cover_the_dates(db, as_admin, make_run):
    offering = make_run("Knapp vorbei")
    offering.course.certified_until = offering.ends_on - timedelta(days=1)
    db.session.commit()
    row = opening.list_offerings(0, TODAY)[0]
    assert not row.certified
    page = as_admin.get(f"/admin/offerings/{offering.id}").get_data(as_text=True)
    assert "Not certified for these dates" in page


def test_the_list_filters_by_field_of_action_and_by_open_for_us(db, as_admin, make_run, employer):
    back = make_run("Rückenfit")
    make_run("Stress lass nach", field_of_action="stress")
    db.session.add(OfferingEmployer(offering_id=back.id, employer_id=employer.id))
    db.session.commit()

    def titles(query: str) -> set[str]:
        page = as_admin.get(f"/admin/offerings/?{query}").get_data(as_text=True)
        return {t for t in ("Rückenfit", "Stress lass nach") if t in page}

    assert titles("") == {"Rückenfit", "Stress lass nach"}
    assert titles("field=stress") == {"Stress lass nach"}
    assert titles("field=movement") == {"Rückenfit"}
    assert titles("open=open") == {"Rückenfit"}
    assert titles("open=not_open") == {"Stress lass nach"}
    assert titles("open=open&field=stress") == set()
    assert titles("field=bogus&open=bogus") == {"Rückenfit", "Stress lass nach"}


# --- open, change, close -------------------------------------------------------------------


def test_admin_opens_an_offering_with_a_subsidy(db, as_admin, make_run, employer, admin):
    offering = make_run()
    page = as_admin.get(f"/admin/offerings/{offering.id}").get_data(as_text=True)
    assert "Not open" in page
    response = _open(as_admin, offering, "100.50")
    assert response.status_code == 302
    assert _links(db) == [(offering.id, employer.id, 10050)]
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "admin.offering_opened")
    )
    assert (event.employer_id, event.actor_id) == (employer.id, admin.id)
    assert json.loads(event.details) == {"subsidy_cents": 10050}
    page = as_admin.get("/admin/offerings/?open=open").get_data(as_text=True)
    assert "Subsidy €100.50" in page


def test_admin_changes_the_subsidy_and_the_change_is_audited(db, as_admin, make_run, employer):
    offering = make_run()
    _open(as_admin, offering, "50")
    response = _open(as_admin, offering, "150.00")
    assert response.status_code == 302
    assert _links(db) == [(offering.id, employer.id, 15000)]
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "admin.subsidy_changed")
    )
    assert json.loads(event.details) == {"from_cents": 5000, "to_cents": 15000}
    assert "150.00" in as_admin.get(f"/admin/offerings/{offering.id}").get_data(as_text=True)


def test_closing_stops_new_enrollments_but_keeps_existing_ones(
    db, as_admin, make_run, employer, make_user
):
    offering = make_run()
    _open(as_admin, offering, "0")
    person = make_user(Role.EMPLOYEE, employer=employer)
    employee = db.session.scalar(select(Employee).where(Employee.user_id == person.id))
    db.session.add(
        Enrollment(
            offering_id=offering.id,
            employee_id=employee.id,
            status="enrolled",
            participant_code="PX0001",
            budget_year=TODAY.year,
        )
    )
    db.session.commit()
    page = as_admin.get(f"/admin/offerings/{offering.id}").get_data(as_text=True)
    assert "already enrolled or on the waiting list keep their places" in page
    response = as_admin.post(f"/admin/offerings/{offering.id}", data={"form": "close"})
    assert response.status_code == 302
    assert _links(db) == []
    assert db.session.scalar(select(Enrollment.status)) == "enrolled"
    assert db.session.scalar(
        select(func.count()).where(AuditEvent.action == "admin.offering_closed")
    )
    # Closing again: nothing left to close.
    response = as_admin.post(f"/admin/offerings/{offering.id}", data={"form": "close"})
    assert response.status_code == 400
    assert "This offering is not open for your employees." in response.get_data(as_text=True)


def test_people_enrolled_in_a_closed_offering_still_see_its_page(
    app, db, as_admin, make_run, employer, make_user, login
):
    offering = make_run()
    _open(as_admin, offering, "50")
    person = make_user(Role.EMPLOYEE, employer=employer)
    colleague = make_user(Role.EMPLOYEE, employer=employer)
    employee = db.session.scalar(select(Employee).where(Employee.user_id == person.id))
    db.session.add(
        Enrollment(
            offering_id=offering.id,
            employee_id=employee.id,
            status="enrolled",
            participant_code="PX0002",
            budget_year=TODAY.year,
        )
    )
    db.session.commit()
    as_admin.post(f"/admin/offerings/{offering.id}", data={"form": "close"})

    enrolled = login(app.test_client(), person)
    assert enrolled.get(f"/courses/{offering.id}").status_code == 200
    other = login(app.test_client(), colleague)
    assert other.get(f"/courses/{offering.id}").status_code == 404
    assert offering.id not in [
        item["id"] for item in enrolled.get("/api/v1/offerings").get_json()["items"]
    ], "closed offerings leave the catalog"


@pytest.mark.parametrize("amount", ["150.01", "1000"])
def test_a_subsidy_above_the_price_is_refused(db, as_admin, make_run, amount):
    offering = make_run(price_cents=15000)
    response = _open(as_admin, offering, amount)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The subsidy cannot be higher than the price of €150.00 per participant." in page
    assert 'aria-invalid="true"' in page
    assert _links(db) == []


def test_a_subsidy_above_the_price_is_refused_when_changing_too(db, as_admin, make_run, employer):
    offering = make_run(price_cents=15000)
    _open(as_admin, offering, "100")
    response = _open(as_admin, offering, "200")
    assert response.status_code == 400
    assert _links(db) == [(offering.id, employer.id, 10000)]


def test_the_whole_price_may_be_subsidised(db, as_admin, make_run, employer):
    offering = make_run(price_cents=15000)
    assert _open(as_admin, offering, "150").status_code == 302
    assert _links(db) == [(offering.id, employer.id, 15000)]


def test_drafts_cancelled_and_past_offerings_cannot_be_opened(db, as_admin, make_run):
    for offering in (
        make_run("Entwurf", status="draft"),
        make_run("Abgesagt", status="cancelled"),
        make_run("Vorbei", starts_in_days=-100),
    ):
        assert as_admin.get(f"/admin/offerings/{offering.id}").status_code == 404
        assert _open(as_admin, offering, "10").status_code == 404
    assert _links(db) == []


def test_service_refuses_to_open_an_offering_that_is_not_current(db, make_run, employer):
    offering = make_run(status="draft")
    with force_locale("en"), pytest.raises(DomainError, match="Only published offerings"):
        opening.open_offering(employer.id, offering, 0, TODAY, None)


def test_an_opened_offering_that_was_cancelled_can_still_be_closed(
    db, as_admin, make_run, employer
):
    offering = make_run()
    _open(as_admin, offering, "10")
    offering.status = "cancelled"
    db.session.commit()
    page = as_admin.get(f"/admin/offerings/{offering.id}")
    assert page.status_code == 200
    assert "subsidy-subsidy_eur" not in page.get_data(as_text=True)
    response = _open(as_admin, offering, "20")
    assert response.status_code == 400
    assert "its subsidy can no longer be changed" in response.get_data(as_text=True)
    assert (
        as_admin.post(f"/admin/offerings/{offering.id}", data={"form": "close"}).status_code == 302
    )
    assert _links(db) == []


# --- isolation and access ------------------------------------------------------------------


def test_admin_of_another_employer_neither_sees_nor_changes_our_subsidy(
    db, client, login, make_run, make_employer, make_user, employer
):
    offering = make_run()
    db.session.add(
        OfferingEmployer(offering_id=offering.id, employer_id=employer.id, subsidy_cents=12345)
    )
    db.session.commit()
    other_employer = make_employer(name="Beta AG")
    login(client, make_user(Role.ADMIN, employer=other_employer, locale="en"))
    pages = client.get("/admin/offerings/").get_data(as_text=True) + client.get(
        f"/admin/offerings/{offering.id}"
    ).get_data(as_text=True)
    assert "123.45" not in pages
    assert "Alpha GmbH" not in pages
    assert "Not open" in pages
    assert "Neue Rückenschule" not in client.get("/admin/offerings/?open=open").get_data(
        as_text=True
    )
    # Closing acts on Beta's own (missing) link, never on Alpha's.
    response = client.post(f"/admin/offerings/{offering.id}", data={"form": "close"})
    assert response.status_code == 400
    # Opening creates Beta's own link and leaves Alpha's subsidy alone.
    assert _open(client, offering, "10").status_code == 302
    assert _links(db) == [
        (offering.id, employer.id, 12345),
        (offering.id, other_employer.id, 1000),
    ]
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("admin.offering_%"))
    ).all()
    assert [e.employer_id for e in events] == [other_employer.id]


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.HR])
def test_other_employer_roles_cannot_open_offerings(
    db, client, login, make_run, employer, make_user, role
):
    offering = make_run()
    login(client, make_user(role, employer=employer))
    assert client.get("/admin/offerings/").status_code == 403
    assert _open(client, offering, "10").status_code == 403
    assert _links(db) == []


def test_providers_cannot_open_offerings(db, client, login, make_run, make_provider, make_user):
    provider = make_provider()
    offering = make_run(provider=provider)
    login(client, make_user(Role.PROVIDER, provider=provider))
    assert client.get("/admin/offerings/").status_code == 403
    assert _open(client, offering, "10").status_code == 403


def test_unknown_offerings_answer_404(as_admin):
    assert as_admin.get("/admin/offerings/999999").status_code == 404


def test_navigation_links_the_offerings_page(as_admin):
    assert 'href="/admin/offerings/"' in as_admin.get("/admin/").get_data(as_text=True)


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount", ["", "x" * 5000, "lots", "NaN", "-1", "Infinity", "1,2,3", "10001"]
)
def test_bad_subsidy_input_shows_the_form_again_and_stores_nothing(db, as_admin, make_run, amount):
    offering = make_run(price_cents=1_000_000)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = _open(as_admin, offering, amount)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<form" in page
    assert 'aria-invalid="true"' in page
    assert _links(db) == []
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_a_missing_subsidy_field_and_control_characters_are_refused(db, as_admin, make_run):
    offering = make_run()
    response = as_admin.post(f"/admin/offerings/{offering.id}", data={"form": "subsidy"})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert _open(as_admin, offering, "1\x00").status_code == 400
    assert (
        as_admin.post(f"/admin/offerings/{offering.id}", data={"form": "nonsense"}).status_code
        == 400
    )
    assert _links(db) == []


def test_german_amounts_are_read_as_germans_type_them(
    db, client, login, make_run, employer, make_user
):
    offering = make_run(price_cents=150000)
    login(client, make_user(Role.ADMIN, employer=employer, locale="de"))
    assert _open(client, offering, "1.200,50").status_code == 302
    assert _links(db) == [(offering.id, employer.id, 120050)]
