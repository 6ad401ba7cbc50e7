"""Provider endpoint: attendance upload, with ``?dry_run=true`` for the preview.

The file comes as multipart field ``file`` or as the request body (``text/csv``). The answer is
the import report; any error answers 422 and stores nothing.
"""

from __future__ import annotations

import tempfile
from typing import IO

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from wellness.api import bp, params
from wellness.attendance.importer import import_attendance
from wellness.auth.guards import allow, user
from wellness.auth.models import Role
from wellness.courses.views import own_offering
from wellness.errors import DomainError
from wellness.extensions import db


@bp.post("/provider/offerings/<int:offering_id>/attendance")
@allow(Role.PROVIDER)
def upload_attendance(offering_id: int) -> ResponseReturnValue:
    offering = own_offering(offering_id)
    dry_run = params.flag("dry_run")
    sent = request.files.get("file")
    if sent is not None:
        report = import_attendance(
            offering,
            sent.stream,
            filename=sent.filename or "upload",
            actor_id=user().id,
            dry_run=dry_run,
        )
    else:
        with _spooled_body() as body:
            report = import_attendance(
                offering, body, filename="upload.csv", actor_id=user().id, dry_run=dry_run
            )
    if report.ok and not dry_run:
        db.session.commit()
    else:
        db.session.rollback()
    return jsonify(report.as_json()), 200 if report.ok else 422


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
