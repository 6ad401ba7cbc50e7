"""Calendar files: the offering download, the personal feed, its secret URL and who may see what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta

import pytest
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import select

from tests.notifications import builders
from tests.notifications.builders import BERLIN, berlin
from wellness.audit.models import AuditEvent
from wellness.auth.models import Role, User
from wellness.courses import calendar
from wellness.courses.models import EnrollmentStatus, OfferingStatus, Provider
from wellness.tenants.models import Employee, Employer


def _parse(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


def _events(body: bytes) -> list:  # type: ignore[type-arg]
    return _parse(body).walk("VEVENT")


def test_offering_calendar_has_one_event_per_session_in_berlin_time_across_dst(
    make_provider: Callable[..., Provider],
) -> None:
    offering = builders.offering(make_provider(name="Physio Nord"), instructor_name="Kim Weber")

    body = calendar.offering_calendar(offering)

    cal = _parse(body)
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert "wellness" in str(cal["PRODID"])
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    events = cal.walk("VEVENT")
    assert len(events) == 2
    for event in events:
        assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
        assert event["DTEND"].params["TZID"] == "Europe/Berlin"
        assert "DTSTAMP" in event
        assert str(event["SUMMARY"]) == "Neue Rückenschule"
        assert str(event["LOCATION"]) == "Studio Nord, Hauptstraße 1, Hamburg"
        assert "Kim Weber" in str(event["DESCRIPTION"])
    starts = [event.decoded("DTSTART") for event in events]
    # 18:00 local both weeks, although UTC moved by an hour with the switch to summer time.
    assert [s.astimezone(BERLIN).strftime("%H:%M") for s in starts] == ["18:00", "18:00"]
    assert [s.astimezone(UTC).strftime("%H:%M") for s in starts] == ["17:00", "16:00"]
    assert [e.decoded("DTEND") - e.decoded("DTSTART") for e in events] == [timedelta(hours=1)] * 2


def test_calendar_file_is_rfc5545_text_with_crlf_and_folded_lines(
    make_provider: Callable[..., Provider],
) -> None:
    offering = builders.offering(make_provider(), instructor_name="K" * 200)

    body = calendar.offering_calendar(offering)

    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert body.endswith(b"END:VCALENDAR\r\n")
    lines = body.split(b"\r\n")
    assert b"\n" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 75


def test_event_uids_are_stable_per_session(make_provider: Callable[..., Provider]) -> None:
    offering = builders.offering(make_provider())

    first = [str(e["UID"]) for e in _events(calendar.offering_calendar(offering))]
    again = [str(e["UID"]) for e in _events(calendar.offering_calendar(offering, "en"))]

    assert first == again == [f"session-{s.id}@wellness" for s in offering.sessions]


def test_online_session_has_link_and_own_location(make_provider: Callable[..., Provider]) -> None:
    offering = builders.offering(
        make_provider(),
        location=None,
        city=None,
        online_url="https://meet.example/ruecken",
        starts=[berlin(2026, 5, 5, 7, 30)],
    )

    (event,) = _events(calendar.offering_calendar(offering))

    assert str(event["URL"]) == "https://meet.example/ruecken"
    assert "https://meet.example/ruecken" in str(event["DESCRIPTION"])
    assert str(event["LOCATION"]) == "Online"
    assert event.decoded("DTSTART").astimezone(BERLIN).strftime("%H:%M") == "07:30"


def test_session_location_wins_over_offering_location(
    make_provider: Callable[..., Provider],
) -> None:
    offering = builders.offering(make_provider(), session_fields={"location": "Raum 3"})

    assert {str(e["LOCATION"]) for e in _events(calendar.offering_calendar(offering))} == {"Raum 3"}


def test_english_reader_gets_the_english_title(make_provider: Callable[..., Provider]) -> None:
    offering = builders.offering(make_provider(), title_en="New back school")

    assert {str(e["SUMMARY"]) for e in _events(calendar.offering_calendar(offering, "en"))} == {
        "New back school"
    }


def test_cancelled_offering_marks_events_cancelled(make_provider: Callable[..., Provider]) -> None:
    offering = builders.offering(make_provider(), status=OfferingStatus.CANCELLED.value)

    assert {str(e["STATUS"]) for e in _events(calendar.offering_calendar(offering))} == {
        "CANCELLED"
    }


def test_personal_feed_lists_only_enrolled_sessions_of_that_employee(
    make_provider: Callable[..., Provider],
    make_employer: Callable[..., Employer],
    make_user: Callable[..., User],
) -> None:
    employer = make_employer()
    me = make_user(Role.EMPLOYEE, employer=employer).employee
    colleague = make_user(Role.EMPLOYEE, employer=employer).employee
    assert me is not None
    assert colleague is not None
    provider = make_provider()
    mine = builders.offering(provider, [employer], starts=[berlin(2026, 4, 7, 18, 0)])
    waiting = builders.offering(provider, [employer], starts=[berlin(2026, 4, 8, 18, 0)])
    left = builders.offering(provider, [employer], starts=[berlin(2026, 4, 9, 18, 0)])
    called_off = builders.offering(
        provider,
        [employer],
        starts=[berlin(2026, 4, 10, 18, 0)],
        status=OfferingStatus.CANCELLED.value,
    )
    theirs = builders.offering(provider, [employer], starts=[berlin(2026, 4, 11, 18, 0)])
    builders.enroll(mine, me)
    builders.enroll(waiting, me, EnrollmentStatus.WAITLISTED)
    builders.enroll(left, me, EnrollmentStatus.CANCELLED)
    builders.enroll(called_off, me)
    builders.enroll(theirs, colleague)

    cal = _parse(calendar.personal_feed(me))

    assert [str(e["UID"]) for e in cal.walk("VEVENT")] == [
        f"session-{mine.sessions[0].id}@wellness"
    ]
    assert str(cal["X-WR-CALNAME"])
    assert b"X-PUBLISHED-TTL:PT6H\r\n" in calendar.personal_feed(me)
    assert cal.walk("VTIMEZONE")


def test_calendar_token_is_created_once_and_rotation_replaces_it(
    db, make_employer: Callable[..., Employer], make_user: Callable[..., User]
) -> None:
    employee = make_user(Role.EMPLOYEE, employer=make_employer()).employee
    assert employee is not None

    token = calendar.calendar_token(employee)
    assert len(token) >= 40
    assert calendar.calendar_token(employee) == token
    rotated = calendar.rotate_calendar_token(employee)

    assert rotated != token
    assert calendar.employee_for_token(token) is None
    assert calendar.employee_for_token(rotated) is employee


def test_feed_url_serves_the_feed_without_login(
    client: FlaskClient,
    make_provider: Callable[..., Provider],
    make_employer: Callable[..., Employer],
    make_user: Callable[..., User],
) -> None:
    employer = make_employer()
    employee = make_user(Role.EMPLOYEE, employer=employer).employee
    assert employee is not None
    builders.enroll(builders.offering(make_provider(), [employer]), employee)
    token = calendar.calendar_token(employee)

    response = client.get(f"/calendar/{token}.ics")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert len(_events(response.data)) == 2


@pytest.mark.parametrize("token", ["unknown", "x" * 65, "%20", "a.b"])
def test_unknown_feed_token_is_404(client: FlaskClient, token: str) -> None:
    response = client.get(f"/calendar/{token}.ics")

    assert response.status_code == 404
    assert b"VCALENDAR" not in response.data


def test_feed_of_an_inactive_employee_is_404(
    client: FlaskClient, db, make_employer: Callable[..., Employer], make_user: Callable[..., User]
) -> None:
    employee = make_user(Role.EMPLOYEE, employer=make_employer()).employee
    assert employee is not None
    token = calendar.calendar_token(employee)
    employee.active = False
    db.session.commit()

    assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_subscribe_page_shows_the_absolute_feed_url(
    client: FlaskClient,
    make_employer: Callable[..., Employer],
    make_user: Callable[..., User],
    login: Callable[[FlaskClient, User], FlaskClient],
    db,
) -> None:
    someone = make_user(Role.EMPLOYEE, employer=make_employer())
    login(client, someone)

    response = client.get("/me/calendar")

    assert response.status_code == 200
    employee = db.session.scalar(select(Employee).where(Employee.user_id == someone.id))
    assert employee.calendar_token
    page = response.get_data(as_text=True)
    assert f"http://localhost/calendar/{employee.calendar_token}.ics" in page
    assert "Outlook" in page
    assert "Google" in page
    assert "Apple" in page


def test_rotating_the_address_makes_the_old_url_404(
    client: FlaskClient,
    make_employer: Callable[..., Employer],
    make_user: Callable[..., User],
    login: Callable[[FlaskClient, User], FlaskClient],
    db,
) -> None:
    someone = make_user(Role.EMPLOYEE, employer=make_employer())
    login(client, someone)
    client.get("/me/calendar")
    employee = db.session.scalar(select(Employee).where(Employee.user_id == someone.id))
    old = employee.calendar_token
    assert client.get(f"/calendar/{old}.ics").status_code == 200

    response = client.post("/me/calendar/rotate")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/me/calendar")
    db.session.refresh(employee)
    assert employee.calendar_token != old
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    assert client.get(f"/calendar/{employee.calendar_token}.ics").status_code == 200
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "employee.calendar_token_rotated")
    )
    assert event is not None
    assert event.actor_id == someone.id
    assert event.employer_id == someone.employer_id


def test_rotate_needs_post(
    client: FlaskClient,
    make_employer: Callable[..., Employer],
    make_user: Callable[..., User],
    login: Callable[[FlaskClient, User], FlaskClient],
) -> None:
    login(client, make_user(Role.EMPLOYEE, employer=make_employer()))

    assert client.get("/me/calendar/rotate").status_code == 405


class TestOfferingCalendarAccess:
    @pytest.fixture
    def setting(
        self,
        make_provider: Callable[..., Provider],
        make_employer: Callable[..., Employer],
    ) -> dict:  # type: ignore[type-arg]
        provider = make_provider()
        opened = make_employer()
        return {
            "provider": provider,
            "opened": opened,
            "offering": builders.offering(provider, [opened]),
        }

    def _get(self, client: FlaskClient, setting: dict) -> object:  # type: ignore[type-arg]
        return client.get(f"/offerings/{setting['offering'].id}/calendar.ics")

    def test_employee_of_an_employer_it_is_open_to_downloads_it(
        self, client, setting, make_user, login
    ) -> None:
        login(client, make_user(Role.EMPLOYEE, employer=setting["opened"]))

        response = self._get(client, setting)

        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="neue-rueckenschule-2026-03-24.ics"'
        )
        assert len(_events(response.data)) == 2

    def test_employee_of_another_employer_gets_404(
        self, client, setting, make_user, make_employer, login
    ) -> None:
        login(client, make_user(Role.EMPLOYEE, employer=make_employer()))

        assert self._get(client, setting).status_code == 404

    def test_draft_offering_is_404_for_employees(
        self, client, setting, make_user, login, db
    ) -> None:
        setting["offering"].status = OfferingStatus.DRAFT.value
        db.session.commit()
        login(client, make_user(Role.EMPLOYEE, employer=setting["opened"]))

        assert self._get(client, setting).status_code == 404

    def test_enrolled_people_keep_it_after_their_employer_closes_the_offering(
        self, client, setting, make_user, login, db
    ) -> None:
        from wellness.courses.models import OfferingEmployer

        participant = make_user(Role.EMPLOYEE, employer=setting["opened"])
        bystander = make_user(Role.EMPLOYEE, employer=setting["opened"])
        seat = builders.enroll(setting["offering"], participant.employee)
        db.session.query(OfferingEmployer).delete()
        db.session.commit()

        login(client, participant)
        assert self._get(client, setting).status_code == 200
        seat.status = EnrollmentStatus.CANCELLED.value
        db.session.commit()
        assert self._get(client, setting).status_code == 404
        client.post("/logout")
        login(client, bystander)
        assert self._get(client, setting).status_code == 404

    def test_its_provider_downloads_it(self, client, setting, make_user, login) -> None:
        login(client, make_user(Role.PROVIDER, provider=setting["provider"]))

        assert self._get(client, setting).status_code == 200

    def test_another_provider_gets_404(
        self, client, setting, make_user, make_provider, login
    ) -> None:
        login(client, make_user(Role.PROVIDER, provider=make_provider()))

        assert self._get(client, setting).status_code == 404

    def test_hr_of_the_employer_is_refused(self, client, setting, make_user, login) -> None:
        login(client, make_user(Role.HR, employer=setting["opened"]))

        assert self._get(client, setting).status_code == 403

    def test_anonymous_is_sent_to_login(self, client, setting) -> None:
        response = self._get(client, setting)

        assert response.status_code == 302
        assert "/login" in response.headers["Location"]

    def test_unknown_offering_is_404(self, client, setting, make_user, login) -> None:
        login(client, make_user(Role.PROVIDER, provider=setting["provider"]))

        assert client.get("/offerings/999999/calendar.ics").status_code == 404


def test_ics_filename_is_plain_ascii(make_provider: Callable[..., Provider]) -> None:
    offering = builders.offering(make_provider(), title='Fit & "Gesund" / Größe: Ärger?')

    assert calendar.ics_filename(offering) == "fit-gesund-groesse-aerger-2026-03-24.ics"
