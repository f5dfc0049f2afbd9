"""The one list component of plugin pages that search (CORE-15, CORE-17, CORE-18):
criteria in the query string, a tenant scope applied in one place, the count and
the pages computed in SQL, sortable columns, HTMX partials; ``app.exports`` turns
the same list into an Excel file."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any, Callable, Iterator, Literal, Mapping
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Response, current_app, request, url_for
from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import DateTime, Select, and_, func, inspect, select
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Field, FormField, SelectChoice, SelectField, StringField
from wtforms import Form as SubForm
from wtforms.fields.core import UnboundField
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import TextInput

from app.extensions import db
from app.htmx import partial_name, render
from app.templating import format_date

ColumnType = Literal["text", "int", "decimal", "date", "amount"]
Filter = Callable[[Any], "ColumnElement[bool] | None"]
Scope = Callable[[], "ColumnElement[bool]"]

NUMERIC_TYPES = ("int", "decimal", "amount")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


# --------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # compared by identity: ``sort`` is an SQL expression
class Column:
    """One column of a list, shown in the table and written in the export.

    ``key`` names it in ``?sort=``; ``value`` is an attribute name (dotted
    allowed) or a callable taking the row, default ``key``; ``sort`` is the SQL
    expression to order by (a column without one is not sortable); ``link``, a
    callable taking the row, makes the cell a link (« détail », « Document »);
    the export keeps the text. ``link_label(row)`` gives the link its accessible
    name when the text alone says too little (ten « détail » links in a column)."""

    key: str
    label: str
    type: ColumnType = "text"
    value: str | Callable[[Any], Any] | None = None
    sort: Any = None
    link: Callable[[Any], str | None] | None = None
    link_label: Callable[[Any], str] | None = None

    def __post_init__(self) -> None:
        getter = self.value if callable(self.value) else attrgetter(self.value or self.key)
        object.__setattr__(self, "_getter", getter)

    @property
    def sortable(self) -> bool:
        return self.sort is not None

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    def value_of(self, row: Any) -> Any:
        """The raw value of this column for ``row`` (a model instance or a result row)."""
        return self._getter(row)  # type: ignore[attr-defined]

    def link_of(self, row: Any) -> str | None:
        """The URL the cell links to, if any."""
        return self.link(row) if self.link is not None else None

    def link_label_of(self, row: Any) -> str | None:
        """The accessible name of the cell's link, when the column gives one."""
        return self.link_label(row) if self.link_label is not None else None

    def display(self, row: Any) -> str:
        """The value as the page shows it: dd/mm/yyyy, « 1 250,00 », French separators."""
        value = self.value_of(row)
        if value is None or value == "":
            return ""
        if self.type == "date":
            return format_date(value)
        if self.type == "amount":
            return format_decimal(value, format="#,##0.00")
        if self.type in ("int", "decimal"):
            return format_decimal(value)
        return str(value)


# --------------------------------------------------------------------------
# Criteria: a GET form, its fields, and the filters they map to
# --------------------------------------------------------------------------


class Criteria(FlaskForm):
    """Base of a list's criteria form: read from the query string, without a
    CSRF token (a search changes nothing and must be bookmarkable)."""

    class Meta:
        csrf = False


def printable(form: Any, field: Field) -> None:
    """Typed text without control characters (PostgreSQL refuses a NUL in a query: a 500, not a message)."""
    if field.data and not field.data.isprintable():
        raise ValidationError(_l("Ce champ contient des caractères non autorisés."))


