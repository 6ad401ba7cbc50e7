"""Fixtures of the health tool tests: an English-speaking employer and one of its employees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from wellness.auth.models import Role, User
from wellness.tenants.models import Employer


@pytest.fixture
def employer(make_employer: Callable[..., Employer]) -> Employer:
    """English, so the asserted texts read as in the source; German is the default."""
    return make_employer(locale="en")


@pytest.fixture
def employee_user(employer: Employer, make_user: Callable[..., User]) -> User:
    return make_user(Role.EMPLOYEE, employer=employer)


@pytest.fixture
def employee(employee_user: User) -> Any:
    return employee_user.employee
