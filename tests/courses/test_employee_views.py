"""The employee's course pages: catalog search, offering details, confirmation with the price
split, enrolling, the waitlist, cancelling and "My courses".

Most tests use an employer whose language is English, so they read the English source texts
and keep working once the German catalog is translated; one test checks the German default.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from wellness.auth.models import Role
from wellness.courses import enrollment as service
from wellness.courses.models import Enrollment, EnrollmentStatus, Offering
from wellness.db import utcnow


@pytest.fixture
def employer(make_employer):
    return make_employer(locale="en")


@pytest.fixture
def me(employer, make_user):
    return make_user(Role.EMPLOYEE, employer=employer, name="Erika Example")


@pytest.fixture
def browser(client, login, me):
    """The test client, signed in as ``me``."""
    return login(client, me)


def html(response) -> str:
    return response.get_data(as_text=True)


def text(response) -> str:
    """The page's visible text with tags removed and whitespace collapsed."""
    body = re.sub(r"<[^>]+>", " ", html(response))
    return re.sub(r"\s+", " ", body).replace("&#34;", '"').replace("&#39;", "'")


def flashes(response) -> list[str]:
    return [
        re.sub(r"\s+", " ", m).strip()
        for m in re.findall(r'class="flash flash-[^"]*"[^>]*>([^<]*)<', html(response))
    ]


def other_employee(employer, make_user):
    return make_user(Role.EMPLOYEE, employer=employer).employee


# --- Catalog ------------------------------------------------------------------------------


def test_catalog_shows_offering_with_price_subsidy_own_share_and_seats(
    browser, employer, make_offering
):
    offering = make_offering(employer, capacity=12, price_cents=15000, subsidy_cents=10000)
    response = browser.get("/courses")
    assert response.status_code == 200
    page = text(response)
    assert "Neue Rückenschule" in page
    assert f'href="/courses/{offering.id}"' in html(response)
    assert "€150.00" in page  # fee
    assert "€100.00" in page  # employer subsidy
    assert "€50.00" in page  # own share before any budget cap
    assert "12 seats left" in page
    assert "Certified until" in page


def test_search_by_text_field_format_city_and_free_seats(
    browser, employer, make_offering, make_user
):
    back = make_offering(employer, title="Neue Rückenschule", city="Hamburg", capacity=1)
    food = make_offering(employer, title="Gesund essen", field_of_action="nutrition", city="Köln")
    online = make_offering(employer, title="Rücken aktiv online", format="online", city=None)
    service.enroll(other_employee(employer, make_user), back.id)  # takes the only seat

    def found(query: str) -> set[int]:
        response = browser.get(f"/courses?{query}")
        assert response.status_code == 200, query
        return {int(n) for n in re.findall(r'href="/courses/(\d+)"', html(response))}

    assert found("") == {back.id, food.id, online.id}
    assert found("q=AKTIV") == {online.id}
    assert found("q=r%C3%BCckenschule") == {back.id}
    assert found("q=r%C3%BCckentraining") == {back.id, food.id, online.id}  # description
    assert found("q=ESSEN") == {food.id}
    assert found("field_of_action=nutrition") == {food.id}
    assert found("format=online") == {online.id}
    assert found("city=K%C3%B6ln") == {food.id}
    assert found("seats_left=y") == {food.id, online.id}
    assert found("q=r%C3%BCckenschule&format=in_person&seats_left=y") == set()


def test_city_choices_come_from_the_offerings(browser, employer, make_offering):
    make_offering(employer, city="Hamburg")
    make_offering(employer, city="Köln")
    make_offering(None, city="Atlantis")  # not opened to this employer
    page = html(browser.get("/courses"))
    options = re.findall(
        r'<option[^>]*value="([^"]*)"', page.split('id="city"')[1].split("</select>")[0]
    )
    assert options == ["", "Hamburg", "Köln"]


def test_full_offering_shows_waitlist_length(browser, employer, make_offering, make_user):
    offering = make_offering(employer, capacity=1)
    service.enroll(other_employee(employer, make_user), offering.id)
    service.enroll(other_employee(employer, make_user), offering.id)
    assert "Full – waitlist: 1" in text(browser.get("/courses"))