def text_criterion(label: str, *, max_length: int = 100) -> StringField:
    """A free-text criterion, trimmed, without control characters (« N° de dossier »)."""
    return StringField(
        _l(label),
        validators=[Optional(), Length(max=max_length, message=_l("%(max)d caractères au plus.", max=max_length)), printable],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


def date_criterion(label: str, *, default: Callable[[], date] | None = None) -> DateField:
    """A date, typed dd/mm/yyyy or picked (the picker sends yyyy-mm-dd)."""
    return _date_field(_l(label), default)


def _date_field(label: Any, default: Callable[[], date] | None) -> DateField:
    return DateField(
        label,
        validators=[Optional()],
        format=["%Y-%m-%d", "%d/%m/%Y"],
        default=default,
        invalid_value_message=_l("Date invalide : saisissez-la sous la forme jj/mm/aaaa."),
    )


def _start_of_previous_year() -> date:
    return date(local_today().year - 1, 1, 1)


def _end_of_current_year() -> date:
    return date(local_today().year, 12, 31)


class PeriodForm(SubForm):
    """« du … au … »: both ends optional, the end never before the start."""

    def validate_au(self, field: DateField) -> None:
        start = self._fields["du"].data
        if start and field.data and start > field.data:
            raise ValidationError(_l("La date « au » doit être postérieure ou égale à la date « du »."))


def period_criterion(label: str, *, recent_years: bool = False) -> FormField:
    """A period « du … au … » (fields ``<name>_du`` and ``<name>_au``); with
    ``recent_years`` it defaults to the previous and the current year (CORE-18)."""
    period = type(
        "Period",
        (PeriodForm,),
        {
            "du": _date_field(_l("du"), _start_of_previous_year if recent_years else None),
            "au": _date_field(_l("au"), _end_of_current_year if recent_years else None),
        },
    )
    return FormField(period, label=_l(label), separator="_")


class AmountField(Field):
    """An amount in dirhams, typed « 1 250,50 » or « 1250.50 »."""

    widget = TextInput()
    PATTERN = re.compile(r"-?\d{1,12}(\.\d{1,2})?")

    def __init__(self, label: Any = None, validators: Any = None, *, negative: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, validators, **kwargs)
        self.negative = negative

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist: list[str]) -> None:
        text = re.sub(r"[\s\u00a0\u202f]", "", valuelist[0]).replace(",", ".") if valuelist else ""
        if not text:
            self.data = None
            return
        if not self.PATTERN.fullmatch(text):
            self.data = None
            raise ValueError(_l("Montant invalide : chiffres uniquement, deux décimales au plus (par exemple 1250,00)."))
        try:
            self.data = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern already refused it
            self.data = None
            raise ValueError(_l("Montant invalide."))
        if self.data < 0 and not self.negative:
            raise ValueError(_l("Le montant ne peut pas être négatif."))


def amount_criterion(label: str, *, negative: bool = False) -> AmountField:
    """An amount criterion (never negative unless ``negative``)."""
    return AmountField(_l(label), validators=[Optional()], negative=negative)


def choice_criterion(label: str, choices: tuple[tuple[str, str], ...], *, all_label: str = "Toutes") -> SelectField:
    """A select of ``(value, label)`` pairs, first « Toutes » (no filter)."""
    return SelectField(
        _l(label),
        choices=[SelectChoice("", _l(all_label))] + [SelectChoice(value, _l(text)) for value, text in choices],
        validators=[Optional()],
        default="",
        invalid_choice_message=_l("Choix invalide."),
    )


def equals(column: Any) -> Filter:
    """Filter: the column equals the criterion."""
    return lambda value: column == value


def contains(column: Any) -> Filter:
    """Filter: the column contains the criterion, case ignored, ``%`` and ``_`` taken literally."""
    return lambda value: column.icontains(value, autoescape=True)


def at_least(column: Any) -> Filter:
    """Filter: the column is at least the criterion (« Montant minimum »)."""
    return lambda value: column >= value


def at_most(column: Any) -> Filter:
    """Filter: the column is at most the criterion."""
    return lambda value: column <= value


def between(column: Any) -> Filter:
    """Filter of a period criterion: both ends included, whole days for a date-time column."""
    is_datetime = isinstance(getattr(column, "type", None), DateTime)

    def clause(period: Mapping[str, date | None]) -> ColumnElement[bool] | None:
        parts = []
        if period.get("du"):
            parts.append(column >= period["du"])
        end = period.get("au")
        if end and is_datetime and end < date.max:
            parts.append(column < end + timedelta(days=1))
        elif end:
            parts.append(column <= end)
        return and_(*parts) if parts else None

    return clause


# --------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------


def local_today() -> date:
    """Today in the portal's time zone (file names, default periods)."""
    return datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def _criteria_names(form_class: type[Criteria] | None) -> set[str]:
    if form_class is None:
        return set()
    return {name for name in dir(form_class) if isinstance(getattr(form_class, name, None), UnboundField)}


