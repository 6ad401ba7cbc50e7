"""Domain errors: raised by services, turned into 4xx answers with the message at the edge."""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken by the request; ``message`` tells the user what to do instead."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class BadParameter(DomainError):
    """A parameter or body field the request cannot use; ``name`` says which, and the API's
    problem details (RFC 9457) list it under ``invalid-params``."""

    def __init__(self, name: str, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.name = name
        self.status_code = status_code
