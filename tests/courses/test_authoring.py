"""Provider authoring: courses, offerings, sessions (DST-correct), cancellation, isolation."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from wellness.audit.models import AuditEvent
from wellness.auth.models import Role
from wellness.courses import authoring
from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    Offering,
    OfferingEmployer,
)
from wellness.db import utcnow
from wellness.tenants.models import Employee

COURSE = {
    "title": "Rückenfit am Abend",
    "title_en": "",
    "description": "Kräftigen und Dehnen für einen starken Rücken.",
    "description_en": "",
    "language": "de",
    "field_of_action": "movement",
    "format": "in_person",
    "zpp_course_id": " ku-be-123456 ",
    "certified_from": "2029-01-01",
    "certified_until": "2031-12-31",
    "attendance_threshold_pct": "80",
    "default_capacity": "12",
    "default_price_eur": "120.00",
}

NEW_OFFERING = {
    "first_day": "2030-03-19",
    "start_time": "18:00",
    "duration_minutes": "60",
    "session_count": "10",
    "status": "published",
    "capacity": "12",
    "price_eur": "120.00",
    "format": "in_person",
    "instructor_name": "Jana Beispiel",
    "location": "Studio 2, Hauptstraße 1",
    "city": "Hamburg",
    "online_url": "",
    "enrollment_opens_at": "2030-02-01T08:00",
    "enrollment_closes_at": "2030-03-17T23:59",
    "cancellation_deadline": "",
}


def _details(offering: Offering, **changes: str) -> dict[str, str]:
    """The offering's detail form as the page would post it back."""
    data = {
        "form": "offering",
        "offering-status": offering.status,
        "offering-capacity": str(offering.capacity),
        "offering-price_eur": f"{offering.price_cents / 100:.2f}",
        "offering-format": offering.format,
        "offering-instructor_name": offering.instructor_name or "",
        "offering-location": offering.location or "",
        "offering-city": offering.city or "",
        "offering-online_url": offering.online_url or "",
        "offering-enrollment_opens_at": "",
        "offering-enrollment_closes_at": "",
        "offering-cancellation_deadline": "",
    }
    data.update({f"offering-{key}": value for key, value in changes.items()})
    return data


@pytest.fixture
def provider(make_provider):
    return make_provider(name="RückenFit Studio")


@pytest.fixture
def trainer(make_user, provider):
    """A provider user who reads the interface in English (messages are stable msgids)."""
    return make_user(Role.PROVIDER, provider=provider, locale="en")


@pytest.fixture
def as_trainer(client, login, trainer):
    return login(client, trainer)


@pytest.fixture
def course(db, provider):
    row = Course(
        provider_id=provider.id,
        title="Neue Rückenschule",
        description="Rückentraining",
        field_of_action="movement",
        zpp_course_id="KU-BE-000001",
        certified_from=date(2029, 1, 1),
        certified_until=date(2031, 12, 31),
        default_capacity=10,
        default_price_cents=15000,
    )
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def offering(db, course):
    """A published offering of ``course`` with eight weekly sessions from 2030-05-07."""
    row = authoring.create_offering(
        course,
        authoring.OfferingData(
            capacity=10,
            price_cents=15000,
            format="in_person",
            instructor_name="Jana",
            location="Studio",
            city="Hamburg",
            online_url=None,
            enrollment_opens_at=None,
            enrollment_closes_at=None,
            cancellation_deadline=None,
            status="published",
        ),
        authoring.SessionSeries(date(2030, 5, 7), datetime(2030, 1, 1, 18).time(), 60, 8),
        None,
    )
    db.session.commit()
    return row


def _count(db, model: type) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _local(value: datetime) -> tuple[str, str]:
    local = value.astimezone(authoring.BERLIN)
    return local.date().isoformat(), local.strftime("%H:%M")


# --- courses -------------------------------------------------------------------------------