def test_certified_badge_only_when_the_certification_covers_the_dates(
    browser, db, employer, make_offering
):
    covered = make_offering(employer, title="Covered course")
    lapsing = make_offering(employer, title="Lapsing course")
    lapsing.course.certified_until = lapsing.starts_on + timedelta(days=7)  # ends before the course
    uncertified = make_offering(employer, title="Uncertified course")
    uncertified.course.zpp_course_id = None
    db.session.commit()

    cards = {
        m.group(1): m.group(0)
        for m in re.finditer(
            r'<li class="card course-card">.*?>\s*(\w+ course)</a>.*?</li>',
            html(browser.get("/courses")),
            re.S,
        )
    }
    assert set(cards) == {"Covered course", "Lapsing course", "Uncertified course"}
    assert "Certified until" in cards["Covered course"]
    assert "Certified until" not in cards["Lapsing course"]
    assert "Certified until" not in cards["Uncertified course"]

    assert "Certified until" in text(browser.get(f"/courses/{covered.id}"))
    detail = text(browser.get(f"/courses/{lapsing.id}"))
    assert "Certified until" not in detail
    assert "not certified for these dates" in detail


def test_viewer_sees_own_status_on_the_card(browser, employer, me, make_offering):
    offering = make_offering(employer)
    service.enroll(me.employee, offering.id)
    card = html(browser.get("/courses")).split('class="card course-card"')[1]
    assert "Enrolled" in card


def test_empty_catalog_says_the_employer_has_not_opened_courses(browser, make_offering):
    make_offering(None)  # exists, but not for this employer
    page = text(browser.get("/courses"))
    assert "Your employer has not opened any upcoming courses for you yet" in page
    assert "No courses match" not in page


def test_search_without_results_says_nothing_matches(browser, employer, make_offering):
    make_offering(employer)
    page = text(browser.get("/courses?q=yoga"))
    assert "No courses match your search" in page
    assert "has not opened" not in page


def test_catalog_pages_through_results(browser, employer, make_offering):
    for n in range(22):
        make_offering(employer, title=f"Kurs {n:02d}", sessions=1, starts_in_days=10 + n)
    first = html(browser.get("/courses?q=kurs"))
    assert first.count('class="card course-card"') == 20
    assert "Page 1 of 2" in first
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "q=kurs" in next_link
    second = html(browser.get(next_link))
    assert second.count('class="card course-card"') == 2
    assert "Kurs 21" in second
    assert 'rel="prev"' in second


@pytest.mark.parametrize(
    "query",
    [
        "field_of_action=yoga",
        "format=teleport",
        "city=Atlantis",
        "language=klingon",
        "starts_from=2026-13-45",
        "starts_until=tomorrow",
        "starts_from=2026-06-01&starts_until=2026-05-01",
        "page=abc",
        "page=0",
        "page=99999999999999999999",
        "q=" + "x" * 101,
    ],
)
def test_bad_query_parameters_answer_400_with_the_form_errors(
    browser, employer, make_offering, query
):
    make_offering(employer)
    response = browser.get(f"/courses?{query}")
    assert response.status_code == 400, query
    page = html(response)
    assert "Please check your search" in page
    assert 'aria-invalid="true"' in page or "Page:" in text(response)
    assert 'class="card course-card"' not in page


def test_catalog_is_for_employees_only(client, login, employer, make_user):
    hr = make_user(Role.HR, employer=employer)
    assert login(client, hr).get("/courses").status_code == 403
    client.post("/logout")
    anonymous = client.get("/courses")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")


