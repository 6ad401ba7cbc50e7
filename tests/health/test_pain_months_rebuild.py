"""A full rollup rebuild while the app runs: on PostgreSQL it swaps a new table in for the old
one, so what must hold is that readers and writers waiting for it carry on with the new table
(no error, no empty read, no lost check-in), and that it locks the employees' table, which
every request reads, only for its last instants."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, delete, event, select, text
from sqlalchemy.engine import make_url

from wellness.auth.models import Role
from wellness.extensions import db
from wellness.health import pain_months
from wellness.health.checkins import record_checkin
from wellness.health.models import PainMonth
from wellness.tenants.models import Employee, Employer

from .test_pain_months import from_scores, rollup

TODAY = date(2026, 3, 20)
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
#: A count the reader plans and prepares before the rebuild (psycopg prepares a statement on
#: its fifth execution), so a plan of the old table is what waits.
READ = text("SELECT count(*) FROM pain_months WHERE employee_id = :person")


def _waiting_for_a_lock(db) -> None:
    """Until another backend waits for a lock (PostgreSQL), or briefly (SQLite, which has
    none: its reader reads the last committed rows at once)."""
    if db.engine.dialect.name != "postgresql":
        time.sleep(0.5)
        return
    # Autocommit: within one transaction, pg_stat_activity answers from its first snapshot.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        for _ in range(300):
            waiting = watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            )
            if waiting:
                time.sleep(0.5)  # the check-in started with it comes to wait too
                return
            time.sleep(0.1)
    raise AssertionError("no query came to wait for the rebuild")


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except Exception as error:  # reported by the test's assertion
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_read_and_a_check_in_waiting_for_a_rebuild_carry_on_with_the_new_table(
    app, db, make_user, make_employer
):
    employer = make_employer()
    people = [make_user(Role.EMPLOYEE, employer=employer).employee for _ in range(3)]
    for number, person in enumerate(people):
        record_checkin(person, {"low_back": number + 3}, checked_on=date(2026, 3, 2), today=TODAY)
    late = make_user(Role.EMPLOYEE, employer=employer).employee
    db.session.commit()
    # Rows the rebuild has to bring back, so old and new tables differ.
    db.session.execute(delete(PainMonth).where(PainMonth.employee_id == people[0].id))
    db.session.commit()
    restored = {"person": people[0].id}
    reader = db.engine.connect()
    drifted = [reader.scalar(READ, restored) for _ in range(6)][-1]
    reader.commit()

    late_id = late.id

    def check_in() -> None:
        with app.app_context():
            person = db.session.get(Employee, late_id)
            record_checkin(person, {"low_back": 9}, checked_on=date(2026, 3, 9), today=TODAY)
            db.session.commit()

    rows = pain_months.rebuild()
    reading, read = _in_thread(lambda: reader.scalar(READ, restored))
    writing, wrote = _in_thread(check_in)
    try:
        _waiting_for_a_lock(db)
    finally:  # a failure must not leave the threads waiting for this transaction
        db.session.commit()
        reading.join(60)
        writing.join(60)
        reader.close()

    assert not reading.is_alive()
    assert not writing.is_alive()
    assert "error" not in read, read
    assert "error" not in wrote, wrote
    assert rows == 3 * 9
    assert drifted == 0
    if db.engine.dialect.name == "postgresql":
        # It waited for the rebuild and read the new table: the restored person's nine regions.
        assert read["value"] == 9
    else:  # SQLite lets the reader see the last committed rows at once.
        assert read["value"] in (drifted, 9)
    assert rollup(db) == from_scores(db)
    assert (late.id, date(2026, 3, 1), "low_back") in rollup(db)


@pytest.fixture
def postgres_app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    """An app on a new, migrated PostgreSQL database, whatever the suite runs on: locks are
    PostgreSQL's (on the server of ``DATABASE_URL``, else 127.0.0.1:5432, which every
    development and CI machine has)."""
    configured = os.environ.get("DATABASE_URL", "")
    server = make_url(configured if configured.startswith("postgresql") else DEFAULT_SERVER)
    name = f"wellness_rebuild_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        app = make_app(SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade()
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_rebuild_locks_the_employees_only_once_every_row_and_index_is_built(postgres_app):
    employer = Employer(slug="rebuild", name="Rebuild")
    db.session.add(employer)
    db.session.flush()
    employee = Employee(employer_id=employer.id, employee_number="E1")
    db.session.add(employee)
    db.session.flush()
    record_checkin(employee, {"low_back": 5}, checked_on=date(2026, 3, 2), today=TODAY)
    db.session.commit()
    connection = db.session.connection()
    backend = connection.scalar(select(text("pg_backend_pid()")))
    held = text(
        "SELECT count(*) FROM pg_locks WHERE pid = :pid AND relation = 'employees'::regclass "
        "AND mode IN ('AccessExclusiveLock', 'ExclusiveLock', 'ShareRowExclusiveLock', "
        "'ShareLock')"
    )
    statements: list[tuple[str, bool]] = []
    with db.engine.connect() as watcher:

        def note(_conn, _cursor, statement: str, *_args: Any) -> None:
            locked = bool(watcher.scalar(held, {"pid": backend}))
            statements.append((statement[:80], locked))
            watcher.rollback()

        event.listen(connection, "before_cursor_execute", note)
        try:
            pain_months.rebuild()
        finally:
            event.remove(connection, "before_cursor_execute", note)
    db.session.commit()

    building = [sql for sql, locked in statements if sql.startswith(("CREATE", "ALTER TABLE"))]
    assert building, statements
    # Every statement that reads the scores or builds a key or index ran with the employees
    # free; the lock comes with dropping the old table (its foreign key) and adding the new key.
    after = [sql for sql, locked in statements if locked]
    assert len(after) == 1, statements
    assert after[0].startswith("ALTER TABLE pain_months ADD CONSTRAINT fk_"), statements
