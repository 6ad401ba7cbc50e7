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
from flask_babel import ngettext

from wellness.api import bp
from wellness.api import schemas as s
from wellness.api.openapi import PROBLEM_JSON, Reply, operation
from wellness.api.problems import problem
from wellness.attendance.importer import import_attendance
from wellness.auth.guards import allow, user
from wellness.auth.models import Role
from wellness.courses.views import own_offering
from wellness.errors import DomainError
from wellness.extensions import db


@bp.post("/provider/offerings/<int:offering_id>/attendance")
@allow(Role.PROVIDER)
@operation(
    "Upload attendance",
    tag="provider",
    query=s.UploadQuery,
    upload=("multipart/form-data", "text/csv"),
    responses={200: Reply("The import report; stored unless `dry_run`.", s.ImportReport)},
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
