"""Reading a spreadsheet the user sent, one row at a time: an Excel workbook (.xlsx,
openpyxl's read-only mode) or a CSV file (« ; » or « , », UTF-8 or Windows-1252).
The type is told by the content, not trusted from the name; a file that is not
what it claims, empty or too large is refused with a French message."""
from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from flask import current_app, has_app_context
from flask_babel import gettext as _
from openpyxl import load_workbook

FileKind = Literal["xlsx", "csv"]
Source = str | PathLike[str]

#: the default of ``IMPORT_MAX_BYTES``: the largest file accepted
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: how files that are not what their name says begin
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls), encrypted workbooks
ZIP = b"PK\x03\x04"
BINARY_SIGNATURES = (ZIP, OLE2, b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")
#: the parts every .xlsx workbook has
XLSX_PARTS = ("[Content_Types].xml", "xl/workbook.xml")
#: bytes that never occur in a text file (tab, line feed and carriage return are allowed)
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f]")
CHUNK = 1024 * 1024
#: every kind of space a spreadsheet holds: ordinary, no-break, narrow no-break (French thousands)
SPACES = re.compile(r"[\s\u00a0\u202f]+")


class FileRefused(ValueError):
    """The file as a whole is refused; the message says why, in French."""


def max_bytes() -> int:
    """The largest file accepted: ``IMPORT_MAX_BYTES``, never above ``MAX_CONTENT_LENGTH``."""
    if not has_app_context():
        return DEFAULT_MAX_BYTES
    limit = int(current_app.config.get("IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES)
    request_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return min(limit, int(request_limit)) if request_limit else limit


def size_label(size: int) -> str:
    """« 20 Mo », « 1,5 Mo », « 512 Ko »: a size as the forms and messages say it."""
    if size < 1024 * 1024:
        return _("%(n)s Ko", n=max(1, round(size / 1024)))
    value = size / (1024 * 1024)
    text = f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}".replace(".", ",")
    return _("%(n)s Mo", n=text)


def file_kind(path: Source) -> FileKind:
    """« xlsx » or « csv », from the name's extension checked against the content;
    refuses (``FileRefused``) an empty, too large, binary or mislabelled file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise FileRefused(_("Seuls les fichiers Excel (.xlsx) et CSV (.csv) sont acceptés."))
    size = path.stat().st_size
    if size == 0:
        raise FileRefused(_("Le fichier est vide."))
    if size > max_bytes():
        raise FileRefused(_("Le fichier dépasse la taille permise (%(limit)s).", limit=size_label(max_bytes())))
    with path.open("rb") as file:
        head = file.read(8)
    if suffix == ".xlsx":
        if head.startswith(OLE2):
            raise FileRefused(
                _("Ce fichier est au format Excel 97-2003 (.xls) ou protégé par un mot de passe : enregistrez-le au format « Classeur Excel (.xlsx) » puis envoyez-le à nouveau.")
            )
        if not _is_xlsx(path):
            raise FileRefused(_("Ce fichier n'est pas un classeur Excel (.xlsx) valide."))
        return "xlsx"
    if head.startswith(ZIP) and _is_xlsx(path):
        raise FileRefused(_("Ce fichier est un classeur Excel : son nom doit finir par .xlsx."))
    if head.startswith(BINARY_SIGNATURES):
        raise FileRefused(_("Ce fichier n'est pas un fichier texte CSV."))
    _text_encoding(path)
    return "csv"


def _is_xlsx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return all(part in names for part in XLSX_PARTS)


def _text_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), else Windows-1252: the encodings Excel writes CSV in.
    The whole file is decoded, a chunk at a time, so a bad byte on the last line is found too."""
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as file:
                while chunk := file.read(CHUNK):
                    if CONTROL_BYTES.search(chunk):
                        raise FileRefused(_("Ce fichier n'est pas un fichier texte CSV : il contient des données binaires."))
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileRefused(_("Ce fichier CSV n'est pas lisible : enregistrez-le en UTF-8 (« CSV UTF-8 » dans Excel)."))


def _is_blank(cells: Sequence[Any]) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in cells)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, Sequence[Any]]]:
    """The first sheet's rows, numbered as Excel shows them, streamed (read-only mode)."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged workbook
        raise FileRefused(_("Ce classeur Excel est illisible : ouvrez-le dans Excel, enregistrez-le à nouveau au format .xlsx et recommencez.")) from None
    try:
        if not workbook.worksheets:
            raise FileRefused(_("Le fichier est vide."))
        sheet = workbook.worksheets[0]
        # a producer may write wrong dimensions; without them every row is read
        sheet.reset_dimensions()  # type: ignore[union-attr]
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    finally:
        workbook.close()


def _delimiter(sample: str) -> str:
    """« ; » (Excel in French) or « , », told by csv.Sniffer from the first line."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t").delimiter
    except csv.Error:
        return ";" if sample.count(";") >= sample.count(",") and ";" in sample else ","


def _csv_rows(path: Path) -> Iterator[tuple[int, Sequence[Any]]]:
    """The records of a CSV file, each with the line it starts on."""
    encoding = _text_encoding(path)
    with path.open(encoding=encoding, newline="") as file:
        sample = ""
        while not sample.strip():
            line = file.readline(64 * 1024)
            if not line:
                break
            sample = line
        file.seek(0)
        reader = csv.reader(file, delimiter=_delimiter(sample))
        line = 1
        for record in reader:
            yield line, record
            line = reader.line_num + 1


@contextmanager
def open_rows(path: Source) -> Iterator[Iterator[tuple[int, Sequence[Any]]]]:
    """The file's non-blank rows as (line, cells), whatever its type; a file that
    breaks while it is read is refused with the line where it broke."""
    path = Path(path)
    rows = _xlsx_rows(path) if file_kind(path) == "xlsx" else _csv_rows(path)

    def guarded() -> Iterator[tuple[int, Sequence[Any]]]:
        line = 0
        try:
            for line, cells in rows:
                if not _is_blank(cells):
                    yield line, cells
        except FileRefused:
            raise
        except (csv.Error, zipfile.BadZipFile, OSError, KeyError, ValueError, SyntaxError) as error:
            # SyntaxError: the XML parser's ParseError in a damaged sheet
            raise FileRefused(_("Le fichier est illisible après la ligne %(line)s.", line=line)) from error

    try:
        yield guarded()
    finally:
        rows.close()
