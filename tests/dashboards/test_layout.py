"""The HR dashboard is mounted in the Flask app and speaks the HR user's language."""

from __future__ import annotations

from wellness.auth.models import Role


def test_hr_dashboard_layout_is_served_in_german_for_a_german_employer(
    client, login, make_employer, make_user
):
    login(client, make_user(Role.HR, employer=make_employer(locale="de")))
    page = client.get("/hr/")
    assert page.status_code == 200
    assert '<html lang="de">' in page.get_data(as_text=True)
    layout = client.get("/hr/_dash-layout").get_data(as_text=True)
    assert "HR-Dashboard" in layout


def test_hr_dashboard_assets_come_from_our_own_server(client, login, make_employer, make_user):
    login(client, make_user(Role.HR, employer=make_employer()))
    page = client.get("/hr/").get_data(as_text=True)
    assert "/static/css/app.css" in page
    assert "https://" not in page
    assert "http://" not in page


def test_hr_dashboard_page_states_the_users_language(client, login, make_employer, make_user):
    login(client, make_user(Role.HR, employer=make_employer(locale="de"), locale="en"))
    assert '<html lang="en">' in client.get("/hr/").get_data(as_text=True)
