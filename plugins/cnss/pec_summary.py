"""« Récapitulatif des prises en charge » (CNSS-10): the establishment's PEC by situation
over a « Période d'envoi », counted and summed in SQL (GROUP BY), with two indicators of
prior-authorisation follow-up: the approval rate and the average time to a decision."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Float, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.extensions import db
from app.lists import between
from plugins.cnss.models import PEC_SITUATIONS, CareAuthorisation
from plugins.cnss.scoping import own_rows

#: the two decisions: the rate is granted / (granted + refused); a returned or cancelled
#: PEC was not decided on, and one still being processed is not decided yet
GRANTED = "PEC accordée"
REFUSED = "PEC refusée"
DECISIONS = (GRANTED, REFUSED)
assert set(DECISIONS) <= set(PEC_SITUATIONS)

ONE_DECIMAL = Decimal("0.1")
CENTS = Decimal("0.01")


class days_between(FunctionElement):  # noqa: N801 (an SQL function, named like one)
    """Days from the first date to the second, in SQL: ``end - start`` on PostgreSQL,
    the difference of Julian days on SQLite (which stores dates as text)."""

    type = Float()
    inherit_cache = True


@compiles(days_between)
def _days_between(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"({compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"


@dataclass(frozen=True)
class SituationLine:
    """One line of the table: a situation (or « Total général »), its count and amounts."""

    situation: str
    count: int
    requested: Decimal
    granted: Decimal

    @property
    def chart_count(self) -> tuple[str, int]:
        """The line as a bar of the chart (``app.charts.bar_chart``)."""
        return (self.situation, self.count)


@dataclass(frozen=True)
class PecSummary:
    """The table's lines in the situations' order, the total line and the two indicators
    (None when no PEC of the period was decided)."""

    lines: tuple[SituationLine, ...]
    total: SituationLine
    decided: int
    approval_rate: Decimal | None
    average_days: Decimal | None


def _rounded(value: Decimal) -> Decimal:
    return value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def _amount(value: Any) -> Decimal:
    """A sum as dirhams with 2 decimals (SQLite may hand back a float)."""
    return Decimal(str(value)).quantize(CENTS, rounding=ROUND_HALF_UP)


def pec_summary(period: Mapping[str, date | None]) -> PecSummary:
    """The logged-in establishment's PEC received within ``period`` (``du``, ``au``; both
    optional), through the same scope and date filter as the list « Suivi des demandes »."""
    pec = CareAuthorisation
    decided = pec.situation.in_(DECISIONS) & pec.situation_on.is_not(None)
    statement = (
        select(
            pec.situation,
            func.count(pec.id),
            func.coalesce(func.sum(pec.amount_requested), 0),
            func.coalesce(func.sum(pec.amount_granted), 0),
            func.sum(case((decided, days_between(pec.received_on, pec.situation_on)))),
            func.count(case((decided, pec.id))),
        )
        .where(own_rows(pec))
        .group_by(pec.situation)
    )
    window = between(pec.received_on)(period)
    if window is not None:
        statement = statement.where(window)
    found: dict[str, SituationLine] = {}
    delay_days = Decimal(0)
    delay_count = 0
    for situation, count, requested, granted, days, timed in db.session.execute(statement):
        found[situation] = SituationLine(situation, count, _amount(requested), _amount(granted))
        if timed:
            delay_days += Decimal(str(days))
            delay_count += timed
    order = list(PEC_SITUATIONS) + sorted(s for s in found if s not in PEC_SITUATIONS)
    lines = tuple(found.get(s, SituationLine(s, 0, Decimal("0.00"), Decimal("0.00"))) for s in order)
    total = SituationLine(
        "Total général",
        sum(line.count for line in lines),
        sum((line.requested for line in lines), Decimal("0.00")),
        sum((line.granted for line in lines), Decimal("0.00")),
    )
    granted_count = found[GRANTED].count if GRANTED in found else 0
    decided_count = granted_count + (found[REFUSED].count if REFUSED in found else 0)
    return PecSummary(
        lines=lines,
        total=total,
        decided=decided_count,
        approval_rate=_rounded(Decimal(100 * granted_count) / decided_count) if decided_count else None,
        average_days=_rounded(delay_days / delay_count) if delay_count else None,
    )