def test_provider_creates_a_course_with_a_normalised_zpp_id(db, as_trainer, provider, trainer):
    response = as_trainer.post("/provider/courses/new", data=COURSE)
    assert response.status_code == 302
    course = db.session.scalar(select(Course))
    assert response.headers["Location"].endswith(f"/provider/courses/{course.id}/offerings/new")
    assert course.provider_id == provider.id
    assert course.zpp_course_id == "KU-BE-123456"
    assert course.default_price_cents == 12000
    assert course.title_en is None
    assert (course.certified_from, course.certified_until) == (date(2029, 1, 1), date(2031, 12, 31))
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "provider.course_created")
    )
    assert (event.provider_id, event.actor_id, event.target_id) == (
        provider.id,
        trainer.id,
        str(course.id),
    )
    page = as_trainer.get("/provider/").get_data(as_text=True)
    assert "Rückenfit am Abend" in page
    assert "KU-BE-123456" in page


def test_german_amounts_are_read_as_germans_type_them(db, client, login, make_user, provider):
    login(client, make_user(Role.PROVIDER, provider=provider, locale="de"))
    response = client.post(
        "/provider/courses/new", data={**COURSE, "default_price_eur": "1.200,50"}
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Course.default_price_cents)) == 120050


def test_editing_a_course_audits_the_changed_field_names_only(db, as_trainer, course):
    data = {
        **COURSE,
        "title": "Neue Rückenschule Plus",
        "zpp_course_id": "KU-BE-000001",
        "default_capacity": "14",
    }
    response = as_trainer.post(f"/provider/courses/{course.id}", data=data)
    assert response.status_code == 302
    db.session.refresh(course)
    assert course.title == "Neue Rückenschule Plus"
    assert course.default_capacity == 14
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "provider.course_updated")
    )
    fields = json.loads(event.details)["fields"]
    assert {"title", "default_capacity"} <= set(fields)
    assert "Plus" not in event.details


