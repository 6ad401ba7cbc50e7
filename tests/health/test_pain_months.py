"""The pain rollup: one row per person, month and region, always equal to what the scores say,
whichever way the scores were written, corrected or deleted."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

from click.testing import Result
from sqlalchemy import delete, func, inspect, select

from wellness.auth.models import Role
from wellness.health import pain_months
from wellness.health.checkins import record_checkin
from wellness.health.models import BodyRegion, PainCheckin, PainMonth, PainScore
from wellness.health.personal_data import erase_health_data
from wellness.health.retention import purge_expired
from wellness.tenants.models import Employee

TODAY = date(2026, 3, 20)


def rollup(db, employee: Employee | None = None) -> dict[tuple[int, date, str], tuple[int, ...]]:
    query = select(PainMonth)
    if employee is not None:
        query = query.where(PainMonth.employee_id == employee.id)
    return {
        (row.employee_id, row.month, row.region): (row.scores, row.nrs_sum, row.prevented)
        for row in db.session.scalars(query)
    }


def from_scores(db) -> dict[tuple[int, date, str], tuple[int, ...]]:
    """The rollup as it must be, computed in Python from the scores."""
    expected: dict[tuple[int, date, str], list[int]] = {}
    rows = db.session.execute(
        select(PainCheckin.employee_id, PainCheckin.checked_on, PainCheckin.prevented_activity)
        .add_columns(PainScore.region, PainScore.nrs)
        .join(PainScore, PainScore.checkin_id == PainCheckin.id)
    )
    for person, day, prevented, region, nrs in rows:
        sums = expected.setdefault((person, day.replace(day=1), region), [0, 0, 0])
        sums[0] += 1
        sums[1] += nrs
        sums[2] += int(prevented)
    return {key: tuple(value) for key, value in expected.items()}


def test_a_check_in_adds_one_row_per_region_to_its_month(db, employee):
    record_checkin(employee, {"low_back": 6, "neck": 2}, checked_on=date(2026, 3, 2), today=TODAY)
    record_checkin(employee, {"low_back": 4}, checked_on=date(2026, 3, 9), today=TODAY)
    record_checkin(employee, {"low_back": 8}, checked_on=date(2026, 2, 27), today=TODAY)
    db.session.commit()

    rows = rollup(db, employee)
    march, february = date(2026, 3, 1), date(2026, 2, 1)
    assert rows[(employee.id, march, "low_back")] == (2, 10, 0)
    assert rows[(employee.id, march, "neck")] == (2, 2, 0)
    # The form stores every region, "no pain" included.
    assert rows[(employee.id, march, "knees")] == (2, 0, 0)
    assert rows[(employee.id, february, "low_back")] == (1, 8, 0)
    assert len(rows) == 2 * len(BodyRegion)
    assert rows == from_scores(db)


def test_checking_in_again_the_same_day_replaces_rather_than_adds(db, employee):
    day = date(2026, 3, 2)
    record_checkin(employee, {"low_back": 6}, checked_on=day, today=TODAY)
    record_checkin(employee, {"low_back": 3}, prevented_activity=True, checked_on=day, today=TODAY)
    db.session.commit()

    assert rollup(db, employee)[(employee.id, date(2026, 3, 1), "low_back")] == (1, 3, 1)
    assert rollup(db) == from_scores(db)


def test_corrections_and_deletions_through_the_orm_follow_at_once(db, employee):
    record_checkin(employee, {"low_back": 6}, checked_on=date(2026, 3, 2), today=TODAY)
    record_checkin(employee, {"low_back": 2}, checked_on=date(2026, 3, 3), today=TODAY)
    db.session.commit()
    first, second = db.session.scalars(
        select(PainCheckin).where(PainCheckin.employee_id == employee.id).order_by("checked_on")
    )

    next(s for s in first.scores if s.region == "low_back").nrs = 9
    db.session.flush()
    assert rollup(db, employee)[(employee.id, date(2026, 3, 1), "low_back")] == (2, 11, 0)

    # Moved to February: it leaves March and arrives there.
    first.checked_on = date(2026, 2, 28)
    db.session.flush()
    rows = rollup(db, employee)
    assert rows[(employee.id, date(2026, 3, 1), "low_back")] == (1, 2, 0)
    assert rows[(employee.id, date(2026, 2, 1), "low_back")] == (1, 9, 0)

    db.session.delete(second)
    db.session.flush()
    assert {month for _, month, _ in rollup(db, employee)} == {date(2026, 2, 1)}

    # A single score removed from a check-in that stays.
    first.scores.remove(next(s for s in first.scores if s.region == "neck"))
    db.session.commit()
    assert (employee.id, date(2026, 2, 1), "neck") not in rollup(db, employee)
    assert rollup(db) == from_scores(db)


def test_a_check_in_moved_to_another_person_leaves_the_first_ones_rollup(db, employee, make_user):
    colleague = make_user(Role.EMPLOYEE, employer=employee.employer).employee
    record_checkin(employee, {"low_back": 5}, checked_on=date(2026, 3, 2), today=TODAY)
    db.session.commit()
    row = db.session.scalars(
        select(PainCheckin).where(PainCheckin.employee_id == employee.id)
    ).one()

    row.employee_id = colleague.id
    db.session.commit()

    assert rollup(db, employee) == {}
    assert rollup(db, colleague)[(colleague.id, date(2026, 3, 1), "low_back")] == (1, 5, 0)
    assert rollup(db) == from_scores(db)


def test_erasure_removes_the_persons_rollup_and_nobody_elses(db, employee, make_user):
    colleague = make_user(Role.EMPLOYEE, employer=employee.employer).employee
    for person in (employee, colleague):
        record_checkin(person, {"low_back": 5}, checked_on=date(2026, 3, 2), today=TODAY)
    db.session.commit()

    erase_health_data(employee)
    db.session.commit()

    assert rollup(db, employee) == {}
    assert len(rollup(db, colleague)) == len(BodyRegion)
    assert rollup(db) == from_scores(db)


def test_the_retention_purge_keeps_the_rollup_of_what_it_keeps(db, make_employer, make_user):
    employer = make_employer(slug="strict", retention_months=12)
    person = make_user(Role.EMPLOYEE, employer=employer).employee
    now = datetime(2026, 3, 15, 11, 0, tzinfo=UTC)
    # The cutoff is 15 March 2025: February goes, March 2025 is cut in half, 2026 stays.
    for day in (date(2025, 2, 10), date(2025, 3, 14), date(2025, 3, 15), date(2026, 3, 1)):
        row = PainCheckin(employee_id=person.id, checked_on=day)
        row.scores.append(PainScore(region="low_back", nrs=day.day % 10))
        db.session.add(row)
    db.session.commit()

    purge_expired(now)
    db.session.commit()

    assert rollup(db, person) == {
        (person.id, date(2025, 3, 1), "low_back"): (1, 5, 0),
        (person.id, date(2026, 3, 1), "low_back"): (1, 1, 0),
    }
    assert rollup(db) == from_scores(db)


def test_rebuild_yields_the_rows_kept_current_on_every_write(db, make_employer, make_user):
    """A random history of check-ins, corrections and deletions: the rollup kept current on
    each write is what a rebuild from the scores computes."""
    rng = random.Random(20261203)  # noqa: S311 (shapes test data, no secret)
    employer = make_employer(slug="history")
    people = [make_user(Role.EMPLOYEE, employer=employer).employee for _ in range(4)]
    for _ in range(60):
        person = rng.choice(people)
        day = date(2026, rng.randint(1, 3), rng.randint(1, 28))
        scores = {region.value: rng.randint(0, 10) for region in rng.sample(list(BodyRegion), 3)}
        record_checkin(
            person,
            scores,
            prevented_activity=rng.random() < 0.2 and any(scores.values()),
            checked_on=day,
            today=date(2026, 3, 31),
        )
        if rng.random() < 0.1:
            victim = db.session.scalars(select(PainCheckin).order_by(func.random())).first()
            db.session.delete(victim)
        db.session.commit()
    kept = rollup(db)
    assert kept == from_scores(db)

    db.session.execute(delete(PainMonth))
    schema = table_definition(db, "pain_months")
    assert pain_months.rebuild() == len(kept)
    db.session.commit()
    assert rollup(db) == kept
    # On PostgreSQL the rebuild swaps in a new table: defined exactly as the migrations did.
    assert table_definition(db, "pain_months") == schema


def table_definition(db, table: str) -> dict[str, object]:
    """Everything the database says defines ``table``, comparable with ==."""
    found = inspect(db.session.connection())

    def named(items: list) -> list:
        return sorted((repr(sorted(item.items())) for item in items), key=str)

    return {
        "columns": named(
            [{**column, "type": str(column["type"])} for column in found.get_columns(table)]
        ),
        "primary key": found.get_pk_constraint(table),
        "foreign keys": named(found.get_foreign_keys(table)),
        "indexes": named(found.get_indexes(table)),
        "unique": named(found.get_unique_constraints(table)),
        "checks": named(found.get_check_constraints(table)),
        "tables": sorted(found.get_table_names()),
    }


def test_rebuild_rollups_command_reports_the_rows(app, db, employee):
    record_checkin(employee, {"low_back": 5}, checked_on=date(2026, 3, 2), today=TODAY)
    db.session.commit()
    db.session.execute(delete(PainMonth))
    db.session.commit()

    result: Result = app.test_cli_runner().invoke(args=["rebuild-rollups"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"pain_months: {len(BodyRegion)} rows in ")
    assert rollup(db) == from_scores(db)
