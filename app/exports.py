"""Excel exports of lists (CORE-12): the list's columns and active filters, its
scope, rows read in chunks into an openpyxl write-only workbook, streamed back.

Memory stays flat: the query is iterated with ``yield_per`` (a server-side
cursor on PostgreSQL), openpyxl's write-only sheet writes each row to its own
temporary file at once, and the finished workbook is zipped into a
``SpooledTemporaryFile`` (in memory up to ``SPOOL_MAX_BYTES``, on disk beyond)
that the response reads back in chunks."""
from __future__ import annotations

import math
import re
import tempfile
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any, BinaryIO, Iterable, Iterator, Sequence
from urllib.parse import quote

from flask import Response, has_app_context, request
from flask_babel import gettext
from flask_login import current_user
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app import audit
from app.extensions import db
from app.htmx import redirect_to
from app.lists import Column, SearchList, fetch, local_today

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: rows fetched from the database at a time
YIELD_PER = 1000
#: bytes of the finished workbook kept in memory before it goes to a temporary file
SPOOL_MAX_BYTES = 1024 * 1024
#: bytes per chunk of the response
CHUNK_BYTES = 64 * 1024

#: a spreadsheet reads text starting with one of these as a formula (CSV/formula injection)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NUMBER_FORMATS = {"date": "DD/MM/YYYY", "amount": "#,##0.00", "decimal": "General", "int": "#,##0"}
WIDTHS = {"date": 12, "amount": 16, "decimal": 14, "int": 10, "text": 28}
BOLD = Font(bold=True)
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _label(column: Column) -> str:
    return gettext(column.label) if has_app_context() else column.label


def _number(value: Any) -> Decimal | int | float | None:
    """The value as a number a spreadsheet can hold (no NaN, no infinity), else None."""
    if isinstance(value, bool):
        return None
    if not isinstance(value, (int, float, Decimal)):
        try:
            value = Decimal(str(value).replace(",", ".").replace(" ", ""))
        except InvalidOperation:
            return None
    return value if isinstance(value, int) or math.isfinite(value) else None


def _cell(sheet: WriteOnlyWorksheet, column: Column, value: Any) -> Any:
    """One cell: real dates and numbers with their format; text never read as a formula."""
    if value is None or value == "":
        return None
    if column.type == "date" and isinstance(value, (date, datetime)):
        cell = WriteOnlyCell(sheet, value=value.date() if isinstance(value, datetime) else value)
        cell.number_format = NUMBER_FORMATS["date"]
        return cell
    if column.type in NUMBER_FORMATS and column.type != "date":
        number = _number(value)
        if number is not None:
            cell = WriteOnlyCell(sheet, value=number)
            cell.number_format = NUMBER_FORMATS[column.type]
            return cell
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if not text.startswith(FORMULA_PREFIXES):
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # openpyxl makes « =… » a formula: force a string
    cell.quotePrefix = True  # and the spreadsheet keeps it text when the cell is edited
    return cell


def _sheet_title(title: str) -> str:
    return " ".join(SHEET_TITLE_FORBIDDEN.sub(" ", title).split())[:31] or "Export"


def export_rows(
    path_or_file: str | BinaryIO | IO[bytes], columns: Sequence[Column], rows: Iterable[Any], *, title: str = "Export"
) -> int:
    """Write ``rows`` (model instances or result rows, read through each column's
    getter) as an .xlsx workbook with a bold header row; return how many rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(title))
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = WIDTHS.get(column.type, 20)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=_label(column))
        cell.font = BOLD
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append([_cell(sheet, column, column.value_of(row)) for column in columns])
        count += 1
    workbook.save(path_or_file)
    return count


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the exact name in RFC 5987 ``filename*``."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode().replace('"', "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := file.read(CHUNK_BYTES):
            yield chunk
    finally:
        file.close()


def export_list(listing: SearchList, *, filename: str | None = None) -> Response:
    """The list, with the criteria and sort of the query string and its scope, as an
    .xlsx download (``<list name>-<yyyy-mm-dd>.xlsx``, or ``<filename>-<yyyy-mm-dd>.xlsx``
    when the page names what it exports); the export is audited.
    Invalid criteria send the user back to the list, which shows the errors."""
    search = listing.search(request.args)
    if not search.valid:
        return redirect_to(search.url())
    file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)
    try:
        rows = fetch(search.statement(), yield_per=YIELD_PER)
        try:
            count = export_rows(file, listing.columns, rows, title=gettext(listing.title))
        finally:
            rows.close()
    except BaseException:
        file.close()
        raise
    audit.record(
        "export",
        account=current_user._get_current_object(),
        list=listing.name,
        filters=search.filters_for_audit(),
        rows=count,
    )
    db.session.commit()
    size = file.tell()
    file.seek(0)
    response = Response(_chunks(file), mimetype=XLSX_MIMETYPE, direct_passthrough=True)
    response.headers["Content-Disposition"] = content_disposition(f"{filename or listing.name}-{local_today().isoformat()}.xlsx")
    response.content_length = size
    response.call_on_close(file.close)
    return response