def test_course_edit_form_is_prefilled(as_trainer, course):
    page = as_trainer.get(f"/provider/courses/{course.id}").get_data(as_text=True)
    assert 'value="Neue Rückenschule"' in page
    assert 'value="KU-BE-000001"' in page
    assert 'value="150.00"' in page
    assert 'value="2031-12-31"' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"certified_from": "2029-01-01", "certified_until": "2032-01-02"},
            "A ZPP certification is valid for at most 3 years",
        ),
        (
            {"certified_from": "2030-01-01", "certified_until": "2029-12-31"},
            "The certification cannot end before it starts.",
        ),
        (
            {"certified_until": ""},
            "Enter both the first and the last day of the certification, or neither.",
        ),
        (
            {"certified_from": ""},
            "Enter both the first and the last day of the certification, or neither.",
        ),
        ({"zpp_course_id": "KU/BE 12"}, "Enter the ZPP course ID as printed on the certificate"),
        ({"zpp_course_id": "-KU-"}, "Enter the ZPP course ID as printed on the certificate"),
        (
            {"zpp_course_id": ""},
            "Enter the ZPP course ID that belongs to the certification dates.",
        ),
        (
            {"certified_from": "", "certified_until": ""},
            "Enter the dates of the certification for this ZPP course ID.",
        ),
        ({"attendance_threshold_pct": "0"}, "Number must be between 1 and 100."),
        ({"attendance_threshold_pct": "101"}, "Number must be between 1 and 100."),
        ({"default_capacity": "31"}, "Number must be between 1 and 30."),
        ({"default_price_eur": "-1"}, "Number must be between"),
        ({"language": "fr"}, "Not a valid choice."),
        ({"field_of_action": "sleep"}, "Not a valid choice."),
        ({"format": "radio"}, "Not a valid choice."),
    ],
)
def test_course_rules_are_refused_with_a_message(db, as_trainer, changes, message):
    response = as_trainer.post("/provider/courses/new", data={**COURSE, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert _count(db, Course) == 0
    assert _actions(db) == ["auth.login"]


def test_a_certification_of_exactly_three_years_is_accepted(db, as_trainer):
    data = {**COURSE, "certified_from": "2028-02-29", "certified_until": "2031-02-28"}
    assert as_trainer.post("/provider/courses/new", data=data).status_code == 302


def test_two_courses_of_one_provider_cannot_share_a_zpp_id(db, as_trainer, course):
    response = as_trainer.post(
        "/provider/courses/new", data={**COURSE, "zpp_course_id": "ku-be-000001"}
    )
    assert response.status_code == 400
    assert "Another of your courses already has the ZPP course ID KU-BE-000001." in (
        response.get_data(as_text=True)
    )
    assert _count(db, Course) == 1


def test_a_course_without_certification_is_allowed(db, as_trainer):
    data = {**COURSE, "zpp_course_id": "", "certified_from": "", "certified_until": ""}
    assert as_trainer.post("/provider/courses/new", data=data).status_code == 302
    course = db.session.scalar(select(Course))
    assert course.zpp_course_id is None
    assert not course.certified_for(date(2030, 1, 1), date(2030, 2, 1))


def test_certifications_ending_within_90_days_are_flagged(db, as_trainer, course):
    today = authoring.utc_to_local(utcnow()).date()
    course.certified_from = today - timedelta(days=900)
    course.certified_until = today + timedelta(days=30)
    db.session.commit()
    for url in ("/provider/", f"/provider/courses/{course.id}"):
        assert "Certification expires in 30 days" in as_trainer.get(url).get_data(as_text=True)
    course.certified_until = today + timedelta(days=91)
    db.session.commit()
    assert "Certification expires" not in as_trainer.get("/provider/").get_data(as_text=True)
    course.certified_until = today - timedelta(days=1)
    course.certified_from = today - timedelta(days=900)
    db.session.commit()
    assert "Certification expired" in as_trainer.get("/provider/").get_data(as_text=True)


def test_expiry_helper_ignores_courses_without_certification(course):
    course.zpp_course_id = None
    assert authoring.certification_expires_in(course, date(2031, 12, 1)) is None


# --- offerings -----------------------------------------------------------------------------


def test_new_offering_form_takes_defaults_from_the_course(as_trainer, course):
    page = as_trainer.get(f"/provider/courses/{course.id}/offerings/new").get_data(as_text=True)
    assert 'name="capacity"' in page
    assert 'value="10"' in page
    assert 'value="150.00"' in page


def test_provider_creates_an_offering_with_weekly_sessions(db, as_trainer, course, provider):
    response = as_trainer.post(f"/provider/courses/{course.id}/offerings/new", data=NEW_OFFERING)
    assert response.status_code == 302
    offering = db.session.scalar(select(Offering))
    assert response.headers["Location"].endswith(f"/provider/offerings/{offering.id}")
    assert len(offering.sessions) == 10
    assert offering.starts_on == date(2030, 3, 19)
    assert offering.ends_on == date(2030, 5, 21)
    assert (offering.capacity, offering.price_cents, offering.status) == (12, 12000, "published")
    # Enrollment window typed in German time, stored in UTC (February: UTC+1).
    assert offering.enrollment_opens_at == datetime(2030, 2, 1, 7, 0, tzinfo=UTC)
    assert offering.enrollment_closes_at == datetime(2030, 3, 17, 22, 59, tzinfo=UTC)
    assert offering.cancellation_deadline is None
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "provider.offering_created")
    )
    assert event.provider_id == provider.id
    page = as_trainer.get(f"/provider/offerings/{offering.id}").get_data(as_text=True)
    assert "Certified" in page
    assert "Not certified for these dates" not in page
    assert 'value="2030-02-01T08:00"' in page


