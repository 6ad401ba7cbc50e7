"""When an account gets locked after failed sign-ins, its holder gets one mail per lockout."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import PASSWORD
from wellness.auth import services
from wellness.db import utcnow


def _fail(client, email: str) -> int:
    return client.post("/login", data={"email": email, "password": "wrong " + PASSWORD}).status_code


def _locked_mails(inbox, email: str) -> list:
    return [
        m
        for m in inbox.messages
        if m["To"] == email and ("locked" in m["Subject"] or "gesperrt" in m["Subject"])
    ]


def test_lockout_mails_the_account_holder_once(client, db, inbox, make_employer, make_user):
    user = make_user(employer=make_employer())
    for _ in range(services.MAX_FAILED_LOGINS - 1):
        assert _fail(client, user.email) == 401
    assert _locked_mails(inbox, user.email) == []

    assert _fail(client, user.email) == 401  # this one locks the account
    mails = _locked_mails(inbox, user.email)
    assert len(mails) == 1
    body = mails[0].get_content()
    assert user.name in body
    assert "15" in body
    assert PASSWORD not in body

    for _ in range(3):  # attempts while locked: refused, no further mail
        assert _fail(client, user.email) == 401
    assert len(_locked_mails(inbox, user.email)) == 1


def test_the_next_lockout_mails_again(client, db, inbox, make_employer, make_user):
    user = make_user(employer=make_employer())
    for _ in range(services.MAX_FAILED_LOGINS):
        _fail(client, user.email)
    assert len(_locked_mails(inbox, user.email)) == 1

    db.session.refresh(user)
    user.locked_until = utcnow() - timedelta(seconds=1)  # the lockout has run out
    db.session.commit()
    for _ in range(services.MAX_FAILED_LOGINS):
        _fail(client, user.email)
    assert len(_locked_mails(inbox, user.email)) == 2


def test_failed_sign_ins_below_the_limit_send_nothing(client, inbox, make_employer, make_user):
    user = make_user(employer=make_employer())
    _fail(client, user.email)
    assert inbox.messages == []
