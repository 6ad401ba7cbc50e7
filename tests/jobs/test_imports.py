"""Large attendance uploads imported by the job: status until done, all or nothing, tenant-safe,
and a worker killed mid-import stores nothing partial and the upload can be retried."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.attendance import corpus
from tests.attendance.corpus import SESSION_DAYS
from tests.conftest import ROOT
from tests.jobs.blocking import import_until_killed
from tests.jobs.conftest import REDIS_URL
from wellness import jobs
from wellness.attendance.models import Attendance, AttendanceChange, AttendanceUpload
from wellness.audit.models import AuditEvent
from wellness.auth.services import create_api_token
from wellness.db import utcnow
from wellness.jobs.imports import create_import, shown_state
from wellness.jobs.models import AttendanceImport
from wellness.jobs.worker import make_worker

pytestmark = pytest.mark.usefixtures("background_imports")

A, B, C = "ANNA2345", "BERN3456", "CLAR4567"
#: Every participant at every session: 12 marks.
GOOD = "\n".join(
    ["participant code,date,status"]
    + [f"{code},{day.isoformat()},present" for code in (A, B, C) for day in SESSION_DAYS]
).encode()
#: The same with one unknown participant in row 14: the whole file is refused.
BAD = GOOD + b"\nZZZZ9999,2026-09-07,present"


@pytest.fixture
def setting(db, make_employer, make_provider, make_user) -> corpus.Setting:
    return corpus.build(db, make_employer, make_provider, make_user)


@pytest.fixture
def api(app, db, setting):  # type: ignore[no-untyped-def]
    """``api("post"|"get", url, data=None, user=None)`` with a provider's API token."""
    tokens: dict[int, str] = {}

    def call(method: str, url: str, data: bytes | None = None, user: Any = None) -> Any:
        who = user or setting.provider_user
        if who.id not in tokens:
            tokens[who.id] = create_api_token(who, "import")
            db.session.commit()
        headers = {"Authorization": f"Bearer {tokens[who.id]}"}
        client = app.test_client()
        if method == "post":
            return client.post(
                url, data={"file": (io.BytesIO(data or b""), "anwesenheit.csv")}, headers=headers
            )
        return client.get(url, headers=headers)

    return call


def _upload_url(setting: corpus.Setting) -> str:
    return f"/api/v1/provider/offerings/{setting.offering.id}/attendance"


def _counts(db) -> dict[str, int]:
    db.session.rollback()  # a fresh transaction sees what other processes committed

    def count(model: Any, *where: Any) -> int:
        return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return {
        "uploads": count(AttendanceUpload),
        "marks": count(Attendance),
        "changes": count(AttendanceChange),
        "audited": count(AuditEvent, AuditEvent.action == "attendance.uploaded"),
    }


NOTHING = {"uploads": 0, "marks": 0, "changes": 0, "audited": 0}
ALL_TWELVE = {"uploads": 1, "marks": 12, "changes": 12, "audited": 1}


def _work(app, db) -> None:
    db.session.commit()
    assert make_worker(app).work(burst=True)
    db.session.rollback()


# --- inline ----------------------------------------------------------------------------------


def test_inline_large_api_upload_answers_the_report_at_once(db, setting, api) -> None:
    response = api("post", _upload_url(setting), GOOD)

    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["rows"], report["created"], report["stored"]) == (12, 12, True)
    assert _counts(db) == ALL_TWELVE
    [row] = db.session.scalars(select(AttendanceImport)).all()
    assert (row.state, row.attempts, row.content, row.upload_id) == (
        "done",
        1,
        None,
        report["upload_id"],
    )


def test_inline_large_refused_upload_is_422_with_rows_and_stores_nothing(db, setting, api) -> None:
    response = api("post", _upload_url(setting), BAD)

    assert response.status_code == 422
    body = response.get_json()
    assert body["errors_total"] == 1
    assert body["errors"][0]["row"] == 14
    assert _counts(db) == NOTHING


def test_inline_large_upload_through_the_pages_stores_after_the_preview(
    app, db, setting, login
) -> None:
    client = login(app.test_client(), setting.provider_user)
    url = f"/provider/offerings/{setting.offering.id}/attendance"
    preview = client.post(
        url, data={"step": "preview", "file": (io.BytesIO(GOOD), "anwesenheit.csv")}
    )
    assert preview.status_code == 200
    assert _counts(db) == NOTHING
    token = re.search(r'name="token" value="([^"]+)"', preview.get_data(as_text=True))
    assert token is not None

    confirmed = client.post(url, data={"step": "confirm", "token": token.group(1)})

    assert confirmed.status_code == 302
    assert confirmed.headers["Location"].endswith(
        f"/provider/offerings/{setting.offering.id}/participants"
    )
    assert _counts(db) == ALL_TWELVE


# --- Redis -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("redis_jobs")
def test_large_api_upload_is_202_with_a_status_until_a_worker_has_stored_it(
    app, db, setting, api
) -> None:
    response = api("post", _upload_url(setting), GOOD)

    assert response.status_code == 202, response.get_json()
    location = response.headers["Location"]
    assert response.get_json()["state"] == "queued"
    assert jobs.queue_depth()["imports"] == 1
    assert _counts(db) == NOTHING
    assert api("get", location).get_json()["report"] is None

    _work(app, db)

    status = api("get", location).get_json()
    assert status["state"] == "done"
    assert (status["report"]["created"], status["report"]["stored"]) == (12, True)
    assert _counts(db) == ALL_TWELVE