def test_weekly_sessions_keep_their_local_time_across_the_spring_clock_change(
    db, as_trainer, course
):
    # The clocks go forward on Sunday 31 March 2030.
    data = {**NEW_OFFERING, "first_day": "2030-03-19", "session_count": "4"}
    assert (
        as_trainer.post(f"/provider/courses/{course.id}/offerings/new", data=data).status_code
        == 302
    )
    sessions = db.session.scalar(select(Offering)).sessions
    assert [_local(s.starts_at) for s in sessions] == [
        ("2030-03-19", "18:00"),
        ("2030-03-26", "18:00"),
        ("2030-04-02", "18:00"),
        ("2030-04-09", "18:00"),
    ]
    assert [s.starts_at.astimezone(UTC).hour for s in sessions] == [17, 17, 16, 16]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=60) for s in sessions)


def test_weekly_sessions_keep_their_local_time_across_the_autumn_clock_change():
    # The clocks go back on Sunday 27 October 2030.
    series = authoring.SessionSeries(date(2030, 10, 20), datetime(2030, 1, 1, 9, 30).time(), 90, 2)
    times = authoring.series_times(series)
    assert [_local(start) for start, _ in times] == [
        ("2030-10-20", "09:30"),
        ("2030-10-27", "09:30"),
    ]
    assert [start.hour for start, _ in times] == [7, 8]
    assert [end - start for start, end in times] == [timedelta(minutes=90)] * 2


def test_a_time_skipped_by_the_clock_change_is_refused(db, as_trainer, course):
    data = {**NEW_OFFERING, "first_day": "2030-03-31", "start_time": "02:30", "session_count": "1"}
    response = as_trainer.post(f"/provider/courses/{course.id}/offerings/new", data=data)
    assert response.status_code == 400
    assert "02:30 does not exist on that day because the clocks go forward" in (
        response.get_data(as_text=True)
    )
    assert _count(db, Offering) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "online", "online_url": ""}, "Online and hybrid offerings need the link"),
        ({"format": "hybrid", "online_url": ""}, "Online and hybrid offerings need the link"),
        (
            {"format": "online", "online_url": "ftp://example.com/room"},
            "Enter a web address starting with https://",
        ),
        ({"online_url": "javascript:alert(1)"}, "Enter a web address starting with https://"),
        (
            {"enrollment_opens_at": "2030-03-01T08:00", "enrollment_closes_at": "2030-02-01T08:00"},
            "Enrollment must close after it opens.",
        ),
        ({"capacity": "0"}, "Number must be between 1 and 30."),
        ({"capacity": "31"}, "Number must be between 1 and 30."),
        ({"session_count": "0"}, "Number must be between 1 and 52."),
        ({"duration_minutes": "5"}, "Number must be between 10 and 480."),
        ({"status": "cancelled"}, "Not a valid choice."),
        ({"first_day": "31.03.2030"}, "Not a valid date value."),
        ({"start_time": "6 pm"}, "Not a valid time value."),
    ],
)
def test_offering_rules_are_refused_with_a_message(db, as_trainer, course, changes, message):
    response = as_trainer.post(
        f"/provider/courses/{course.id}/offerings/new", data={**NEW_OFFERING, **changes}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert (_count(db, Offering), _count(db, CourseSession)) == (0, 0)


def test_an_online_offering_keeps_its_https_link(db, as_trainer, course):
    data = {**NEW_OFFERING, "format": "online", "online_url": " https://meet.example.com/ruecken "}
    assert (
        as_trainer.post(f"/provider/courses/{course.id}/offerings/new", data=data).status_code
        == 302
    )
    assert db.session.scalar(select(Offering.online_url)) == "https://meet.example.com/ruecken"


def test_an_offering_outside_the_certification_is_marked_not_certified(db, as_trainer, course):
    data = {**NEW_OFFERING, "first_day": "2031-12-02", "session_count": "8"}
    assert (
        as_trainer.post(f"/provider/courses/{course.id}/offerings/new", data=data).status_code
        == 302
    )
    offering = db.session.scalar(select(Offering))
    assert offering.ends_on == date(2032, 1, 20)
    assert not authoring.offering_certified(offering)
    for url in (
        f"/provider/offerings/{offering.id}",
        "/provider/",
        f"/provider/courses/{course.id}",
    ):
        assert "Not certified for these dates" in as_trainer.get(url).get_data(as_text=True)


def test_editing_an_offering_saves_and_audits(db, as_trainer, offering):
    data = _details(
        offering,
        capacity="12",
        price_eur="99.50",
        cancellation_deadline="2030-05-01T23:59",
    )
    response = as_trainer.post(f"/provider/offerings/{offering.id}", data=data)
    assert response.status_code == 302
    db.session.refresh(offering)
    assert (offering.capacity, offering.price_cents) == (12, 9950)
    assert offering.cancellation_deadline == datetime(2030, 5, 1, 21, 59, tzinfo=UTC)
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "provider.offering_updated")
    )
    assert set(json.loads(event.details)["fields"]) == {
        "capacity",
        "price_cents",
        "cancellation_deadline",
    }