@dataclass(frozen=True, eq=False)
class SearchList:
    """A list a plugin page shows, searches, pages, sorts and exports.

    ``scope`` is required: called during the request, it returns the SQL
    condition that limits the rows to the logged-in account's (``Model.tenant
    == current_user.tenant_ref``) or to the agent's insurer; the page, the count
    and the export all go through it. ``filters`` maps each criteria field to
    the condition it adds (``equals``, ``contains``, ``between``…)."""

    name: str
    title: str
    endpoint: str
    query: Select[Any]
    scope: Scope
    columns: tuple[Column, ...]
    criteria: type[Criteria] | None = None
    filters: Mapping[str, Filter] = field(default_factory=dict)
    export_endpoint: str | None = None
    default_sort: str | None = None
    default_dir: Literal["asc", "desc"] = "asc"
    page_size: int = 20
    #: « Nombre de dossiers : %(count)s » unless the seed words it otherwise
    count_label: str | None = None
    #: « Aucun dossier ne correspond à ces critères. » unless said otherwise
    empty_label: str | None = None

    def __post_init__(self) -> None:
        if not SLUG.fullmatch(self.name):
            raise ValueError(f"list name {self.name!r}: lower-case letters, digits and dashes")
        if not callable(self.scope):
            raise TypeError(f"list {self.name}: scope must be a callable returning an SQL condition")
        keys = [c.key for c in self.columns]
        if not keys or len(set(keys)) != len(keys):
            raise ValueError(f"list {self.name}: columns need distinct keys")
        if self.default_sort is not None and not self.column(self.default_sort, sortable=True):
            raise ValueError(f"list {self.name}: default_sort {self.default_sort!r} is not a sortable column")
        fields = _criteria_names(self.criteria)
        if set(self.filters) != fields:
            raise ValueError(
                f"list {self.name}: every criteria field needs a filter and every filter a field "
                f"(fields {sorted(fields)}, filters {sorted(self.filters)})"
            )
        if self.page_size < 1:
            raise ValueError(f"list {self.name}: page_size must be positive")

    def column(self, key: str | None, *, sortable: bool = False) -> Column | None:
        """The column named ``key`` (only a sortable one when ``sortable``)."""
        for column in self.columns:
            if column.key == key and (column.sortable or not sortable):
                return column
        return None

    def scoped(self, statement: Select[Any]) -> Select[Any]:
        """``statement`` limited by the list's scope: the one place where it is applied."""
        condition = self.scope()
        if not isinstance(condition, ColumnElement):
            raise TypeError(f"list {self.name}: scope returned {condition!r}, not an SQL condition")
        return statement.where(condition)

    def search(self, args: MultiDict[str, str]) -> Search:
        """The list searched with the criteria, sort and page of ``args`` (the query string)."""
        return Search(self, args)

    def count_text(self, count: int) -> str:
        if self.count_label is None:
            return gettext("Nombre de dossiers : %(count)s", count=count)
        return gettext(self.count_label, count=count)

    def empty_text(self) -> str:
        if self.empty_label is None:
            return gettext("Aucun dossier ne correspond à ces critères.")
        return gettext(self.empty_label)


def fetch(statement: Select[Any], **options: Any) -> Any:
    """Run a list's statement: model instances for ``select(Model)``, rows otherwise."""
    descriptions = statement.column_descriptions
    if options:
        statement = statement.execution_options(**options)
    if len(descriptions) == 1 and descriptions[0]["entity"] is not None and descriptions[0]["expr"] is descriptions[0]["entity"]:
        return db.session.scalars(statement)
    return db.session.execute(statement)


