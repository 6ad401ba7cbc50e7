"""Provider endpoint: attendance upload, with ``?dry_run=true`` for the preview.

The file comes as multipart field ``file`` or as the request body (``text/csv``). The answer is
the import report; any error answers 422 and stores nothing.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from flask import abort, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from pydantic import Field

from wellness.api import bp
from wellness.api import schemas as s
from wellness.api.openapi import PROBLEM_JSON, Reply, operation
from wellness.api.problems import problem
from wellness.attendance.importer import import_attendance
from wellness.auth.guards import allow, user
from wellness.auth.models import Role
from wellness.courses.models import Offering
from wellness.courses.views import own_offering
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.jobs import enqueue, imports


class ImportStatus(s.Out):
    id: int
    offering_id: int
    filename: str
    state: str = Field(
        description="queued, running, done, failed (the file was refused), interrupted "
        "(the worker was lost; nothing stored, upload again) or error."
    )
    message: str
    created_at: str
    finished_at: str | None
    report: s.ImportReport | None = Field(description="Once done or failed.")


@bp.post("/provider/offerings/<int:offering_id>/attendance")
@allow(Role.PROVIDER)
@operation(
    "Upload attendance",
    tag="provider",
    query=s.UploadQuery,
    upload=("multipart/form-data", "text/csv"),
    responses={
        200: Reply("The import report; stored unless `dry_run`.", s.ImportReport),
        202: Reply(
            "A large file: it is imported in the background; poll the status at `Location`.",
            ImportStatus,
            headers={"Location": "The import's status."},
        ),
    },
    errors={
        413: "The file is larger than the server accepts.",
        422: Reply(
            "The file has errors: the report lists them by row and column; nothing is stored.",
            s.ImportProblem,
            media_type=PROBLEM_JSON,
        ),
    },
)
def upload_attendance(offering_id: int, query: s.UploadQuery) -> ResponseReturnValue:
    """The file as exported from the provider's spreadsheet (CSV or XLSX), as the multipart
    field `file` or as a `text/csv` body; `?dry_run=true` previews without storing."""
    offering = own_offering(offering_id)
    dry_run = query.dry_run
    sent = request.files.get("file")
    if sent is not None:
        if not dry_run:
            queued = _in_background(offering, sent.stream, sent.filename or "upload")
            if queued is not None:
                return queued
        report = import_attendance(
            offering,
            sent.stream,
            filename=sent.filename or "upload",
            actor_id=user().id,
            dry_run=dry_run,
        )
    else:
        with _spooled_body() as body:
            if not dry_run:
                queued = _in_background(offering, body, "upload.csv")
                if queued is not None:
                    return queued
            report = import_attendance(
                offering, body, filename="upload.csv", actor_id=user().id, dry_run=dry_run
            )
    if not report.ok:
        detail = ngettext(
            "The file has %(num)d error; nothing was stored.",
            "The file has %(num)d errors; nothing was stored.",
            report.errors_total,
        )
        return problem(422, _("Not possible"), detail, **report.as_json())
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return jsonify(report.as_json())


def _in_background(offering: Offering, stream: IO[bytes], filename: str) -> Any:
    """A large file goes to the import job: 202 with its status, or the final answer when the
    job has already finished (inline without Redis). ``None``: import it in this request."""
    size = imports.file_size(stream)
    if not imports.runs_in_background(size) or size > current_app.config["ATTENDANCE_MAX_BYTES"]:
        return None
    row = imports.create_import(offering, user().id, filename, stream, str(get_locale() or "de"))
    db.session.commit()
    enqueue("import_attendance", row.id)
    status = imports.status_json(row)
    report = status["report"]
    if status["state"] == "done" and report:
        return jsonify(report)
    if status["state"] == "failed" and report:
        return _refused(report)
    location = url_for("api.attendance_import", offering_id=offering.id, import_id=row.id)
    return jsonify(status), 202, {"Location": location}


def _refused(report: dict[str, Any]) -> ResponseReturnValue:
    detail = ngettext(
        "The file has %(num)d error; nothing was stored.",
        "The file has %(num)d errors; nothing was stored.",
        report["errors_total"],
    )
    return problem(422, _("Not possible"), detail, **report)


@bp.get("/provider/offerings/<int:offering_id>/attendance/imports/<int:import_id>")
@allow(Role.PROVIDER)
@operation(
    "Status of a background attendance import",
    tag="provider",
    responses={200: Reply("The import's state, and its report once finished.", ImportStatus)},
)
def attendance_import(offering_id: int, import_id: int) -> ResponseReturnValue:
    """Poll this after a 202 from the upload until `state` is no longer queued or running."""
    offering = own_offering(offering_id)
    row = imports.find_import(offering.id, import_id)
    if row is None:
        abort(404)  # as for an offering that is not the provider's own
    return jsonify(imports.status_json(row))


def _spooled_body() -> IO[bytes]:
    """The raw request body (``text/csv``) in a seekable file; the importer reports its true
    size when it is too large (MAX_CONTENT_LENGTH bounds what the server reads at all)."""
    if request.form:
        raise DomainError(_('Send the file in the multipart field "file".'))
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 (caller closes)
    while chunk := request.stream.read(64 * 1024):
        spool.write(chunk)
    spool.seek(0)
    return spool  # type: ignore[return-value]
