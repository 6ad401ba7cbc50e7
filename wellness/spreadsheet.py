"""Spreadsheet export: the one place that writes CSV and XLSX files for people to open.

Everything we export may echo text that someone else typed (a participant's name, a cell of an
uploaded file). Spreadsheet programs execute cells that look like formulas, so a name such as
``=HYPERLINK("http://evil")`` would become a link or a command on the provider's machine
(OWASP "CSV injection"). Every export goes through here so that no file can forget it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

#: A cell value as we export it; numbers stay numbers, ``None`` is an empty cell.
Cell = str | int | float | None

#: First characters that make Excel, LibreOffice or Google Sheets read a cell as a formula
#: (tab and carriage return because some programs strip them and then see the next one).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

CSV_MIMETYPE = "text/csv; charset=utf-8"
#: The delimiter Excel expects per UI language (German Excel uses the comma for decimals).
CSV_DELIMITER = {"de": ";", "en": ","}
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Characters Excel refuses in sheet names.
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/?*\[\]:]")
_SHEET_TITLE_MAX = 31


def is_formula_like(value: Cell) -> bool:
    """Whether a spreadsheet program would evaluate this value if a person typed it."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def neutralize(value: Cell) -> Cell:
    """The value with a leading apostrophe when it would otherwise run as a formula.

    The apostrophe is what Excel itself uses for "this is text"; it is visible in the file but
    harmless, and it is the OWASP recommendation. Numbers cannot carry a formula and are kept.
    """
    return f"'{value}" if is_formula_like(value) else value


def csv_bytes(rows: Iterable[Sequence[Cell]], *, delimiter: str) -> bytes:
    """A CSV file with every cell neutralized, as UTF-8 with a byte order mark.

    Without the BOM, Excel reads UTF-8 as Windows-1252 and mangles umlauts. German Excel
    expects ``;`` as delimiter because the comma is its decimal separator: with ``;``,
    fractions are written ``74,3``, else German Excel reads ``74.3`` as a date or as text.
    A number so written is not neutralized: ``-0,5`` is a number, not a formula.
    """
    decimal_comma = delimiter == ";"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(value, decimal_comma) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def _cell(value: Cell, decimal_comma: bool) -> Cell:
    if isinstance(value, float) and decimal_comma:
        return str(value).replace(".", ",")
    return neutralize(value)


def _sheet_title(title: str) -> str:
    cleaned = _SHEET_TITLE_FORBIDDEN.sub(" ", title).strip()[:_SHEET_TITLE_MAX].strip()
    return cleaned or "Sheet"


def xlsx_bytes(title: str, rows: Iterable[Sequence[Cell]]) -> bytes:
    """An XLSX workbook with one sheet; strings are always stored as text, never as formulas.

    openpyxl turns any string starting with ``=`` into a formula, so such cells are forced back
    to text. Formula-like strings also get Excel's "quote prefix" style: the cell shows the
    exact text (no visible apostrophe, unlike CSV) and stays text when someone edits it.
    Characters XML cannot hold are dropped instead of failing the whole download. Written in
    write-only mode so memory does not grow with the sheet.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(title))
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
                if is_formula_like(value):
                    cell.quotePrefix = True
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
