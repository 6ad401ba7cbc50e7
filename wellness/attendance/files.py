"""Reading the files providers upload, in the words of attendance.

The detection of file kind, encoding and delimiter lives in :mod:`wellness.tabular`, shared
with the employee import; this module only says what an attendance file should hold.
"""

from __future__ import annotations

from typing import IO

from flask_babel import gettext as _

from wellness import tabular
from wellness.tabular import FileRefused, Table

__all__ = ["ATTENDANCE_WORDING", "FileRefused", "Table", "read_table"]

ATTENDANCE_WORDING = tabular.Wording(
    wrong_kind=lambda kind: _(
        "This is a %(kind)s file, not a spreadsheet. Please upload the attendance as "
        "CSV or XLSX (Excel: File > Save as).",
        kind=kind,
    ),
    not_a_workbook=lambda: _(
        "This zip file is not an Excel workbook (XLSX). Please upload the attendance as "
        "CSV or XLSX."
    ),
    too_many_sheets=lambda count, limit: _(
        "The workbook has %(count)d sheets; put the attendance on the first sheet of a "
        "workbook with at most %(limit)d sheets.",
        count=count,
        limit=limit,
    ),
    expands=lambda: _(
        "The Excel file expands to far more data than an attendance list holds and is "
        "refused. Please save the attendance alone as a new workbook or as CSV."
    ),
)


def read_table(stream: IO[bytes], max_bytes: int) -> Table:
    """Detect the format of a seekable binary stream and open it as a :class:`Table`."""
    return tabular.read_table(stream, max_bytes, ATTENDANCE_WORDING)
