"""Reading uploaded tables (CSV or XLSX) and reporting their problems row by row.

Shared by every import (attendance from providers, employees from employer admins). People do
not choose a format; their tools export CSV with commas, semicolons or tabs, in UTF-8 (with or
without BOM), UTF-16 (Excel's "Unicode text") or Windows-1252 (German Excel), or an XLSX
workbook. Everything is detected here and read lazily, row by row, so memory does not grow with
the file. Whole-file problems raise :class:`FileRefused` with a message people understand; row
problems are collected in :class:`RowErrors` so one report lists them all. Nothing here touches
the database.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Any

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


@dataclass(frozen=True)
class Wording:
    """The messages that name what a file should hold ("the attendance", "the employees"):
    each import words them in its own terms. Callables, so they are translated when raised."""

    #: The file is a PDF, an image, ...; gets the kind ("PDF").
    wrong_kind: Callable[[str], str]
    #: A zip file that is no workbook.
    not_a_workbook: Callable[[], str]
    #: Gets the number of sheets and the limit.
    too_many_sheets: Callable[[int, int], str]
    #: A workbook that unpacks to far more than the data it should hold (zip bomb).
    expands: Callable[[], str]


@dataclass
class Table:
    """The header and a one-pass iterator of ``(row number, cells)``; rows are numbered as the
    uploader's spreadsheet numbers them (the header is row 1)."""

    kind: str  # "csv" or "xlsx"
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


def read_table(stream: IO[bytes], max_bytes: int, wording: Wording) -> Table:
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
        return _xlsx(stream, wording)
    for signature, name in _SIGNATURES:
        if start.startswith(signature):
            raise FileRefused(wording.wrong_kind(name))
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


def _xlsx(stream: IO[bytes], wording: Wording) -> Table:
    try:
        archive = zipfile.ZipFile(stream)
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FileRefused(_("The Excel file is damaged and cannot be opened.")) from None
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names:
        raise FileRefused(wording.not_a_workbook())
    _check_expansion(entries, wording)
    sheets = [name for name in names if re.fullmatch(r"xl/worksheets/[^/]+\.xml", name)]
    if len(sheets) > MAX_SHEETS:
        raise FileRefused(wording.too_many_sheets(len(sheets), MAX_SHEETS))
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


def _check_expansion(entries: list[zipfile.ZipInfo], wording: Wording) -> None:
    unpacked = sum(entry.file_size for entry in entries)
    too_dense = any(
        entry.file_size > 1024 * 1024 and entry.file_size > MAX_RATIO * max(entry.compress_size, 1)
        for entry in entries
    )
    if len(entries) > MAX_ZIP_ENTRIES or unpacked > MAX_UNPACKED_BYTES or too_dense:
        raise FileRefused(wording.expands())


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


# --- Cells, headers and dates --------------------------------------------------------------

_SPACES = re.compile(r"\s+")
#: Dates as people type them: ISO, German, German with a two-digit year.
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y")


def normalize(text: str) -> str:
    """Header and mark text compared case- and space-insensitively."""
    cleaned = text.replace("\ufeff", "").replace("\u200b", "").replace("_", " ")
    return _SPACES.sub(" ", cleaned).strip().strip(":").strip().casefold()


#: E-mail column names in English and German; every import that identifies people accepts them.
EMAIL_HEADERS = frozenset(
    {"email", "e-mail", "mail", "email address", "e-mail address", "e-mail-adresse"}
)


def column_roles(
    header: list[str], vocabulary: dict[str, frozenset[str]]
) -> tuple[dict[str, int], list[int]]:
    """Which column plays which role (by its normalized name), and the indexes of the others.

    A role named by two columns refuses the file: guessing which one counts would be wrong
    half the time.
    """
    found: dict[str, int] = {}
    others: list[int] = []
    for index, raw in enumerate(header):
        name = normalize(raw)
        role = next((role for role, names in vocabulary.items() if name in names), None)
        if role is None:
            others.append(index)
            continue
        if role in found:
            raise FileRefused(
                _(
                    'The header has the column "%(name)s" twice (columns %(first)d and '
                    "%(second)d).",
                    name=raw.strip(),
                    first=found[role] + 1,
                    second=index + 1,
                )
            )
        found[role] = index
    return found, others


def parse_with(text: str, formats: tuple[str, ...]) -> datetime | None:
    """The first of ``formats`` that reads ``text``, or ``None``."""
    for pattern in formats:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def parse_day(text: str) -> date | None:
    """``2026-03-12``, ``12.03.2026`` or ``12.03.26`` (an Excel date cell reads as ISO)."""
    parsed = parse_with(text.strip(), DATE_FORMATS)
    return parsed.date() if parsed is not None else None


# --- Row errors ----------------------------------------------------------------------------

#: Errors listed in a report; the total is always given.
MAX_ERRORS = 200


@dataclass(frozen=True)
class RowError:
    row: int | None  # None: the file as a whole
    column: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class RowErrors:
    """Every problem of a file, so one upload shows them all; and how many rows it has."""

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0

    @property
    def ok(self) -> bool:
        return self.errors_total == 0

    @property
    def listing(self) -> bool:
        """Whether another error would still be listed (beyond that, errors are only counted)."""
        return len(self.errors) < MAX_ERRORS

    def error(self, row: int | None, column: str | None, message: str) -> None:
        self.errors_total += 1
        if self.listing:
            self.errors.append(RowError(row, column, message))


def data_rows(
    rows: Iterator[tuple[int, list[str]]], width: int, report: RowErrors, max_rows: int
) -> Iterator[tuple[int, list[str]]]:
    """Rows with content, padded to the header's width; cells beyond it must be empty."""
    for number, cells in rows:
        if not "".join(cells).strip():
            continue
        report.rows += 1
        if report.rows > max_rows:
            raise FileRefused(
                _(
                    "The file has more than %(limit)s rows; split it into smaller files.",
                    limit=f"{max_rows:,}",
                )
            )
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            report.error(
                number,
                None,
                _(
                    "This row has %(cells)d cells but the header only %(columns)d columns.",
                    cells=len(cells),
                    columns=width,
                ),
            )
            continue
        yield number, cells + [""] * (width - len(cells))
