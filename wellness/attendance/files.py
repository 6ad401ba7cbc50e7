"""Reading the files providers upload: what kind of file it is, its encoding and delimiter.

Providers do not choose a format; their tools export CSV with commas, semicolons or tabs, in
UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") or Windows-1252 (German Excel),
or an XLSX workbook. Everything is detected here and read lazily, row by row, so memory does not
grow with the file. Whole-file problems raise :class:`FileRefused` with a message a provider
understands; nothing here touches the database.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO

from flask_babel import gettext as _

from wellness.errors import DomainError

CHUNK = 64 * 1024
#: XLSX limits: a workbook is a zip of XML files, which can expand enormously (zip bomb).
MAX_SHEETS = 10
MAX_ZIP_ENTRIES = 500
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 200
DELIMITERS = (";", ",", "\t")

#: File signatures of things people upload by mistake.
_SIGNATURES = (
    (b"%PDF", "PDF"),
    (b"\xd0\xcf\x11\xe0", "XLS"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
)
_BLANK_LINES = re.compile(r"^[ \t]*\r?\n", re.MULTILINE)


class FileRefused(DomainError):
    """The file as a whole cannot be read (type, size, encoding, layout)."""

    status_code = 422


@dataclass
class Table:
    """The header and a one-pass iterator of ``(row number, cells)``; rows are numbered as the
    provider's spreadsheet numbers them (the header is row 1)."""

    kind: str  # "csv" or "xlsx"
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


def read_table(stream: IO[bytes], max_bytes: int) -> Table:
    """Detect the format of a seekable binary stream and open it as a :class:`Table`."""
    size = _size(stream)
    if size == 0:
        raise FileRefused(_("The file is empty."))
    if size > max_bytes:
        raise FileRefused(
            _(
                "The file is %(size)s MB; at most %(limit)s MB can be uploaded.",
                size=f"{size / 1024 / 1024:.1f}",
                limit=f"{max_bytes / 1024 / 1024:.0f}",
            )
        )
    start = stream.read(8192)
    stream.seek(0)
    if start.startswith(b"PK\x03\x04"):
        return _xlsx(stream)
    for signature, name in _SIGNATURES:
        if start.startswith(signature):
            raise FileRefused(
                _(
                    "This is a %(kind)s file, not a spreadsheet. Please upload the attendance as "
                    "CSV or XLSX (Excel: File > Save as).",
                    kind=name,
                )
            )
    return _csv(stream, start)


def _size(stream: IO[bytes]) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


# --- CSV -----------------------------------------------------------------------------------


def _csv(stream: IO[bytes], start: bytes) -> Table:
    encoding = _encoding(stream, start)
    chunks = _text_chunks(stream, encoding)
    first = next(chunks, "")
    header_line = first.split("\n", 1)[0]
    if _looks_binary(first):
        raise FileRefused(
            _("This file is not a text file (CSV) or an Excel workbook (XLSX) and cannot be read.")
        )
    if not header_line.strip():
        raise FileRefused(_("The file has no header row."))
    delimiter = max(DELIMITERS, key=header_line.count)
    lines = _lines(_chain(first, chunks))
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise FileRefused(_("Row 1 cannot be read: %(problem)s", problem=str(exc))) from None
    return Table("csv", header, _csv_rows(reader))


def _encoding(stream: IO[bytes], start: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, otherwise Windows-1252."""
    if start.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"
    finally:
        stream.seek(0)


def _text_chunks(stream: IO[bytes], encoding: str) -> Iterator[str]:
    """Decoded text with blank lines removed (spreadsheets leave them at the end)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    carry = ""
    while chunk := stream.read(CHUNK):
        text = carry + decoder.decode(chunk)
        head, newline, carry = text.rpartition("\n")
        if newline:
            yield _BLANK_LINES.sub("", head + "\n")
    rest = carry + decoder.decode(b"", final=True)
    if rest.strip():
        yield rest + "\n"


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
    return "\x00" in sample or controls > len(sample) // 100 + 1


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _lines(chunks: Iterator[str]) -> Iterator[str]:
    for chunk in chunks:
        yield from chunk.splitlines(keepends=True)


def _csv_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    row_number = 1
    try:
        for cells in reader:
            row_number += 1
            yield row_number, cells
    except csv.Error as exc:
        raise FileRefused(
            _("Row %(row)d cannot be read: %(problem)s", row=row_number + 1, problem=str(exc))
        ) from None


# --- XLSX ----------------------------------------------------------------------------------


def _xlsx(stream: IO[bytes]) -> Table:
    try:
        archive = zipfile.ZipFile(stream)
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FileRefused(_("The Excel file is damaged and cannot be opened.")) from None
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names:
        raise FileRefused(
            _(
                "This zip file is not an Excel workbook (XLSX). Please upload the attendance as "
                "CSV or XLSX."
            )
        )
    _check_expansion(entries)
    sheets = [name for name in names if re.fullmatch(r"xl/worksheets/[^/]+\.xml", name)]
    if len(sheets) > MAX_SHEETS:
        raise FileRefused(
            _(
                "The workbook has %(count)d sheets; put the attendance on the first sheet of a "
                "workbook with at most %(limit)d sheets.",
                count=len(sheets),
                limit=MAX_SHEETS,
            )
        )
    from openpyxl import load_workbook  # imported on use: a large library, needed rarely

    stream.seek(0)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001  (openpyxl raises many kinds for broken files)
        raise FileRefused(_("The Excel file is damaged and cannot be opened.")) from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [_cell_text(value) for value in next(rows, ())]
    if not any(header):
        workbook.close()
        raise FileRefused(_("The file has no header row."))
    return Table("xlsx", header, _xlsx_rows(rows, workbook))


def _check_expansion(entries: list[zipfile.ZipInfo]) -> None:
    unpacked = sum(entry.file_size for entry in entries)
    too_dense = any(
        entry.file_size > 1024 * 1024 and entry.file_size > MAX_RATIO * max(entry.compress_size, 1)
        for entry in entries
    )
    if len(entries) > MAX_ZIP_ENTRIES or unpacked > MAX_UNPACKED_BYTES or too_dense:
        raise FileRefused(
            _(
                "The Excel file expands to far more data than an attendance list holds and is "
                "refused. Please save the attendance alone as a new workbook or as CSV."
            )
        )


def _xlsx_rows(
    rows: Iterator[tuple[object, ...]], workbook: object
) -> Iterator[tuple[int, list[str]]]:
    try:
        for number, values in enumerate(rows, start=2):
            yield number, [_cell_text(value) for value in values]
    finally:
        workbook.close()  # type: ignore[attr-defined]


def _cell_text(value: object) -> str:
    """Cells as the provider sees them: dates as ISO dates, 1.0 as 1."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
