"""The demo seed behind ``wellness demo``: two employers, three providers, a year of courses and
health history, all from one fixed random seed so every demo and screenshot looks the same.

Dates are relative to the reference day, so a demo seeded today always has past, running and
upcoming offerings. Seeding only flushes; the caller commits (the CLI) or rolls back (tests).
"""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select

from wellness.demo.catalogue import seed_catalogue, seed_providers
from wellness.demo.context import Demo
from wellness.demo.enrollments import seed_enrollments
from wellness.demo.health import seed_health
from wellness.demo.people import DEMO_PASSWORD, LOGINS, seed_people
from wellness.extensions import db
from wellness.tenants.models import Employer

__all__ = ["DEMO_LOGINS", "DEMO_PASSWORD", "RANDOM_SEED", "seed"]

RANDOM_SEED = 2026
#: (e-mail, role label) of the accounts that can sign in with DEMO_PASSWORD.
DEMO_LOGINS: list[tuple[str, str]] = [(login.email, login.label) for login in LOGINS]


def seed(today: date | None = None) -> bool:
    """Create the demo unless the Musterfirma employer exists; True when it created data.

    A second run changes nothing, so the command is safe in setup scripts.
    """
    if db.session.scalar(select(Employer.id).where(Employer.slug == "musterfirma")) is not None:
        return False
    rng = random.Random(RANDOM_SEED)  # noqa: S311 - reproducible demo data, not secrets  # nosec B311
    demo = Demo(rng=rng, today=today or date.today())
    providers = seed_providers()
    seed_people(demo, providers)
    seed_catalogue(demo, providers)
    seed_enrollments(demo)
    seed_health(demo)
    return True
