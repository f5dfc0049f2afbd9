"""Data imports (CORE-13): read an Excel (.xlsx) or CSV file row by row, check
every cell against a plugin's importer, preview it, then write every row in one
transaction — a bad row anywhere and nothing is written.

The back office (``app.backoffice.imports``) and ``flask portal import`` both
call ``preview`` and ``commit``; the plugins declare their importers with the
``portal_importers`` hook and write rows with ``upsert``."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from sqlalchemy import inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from app import audit
from app.extensions import db
from app.models import Account
from app.plugins.manager import registry_of
from app.plugins.types import ImportColumn, Importer
from app.tabular import SPACES, FileRefused, Source, open_rows

#: rows written between two flushes (and two progress reports)
BATCH_SIZE = 1000
#: rows shown in the preview
PREVIEW_ROWS = 20
#: errors kept (and shown); all of them are counted
MAX_ERRORS = 1000
#: the greatest amount a ``decimal`` column takes (10 digits before the comma: SQL ``Numeric(12, 2)``)
MAX_DECIMAL = Decimal(10) ** 10
CENT = Decimal("0.01")
EXTENSIONS_KEY = "portal.importers"


INTEGER = re.compile(r"[+-]?\d+")
DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
CURRENCY = re.compile(r"(dh|mad|dhs)$", re.I)
FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
EXCEL_SERIAL_MAX = 2958465  # 31/12/9999
YES = frozenset({"oui", "o", "vrai", "1", "yes", "y", "true", "x"})
NO = frozenset({"non", "n", "faux", "0", "no", "false"})


#: the file as a whole is refused (type, size, headers, no data); the message says why, in French
ImportRefused = FileRefused


def _no_data() -> str:
    return _("Le fichier ne contient aucune ligne de données sous la ligne des en-têtes.")


@dataclass(frozen=True)
class RowError:
    """An error of one cell or row: the line as the user sees it in the file, the column's header, the message."""

    line: int
    column: str
    message: str


@dataclass(frozen=True)
class PreviewRow:
    """A row of the preview: its line and its cells as read, in the importer's column order."""

    line: int
    cells: tuple[str, ...]