def test_pages_are_german_by_default(client, login, make_employer, make_user, make_offering):
    employer = make_employer()  # default language: German
    person = make_user(Role.EMPLOYEE, employer=employer)
    offering = make_offering(employer, price_cents=15000)
    login(client, person)
    for url in ("/courses", f"/courses/{offering.id}", f"/courses/{offering.id}/enroll"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = html(response)
        assert '<html lang="de">' in page, url
        assert "150,00\xa0€" in page, url
    detail = html(client.get(f"/courses/{offering.id}"))
    assert offering.starts_on.strftime("%d.%m.%Y") in detail
    assert "Rückentraining in der Gruppe" in detail


# --- Offering details ---------------------------------------------------------------------


def test_offering_of_another_employer_is_not_found(browser, db, make_employer, make_offering):
    theirs = make_offering(make_employer())
    for url in (f"/courses/{theirs.id}", f"/courses/{theirs.id}/enroll", "/courses/999999"):
        response = browser.get(url)
        assert response.status_code == 404, url
        assert "not offered to you" in text(response) or "does not exist" in text(response)
    assert browser.post(f"/courses/{theirs.id}/enroll").status_code == 404
    assert db.session.scalars(select(Enrollment)).all() == []


def test_offering_page_shows_everything_needed_to_decide(browser, db, employer, make_offering):
    offering = make_offering(
        employer,
        sessions=3,
        instructor_name="Tobias Brandt",
        location="Studio, Hauptstraße 1",
        online_url="https://live.example/room",
    )
    course = offering.course
    course.title_en = "New Back School"
    course.description_en = "Back training in a group"
    course.attendance_threshold_pct = 75
    offering.sessions[1].location = "Gym, Nebenstraße 2"
    db.session.commit()
    response = browser.get(f"/courses/{offering.id}")
    assert response.status_code == 200
    page = text(response)
    assert "New Back School" in page
    assert "Back training in a group" in page  # English description for English readers
    assert "Tobias Brandt" in page
    assert course.zpp_course_id in page
    assert "at least 75 % of the sessions" in page
    assert "Place: Studio, Hauptstraße 1" in page  # named once for all sessions
    assert "Place: Gym, Nebenstraße 2" in page  # the session held elsewhere
    assert 'href="https://live.example/room"' in html(response)
    assert "6:00\u202fPM" in page or "6:00 PM" in page  # 18:00 Berlin, the session's local time
    assert f'href="/offerings/{offering.id}/calendar.ics"' in html(response)
    assert f'href="/courses/{offering.id}/enroll"' in html(response)
    assert "You can cancel until" in page


def test_offering_page_explains_why_enrollment_is_closed(browser, db, employer, make_offering):
    offering = make_offering(employer)
    offering.enrollment_closes_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    response = browser.get(f"/courses/{offering.id}")
    assert "Enrollment closed on" in text(response)
    assert f"/courses/{offering.id}/enroll" not in html(response)


def test_offering_page_offers_the_waitlist_when_full(browser, employer, make_offering, make_user):
    offering = make_offering(employer, capacity=1)
    service.enroll(other_employee(employer, make_user), offering.id)
    page = text(browser.get(f"/courses/{offering.id}"))
    assert "Join the waitlist" in page
    assert "Full – waitlist: 0" in page


# --- Confirmation and enrolling -----------------------------------------------------------


def test_confirmation_shows_the_split_before_booking(browser, db, employer, make_offering):
    offering = make_offering(employer, price_cents=15000, subsidy_cents=10000)
    response = browser.get(f"/courses/{offering.id}/enroll")
    assert response.status_code == 200
    page = text(response)
    assert "Confirm your enrollment" in page
    assert "Course fee €150.00" in page
    assert "Your employer pays €100.00" in page
    assert "You pay €50.00" in page
    assert "yearly budget" not in page  # not capped
    assert db.session.scalars(select(Enrollment)).all() == []  # nothing booked yet


def test_confirmation_explains_a_capped_budget(browser, db, employer, me, make_offering):
    employer.budget_per_employee_cents = 60000
    db.session.commit()
    earlier = make_offering(employer, price_cents=50000, subsidy_cents=50000)
    service.enroll(me.employee, earlier.id)  # uses 500 € of the 600 € budget
    wanted = make_offering(employer, price_cents=30000, subsidy_cents=25000)
    year = wanted.starts_on.year
    page = text(browser.get(f"/courses/{wanted.id}/enroll"))
    assert (
        f"Your employer's yearly budget of €600.00 for {year} has €100.00 left, "
        "so your employer pays €100.00 instead of €250.00."
    ) in page
    assert "You pay €200.00" in page


def test_enrolling_takes_a_seat_mails_and_lists_it_under_my_courses(
    browser, employer, me, make_offering, inbox
):
    offering = make_offering(employer, price_cents=15000, subsidy_cents=10000)
    response = browser.post(f"/courses/{offering.id}/enroll")
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/courses"
    mine = browser.get("/me/courses")
    assert flashes(mine) == ["You are enrolled in “Neue Rückenschule”."]
    page = text(mine)
    assert "Neue Rückenschule" in page
    assert "Enrolled" in page
    assert "Your employer pays €100.00, you pay €50.00." in page
    assert "Next session:" in page
    assert f'href="/offerings/{offering.id}/calendar.ics"' in html(mine)
    assert 'href="/me/calendar"' in html(mine)
    assert "<details" in html(mine)
    assert "Show all 8 sessions" in page
    found = service.find_enrollment(me.employee, offering.id)
    assert found is not None
    assert found.status == EnrollmentStatus.ENROLLED.value
    assert [m["To"] for m in inbox.messages] == [me.email]


def test_full_offering_puts_employee_on_waitlist_with_position(
    browser, employer, me, make_offering, make_user
):
    offering = make_offering(employer, capacity=1)
    service.enroll(other_employee(employer, make_user), offering.id)
    confirm = text(browser.get(f"/courses/{offering.id}/enroll"))
    assert "Join the waitlist" in confirm
    assert "You will be number 1 on the waitlist" in confirm
    browser.post(f"/courses/{offering.id}/enroll")
    mine = browser.get("/me/courses")
    assert flashes(mine) == [
        "“Neue Rückenschule” is full. You are number 1 on the waitlist; "
        "we will e-mail you when you get a seat."
    ]
    assert "Waitlist, position 1" in text(mine)
    assert "Waitlist, position 1" in text(browser.get(f"/courses/{offering.id}"))


def test_enrolling_twice_says_already_enrolled(browser, employer, make_offering):
    offering = make_offering(employer)
    browser.post(f"/courses/{offering.id}/enroll")
    browser.get("/me/courses")  # shows (and so clears) the success message
    again = browser.post(f"/courses/{offering.id}/enroll")
    assert again.status_code == 302
    assert again.headers["Location"] == f"/courses/{offering.id}"
    assert flashes(browser.get(again.headers["Location"])) == [
        "You are already enrolled in this offering."
    ]
    confirm = browser.get(f"/courses/{offering.id}/enroll")
    assert confirm.status_code == 302
    assert flashes(browser.get(confirm.headers["Location"])) == [
        "You are already enrolled in this offering."
    ]


def test_enrolling_after_the_window_closed_is_refused_with_the_reason(
    browser, db, employer, me, make_offering
):
    offering = make_offering(employer)
    offering.enrollment_closes_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    response = browser.post(f"/courses/{offering.id}/enroll")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/courses/{offering.id}"
    messages = flashes(browser.get(response.headers["Location"]))
    assert len(messages) == 1
    assert messages[0].startswith("Enrollment closed on")
    assert service.find_enrollment(me.employee, offering.id) is None


def test_enrolling_before_the_window_opens_is_refused(browser, db, employer, make_offering):
    offering = make_offering(employer)
    offering.enrollment_opens_at = utcnow() + timedelta(days=3)
    db.session.commit()
    confirm = browser.get(f"/courses/{offering.id}/enroll")
    assert confirm.status_code == 302
    assert flashes(browser.get(confirm.headers["Location"]))[0].startswith("Enrollment opens on")


def test_enroll_and_cancel_need_the_csrf_token(make_app, db, employer, me, make_offering):
    offering = make_offering(employer)
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert token is not None
    login = client.post(
        "/login",
        data={"email": me.email, "password": "correct horse battery", "csrf_token": token.group(1)},
    )
    assert login.status_code == 302
    assert client.post(f"/courses/{offering.id}/enroll").status_code == 400
    assert client.post(f"/courses/{offering.id}/cancel").status_code == 400
    confirm = client.get(f"/courses/{offering.id}/enroll").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.split("<main")[1])
    assert form_token is not None
    booked = client.post(f"/courses/{offering.id}/enroll", data={"csrf_token": form_token.group(1)})
    assert booked.status_code == 302
    assert booked.headers["Location"] == "/me/courses"


