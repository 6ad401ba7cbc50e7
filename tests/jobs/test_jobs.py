"""The job interface: inline without Redis, RQ on the real Redis with a real worker."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete

from tests.health.test_pain_months import from_scores, rollup
from tests.health.test_personal_data import add_health_data, stored
from wellness import jobs
from wellness.auth.models import Role
from wellness.health.checkins import record_checkin
from wellness.health.models import BodyRegion, PainMonth
from wellness.jobs import scheduler
from wellness.jobs.worker import make_worker
from wellness.notifications.mail import queue_mail


def _queue_a_mail(db, recipient: str = "anna@example.test") -> None:
    queue_mail(recipient, "Erinnerung", "Morgen ist Kurs.", kind="reminder")
    db.session.commit()


def _work(app, db) -> None:
    """Run a worker until the queues are empty, after committing what the test wrote."""
    db.session.commit()
    assert make_worker(app).work(burst=True)
    db.session.rollback()  # see what the worker committed


# --- inline (no REDIS_URL) -------------------------------------------------------------------


def test_inline_enqueue_runs_the_job_before_returning(app, db, inbox) -> None:
    _queue_a_mail(db)

    assert jobs.enqueue("send_mail") is None

    assert [m["To"] for m in inbox.messages] == ["anna@example.test"]
    assert jobs.queue_depth() == {}


def test_inline_job_failure_is_logged_and_does_not_reach_the_caller(app, db, caplog) -> None:
    assert jobs.enqueue(_broken_job, "boom") is None

    assert "job tests.jobs.test_jobs._broken_job failed (inline)" in caplog.text


def _broken_job(message: str) -> None:
    raise RuntimeError(message)


def test_unknown_job_name_is_refused_with_the_known_names(app) -> None:
    with pytest.raises(ValueError, match="unknown job 'send_mails'; known jobs: import_attendance"):
        jobs.enqueue("send_mails")


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_worker_and_scheduler_refuse_without_redis(app, command) -> None:
    result = app.test_cli_runner().invoke(args=[command])

    assert result.exit_code == 1
    assert "REDIS_URL is not set: background jobs run inline" in result.output


# --- Redis -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("redis_jobs")
def test_mail_waits_in_the_queue_until_a_worker_delivers_it(app, db, inbox) -> None:
    _queue_a_mail(db)

    job_id = jobs.enqueue("send_mail")

    assert job_id is not None
    assert jobs.queue_depth() == {"mail": 1, "default": 0, "imports": 0}
    assert inbox.messages == []
    _work(app, db)
    assert [m["Subject"] for m in inbox.messages] == ["Erinnerung"]
    assert jobs.queue_depth() == {"mail": 0, "default": 0, "imports": 0}


@pytest.mark.usefixtures("redis_jobs")
def test_mail_queued_by_a_request_is_delivered_by_the_worker_not_the_request(
    app, db, inbox, make_user, make_employer, client
) -> None:
    user = make_user(Role.EMPLOYEE, employer=make_employer())
    # A password reset queues a mail inside the request; the after-request hook enqueues.
    response = client.post("/password/forgot", data={"email": user.email})
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:300]

    assert inbox.messages == []
    assert jobs.queue_depth()["mail"] >= 1
    _work(app, db)
    assert [m["To"] for m in inbox.messages] == [user.email]


@pytest.mark.usefixtures("redis_jobs")
def test_purge_job_on_a_worker_deletes_expired_health_data_and_is_safe_to_repeat(
    app, db, make_employer, make_user
) -> None:
    strict = make_employer(retention_months=12)
    person = make_user(Role.EMPLOYEE, employer=strict).employee
    add_health_data(db, person, date(2020, 5, 4))
    db.session.commit()
    assert stored(db, person.id)["pain_checkins"] == 1

    jobs.enqueue("purge_expired")
    jobs.enqueue("purge_expired")
    _work(app, db)

    assert stored(db, person.id)["pain_checkins"] == 0
    assert stored(db, person.id)["exercise_logs"] == 0


@pytest.mark.usefixtures("redis_jobs")
def test_rollup_job_on_a_worker_rebuilds_the_pain_months(app, db, make_user, make_employer) -> None:
    employee = make_user(Role.EMPLOYEE, employer=make_employer()).employee
    record_checkin(employee, {"low_back": 5}, checked_on=date(2026, 3, 2), today=date(2026, 3, 20))
    db.session.commit()
    db.session.execute(delete(PainMonth))
    db.session.commit()
    assert rollup(db) == {}

    jobs.enqueue("rebuild_rollups")
    _work(app, db)

    assert len(rollup(db)) == len(BodyRegion)
    assert rollup(db) == from_scores(db)


def test_while_redis_is_down_jobs_run_inline_and_the_queue_depth_is_empty(
    app, db, inbox, caplog
) -> None:
    saved = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    app.extensions.pop("wellness_jobs_redis", None)
    try:
        _queue_a_mail(db)

        assert jobs.enqueue("send_mail") is None
        depth = jobs.queue_depth()
    finally:
        app.config["REDIS_URL"] = saved
        app.extensions.pop("wellness_jobs_redis", None)

    assert [m["To"] for m in inbox.messages] == ["anna@example.test"]
    assert depth == {}
    assert "Redis unavailable" in caplog.text


# --- scheduler -------------------------------------------------------------------------------


def test_schedule_mail_every_minute_daily_jobs_from_their_hour_berlin_time() -> None:
    early = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # 01:30 in Berlin
    assert scheduler.due(early) == [("send_mail", "2026-03-02T01:30")]
    late = datetime(2026, 7, 2, 7, 0, tzinfo=UTC)  # 09:00 in Berlin (summer time)
    assert scheduler.due(late) == [
        ("send_mail", "2026-07-02T09:00"),
        ("rebuild_rollups", "2026-07-02"),
        ("purge_expired", "2026-07-02"),
        ("send_reminders", "2026-07-02"),
    ]


@pytest.mark.usefixtures("redis_jobs")
def test_scheduler_enqueues_each_slot_once_even_with_two_schedulers(app) -> None:
    nine = datetime(2026, 7, 2, 7, 0, tzinfo=UTC)

    first = scheduler.tick(app, nine)
    second = scheduler.tick(app, nine)  # another scheduler, same minute
    next_minute = scheduler.tick(app, nine.replace(minute=1))

    assert first == ["send_mail", "rebuild_rollups", "purge_expired", "send_reminders"]
    assert second == []
    assert next_minute == ["send_mail"]
    assert jobs.queue_depth(app) == {"mail": 2, "default": 3, "imports": 0}