def test_capacity_cannot_drop_below_the_seats_taken(db, as_trainer, offering):
    offering.seats_taken = 6
    db.session.commit()
    response = as_trainer.post(
        f"/provider/offerings/{offering.id}", data=_details(offering, capacity="5")
    )
    assert response.status_code == 400
    assert "6 people are already enrolled; the capacity cannot be lower." in response.get_data(
        as_text=True
    )
    db.session.refresh(offering)
    assert offering.capacity == 10
    assert (
        as_trainer.post(
            f"/provider/offerings/{offering.id}", data=_details(offering, capacity="6")
        ).status_code
        == 302
    )


def test_publishing_needs_a_session(db, as_trainer, offering):
    offering.status = "draft"
    db.session.commit()
    for session in list(offering.sessions):
        response = as_trainer.post(
            f"/provider/offerings/{offering.id}", data={"form": "remove", "session_id": session.id}
        )
        assert response.status_code == 302
    db.session.expire_all()
    assert offering.sessions == []
    # Without sessions the dates stay those of the last session that was left.
    assert offering.starts_on == offering.ends_on == date(2030, 6, 25)
    response = as_trainer.post(
        f"/provider/offerings/{offering.id}", data=_details(offering, status="published")
    )
    assert response.status_code == 400
    assert "Add at least one session before publishing." in response.get_data(as_text=True)
    db.session.refresh(offering)
    assert offering.status == "draft"


def test_the_last_session_of_a_published_offering_cannot_be_removed(db, as_trainer, course):
    offering = authoring.create_offering(
        course,
        authoring.OfferingData(
            10, 100, "in_person", None, None, None, None, None, None, None, "published"
        ),
        authoring.SessionSeries(date(2030, 6, 4), datetime(2030, 1, 1, 18).time(), 60, 1),
        None,
    )
    db.session.commit()
    response = as_trainer.post(
        f"/provider/offerings/{offering.id}",
        data={"form": "remove", "session_id": offering.sessions[0].id},
    )
    assert response.status_code == 400
    assert "A published offering needs at least one session." in response.get_data(as_text=True)
    assert _count(db, CourseSession) == 1


