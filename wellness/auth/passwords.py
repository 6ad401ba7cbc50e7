"""Password hashing (scrypt via Werkzeug) and the password policy."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from wellness.errors import DomainError

#: NIST SP 800-63B: length is what matters; no composition rules.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
#: SecLists' 100,000 most common passwords (licence and source beside it).
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords-100k.txt"
#: Shorter e-mail local parts ("jo") occur in too many good passphrases to refuse them.
MIN_LOCAL_PART_CHECKED = 3


@cache
def common_passwords() -> frozenset[str]:
    """The breached/common list, lower-cased, read once per process (about 100,000 entries)."""
    with COMMON_PASSWORDS.open(encoding="utf-8") as handle:
        return frozenset(line.strip().casefold() for line in handle if line.strip())


def check_policy(password: str, email: str | None = None) -> None:
    """NIST SP 800-63B 5.1.1.2: a length range, not on a list of breached or common
    passwords, and not the account's own name; no composition rules."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            _("Choose a password of at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(
            _("Choose a password of at most %(count)d characters.", count=MAX_PASSWORD_LENGTH)
        )
    folded = password.casefold()
    if folded in common_passwords():
        raise DomainError(
            _(
                "This password is on a list of common or breached passwords that attackers "
                "try first. Choose another one, e.g. several unrelated words."
            )
        )
    if email:
        address = email.strip().casefold()
        local_part = address.partition("@")[0]
        if folded == address or (
            len(local_part) >= MIN_LOCAL_PART_CHECKED and local_part in folded
        ):
            raise DomainError(
                _("The password must not contain your e-mail address or its part before the @.")
            )


def hash_password(password: str) -> str:
    # PASSWORD_HASH_METHOD lets the test suite use cheaper parameters; production keeps scrypt.
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash: str | None, password: str) -> bool:
    return password_hash is not None and check_password_hash(password_hash, password)
