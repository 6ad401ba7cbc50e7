"""NIST SP 800-63B password policy: length, the shipped breached-password list, no own e-mail,
no composition rules."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from wellness.auth.passwords import COMMON_PASSWORDS, check_policy, common_passwords
from wellness.errors import DomainError

#: The messages are asserted in English (outside a request services speak German).
pytestmark = pytest.mark.usefixtures("english")


def test_the_list_ships_with_its_licence_and_100000_entries() -> None:
    assert len(COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()) == 100_000
    licence = (COMMON_PASSWORDS.parent / "LICENSE-common-passwords.txt").read_text()
    assert "MIT License" in licence
    assert "Daniel Miessler" in licence
    assert {"123456", "password", "qwertyuiop123"} <= common_passwords()


@pytest.mark.parametrize("password", ["qwertyuiop123", "QwertyUiop123", "1q2w3e4r5t6y"])
def test_breached_password_is_refused_whatever_its_case(app, password) -> None:
    with pytest.raises(DomainError, match="common or breached passwords"):
        check_policy(password, "someone@example.test")


@pytest.mark.parametrize(
    "password",
    ["anna.schmidt@example.test", "ANNA.SCHMIDT@example.test", "ich-bin-anna.schmidt-2026"],
)
def test_password_made_of_the_e_mail_address_is_refused(app, password) -> None:
    with pytest.raises(DomainError, match="e-mail address"):
        check_policy(password, "Anna.Schmidt@example.test")


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "Rücken stark, Kaffee heiß, Montag früh",
        "x" * 128,
        "all lowercase words and no digits",
    ],
)
def test_long_passphrases_without_composition_rules_are_accepted(app, password) -> None:
    check_policy(password, "anna.schmidt@example.test")


def test_length_limits_stay(app) -> None:
    with pytest.raises(DomainError, match="at least 12"):
        check_policy("kurz genug", None)
    with pytest.raises(DomainError, match="at most 128"):
        check_policy("y" * 129, None)


def test_a_short_local_part_alone_does_not_refuse_a_passphrase(app) -> None:
    check_policy("jo and the amazing technicolour", "jo@example.test")


def test_account_page_explains_the_refusal_in_german(
    client, make_employer, make_user, login
) -> None:
    user = make_user(employer=make_employer())
    login(client, user)
    response = client.post(
        "/account",
        data={
            "form": "password",
            "password-current": PASSWORD,
            "password-password": "leavemealone",
            "password-confirm": "leavemealone",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "common or breached" in page or "häufig" in page.lower() or "Liste" in page
