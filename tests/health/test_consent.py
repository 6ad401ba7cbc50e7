"""Consent per purpose: versioned texts, give, withdraw in one click, history, the filter every
aggregate uses, and the privacy page (which no other role can reach)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from wellness.audit.models import AuditEvent
from wellness.auth.models import Role
from wellness.db import utcnow
from wellness.errors import Conflict, NotFound
from wellness.health import consent
from wellness.health.models import Consent, ConsentPurpose, PainCheckin, PainScore

PURPOSE = ConsentPurpose.HEALTH_AGGREGATES


@pytest.fixture
def me(employer, make_user):
    return make_user(Role.EMPLOYEE, employer=employer, name="Erika Example")


@pytest.fixture
def browser(client, login, me):
    return login(client, me)


def _text(response) -> str:
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", body)


def _consents(db, employee) -> list[Consent]:
    return list(
        db.session.scalars(
            select(Consent).where(Consent.employee_id == employee.id).order_by(Consent.id)
        )
    )


def _events(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- Texts ---------------------------------------------------------------------------------


def test_every_purpose_has_a_current_text_in_german_and_english():
    for purpose in ConsentPurpose:
        text = consent.current_text(purpose)
        assert text.version
        assert consent.text_version(purpose, text.version) is text
        for language in ("de", "en"):
            assert text.title(language)
            assert len(text.paragraphs(language)) >= 3
        assert text.title("de") != text.title("en")


def test_text_says_refusal_has_no_disadvantage_and_withdrawal_is_possible():
    english = " ".join(consent.current_text(PURPOSE).paragraphs("en"))
    assert "no disadvantage" in english
    assert "withdraw" in english
    german = " ".join(consent.current_text(PURPOSE).paragraphs("de"))
    assert "keinerlei Nachteile" in german
    assert "widerrufen" in german


def test_the_demo_consents_point_at_a_known_text():
    # Kept as a literal so this test does not import the demo (seeded consents use it).
    assert consent.text_version(PURPOSE, "2026-01") is not None


def test_unknown_purpose_does_not_exist():
    with pytest.raises(NotFound):
        consent.parse_purpose("marketing")


# --- Give and withdraw ----------------------------------------------------------------------


def test_giving_consent_records_the_text_version_once(db, me):
    employee = me.employee
    version = consent.current_text(PURPOSE).version

    given = consent.give_consent(employee, PURPOSE, version)
    again = consent.give_consent(employee, PURPOSE, version)
    db.session.commit()

    assert again.id == given.id
    [stored] = _consents(db, employee)
    assert (stored.purpose, stored.text_version, stored.withdrawn_at) == (PURPOSE, version, None)
    assert consent.consent_state(employee, PURPOSE).given
    [event] = _events(db, "privacy.consent_given")
    assert event.actor_id == me.id
    # Not in the employer's audit log: nobody at the employer learns who agreed or refused.
    assert event.employer_id is None
    assert json.loads(event.details) == {"purpose": PURPOSE.value, "version": version}


def test_agreeing_to_a_text_that_changed_meanwhile_is_refused_and_stores_nothing(db, me):
    with pytest.raises(Conflict):
        consent.give_consent(me.employee, PURPOSE, "1999-01")
    assert _consents(db, me.employee) == []
    assert _events(db, "privacy.consent_given") == []


def test_withdrawing_keeps_the_history_and_is_a_no_op_the_second_time(db, me):
    employee = me.employee
    start = utcnow() - timedelta(days=10)
    consent.give_consent(employee, PURPOSE, consent.current_text(PURPOSE).version, now=start)

    assert consent.withdraw_consent(employee, PURPOSE, now=start + timedelta(days=2)) is True
    assert consent.withdraw_consent(employee, PURPOSE) is False
    db.session.commit()

    [stored] = _consents(db, employee)
    assert stored.withdrawn_at == start + timedelta(days=2)
    state = consent.consent_state(employee, PURPOSE)
    assert not state.given
    assert state.history == [stored]
    assert len(_events(db, "privacy.consent_withdrawn")) == 1
    assert _events(db, "privacy.consent_withdrawn")[0].employer_id is None


def test_agreeing_to_a_new_text_replaces_the_old_consent_without_a_gap(db, me):
    employee = me.employee
    then = utcnow() - timedelta(days=100)
    db.session.add(
        Consent(employee_id=employee.id, purpose=PURPOSE, text_version="2025-01", granted_at=then)
    )
    db.session.commit()
    state = consent.consent_state(employee, PURPOSE)
    assert state.given
    assert state.renewal_due

    now = utcnow()
    consent.give_consent(employee, PURPOSE, consent.current_text(PURPOSE).version, now=now)
    db.session.commit()

    old, new = _consents(db, employee)
    assert old.withdrawn_at == now == new.granted_at
    assert not consent.consent_state(employee, PURPOSE).renewal_due
    assert employee.id in consent.consenting_employee_ids(employee.employer_id, PURPOSE, now)


# --- The filter every aggregate uses --------------------------------------------------------


def test_withdrawal_removes_the_person_from_aggregates_from_that_moment(
    db, employer, make_employer, make_user
):
    anna, ben, carl = (make_user(employer=employer).employee for _ in range(3))
    stranger = make_user(employer=make_employer()).employee
    t0 = utcnow() - timedelta(days=30)
    version = consent.current_text(PURPOSE).version
    for person in (anna, ben, stranger):
        consent.give_consent(person, PURPOSE, version, now=t0)
    withdrawn_at = t0 + timedelta(days=10)
    consent.withdraw_consent(ben, PURPOSE, now=withdrawn_at)
    db.session.commit()

    def ids(at):
        return consent.consenting_employee_ids(employer.id, PURPOSE, at)

    assert ids(t0 - timedelta(seconds=1)) == set()
    assert ids(t0) == {anna.id, ben.id}
    assert ids(withdrawn_at - timedelta(seconds=1)) == {anna.id, ben.id}
    assert ids(withdrawn_at) == {anna.id}
    assert ids(None) == {anna.id}
    assert carl.id not in ids(None)  # never asked: never counted
    # Without an employer the filter spans tenants; the analytics layer always scopes it.
    unscoped = set(db.session.scalars(consent.consented(PURPOSE)))
    assert unscoped == {anna.id, stranger.id}


def test_mean_pain_over_consenting_people_drops_a_person_after_withdrawal(db, employer, make_user):
    """How an aggregate uses the filter: old data of a withdrawn person no longer counts."""
    anna, ben, carl = (make_user(employer=employer).employee for _ in range(3))
    t0 = utcnow() - timedelta(days=60)
    version = consent.current_text(PURPOSE).version
    for person, nrs in ((anna, 2), (ben, 8), (carl, 5)):
        db.session.add(
            PainCheckin(
                employee_id=person.id,
                checked_on=date.today() - timedelta(days=40),
                scores=[PainScore(region="low_back", nrs=nrs)],
            )
        )
    consent.give_consent(anna, PURPOSE, version, now=t0)
    consent.give_consent(ben, PURPOSE, version, now=t0)  # carl never agrees
    db.session.commit()

    def mean_low_back(at):
        return db.session.scalar(
            select(func.avg(PainScore.nrs))
            .join(PainCheckin, PainCheckin.id == PainScore.checkin_id)
            .where(
                PainScore.region == "low_back",
                PainCheckin.employee_id.in_(
                    consent.consented(PURPOSE, at=at, employer_id=employer.id)
                ),
            )
        )

    assert mean_low_back(None) == pytest.approx(5.0)
    consent.withdraw_consent(ben, PURPOSE)
    db.session.commit()
    assert mean_low_back(None) == pytest.approx(2.0)
    assert mean_low_back(t0 + timedelta(days=1)) == pytest.approx(5.0)  # what was shown before


# --- The page -------------------------------------------------------------------------------


def test_page_shows_the_text_and_gives_and_withdraws_in_one_click(db, browser, me):
    page = browser.get("/me/privacy")
    assert page.status_code == 200
    text = consent.current_text(PURPOSE)
    assert text.title("en") in _text(page)
    assert text.paragraphs("en")[0] in _text(page)
    assert "You have not agreed" in _text(page)

    response = browser.post(f"/me/privacy/consents/{PURPOSE}", data={"version": text.version})
    assert response.status_code == 302
    page = browser.get("/me/privacy")
    assert "You have agreed" in _text(page)
    assert "Withdraw consent" in _text(page)
    assert len(_consents(db, me.employee)) == 1

    response = browser.post(f"/me/privacy/consents/{PURPOSE}/withdraw")
    assert response.status_code == 302
    page = browser.get("/me/privacy")
    assert "You have not agreed" in _text(page)
    assert "Your history" in _text(page)
    [stored] = _consents(db, me.employee)
    assert stored.withdrawn_at is not None


def test_page_refuses_a_stale_text_version_with_a_message(db, browser, me):
    response = browser.post(
        f"/me/privacy/consents/{PURPOSE}", data={"version": "1999-01"}, follow_redirects=True
    )
    assert "The consent text has changed" in _text(response)
    assert _consents(db, me.employee) == []


def test_page_knows_no_other_purposes(browser):
    assert browser.post("/me/privacy/consents/marketing", data={"version": "x"}).status_code == 404


def test_consent_forms_need_the_csrf_token(db, make_app, employer, make_user):
    strict = make_app(WTF_CSRF_ENABLED=True)
    person = make_user(employer=employer)
    client = strict.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    data = {"email": person.email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data).status_code == 302
    version = consent.current_text(PURPOSE).version

    assert (
        client.post(f"/me/privacy/consents/{PURPOSE}", data={"version": version}).status_code == 400
    )
    assert _consents(db, person.employee) == []
    page = client.get("/me/privacy").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        f"/me/privacy/consents/{PURPOSE}", data={"version": version, "csrf_token": token}
    )
    assert response.status_code == 302
    assert len(_consents(db, person.employee)) == 1


def test_refusal_and_withdrawal_do_not_show_in_the_employer_audit_log(
    db, client, login, employer, me, make_user
):
    browser = login(client, me)
    version = consent.current_text(PURPOSE).version
    browser.post(f"/me/privacy/consents/{PURPOSE}", data={"version": version})
    browser.post(f"/me/privacy/consents/{PURPOSE}/withdraw")
    browser.post("/logout")

    admin = make_user(Role.ADMIN, employer=employer)
    log = login(client, admin).get("/admin/audit")
    assert log.status_code == 200
    assert "consent" not in _text(log).lower()
    assert "privacy." not in log.get_data(as_text=True)  # neither label nor action code


OTHER_ROLES = [Role.HR, Role.ADMIN, Role.PROVIDER, Role.OPERATOR]


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_no_other_role_reaches_the_privacy_pages(
    db, client, login, employer, make_provider, make_user, role
):
    kwargs = {"provider": make_provider()} if role == Role.PROVIDER else {}
    if role in (Role.HR, Role.ADMIN):
        kwargs = {"employer": employer}
    other = login(client, make_user(role, **kwargs))
    version = consent.current_text(PURPOSE).version
    assert other.get("/me/privacy").status_code == 403
    assert (
        other.post(f"/me/privacy/consents/{PURPOSE}", data={"version": version}).status_code == 403
    )
    assert other.post(f"/me/privacy/consents/{PURPOSE}/withdraw").status_code == 403
    assert other.post("/me/privacy/export").status_code == 403
    assert other.get("/me/privacy/erase").status_code == 403
    assert other.post("/me/privacy/erase", data={"confirm": "y"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 0


def test_signed_out_visitors_are_sent_to_the_login(client):
    for path in ("/me/privacy", "/me/privacy/erase"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    assert client.post("/me/privacy/export").status_code == 302
