"""The documented backup procedure (infra/README.md) restores the same answers.

On PostgreSQL only, always: a throwaway database on the server of ``DATABASE_URL`` when that is
PostgreSQL, else on 127.0.0.1:5432 (there on every development and CI machine). The demo is
seeded into a fresh database with the real CLI, dumped with ``pg_dump -Fc``, restored with
``pg_restore`` into another fresh database, and both must give the same row count for every
table and the same analytics releases (a participation measure and a pain measure, computed
without noise so the two computations can be compared). Both databases are dropped afterwards.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import URL, make_url

from wellness import create_app
from wellness.analytics import calendar_periods
from wellness.analytics.grid import GroupBy
from wellness.analytics.measures import Spec, run
from wellness.db import utcnow
from wellness.extensions import db as _db
from wellness.i18n import local_today
from wellness.tenants.models import Employer

WELLNESS = Path(sys.executable).parent / "wellness"
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _server() -> URL:
    configured = os.environ.get("DATABASE_URL", "")
    url = make_url(configured if configured.startswith("postgresql") else DEFAULT_SERVER)
    return url.set(database="postgres")


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not installed (apt-get install postgresql-client)"
    return found


def _libpq(url: URL) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def databases() -> Iterator[tuple[URL, URL]]:
    server = _server()
    suffix = uuid.uuid4().hex[:8]
    names = (f"wellness_backup_{suffix}", f"wellness_restore_{suffix}")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=names[0]), server.set(database=names[1])
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _cli(url: URL, *args: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "WELLNESS_ENV": "development",
    }
    subprocess.run([str(WELLNESS), *args], env=env, check=True, capture_output=True, timeout=600)  # noqa: S603


def _answers(url: URL, now: datetime) -> dict[str, Any]:
    """Row counts per table and two releases, computed the same way on either database."""
    app = create_app(
        {
            "TESTING": True,
            "SERVER_NAME": "localhost",
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
        }
    )
    with app.app_context():
        try:
            tables = sorted(inspect(_db.engine).get_table_names())
            counts = {
                table: _db.session.scalar(text(f'SELECT count(*) FROM "{table}"'))  # noqa: S608 - names from the catalog
                for table in tables
            }
            employer = _db.session.scalar(select(Employer).where(Employer.slug == "musterfirma"))
            assert employer is not None, "the demo employer is missing"
            # Exact figures: noise would differ between two computations by design.
            employer.dp_enabled = False
            year = calendar_periods.year_of(local_today(now), local_today(now))
            assert year is not None
            releases = {
                measure: dataclasses.asdict(
                    run(employer, Spec(measure, GroupBy.DEPARTMENT, year), now=now)
                )
                for measure in ("participation_rate", "pain_mean")
            }
        finally:
            _db.session.rollback()  # the runs may store releases: leave both databases as they were
            _db.session.remove()
            _db.engine.dispose()
    return {"counts": counts, "releases": releases}


def test_pg_dump_and_pg_restore_give_the_same_answers(databases, tmp_path):
    original, restored = databases
    _cli(original, "db", "upgrade")
    _cli(original, "demo")

    dump = tmp_path / "wellness.dump"
    subprocess.run(  # noqa: S603 - the documented procedure, our arguments
        [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}", _libpq(original)],
        check=True,
        timeout=600,
    )
    subprocess.run(  # noqa: S603
        [
            _tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            f"--dbname={_libpq(restored)}",
            str(dump),
        ],
        check=True,
        timeout=600,
    )

    now = utcnow()
    before, after = _answers(original, now), _answers(restored, now)
    assert before["counts"] == after["counts"]
    assert before["counts"]["alembic_version"] == 1
    assert before["counts"]["pain_checkins"] > 0
    assert before["counts"]["enrollments"] > 0
    assert before["releases"] == after["releases"]
    released = before["releases"]["participation_rate"]
    assert released["cells"], "the participation release has no cells to compare"
    assert any(cell.get("value") is not None for cell in released["cells"]), released
    pain = before["releases"]["pain_mean"]
    assert pain["total"]["value"] is not None, pain  # a real pain figure, not a suppressed one
    assert not pain["noisy"]
