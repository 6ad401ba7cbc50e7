"""Large attendance files: stored, imported by a job, status shown until done.

A file above ``ATTENDANCE_JOB_BYTES`` is kept as an :class:`AttendanceImport` row and imported
by the ``import_attendance`` job, so no web worker is busy (or killed by a proxy timeout) while
it runs. The import stays all or nothing: the marks, the upload record and the "done" state are
committed in one transaction, so a worker killed mid-import leaves no marks behind and the
import can simply run again (RQ retries it; the provider may also upload the file again).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from io import BytesIO
from typing import IO, Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select

from wellness.attendance.importer import import_attendance
from wellness.attendance.models import AttendanceUpload
from wellness.courses.models import Offering
from wellness.db import utcnow
from wellness.extensions import db
from wellness.jobs import JOBS
from wellness.jobs.models import AttendanceImport, ImportState

#: Imports (status, and the file of an interrupted one) are deleted after this long.
KEEP = timedelta(days=7)
#: A job neither done nor failed after this long has lost its worker (RQ stops it by then).
STALE_AFTER = timedelta(seconds=JOBS["import_attendance"].timeout) + timedelta(minutes=5)


def file_size(stream: IO[bytes]) -> int:
    """Size of a seekable upload without reading it; leaves the stream at its start."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def runs_in_background(size: int) -> bool:
    """Whether an upload of ``size`` bytes is imported by a job instead of in the request."""
    threshold = int(current_app.config.get("ATTENDANCE_JOB_BYTES") or 0)
    return threshold > 0 and size > threshold


def create_import(
    offering: Offering, user_id: int | None, filename: str, stream: IO[bytes], locale: str
) -> AttendanceImport:
    """Keep the file for the job; the caller commits, then enqueues :func:`run_import`.

    Also forgets imports older than :data:`KEEP` (their status and any file left behind by an
    interrupted run): the file holds participants' codes, so it is not kept for long.
    """
    db.session.execute(
        delete(AttendanceImport).where(AttendanceImport.created_at < utcnow() - KEEP)
    )
    stream.seek(0)
    content = stream.read()
    row = AttendanceImport(
        offering_id=offering.id,
        user_id=user_id,
        filename=filename[:255],
        content=content,
        size=len(content),
        state=ImportState.QUEUED,
        report={"locale": locale},
    )
    db.session.add(row)
    db.session.flush()
    return row


def run_import(import_id: int) -> str:
    """The job: import the stored file; returns the final state.

    Idempotent: a finished import (done or refused) is left alone; an interrupted one (its
    worker died, nothing was committed) runs again from the stored file.
    """
    row = db.session.get(AttendanceImport, import_id)
    if row is None:
        return "gone"  # the offering was deleted meanwhile
    if row.state in (ImportState.DONE, ImportState.FAILED):
        return row.state
    locale = str((row.report or {}).get("locale") or "de")
    if _superseded(row):
        _finish(import_id, ImportState.FAILED, {"locale": locale, "superseded": True})
        return ImportState.FAILED
    row.state = ImportState.RUNNING
    row.attempts += 1
    row.started_at = utcnow()
    db.session.commit()
    offering = db.session.get(Offering, row.offering_id)
    if offering is None:
        return "gone"
    content = row.content or b""
    try:
        with force_locale(locale):
            report = import_attendance(
                offering,
                BytesIO(content),
                filename=row.filename,
                actor_id=row.user_id,
                dry_run=False,
            )
    except Exception:
        db.session.rollback()
        _finish(import_id, ImportState.FAILED, {"locale": locale, "crashed": True})
        raise
    if not report.ok:
        db.session.rollback()
        _finish(import_id, ImportState.FAILED, {"locale": locale, **report.as_json()})
        return ImportState.FAILED
    # Same transaction as the marks: "done" is committed exactly when they are.
    _finish(import_id, ImportState.DONE, {"locale": locale, **report.as_json()}, report.upload_id)
    return ImportState.DONE


def _superseded(row: AttendanceImport) -> bool:
    """Whether attendance was stored for the offering after this file was uploaded: a late
    retry of an interrupted import must not overwrite the provider's newer corrections."""
    newer = db.session.scalar(
        select(AttendanceUpload.id)
        .where(
            AttendanceUpload.offering_id == row.offering_id,
            AttendanceUpload.created_at > row.created_at,
        )
        .limit(1)
    )
    return newer is not None


def _finish(
    import_id: int, state: ImportState, report: dict[str, Any], upload_id: int | None = None
) -> None:
    row = db.session.get(AttendanceImport, import_id)
    if row is None:
        return
    row.state = state
    row.report = report
    row.upload_id = upload_id
    row.content = None
    row.finished_at = utcnow()
    db.session.commit()


def find_import(offering_id: int, import_id: int) -> AttendanceImport | None:
    """The import of this offering; the caller has checked the offering is the user's."""
    row = db.session.get(AttendanceImport, import_id)
    if row is None or row.offering_id != offering_id:
        return None
    return row


def shown_state(row: AttendanceImport, now: datetime | None = None) -> str:
    """The state users see: queued, running, done, failed, or interrupted (worker lost)."""
    if row.state in (ImportState.QUEUED, ImportState.RUNNING):
        since = row.started_at or row.created_at
        if (now or utcnow()) - since > STALE_AFTER:
            return "interrupted"
    if row.state == ImportState.FAILED and (row.report or {}).get("crashed"):
        return "error"
    if row.state == ImportState.FAILED and (row.report or {}).get("superseded"):
        return "superseded"
    return row.state


def state_label(state: str) -> str:
    labels = {
        "queued": _("Waiting for the import to start."),
        "running": _("The import is running."),
        "done": _("The attendance is stored."),
        "failed": _("The file was refused; nothing was stored."),
        "interrupted": _(
            "The import was interrupted; nothing was stored. Please upload the file again."
        ),
        "superseded": _(
            "A newer upload for this offering was stored first, so this file was not imported."
        ),
        "error": _(
            "The import failed because of an error on our side; nothing was stored. "
            "Please upload the file again later."
        ),
    }
    return labels.get(state, state)


def status_json(row: AttendanceImport) -> dict[str, Any]:
    """The import's status as the API answers it; ``report`` once it has finished."""
    state = shown_state(row)
    report = dict(row.report or {})
    report.pop("locale", None)
    report.pop("crashed", None)
    report.pop("superseded", None)
    return {
        "id": row.id,
        "offering_id": row.offering_id,
        "filename": row.filename,
        "state": state,
        "message": state_label(state),
        "created_at": row.created_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "report": report if "rows" in report else None,
    }