@dataclass
class Preview:
    """What the file holds, checked but not written: counts, the first rows and the errors."""

    importer: Importer
    total: int = 0
    valid: int = 0
    rows: list[PreviewRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    #: headers of the file that name no column of the importer (ignored)
    unknown_headers: list[str] = field(default_factory=list)
    #: optional columns the file lacks (their values are empty)
    absent_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every row is valid and there is at least one."""
        return self.error_count == 0 and self.total > 0


@dataclass
class Result:
    """What ``commit`` did: every row written, or none (``errors`` say why)."""

    importer: Importer
    total: int = 0
    written: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    unknown_headers: list[str] = field(default_factory=list)

    @property
    def committed(self) -> bool:
        """True when the rows were written and committed."""
        return self.error_count == 0 and self.written > 0


# --------------------------------------------------------------------------
# The importers of the enabled plugins
# --------------------------------------------------------------------------


def normalise_header(text: str) -> str:
    """« N° de relevé » → ``nodereleve``: headers match whatever their case, accents and spaces."""
    decomposed = unicodedata.normalize("NFKD", str(text).replace("°", "o"))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return SPACES.sub("", bare).casefold()


def _validate(importer: Importer, insurers: Sequence[str]) -> None:
    name = f"{importer.insurer}/{importer.code}"
    if importer.insurer not in insurers:
        raise RuntimeError(f"importer {name}: no enabled space of insurer {importer.insurer}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", importer.code) or importer.code == "jobs":
        raise RuntimeError(f"importer {name}: the code must be lower-case letters, digits, - or _ (and not « jobs »)")
    keys = [c.key for c in importer.columns]
    headers = [normalise_header(c.header) for c in importer.columns]
    if len(set(keys)) != len(keys) or len(set(headers)) != len(headers):
        raise RuntimeError(f"importer {name}: two columns share a key or a header")
    by_key = {c.key: c for c in importer.columns}
    if not importer.key or any(k not in by_key or not by_key[k].required for k in importer.key):
        raise RuntimeError(f"importer {name}: the key must name required columns")
    if any(c.type not in PARSERS for c in importer.columns):
        raise RuntimeError(f"importer {name}: unknown column type")
    if any(c.choices and c.type != "text" for c in importer.columns):
        raise RuntimeError(f"importer {name}: only a text column may list choices")


def init_app(app: Flask) -> None:
    """Collect the importers of the enabled plugins once, and stop the start-up on a malformed one."""
    registry = registry_of(app)
    found: dict[tuple[str, str], Importer] = {}
    for importers in registry.pm.hook.portal_importers():
        for importer in importers or ():
            _validate(importer, registry.insurers())
            if (importer.insurer, importer.code) in found:
                raise RuntimeError(f"importer {importer.insurer}/{importer.code} is declared twice")
            found[(importer.insurer, importer.code)] = importer
    app.extensions[EXTENSIONS_KEY] = found


def importers_of(insurer: str) -> list[Importer]:
    """The importers of ``insurer``, in declaration order (an agent sees only their insurer's)."""
    return [i for (owner, _code), i in current_app.extensions[EXTENSIONS_KEY].items() if owner == insurer]


def importer_of(insurer: str, code: str) -> Importer | None:
    """The importer ``code`` of ``insurer``, or None: another insurer's importer is never found."""
    return current_app.extensions[EXTENSIONS_KEY].get((insurer, code))


# --------------------------------------------------------------------------
# Headers and cells
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where each column of the importer sits in the file (``None``: absent optional column)."""

    positions: tuple[tuple[ImportColumn, int | None], ...]
    unknown: tuple[str, ...]

    @property
    def absent(self) -> list[str]:
        return [column.header for column, index in self.positions if index is None]


def layout_of(importer: Importer, header: Sequence[Any]) -> Layout:
    """Match the header row with the importer's columns by name, in any order;
    refuses a file that lacks a required column or names one twice."""
    wanted = {normalise_header(c.header): c for c in importer.columns}
    found: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(header):
        text = _as_text(cell)
        if not text:
            continue
        column = wanted.get(normalise_header(text))
        if column is None:
            unknown.append(text)
        elif column.key in found:
            raise ImportRefused(_("La colonne « %(header)s » apparaît deux fois dans la première ligne.", header=column.header))
        else:
            found[column.key] = index
    missing = [c.header for c in importer.columns if c.required and c.key not in found]
    if missing:
        raise ImportRefused(
            _(
                "Colonnes obligatoires absentes de la première ligne : %(missing)s. La première ligne du fichier doit donner le nom des colonnes, comme dans le modèle.",
                missing=", ".join(f"« {h} »" for h in missing),
            )
        )
    return Layout(tuple((c, found.get(c.key)) for c in importer.columns), tuple(unknown))


class CellError(ValueError):
    """A cell that does not fit its column; the message is French."""


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y") if value.time() == time() else value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


def _text(value: Any, column: ImportColumn) -> str:
    text = _as_text(value)
    if column.max_length is not None and len(text) > column.max_length:
        raise CellError(_("%(max)s caractères au plus (%(count)s ici).", max=column.max_length, count=len(text)))
    if column.pattern is not None and not re.fullmatch(column.pattern, text, re.ASCII):
        raise CellError(_(column.message) if column.message else _("Format invalide."))
    if column.choices and text:
        return _one_of(text, column.choices)
    return text


def _one_of(text: str, choices: tuple[str, ...]) -> str:
    """``text`` spelt as in ``choices`` (« dossier paye » → « Dossier payé »), or the list of what is admitted."""
    wanted = normalise_header(text)
    for choice in choices:
        if normalise_header(choice) == wanted:
            return choice
    raise CellError(_("Valeur inconnue : « %(value)s » (valeurs admises : %(choices)s).", value=text, choices=", ".join(choices)))


def _int(value: Any, column: ImportColumn) -> int:
    if isinstance(value, bool):
        raise CellError(_("Nombre entier attendu."))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and INTEGER.fullmatch(text := SPACES.sub("", value)):
        value = int(text)
    if not isinstance(value, int):
        raise CellError(_("Nombre entier attendu (par exemple 12)."))
    if value < 0 and not column.negative:
        raise CellError(_("Nombre négatif refusé."))
    return value


def _decimal(value: Any, column: ImportColumn) -> Decimal:
    if isinstance(value, bool):
        raise CellError(_("Montant attendu (par exemple 1 250,50)."))
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
        # a computed cell may hold 10.000000000000002: that is 10,00
        if abs(number - number.quantize(CENT)) < Decimal("1e-9"):
            number = number.quantize(CENT)
    else:
        number = _decimal_text(str(value))
    if number != number.quantize(CENT):
        raise CellError(_("Deux décimales au plus."))
    if number < 0 and not column.negative:
        raise CellError(_("Montant négatif refusé."))
    if abs(number) >= MAX_DECIMAL:
        raise CellError(_("Montant trop grand."))
    return number.quantize(CENT)


def _decimal_text(text: str) -> Decimal:
    """« 1 250,50 », « 1.250,50 », « 1,250.50 », « 1250.5 DH » → Decimal."""
    text = CURRENCY.sub("", SPACES.sub("", text))
    if "," in text and "." in text:
        # the last of the two separates the decimals, the other the thousands
        thousands = "." if text.rfind(",") > text.rfind(".") else ","
        text = text.replace(thousands, "").replace(",", ".")
    elif text.count(",") == 1:
        text = text.replace(",", ".")
    if len(text) > 30 or not DECIMAL.fullmatch(text):
        raise CellError(_("Montant attendu (par exemple 1 250,50)."))
    try:
        return Decimal(text)
    except InvalidOperation:
        raise CellError(_("Montant attendu (par exemple 1 250,50).")) from None


def _date(value: Any, column: ImportColumn) -> date:
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value <= EXCEL_SERIAL_MAX:
        # a date typed in a cell formatted as a number: Excel's serial day number
        found = from_excel(value).date()
    elif isinstance(value, str) and (match := FRENCH_DATE.fullmatch(value.strip())):
        found = _make_date(int(match[3]), int(match[2]), int(match[1]), value)
    elif isinstance(value, str) and (match := ISO_DATE.fullmatch(value.strip())):
        found = _make_date(int(match[1]), int(match[2]), int(match[3]), value)
    else:
        raise CellError(_("Date attendue au format jj/mm/aaaa (par exemple 31/01/2025)."))
    if not 1900 <= found.year <= 2100:
        raise CellError(_("Année invraisemblable : %(year)s.", year=found.year))
    return found


def _make_date(year: int, month: int, day: int, typed: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(_("Cette date n'existe pas : %(value)s.", value=typed.strip())) from None


def _bool(value: Any, column: ImportColumn) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    word = normalise_header(_as_text(value))
    if word in YES:
        return True
    if word in NO:
        return False
    raise CellError(_("Oui ou non attendu."))


PARSERS: dict[str, Callable[[Any, ImportColumn], Any]] = {
    "text": _text,
    "int": _int,
    "decimal": _decimal,
    "date": _date,
    "bool": _bool,
}


def parse_cell(column: ImportColumn, value: Any) -> Any:
    """The cell's typed value (``None`` when empty); ``CellError`` with a French message otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if column.required:
            raise CellError(_("Valeur obligatoire manquante."))
        return None
    return PARSERS[column.type](value, column)


def display(value: Any) -> str:
    """A checked value as the preview shows it: dd/mm/yyyy, « 1 250,50 », Oui / Non."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, Decimal):
        return f"{value:,.2f}".replace(",", "\u202f").replace(".", ",")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


# --------------------------------------------------------------------------
# Checking the rows
# --------------------------------------------------------------------------


@dataclass
class CheckedRow:
    """One row of the file: its values by column key, or its errors."""

    line: int
    values: dict[str, Any]
    errors: list[RowError]
    cells: Sequence[Any]


@contextmanager
def checked_rows(importer: Importer, path: Source) -> Iterator[tuple[Layout, Iterator[CheckedRow]]]:
    """The file's layout, then its data rows checked one at a time (nothing held but
    the keys already seen, so that a key twice in the file is an error)."""
    with open_rows(path) as rows:
        first = next(rows, None)
        if first is None:
            raise ImportRefused(_("Le fichier est vide."))
        layout = layout_of(importer, first[1])
        yield layout, _check(importer, layout, rows)


def check_file(importer: Importer, path: Source) -> None:
    """The quick checks, before any row is read in full: type, size, header row, at least
    one data row. Raises ``ImportRefused`` (the upload form shows it next to the field)."""
    with checked_rows(importer, path) as (_layout, rows):
        if next(rows, None) is None:
            raise ImportRefused(_no_data())


def _check(importer: Importer, layout: Layout, rows: Iterator[tuple[int, Sequence[Any]]]) -> Iterator[CheckedRow]:
    key_header = " + ".join(c.header for c in importer.columns if c.key in importer.key)
    seen: dict[int, int] = {}
    for line, cells in rows:
        values: dict[str, Any] = {}
        errors: list[RowError] = []
        width = len(cells)
        for column, index in layout.positions:
            raw = cells[index] if index is not None and index < width else None
            try:
                values[column.key] = parse_cell(column, raw)
            except CellError as error:
                errors.append(RowError(line, column.header, str(error)))
        if not errors:
            # a hash of the key: a few bytes per row rather than the values
            digest = hash(tuple(values[k] for k in importer.key))
            if digest in seen:
                errors.append(
                    RowError(line, key_header, _("Déjà présent ligne %(line)s : chaque ligne du fichier doit avoir sa propre valeur.", line=seen[digest]))
                )
            else:
                seen[digest] = line
        yield CheckedRow(line, values, errors, cells)


def _keep(errors: list[RowError], found: list[RowError]) -> None:
    room = MAX_ERRORS - len(errors)
    if room > 0:
        errors.extend(found[:room])


def preview(importer: Importer, path: Source, *, limit: int = PREVIEW_ROWS) -> Preview:
    """Check the whole file without writing anything: counts, the first ``limit`` rows, the errors.
    Raises ``ImportRefused`` for a file refused as a whole."""
    result = Preview(importer)
    with checked_rows(importer, path) as (layout, rows):
        result.unknown_headers = list(layout.unknown)
        result.absent_columns = layout.absent
        for row in rows:
            result.total += 1
            if row.errors:
                result.error_count += len(row.errors)
                _keep(result.errors, row.errors)
            else:
                result.valid += 1
            if len(result.rows) < limit:
                result.rows.append(_preview_row(layout, row))
    if result.total == 0:
        raise ImportRefused(_no_data())
    return result


def _preview_row(layout: Layout, row: CheckedRow) -> PreviewRow:
    wrong = {e.column for e in row.errors}
    cells = []
    for column, index in layout.positions:
        if column.header in wrong:
            cells.append(_as_text(row.cells[index]) if index is not None and index < len(row.cells) else "")
        else:
            cells.append(display(row.values.get(column.key)))
    return PreviewRow(row.line, tuple(cells))


# --------------------------------------------------------------------------
# Writing the rows: one transaction, in batches
# --------------------------------------------------------------------------


def commit(
    importer: Importer,
    path: Source,
    actor: str,
    *,
    account: Account | None = None,
    filename: str | None = None,
    address: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Result:
    """Check and write every row through ``importer.write`` in ONE transaction, sent to
    the database every ``BATCH_SIZE`` rows; commit when no row failed, otherwise roll
    everything back. The import (or its failure) is audited. ``progress(rows_read)`` is
    called after each batch. Raises ``ImportRefused`` (nothing written) for a file
    refused as a whole."""
    result = Result(importer)
    name = filename or Path(path).name
    batch = _Batch()
    token = _batch.set(batch)
    broken = False
    first = last = 0
    try:
        with checked_rows(importer, path) as (layout, rows):
            result.unknown_headers = list(layout.unknown)
            for row in rows:
                result.total += 1
                first, last = first or row.line, row.line
                if row.errors:
                    result.error_count += len(row.errors)
                    _keep(result.errors, row.errors)
                elif not broken:
                    broken = _write(importer, row, result)
                if result.total % BATCH_SIZE == 0:
                    broken = broken or _send(batch, result, first, last)
                    first = 0
                    if progress:
                        progress(result.total)
        if result.total == 0:
            raise ImportRefused(_no_data())
        if not broken and first:
            _send(batch, result, first, last)
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _batch.reset(token)
    if progress:
        progress(result.total)
    if result.error_count:
        db.session.rollback()
        result.written = 0
        _audit("import_failed", importer, actor, account, address, file=name, rows=result.total, errors=result.error_count)
        db.session.commit()
        return result
    _audit("import", importer, actor, account, address, file=name, rows=result.written)
    db.session.commit()
    return result


def _write(importer: Importer, row: CheckedRow, result: Result) -> bool:
    """Write one row; True when the database refused it (the transaction is lost)."""
    try:
        importer.write(dict(row.values))
    except ValueError as error:
        result.error_count += 1
        _keep(result.errors, [RowError(row.line, "", str(error))])
        return False
    except SQLAlchemyError as error:
        result.error_count += 1
        _keep(result.errors, [RowError(row.line, "", _database_message(error, row.line, row.line))])
        db.session.rollback()
        return True
    result.written += 1
    return False


def _send(batch: _Batch, result: Result, first: int, last: int) -> bool:
    """Send the batch (lines ``first`` to ``last``) to the database; True when it refused it."""
    try:
        db.session.flush()
        batch.send()
    except SQLAlchemyError as error:
        batch.clear()
        result.error_count += 1
        _keep(result.errors, [RowError(first, "", _database_message(error, first, last))])
        db.session.rollback()
        return True
    return False


def _database_message(error: SQLAlchemyError, first: int, last: int) -> str:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:200]
    if first == last:
        return _("La base de données a refusé la ligne : %(reason)s", reason=reason)
    return _("La base de données a refusé une des lignes %(first)s à %(last)s : %(reason)s", first=first, last=last, reason=reason)


def _audit(action: str, importer: Importer, actor: str, account: Account | None, address: str | None, **detail: Any) -> None:
    event = audit.record(action, account=account, actor=actor, importer=f"{importer.insurer}/{importer.code}", **detail)
    event.insurer = importer.insurer
    if address:
        event.address = address


class _Batch:
    """The rows ``upsert`` is given during an import, sent every ``BATCH_SIZE`` rows:
    one executemany per statement rather than a round trip per row."""

    def __init__(self) -> None:
        self.rows: dict[Any, list[dict[str, Any]]] = {}

    def add(self, statement: Any, values: dict[str, Any]) -> None:
        self.rows.setdefault(statement, []).append(values)

    def send(self) -> None:
        for statement, rows in self.rows.items():
            db.session.execute(statement, rows)
        self.rows.clear()

    def clear(self) -> None:
        self.rows.clear()


#: the batch of the import running in this thread (None outside ``commit``)
_batch: ContextVar[_Batch | None] = ContextVar("portal_import_batch", default=None)


def upsert(model: type, values: Mapping[str, Any], key: Sequence[str]) -> None:
    """Insert ``values`` (attribute names of ``model``) as a row, or update the row that has
    the same ``key`` (a unique constraint): ``INSERT … ON CONFLICT DO UPDATE`` on SQLite and
    PostgreSQL, a look-up then an insert or update elsewhere. During an import the rows are
    sent a batch at a time, after the session's pending objects (``send_pending()`` sends them
    at once, for a ``write`` that reads rows of the same file)."""
    dialect = db.session.get_bind(mapper=inspect(model)).dialect.name
    if dialect not in ("sqlite", "postgresql"):
        existing = db.session.scalar(select(model).filter_by(**{k: values[k] for k in key}))
        if existing is None:
            db.session.add(model(**values))
        else:
            for name, value in values.items():
                setattr(existing, name, value)
        return
    statement, column_names = _upsert_statement(model, tuple(values), tuple(key), dialect)
    params = {column_names[name]: value for name, value in values.items()}
    batch = _batch.get()
    if batch is None:
        db.session.execute(statement, params)
    else:
        batch.add(statement, params)


def send_pending() -> None:
    """Send the rows ``upsert`` holds back in the current import (nothing outside one)."""
    batch = _batch.get()
    if batch is not None:
        db.session.flush()
        batch.send()


@lru_cache(maxsize=64)
def _upsert_statement(model: type, names: tuple[str, ...], key: tuple[str, ...], dialect: str) -> tuple[Any, dict[str, str]]:
    """The table's upsert statement (Core: no ORM bookkeeping per row) and the column name of each attribute."""
    columns = inspect(model).columns
    column_names = {name: columns[name].name for name in names}
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert(model.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=[columns[k].name for k in key],
        set_={column_names[n]: statement.excluded[column_names[n]] for n in names if n not in key},
    )
    return statement, column_names


