"""Password hashing (scrypt via Werkzeug) and the password policy."""

from __future__ import annotations

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from wellness.errors import DomainError

#: NIST SP 800-63B: length is what matters; no composition rules.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


def check_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(f"Choose a password of at most {MAX_PASSWORD_LENGTH} characters.")


def hash_password(password: str) -> str:
    # PASSWORD_HASH_METHOD lets the test suite use cheaper parameters; production keeps scrypt.
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash: str | None, password: str) -> bool:
    return password_hash is not None and check_password_hash(password_hash, password)