@pytest.mark.usefixtures("redis_jobs")
def test_large_refused_file_fails_on_the_worker_with_its_rows_and_stores_nothing(
    app, db, setting, api, login
) -> None:
    response = api("post", _upload_url(setting), BAD)
    assert response.status_code == 202
    _work(app, db)

    status = api("get", response.headers["Location"]).get_json()
    assert status["state"] == "failed"
    assert status["report"]["errors"][0]["row"] == 14
    assert _counts(db) == NOTHING
    page = login(app.test_client(), setting.provider_user).get(
        f"/provider/offerings/{setting.offering.id}/attendance/imports/{status['id']}"
    )
    assert page.status_code == 200
    assert "ZZZZ9999" in page.get_data(as_text=True)


@pytest.mark.usefixtures("redis_jobs")
def test_status_page_refreshes_itself_while_queued(app, db, setting, login) -> None:
    client = login(app.test_client(), setting.provider_user)
    url = f"/provider/offerings/{setting.offering.id}/attendance"
    preview = client.post(url, data={"step": "preview", "file": (io.BytesIO(GOOD), "a.csv")})
    token = re.search(r'name="token" value="([^"]+)"', preview.get_data(as_text=True))
    assert token is not None

    confirmed = client.post(url, data={"step": "confirm", "token": token.group(1)})

    assert confirmed.status_code == 302
    assert "/attendance/imports/" in confirmed.headers["Location"]
    page = client.get(confirmed.headers["Location"])
    assert page.status_code == 200
    assert page.headers["Refresh"] == "3"
    assert 'data-state="queued"' in page.get_data(as_text=True)
    _work(app, db)
    done = client.get(confirmed.headers["Location"])
    assert "Refresh" not in done.headers
    assert 'data-state="done"' in done.get_data(as_text=True)


@pytest.mark.usefixtures("redis_jobs")
def test_another_provider_cannot_see_the_import_status(app, db, setting, api, login) -> None:
    location = api("post", _upload_url(setting), GOOD).headers["Location"]
    import_id = int(location.rsplit("/", 1)[1])

    foreign = api("get", location, user=setting.other_provider_user)
    # Even through an offering of their own, the import is not found.
    own = f"/api/v1/provider/offerings/{setting.foreign_offering.id}/attendance/imports/{import_id}"
    through_own = api("get", own, user=setting.other_provider_user)
    page = login(app.test_client(), setting.other_provider_user).get(
        f"/provider/offerings/{setting.offering.id}/attendance/imports/{import_id}"
    )

    assert foreign.status_code == 404
    assert through_own.status_code == 404
    assert "ANNA" not in through_own.get_data(as_text=True)
    assert page.status_code == 404


# --- fault: the worker is killed mid-import --------------------------------------------------


@pytest.mark.usefixtures("redis_jobs")
def test_worker_killed_mid_import_stores_nothing_and_the_upload_can_be_retried(
    app, db, setting, api, database_url, redis_jobs, tmp_path
) -> None:
    row = create_import(
        setting.offering, setting.provider_user.id, "gross.csv", io.BytesIO(GOOD), "de"
    )
    db.session.commit()
    marker = tmp_path / "holding"
    jobs.enqueue(import_until_killed, row.id, str(marker))
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-c", "from wellness.cli import main; main()", "worker"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "JOB_QUEUE_PREFIX": redis_jobs,
            "SECRET_KEY": "job-fault-test-secret-key-of-enough-length",
            "WELLNESS_ENV": "development",
            "MAIL_SERVER": "",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
            assert time.monotonic() < deadline, "the worker never reached the final commit"
            time.sleep(0.05)
        assert marker.read_text() == "1"  # the upload row was written, not committed
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        if worker.stderr:
            worker.stderr.close()

    assert worker.returncode == -signal.SIGKILL
    assert _counts(db) == NOTHING
    interrupted = db.session.get(AttendanceImport, row.id)
    assert (interrupted.state, interrupted.attempts) == ("running", 1)

    # The provider uploads the file again: it is stored completely, once.
    retried = api("post", _upload_url(setting), GOOD)
    assert retried.status_code == 202
    _work(app, db)
    assert api("get", retried.headers["Location"]).get_json()["state"] == "done"
    assert _counts(db) == ALL_TWELVE

    # RQ's late retry of the interrupted job must not overwrite what was stored since.
    jobs.enqueue("import_attendance", row.id)
    _work(app, db)
    db.session.refresh(interrupted)
    assert interrupted.state == "failed"
    assert interrupted.content is None
    assert shown_state(interrupted) == "superseded"
    assert _counts(db) == ALL_TWELVE


@pytest.mark.usefixtures("redis_jobs")
def test_import_job_run_twice_imports_once(app, db, setting) -> None:
    row = create_import(setting.offering, setting.provider_user.id, "a.csv", io.BytesIO(GOOD), "de")
    db.session.commit()

    jobs.enqueue("import_attendance", row.id)
    jobs.enqueue("import_attendance", row.id)
    _work(app, db)

    db.session.refresh(row)
    assert (row.state, row.attempts) == ("done", 1)
    assert _counts(db) == ALL_TWELVE


def test_imports_older_than_a_week_are_forgotten_with_their_file(db, setting) -> None:
    old = create_import(setting.offering, None, "alt.csv", io.BytesIO(GOOD), "de")
    old.created_at = utcnow() - timedelta(days=8)
    db.session.commit()

    create_import(setting.offering, None, "neu.csv", io.BytesIO(GOOD), "de")
    db.session.commit()

    assert [r.filename for r in db.session.scalars(select(AttendanceImport))] == ["neu.csv"]