def test_a_single_session_is_added_and_the_dates_follow(db, as_trainer, offering):
    response = as_trainer.post(
        f"/provider/offerings/{offering.id}",
        data={
            "form": "session",
            "session-day": "2030-07-02",
            "session-start_time": "17:30",
            "session-end_time": "19:00",
            "session-location": "Park am See",
            "session-online_url": "",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert offering.ends_on == date(2030, 7, 2)
    last = offering.sessions[-1]
    assert _local(last.starts_at) == ("2030-07-02", "17:30")
    assert last.ends_at - last.starts_at == timedelta(minutes=90)
    assert last.location == "Park am See"
    first = offering.sessions[0]
    response = as_trainer.post(
        f"/provider/offerings/{offering.id}", data={"form": "remove", "session_id": first.id}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert offering.starts_on == date(2030, 5, 14)
    details = [
        json.loads(e.details)
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "provider.offering_updated")
        )
    ]
    assert details == [{"sessions_added": 1}, {"sessions_removed": 1}]


@pytest.mark.parametrize(
    ("session", "message"),
    [
        (
            {"session-start_time": "19:00", "session-end_time": "18:00"},
            "A session must end after it starts.",
        ),
        (
            {"session-start_time": "18:00", "session-end_time": "18:00"},
            "A session must end after it starts.",
        ),
        (
            {
                "session-day": "2030-05-14",
                "session-start_time": "18:30",
                "session-end_time": "20:00",
            },
            "This overlaps the session on",
        ),
        ({"session-online_url": "www.example.com"}, "Enter a web address starting with https://"),
    ],
)
def test_bad_single_sessions_are_refused(db, as_trainer, offering, session, message):
    data = {
        "form": "session",
        "session-day": "2030-07-02",
        "session-start_time": "17:30",
        "session-end_time": "19:00",
        **session,
    }
    response = as_trainer.post(f"/provider/offerings/{offering.id}", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _count(db, CourseSession) == 8


def test_a_generated_series_must_not_overlap_existing_sessions(db, as_trainer, offering):
    data = {
        "form": "series",
        "series-first_day": "2030-05-21",
        "series-start_time": "18:30",
        "series-duration_minutes": "60",
        "series-session_count": "2",
    }
    response = as_trainer.post(f"/provider/offerings/{offering.id}", data=data)
    assert response.status_code == 400
    assert "This overlaps the session on" in response.get_data(as_text=True)
    assert _count(db, CourseSession) == 8
    data["series-replace_existing"] = "y"
    response = as_trainer.post(f"/provider/offerings/{offering.id}", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    assert len(offering.sessions) == 2
    assert (offering.starts_on, offering.ends_on) == (date(2030, 5, 21), date(2030, 5, 28))


def test_sessions_cannot_be_removed_once_attendance_is_recorded(
    db, as_trainer, offering, make_employer, make_user
):
    from wellness.attendance.models import Attendance

    employer = make_employer()
    enrollment = _enroll(db, offering, make_user(Role.EMPLOYEE, employer=employer), "enrolled")
    db.session.add(
        Attendance(
            enrollment_id=enrollment.id, session_id=offering.sessions[0].id, status="present"
        )
    )
    db.session.commit()
    response = as_trainer.post(
        f"/provider/offerings/{offering.id}",
        data={"form": "remove", "session_id": offering.sessions[1].id},
    )
    assert response.status_code == 400
    assert "Attendance has already been recorded for this offering" in response.get_data(
        as_text=True
    )
    assert _count(db, CourseSession) == 8


def test_an_offering_with_enrollments_cannot_go_back_to_draft(
    db, as_trainer, offering, make_employer, make_user
):
    _enroll(db, offering, make_user(Role.EMPLOYEE, employer=make_employer()), "enrolled")
    response = as_trainer.post(
        f"/provider/offerings/{offering.id}", data=_details(offering, status="draft")
    )
    assert response.status_code == 400
    assert "cannot go back to draft" in response.get_data(as_text=True)


# --- cancellation --------------------------------------------------------------------------


def _enroll(db, offering: Offering, person, status: str, position: int | None = None) -> Enrollment:
    employee = db.session.scalar(select(Employee).where(Employee.user_id == person.id))
    enrollment = Enrollment(
        offering_id=offering.id,
        employee_id=employee.id,
        status=status,
        waitlist_position=position,
        participant_code=f"P{employee.id:06d}",
        budget_year=2030,
        enrolled_at=utcnow() if status == "enrolled" else None,
        cancelled_at=utcnow() if status == "cancelled" else None,
    )
    db.session.add(enrollment)
    if status == "enrolled":
        offering.seats_taken += 1
    db.session.commit()
    return enrollment


def test_cancelling_an_offering_cancels_enrollments_releases_seats_and_mails(
    db, as_trainer, offering, make_employer, make_user
):
    from wellness.notifications.models import OutboundMail

    employer = make_employer()
    db.session.add(OfferingEmployer(offering_id=offering.id, employer_id=employer.id))
    people = [make_user(Role.EMPLOYEE, employer=employer) for _ in range(4)]
    enrolled = [_enroll(db, offering, p, "enrolled") for p in people[:2]]
    waiting = _enroll(db, offering, people[2], "waitlisted", position=1)
    gone = _enroll(db, offering, people[3], "cancelled")
    assert offering.seats_taken == 2

    refused = as_trainer.post(f"/provider/offerings/{offering.id}", data={"form": "cancel"})
    assert refused.status_code == 400
    assert "Confirm the cancellation by ticking the box." in refused.get_data(as_text=True)
    db.session.refresh(offering)
    assert offering.status == "published"

    response = as_trainer.post(
        f"/provider/offerings/{offering.id}", data={"form": "cancel", "cancel-confirm": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (offering.status, offering.seats_taken) == ("cancelled", 0)
    for enrollment in [*enrolled, waiting]:
        assert enrollment.status == "cancelled"
        assert enrollment.waitlist_position is None
        assert enrollment.cancelled_at is not None
    mails = db.session.scalars(
        select(OutboundMail.user_id).where(OutboundMail.kind == "offering_cancelled")
    ).all()
    assert sorted(mails) == sorted(p.id for p in people[:3])
    assert gone.status == "cancelled"
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "provider.offering_cancelled")
    )
    assert json.loads(event.details) == {"enrollments_cancelled": 3}
    page = as_trainer.get(f"/provider/offerings/{offering.id}").get_data(as_text=True)
    assert "This offering is cancelled and can no longer be changed." in page


def test_a_cancelled_offering_cannot_be_edited(db, as_trainer, offering):
    authoring.cancel_offering(offering, None)
    db.session.commit()
    posts = [
        _details(offering, status="published", capacity="9"),
        {"form": "remove", "session_id": offering.sessions[0].id},
        {
            "form": "session",
            "session-day": "2030-07-02",
            "session-start_time": "17:30",
            "session-end_time": "19:00",
        },
        {"form": "cancel", "cancel-confirm": "y"},
    ]
    for data in posts:
        response = as_trainer.post(f"/provider/offerings/{offering.id}", data=data)
        assert response.status_code == 400, data["form"]
        assert "This offering is cancelled and can no longer be changed." in response.get_data(
            as_text=True
        )
    db.session.expire_all()
    assert (offering.capacity, len(offering.sessions)) == (10, 8)
    assert _actions(db).count("provider.offering_cancelled") == 1


# --- isolation and access ------------------------------------------------------------------


def test_another_provider_cannot_see_or_change_the_course_or_offering(
    db, client, login, make_provider, make_user, course, offering
):
    other = make_user(Role.PROVIDER, provider=make_provider(), locale="en")
    login(client, other)
    assert "Neue Rückenschule" not in client.get("/provider/").get_data(as_text=True)
    for url in (
        f"/provider/courses/{course.id}",
        f"/provider/courses/{course.id}/offerings/new",
        f"/provider/offerings/{offering.id}",
    ):
        assert client.get(url).status_code == 404, url
    attempts = [
        (f"/provider/courses/{course.id}", {**COURSE, "title": "Gekapert"}),
        (f"/provider/courses/{course.id}/offerings/new", NEW_OFFERING),
        (f"/provider/offerings/{offering.id}", _details(offering, capacity="3")),
        (f"/provider/offerings/{offering.id}", {"form": "cancel", "cancel-confirm": "y"}),
        (
            f"/provider/offerings/{offering.id}",
            {"form": "remove", "session_id": offering.sessions[0].id},
        ),
    ]
    for url, data in attempts:
        assert client.post(url, data=data).status_code == 404, url
    db.session.expire_all()
    assert course.title == "Neue Rückenschule"
    assert (offering.capacity, offering.status, len(offering.sessions)) == (10, "published", 8)
    assert _count(db, Offering) == 1


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.HR, Role.ADMIN])
def test_employer_roles_cannot_author_courses(client, login, make_employer, make_user, role):
    login(client, make_user(role, employer=make_employer()))
    assert client.get("/provider/courses/new").status_code == 403
    assert client.post("/provider/courses/new", data=COURSE).status_code == 403


def test_an_unknown_form_name_is_a_bad_request(as_trainer, offering):
    response = as_trainer.post(f"/provider/offerings/{offering.id}", data={"form": "nonsense"})
    assert response.status_code == 400


# --- bad input on every form ---------------------------------------------------------------


def _state(db) -> tuple[Any, ...]:
    db.session.expire_all()
    return (
        _count(db, Course),
        _count(db, Offering),
        _count(db, CourseSession),
        _count(db, AuditEvent),
        tuple(db.session.execute(select(Course.title, Course.default_capacity)).all()),
        tuple(db.session.execute(select(Offering.capacity, Offering.status)).all()),
    )


def _variants(valid: dict[str, str], typed: dict[str, str]) -> dict[str, dict[str, str]]:
    required = [k for k, v in valid.items() if v and k != "form"]
    variants = {
        "missing": {k: v for k, v in valid.items() if k not in required},
        "empty": {**valid, **dict.fromkeys(required, "")},
    }
    if "cancel-confirm" not in valid:  # any value ticks a checkbox; length means nothing there
        variants["overlong"] = {**valid, **dict.fromkeys(required, "x" * 12000)}
    for key, wrong in typed.items():
        variants[f"wrong type {key}"] = {**valid, key: wrong}
    return variants


def test_bad_input_on_every_provider_form_changes_nothing(db, as_trainer, course, offering):
    forms = [
        (
            "/provider/courses/new",
            COURSE,
            {
                "certified_from": "soon",
                "attendance_threshold_pct": "eighty",
                "default_capacity": "1.5",
                "default_price_eur": "lots",
                "language": "xx",
            },
        ),
        (
            f"/provider/courses/{course.id}",
            {**COURSE, "zpp_course_id": "KU-BE-000001"},
            {"certified_until": "2031-13-01", "default_capacity": "many"},
        ),
        (
            f"/provider/courses/{course.id}/offerings/new",
            NEW_OFFERING,
            {
                "first_day": "tomorrow",
                "start_time": "25:00",
                "capacity": "ten",
                "price_eur": "NaN",
                "enrollment_opens_at": "2030-02-30T08:00",
                "format": "tv",
            },
        ),
        (
            f"/provider/offerings/{offering.id}",
            _details(offering),
            {
                "offering-capacity": "x",
                "offering-cancellation_deadline": "yesterday",
                "offering-status": "cancelled",
            },
        ),
        (
            f"/provider/offerings/{offering.id}",
            {
                "form": "series",
                "series-first_day": "2030-09-03",
                "series-start_time": "18:00",
                "series-duration_minutes": "60",
                "series-session_count": "2",
            },
            {"series-session_count": "two", "series-first_day": "03.09.2030"},
        ),
        (
            f"/provider/offerings/{offering.id}",
            {
                "form": "session",
                "session-day": "2030-09-03",
                "session-start_time": "18:00",
                "session-end_time": "19:00",
            },
            {"session-end_time": "7 pm", "session-day": "2030-02-30"},
        ),
        (f"/provider/offerings/{offering.id}", {"form": "cancel", "cancel-confirm": "y"}, {}),
    ]
    before = _state(db)
    for url, valid, typed in forms:
        for name, payload in _variants(valid, typed).items():
            response = as_trainer.post(url, data=payload)
            assert response.status_code == 400, (url, name, response.status_code)
            page = response.get_data(as_text=True)
            assert "<form" in page, (url, name)
            assert 'aria-invalid="true"' in page, (url, name)
        for key in valid:
            response = as_trainer.post(url, data={**valid, key: "bad\x00value"})
            assert response.status_code == 400, (url, "control character", key)
    assert _state(db) == before