def report(outcome: Preview | Result) -> list[str]:
    """What ``flask portal import`` prints: the counts, each error (line, column, message), the outcome."""
    lines = [
        _("%(title)s (%(insurer)s/%(code)s)", title=_(outcome.importer.title), insurer=outcome.importer.insurer, code=outcome.importer.code),
        _("%(total)s ligne(s) lue(s), %(errors)s erreur(s).", total=outcome.total, errors=outcome.error_count),
    ]
    if outcome.unknown_headers:
        lines.append(_("Colonnes ignorées (inconnues) : %(names)s.", names=", ".join(outcome.unknown_headers)))
    for error in outcome.errors:
        where = _("Ligne %(line)s", line=error.line) if error.line else _("Fichier")
        if error.column:
            where = _("%(where)s, colonne « %(column)s »", where=where, column=error.column)
        lines.append(f"{where} : {error.message}")
    if outcome.error_count > len(outcome.errors):
        lines.append(_("… et %(more)s autre(s) erreur(s).", more=outcome.error_count - len(outcome.errors)))
    if isinstance(outcome, Result):
        lines.append(_("%(n)s ligne(s) enregistrée(s).", n=outcome.written) if outcome.committed else _("Aucune ligne n'a été enregistrée."))
    else:
        lines.append(_("Vérification seule : rien n'a été enregistré."))
    return lines