# --- Cancelling ---------------------------------------------------------------------------


def test_cancelling_a_seat_frees_it_and_says_so(browser, db, employer, me, make_offering):
    offering = make_offering(employer)
    browser.post(f"/courses/{offering.id}/enroll")
    detail = html(browser.get(f"/courses/{offering.id}"))
    assert f'action="/courses/{offering.id}/cancel"' in detail
    assert "Cancel my seat" in detail
    response = browser.post(f"/courses/{offering.id}/cancel")
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/courses"
    mine = browser.get("/me/courses")
    assert flashes(mine) == ["You have cancelled your seat in “Neue Rückenschule”."]
    assert "Cancelled bookings" in text(mine)
    assert "You have no current or upcoming courses" in text(mine)
    assert db.session.get(Offering, offering.id).seats_taken == 0


def test_leaving_the_waitlist(browser, employer, make_offering, make_user):
    offering = make_offering(employer, capacity=1)
    service.enroll(other_employee(employer, make_user), offering.id)
    browser.post(f"/courses/{offering.id}/enroll")
    assert "Leave the waitlist" in text(browser.get(f"/courses/{offering.id}"))
    browser.post(f"/courses/{offering.id}/cancel")
    assert flashes(browser.get("/me/courses")) == [
        "You have left the waitlist for “Neue Rückenschule”."
    ]


