"""Migrations: they run both ways on an empty database and match the models exactly.

Each test migrates its own fresh database (a temporary SQLite file, or a new database on the
PostgreSQL server named by ``DATABASE_URL``), so the shared test database is left alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, Integer, MetaData, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from tests.health.test_checklists import valid_answers
from wellness.extensions import db
from wellness.health.checkins import record_checkin
from wellness.health.checklists import load_shipped_templates, submit_response
from wellness.health.models import BodyRegion, ChecklistResponse
from wellness.tenants.models import Employee, Employer


@pytest.fixture
def fresh_app(make_app: Callable[..., Flask], tmp_path: Path) -> Iterator[Flask]:
    """An app on a brand-new, empty database of the same kind as the test database."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith("postgresql"):
        app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrations.sqlite'}")
        yield app
        with app.app_context():
            db.engine.dispose()
        return
    url = make_url(configured)
    name = f"wellness_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        app = make_app(
            SQLALCHEMY_DATABASE_URI=url.set(database=name).render_as_string(hide_password=False)
        )
        yield app
        with app.app_context():
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def _schema_differences(metadata: MetaData) -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_migrations_upgrade_downgrade_and_upgrade_again(fresh_app: Flask) -> None:
    model_tables = set(db.metadata.tables)
    with fresh_app.app_context():
        assert _tables() == set()

        upgrade()
        assert _tables() == model_tables | {"alembic_version"}

        downgrade(revision="base")
        assert _tables() == {"alembic_version"}, "downgrade to base must drop every table"
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 0
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                leftover_types = conn.execute(
                    text(
                        "SELECT t.typname FROM pg_type t"
                        " JOIN pg_namespace n ON n.oid = t.typnamespace"
                        " WHERE n.nspname = 'public' AND t.typtype = 'e'"
                    )
                ).scalars()
                assert list(leftover_types) == [], "downgrade must drop enum types too"

        upgrade()
        assert _tables() == model_tables | {"alembic_version"}


def test_migrated_schema_matches_the_models(fresh_app: Flask) -> None:
    """The drift check: a model change without a migration fails here."""
    with fresh_app.app_context():
        upgrade()
        differences = _schema_differences(db.metadata)
    assert differences == [], (
        "The models and the migrations disagree. Run `wellness db migrate -m '...'`, read and "
        f"edit the new revision, and commit it. Differences: {differences}"
    )


def test_drift_check_notices_a_column_missing_from_the_migrations(fresh_app: Flask) -> None:
    """Proves the check above can fail: a copy of the models with one extra column drifts."""
    drifted = MetaData(naming_convention=dict(db.metadata.naming_convention))
    for table in db.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["users"].append_column(Column("drift_probe", Integer, nullable=True))

    with fresh_app.app_context():
        upgrade()
        differences = _schema_differences(drifted)
    assert "drift_probe" not in db.metadata.tables["users"].c, "the real models stay untouched"
    added = [
        d for d in differences if isinstance(d, tuple) and d[0] == "add_column" and d[2] == "users"
    ]
    assert [d[3].name for d in added] == ["drift_probe"], differences


def _employee(slug: str) -> Employee:
    """One employee of a new employer, on the migrated fresh database."""
    employer = Employer(slug=slug, name=slug)
    db.session.add(employer)
    db.session.flush()
    employee = Employee(employer_id=employer.id, employee_number="E1")
    db.session.add(employee)
    db.session.flush()
    return employee


def test_0009_counts_the_items_to_fix_of_responses_stored_before_it(fresh_app: Flask) -> None:
    """Responses stored before the count existed get it from the app's own evaluation: the
    same numbers the submission counts (migrated down past it and up again)."""
    with fresh_app.app_context():
        upgrade()
        employee = _employee("before-0009")
        screen = next(t for t in load_shipped_templates() if t.key == "screen-workstation")
        for overrides in ({}, {"chair_height": "no"}, {"chair_height": "no", "mouse": "partly"}):
            answers = valid_answers(screen, **overrides)
            submit_response(employee, screen.key, screen.version, "office", answers)
        db.session.commit()
        counted = dict(
            db.session.execute(select(ChecklistResponse.id, ChecklistResponse.items_to_fix)).all()
        )
        db.session.remove()

        downgrade(revision="0008")
        upgrade()

        assert sorted(counted.values()) == [0, 1, 2]
        backfilled = dict(
            db.session.execute(select(ChecklistResponse.id, ChecklistResponse.items_to_fix)).all()
        )
        assert backfilled == counted