class Search:
    """One request's search of a list: its criteria (validated), sort and page."""

    def __init__(self, listing: SearchList, args: MultiDict[str, str]) -> None:
        self.listing = listing
        self.args = args
        self.form = listing.criteria(formdata=args) if listing.criteria is not None else None
        self.valid = self.form.validate() if self.form is not None else True
        column = listing.column(args.get("sort"), sortable=True)
        self.sort = column.key if column else listing.default_sort
        direction = args.get("dir")
        self.direction = direction if direction in ("asc", "desc") and column else listing.default_dir

    # -- the query ---------------------------------------------------------

    def fields(self) -> Iterator[Field]:
        """The criteria's input fields, a period's « du » and « au » included."""
        for f in self.form or ():
            if isinstance(f, FormField):
                yield from f.form
            else:
                yield f

    def conditions(self) -> list[ColumnElement[bool]]:
        """The conditions of the criteria that hold a value."""
        if not self.valid:
            raise ValueError("invalid criteria have no conditions")
        found = []
        for name, to_condition in self.listing.filters.items():
            value = self.form[name].data if self.form is not None else None
            if value is None or value == "" or (isinstance(value, dict) and not any(value.values())):
                continue
            condition = to_condition(value)
            if condition is not None:
                found.append(condition)
        return found

    def statement(self) -> Select[Any]:
        """The list's query, scoped, filtered and sorted (the page and the export both use it)."""
        statement = self.listing.scoped(self.listing.query).where(*self.conditions())
        column = self.listing.column(self.sort, sortable=True)
        descending = column is not None and self.direction == "desc"
        order = []
        if column is not None:
            expression = column.sort.desc() if descending else column.sort.asc()
            # NULLS LAST only where NULLs can be: on a NOT NULL column it stops PostgreSQL walking the index
            order.append(expression.nulls_last() if _nullable(column.sort) else expression)
        # the same order on every page; in the sort's direction, so that an index on (…, column) serves both
        order.extend(key.desc() if descending else key for key in _primary_key(self.listing.query))
        return statement.order_by(*order)

    def page(self) -> Page:
        """The requested page (clamped to the existing ones), its rows and the total count."""
        statement = self.statement()
        count = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
        size = self.listing.page_size
        pages = max(1, math.ceil(count / size))
        try:
            number = int(self.args.get("page", "1"))
        except ValueError:
            number = 1
        number = min(max(number, 1), pages)
        rows = list(fetch(statement.limit(size).offset((number - 1) * size)))
        return Page(self, rows, count, number, pages)

    # -- links -------------------------------------------------------------

    def params(self) -> list[tuple[str, str]]:
        """The criteria as they came in the query string (absent ones stay absent: their defaults apply)."""
        pairs = [(f.name, f.raw_data[0]) for f in self.fields() if f.raw_data]
        if self.args.get("sort") and self.listing.column(self.args["sort"], sortable=True):
            pairs += [("sort", self.sort or ""), ("dir", self.direction)]
        return pairs

    def base_url(self) -> str:
        """The list's URL without any criteria (« Réinitialiser »)."""
        return url_for(self.listing.endpoint, **(request.view_args or {}))

    def url(self, **changes: Any) -> str:
        """The list's URL with the current criteria, some changed (``page``, ``sort``, ``dir``)."""
        pairs = [(k, v) for k, v in self.params() if k not in changes]
        pairs += [(k, str(v)) for k, v in changes.items() if v is not None]
        return self.base_url() + ("?" + urlencode(pairs) if pairs else "")

    def sort_url(self, column: Column) -> str:
        """Sort by ``column``, ascending first, the other way when it already is."""
        direction = "desc" if self.sort == column.key and self.direction == "asc" else "asc"
        return self.url(sort=column.key, dir=direction, page=None)

    def export_url(self) -> str | None:
        """« Exporter »: the export with the same criteria and sort."""
        if self.listing.export_endpoint is None:
            return None
        query = urlencode(self.params())
        return url_for(self.listing.export_endpoint, **(request.view_args or {})) + ("?" + query if query else "")

    def filters_for_audit(self) -> dict[str, str]:
        """The active criteria, as the audit trail records them."""
        return {f.name: f._value() if hasattr(f, "_value") else str(f.data) for f in self.fields() if f.data not in (None, "")}


def _nullable(expression: Any) -> bool:
    """False only for a table column declared NOT NULL (an expression may always be NULL)."""
    element = getattr(expression, "expression", expression)
    return getattr(element, "nullable", True) is not False


def _primary_key(statement: Select[Any]) -> list[Any]:
    """The primary key of the first model the query selects whole (none for a select of columns,
    which may be grouped): the last sort key, so that rows never move between pages."""
    for description in statement.column_descriptions:
        if description["entity"] is not None and description["expr"] is description["entity"]:
            return list(inspect(description["entity"]).primary_key)
    return []


@dataclass
class Page:
    """One page of a list: its rows, the total count and where it stands."""

    search: Search
    rows: list[Any]
    count: int
    number: int
    pages: int

    @property
    def count_text(self) -> str:
        return self.search.listing.count_text(self.count)

    def numbers(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and those ``around`` the current one; ``None`` for a gap."""
        shown = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        numbers: list[int | None] = []
        for n in sorted(p for p in shown if 1 <= p <= self.pages):
            if numbers and n - (numbers[-1] or 0) > 1:
                numbers.append(None)
            numbers.append(n)
        return numbers


def render_list(listing: SearchList, template: str = "lists/list.html", **context: Any) -> Response:
    """The list's page, or for HTMX only its results (the partial of ``template``).

    A plugin's page template extends ``lists/list.html``; its partial includes
    ``lists/_list.html``."""
    search = listing.search(request.args)
    results = search.page() if search.valid else None
    return render(template, search=search, results=results, results_template=partial_name(template), **context)