def test_cancelling_after_the_deadline_is_refused_with_the_reason(
    browser, db, employer, me, make_offering
):
    offering = make_offering(employer)
    service.enroll(me.employee, offering.id)
    offering.cancellation_deadline = utcnow() - timedelta(hours=1)
    db.session.commit()
    detail = text(browser.get(f"/courses/{offering.id}"))
    assert "Cancellation was possible until" in detail
    assert "Cancel my seat" not in detail
    response = browser.post(f"/courses/{offering.id}/cancel")
    assert response.status_code == 302
    messages = flashes(browser.get(response.headers["Location"]))
    assert len(messages) == 1
    assert messages[0].startswith("Cancellation was possible until")
    assert messages[0].endswith("Please contact the course provider.")
    assert service.find_enrollment(me.employee, offering.id).status == "enrolled"


def test_cancelling_without_an_enrollment_says_so(browser, employer, make_offering):
    offering = make_offering(employer)
    response = browser.post(f"/courses/{offering.id}/cancel")
    assert response.status_code == 302
    assert flashes(browser.get("/me/courses")) == ["You are not enrolled in this offering."]


# --- My courses and the start page --------------------------------------------------------


def test_my_courses_separates_upcoming_and_past(browser, db, employer, me, make_offering):
    upcoming = make_offering(employer, title="Upcoming course")
    past = make_offering(employer, title="Past course", starts_in_days=-70, sessions=4)
    service.enroll(me.employee, upcoming.id)
    db.session.add(
        Enrollment(
            offering_id=past.id,
            employee_id=me.employee.id,
            status="enrolled",
            participant_code="PASTCODE",
            budget_year=past.starts_on.year,
            employer_share_cents=10000,
            employee_share_cents=5000,
        )
    )
    db.session.commit()
    page = text(browser.get("/me/courses"))
    current_part, past_part = page.split("Past courses", 1)
    assert "Upcoming course" in current_part
    assert "Past course" not in current_part
    assert "Past course" in past_part


def test_my_courses_with_nothing_booked_explains_itself(browser):
    page = text(browser.get("/me/courses"))
    assert "You have no current or upcoming courses" in page
    assert "Courses you have finished will be listed here" in page


def test_start_page_shows_open_courses_and_links_the_catalog(browser, employer, make_offering):
    offering = make_offering(employer, title="Open course")
    response = browser.get("/me")
    assert response.status_code == 200
    page = html(response)
    assert "Open course" in page
    assert f'href="/courses/{offering.id}"' in page
    assert 'href="/courses"' in page


def test_navigation_has_courses_and_my_courses(browser):
    page = html(browser.get("/courses"))
    nav = page.split('class="main-nav"')[1].split("</nav>")[0]
    assert re.search(r'href="/courses"\s+aria-current="page"', nav)
    assert 'href="/me/courses"' in nav
