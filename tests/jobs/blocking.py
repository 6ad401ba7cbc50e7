"""A job for the fault test: the real import job, held at its final commit until killed.

The worker subprocess imports this module by its dotted path. At the commit that would store
the marks (everything is written to the transaction by then, nothing committed), it drops a
marker file and sleeps, so the test can SIGKILL the worker at the worst possible moment.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from wellness.attendance.models import AttendanceUpload
from wellness.jobs.imports import run_import


def import_until_killed(import_id: int, marker: str) -> str:
    def hold(session: Session) -> None:
        written = session.scalar(select(func.count()).select_from(AttendanceUpload))
        if written:
            Path(marker).write_text(str(written))
            time.sleep(600)

    event.listen(Session, "before_commit", hold)
    try:
        return run_import(import_id)
    finally:
        event.remove(Session, "before_commit", hold)