# --------------------------------------------------------------------------
# The template to download
# --------------------------------------------------------------------------

TYPE_LABELS = {
    "text": "Texte",
    "int": "Nombre entier",
    "decimal": "Montant (2 décimales au plus)",
    "date": "Date (jj/mm/aaaa)",
    "bool": "Oui / Non",
}


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Import"


def template_workbook(importer: Importer) -> bytes:
    """An .xlsx to fill in: the header row (bold) on the first sheet, and a second
    sheet, « Colonnes », that explains each column (type, required, remarks)."""
    bold = Font(bold=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(_(importer.title))
    sheet.append([c.header for c in importer.columns])
    for index, column in enumerate(importer.columns, start=1):
        sheet.cell(row=1, column=index).font = bold
        sheet.column_dimensions[get_column_letter(index)].width = max(14, len(column.header) + 4)
    sheet.freeze_panes = "A2"

    info = workbook.create_sheet(_("Colonnes"))
    info.append([_("Colonne"), _("Type"), _("Obligatoire"), _("Remarques")])
    for cell in info[1]:
        cell.font = bold
    for column in importer.columns:
        info.append([column.header, _(TYPE_LABELS[column.type]), _("Oui") if column.required else _("Non"), _remarks(importer, column)])
    info.append([])
    info.append([_("La première ligne donne le nom des colonnes ; leur ordre est libre. Un fichier CSV (séparateur « ; » ou « , », UTF-8) est accepté aussi.")])
    info.append([_("Une ligne en erreur et rien n'est importé : corrigez le fichier et envoyez-le à nouveau.")])
    for letter, width in zip("ABCD", (28, 30, 12, 70)):
        info.column_dimensions[letter].width = width
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _remarks(importer: Importer, column: ImportColumn) -> str:
    notes = [_(column.help)] if column.help else []
    if column.key in importer.key:
        notes.append(_("Clé : une ligne dont la clé existe déjà met à jour l'enregistrement au lieu d'en créer un autre."))
    if column.max_length:
        notes.append(_("%(max)s caractères au plus.", max=column.max_length))
    if column.pattern and column.message:
        notes.append(_(column.message))
    if column.choices:
        notes.append(_("Valeurs admises : %(choices)s.", choices=", ".join(column.choices)))
    if column.type in ("int", "decimal") and column.negative:
        notes.append(_("Peut être négatif."))
    return " ".join(notes)
