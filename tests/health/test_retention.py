"""Retention: ``wellness purge-expired`` deletes health data older than each employer's
retention period, keeps everything newer, and does nothing when run again."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from tests.health.test_personal_data import HEALTH_TABLES, add_health_data, stored
from wellness.audit.models import AuditEvent
from wellness.auth.models import Role
from wellness.health.models import ErgonomicMeasure, MeasureStatus
from wellness.health.retention import purge_expired, retention_cutoff

#: Noon in Berlin on 15 March 2026: every date below is relative to this.
NOW = datetime(2026, 3, 15, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("today", "months", "cutoff"),
    [
        (date(2026, 3, 15), 36, date(2023, 3, 15)),
        (date(2026, 3, 15), 12, date(2025, 3, 15)),
        (date(2026, 1, 10), 1, date(2025, 12, 10)),
        (date(2026, 5, 31), 3, date(2026, 2, 28)),
        (date(2024, 5, 31), 3, date(2024, 2, 29)),
        (date(2026, 3, 31), 24, date(2024, 3, 31)),
    ],
)
def test_cutoff_goes_back_whole_calendar_months(today, months, cutoff):
    assert retention_cutoff(today, months) == cutoff


@pytest.fixture
def people(db, make_employer, make_user):
    """Strict (12 months) and default (36 months) employers, each with one person whose data
    spans from just inside to just outside the strict period."""
    strict = make_employer(slug="strict", retention_months=12)
    default = make_employer(slug="default")
    anna = make_user(Role.EMPLOYEE, employer=strict).employee
    ben = make_user(Role.EMPLOYEE, employer=default).employee
    for person in (anna, ben):
        for day in (date(2025, 3, 14), date(2025, 3, 15), date(2026, 3, 1)):
            add_health_data(db, person, day)
    open_measure = ErgonomicMeasure(
        employer_id=strict.id,
        employee_id=anna.id,
        title="sit_stand_desk",
        status=MeasureStatus.REQUESTED.value,
        requested_at=datetime(2024, 1, 5, tzinfo=UTC),
    )
    db.session.add(open_measure)
    db.session.commit()
    return {"strict": strict, "default": default, "anna": anna, "ben": ben, "open": open_measure}


def test_purge_deletes_only_what_is_older_than_the_employers_period(db, people):
    anna, ben = people["anna"], people["ben"]
    ben_before = stored(db, ben.id)

    results = purge_expired(NOW)
    db.session.commit()

    by_slug = {result.employer_slug: result for result in results}
    assert by_slug["strict"].cutoff == date(2025, 3, 15)
    strict = by_slug["strict"].counts
    assert (strict.pain_checkins, strict.pain_scores) == (1, 2)
    assert (strict.checklist_responses, strict.checklist_answers) == (1, 2)
    assert (strict.exercise_logs, strict.exercise_entries) == (1, 2)
    # Closed on 14 March 2025: the measure stays, without the person; the open one is untouched.
    assert strict.measures_anonymized == 1
    anna_after = stored(db, anna.id)
    for table in HEALTH_TABLES:
        assert anna_after[table] == (2 if table.endswith(("checkins", "responses", "logs")) else 4)
    assert anna_after["ergonomic_measures"] == 3  # two newer closed ones and the open one
    assert db.session.get(ErgonomicMeasure, people["open"].id).employee_id == anna.id
    # 36 months: nothing of Ben's is old enough.
    assert by_slug["default"].counts.total == 0
    assert stored(db, ben.id) == ben_before


def test_purge_is_idempotent_and_audits_counts_per_employer(db, people):
    purge_expired(NOW)
    db.session.commit()
    after_first = stored(db, people["anna"].id)

    again = purge_expired(NOW)
    db.session.commit()

    assert all(result.counts.total == 0 for result in again)
    assert stored(db, people["anna"].id) == after_first
    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "privacy.retention_purged")
    ).all()
    assert (event.employer_id, event.actor_id) == (people["strict"].id, None)
    details = json.loads(event.details)
    assert details["pain_checkins"] == 1
    assert details["retention_months"] == 12
    assert details["cutoff"] == "2025-03-15"


def test_purge_expired_command_prints_counts_and_is_safe_to_repeat(app, db, people):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["purge-expired", "--now", "2026-03-15T12:00"])
    second = runner.invoke(args=["purge-expired", "--now", "2026-03-15T12:00"])

    assert first.exit_code == 0, first.output
    assert "strict: kept from 2025-03-15 (12 months); deleted 1 pain check-ins" in first.output
    assert "default:" not in first.output
    assert "Employers checked: 2; rows deleted or unlinked: 10." in first.output
    assert second.exit_code == 0, second.output
    assert "rows deleted or unlinked: 0." in second.output
    assert stored(db, people["anna"].id)["pain_checkins"] == 2


def test_purge_expired_command_rejects_a_bad_time(app):
    result = app.test_cli_runner().invoke(args=["purge-expired", "--now", "yesterday"])
    assert result.exit_code != 0
    assert "ISO 8601" in result.output