def test_migrating_down_and_up_past_a_copied_table_keeps_the_rows_that_refer_to_it(
    fresh_app: Flask,
) -> None:
    """0005 changes employees in a batch, which on SQLite copies the table and drops the old
    one: with foreign keys on, that deleted every check-in through its ON DELETE CASCADE."""
    held = text(
        "SELECT (SELECT count(*) FROM employees), (SELECT count(*) FROM pain_checkins), "
        "(SELECT count(*) FROM pain_scores)"
    )
    with fresh_app.app_context():
        upgrade()
        record_checkin(
            _employee("kept"), {"low_back": 5}, checked_on=date(2026, 3, 2), today=date(2026, 3, 9)
        )
        db.session.commit()
        before = tuple(db.session.execute(held).one())
        db.session.remove()

        downgrade(revision="0004")
        down = tuple(db.session.execute(held).one())
        db.session.remove()
        upgrade()
        up = tuple(db.session.execute(held).one())
        sqlite = db.engine.dialect.name == "sqlite"
        foreign_keys = db.session.execute(text("PRAGMA foreign_keys")).scalar() if sqlite else 1

    assert before == (1, 1, len(BodyRegion))
    assert down == before
    assert up == before
    assert foreign_keys == 1, "SQLite enforces foreign keys again after migrating"


def test_0010_rekeys_the_pain_rollup_and_keeps_its_rows(fresh_app: Flask) -> None:
    """0010 moves the rollup's key to (region, month, person) and its second index to (person,
    month); the rows stay, both ways (SQLite copies the table to change a key)."""
    rows = text(
        "SELECT employee_id, month, region, scores, nrs_sum, prevented FROM pain_months "
        "ORDER BY employee_id, month, region"
    )
    with fresh_app.app_context():
        upgrade()
        employee = _employee("rekeyed")
        for day in (date(2026, 3, 2), date(2026, 3, 9), date(2026, 4, 6)):
            record_checkin(employee, {"low_back": 5, "neck": 2}, checked_on=day, today=day)
        db.session.commit()
        before = db.session.execute(rows).all()
        db.session.remove()

        downgrade(revision="0009")
        old_key = inspect(db.engine).get_pk_constraint("pain_months")["constrained_columns"]
        down = db.session.execute(rows).all()
        db.session.remove()
        upgrade()
        inspector = inspect(db.engine)
        new_key = inspector.get_pk_constraint("pain_months")["constrained_columns"]
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("pain_months")}
        up = db.session.execute(rows).all()

    assert len(before) == len(BodyRegion) * 2  # two months, every region (the form stores all)
    assert down == before
    assert up == before
    assert old_key == ["employee_id", "month", "region"]
    assert new_key == ["region", "month", "employee_id"]
    assert indexes == {"ix_pain_months_employee_month": ["employee_id", "month"]}


def _enforces_foreign_keys() -> bool:
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            return connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        return connection.exec_driver_sql("SHOW session_replication_role").scalar() == "origin"


def test_a_failed_migration_leaves_foreign_keys_enforced(
    fresh_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite migrates with foreign keys off: a failure must not hand the connection back to
    the pool that way, or the app would store rows without their parents."""
    from alembic.runtime.migration import MigrationContext

    ran = MigrationContext.run_migrations

    def fails(self: MigrationContext, **kw: object) -> None:
        ran(self, **kw)
        raise RuntimeError("a migration failed")

    with fresh_app.app_context():
        monkeypatch.setattr(MigrationContext, "run_migrations", fails)
        with pytest.raises(SystemExit):  # Flask-Migrate reports the error and exits
            upgrade()
        monkeypatch.undo()

        assert _enforces_foreign_keys()
