"""The screens of the profile « Consultation des paiements » (CNSS-11 to CNSS-14): the
reimbursement files (DR), the payments, the transfers (« émissions ») with their detail
and export, and the summary of the files by situation. Each answers only that profile."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from flask import Response, abort, request
from flask_babel import format_decimal, gettext
from sqlalchemy import func, select

from app.exports import export_list
from app.extensions import db
from app.htmx import render
from app.lists import Criteria, between, period_criterion, render_list
from app.spaces import requires_profile
from plugins.cnss.lists_payments import EMISSION_PAYMENTS, EMISSIONS, PAYMENTS, REIMBURSEMENT_FILES
from plugins.cnss.models import DR_SITUATIONS, BankTransfer, ReimbursementFile
from plugins.cnss.scoping import own_rows, scoped
from plugins.cnss.space import PAYMENTS as PAYMENTS_PROFILE
from plugins.cnss.space import pages

ZERO = Decimal("0.00")


def _amount(value: Decimal) -> str:
    """« 1 250,50 », as the lists show amounts."""
    return format_decimal(value, format="#,##0.00")


# --------------------------------------------------------------------------
# « Suivi des dossiers de remboursement (DR) » (CNSS-11)
# --------------------------------------------------------------------------


@pages.get("/dossiers-remboursement")
@requires_profile(PAYMENTS_PROFILE)
def dr_files() -> Response:
    """The establishment's DR, searched by N°CNSS, PEC, DR, deposit period and situation."""
    return render_list(REIMBURSEMENT_FILES, "cnss/dr_files.html")


@pages.get("/dossiers-remboursement/export")
@requires_profile(PAYMENTS_PROFILE)
def dr_files_export() -> Response:
    """« Exporter »: the DR of the same criteria as an Excel file."""
    return export_list(REIMBURSEMENT_FILES)


# --------------------------------------------------------------------------
# « Suivi des paiements » (CNSS-12, CNSS-13)
# --------------------------------------------------------------------------


@pages.get("/paiements")
@requires_profile(PAYMENTS_PROFILE)
def payments_home() -> Response:
    """« Suivi des paiements »: the choice between the two rubrics of the seed."""
    return render("cnss/payments_home.html")


@pages.get("/paiements/detail")
@requires_profile(PAYMENTS_PROFILE)
def payments() -> Response:
    """« Détail des paiements »: every file paid to the establishment."""
    return render_list(PAYMENTS, "cnss/payments_detail.html")


@pages.get("/paiements/detail/export")
@requires_profile(PAYMENTS_PROFILE)
def payments_export() -> Response:
    """The payments of the same criteria as an Excel file."""
    return export_list(PAYMENTS)


@pages.get("/paiements/emissions")
@requires_profile(PAYMENTS_PROFILE)
def emissions() -> Response:
    """« Détail des paiements par date d'émission »: one row per bank transfer."""
    return render_list(EMISSIONS, "cnss/emissions_list.html")


def own_transfer_or_404(emission_id: int) -> BankTransfer:
    """The establishment's transfer, or 404: another's answers as if it did not exist."""
    transfer = db.session.scalar(scoped(BankTransfer).where(BankTransfer.id == emission_id))
    if transfer is None:
        abort(404)
    return transfer


@pages.get("/paiements/emissions/<int:emission_id>")
@requires_profile(PAYMENTS_PROFILE)
def emission_detail(emission_id: int) -> Response:
    """« détail » of a transfer: the files it paid, with the columns of « Détail des paiements »."""
    transfer = own_transfer_or_404(emission_id)
    return render_list(EMISSION_PAYMENTS, "cnss/emissions_detail.html", transfer=transfer,
                       transfer_amount=_amount(transfer.amount))


@pages.get("/paiements/emissions/<int:emission_id>/export")
@requires_profile(PAYMENTS_PROFILE)
def emission_export(emission_id: int) -> Response:
    """« Export » of a transfer: the .xlsx of the payments it made."""
    transfer = own_transfer_or_404(emission_id)
    return export_list(EMISSION_PAYMENTS, filename=f"paiements-emission-{transfer.number}")


# --------------------------------------------------------------------------
# « Récapitulatif du suivi des dossiers de remboursement » (CNSS-14)
# --------------------------------------------------------------------------


class SummaryCriteria(Criteria):
    """« Période d'envoi », by default the current and the previous year (CORE-18)."""

    envoi = period_criterion("Période d'envoi", recent_years=True)


@dataclass(frozen=True)
class SituationTotal:
    """One line of the summary: a situation, its number of files and their declared amount."""

    situation: str
    count: int
    amount: Decimal

    @property
    def amount_text(self) -> str:
        return _amount(self.amount)

    @property
    def chart_count(self) -> tuple[str, int]:
        """``(label, value)`` of the chart of the numbers of files."""
        return gettext(self.situation), self.count

    @property
    def chart_amount(self) -> tuple[str, Decimal]:
        """``(label, value)`` of the chart of the declared amounts."""
        return gettext(self.situation), self.amount


def reimbursement_summary(period: Mapping[str, Any]) -> list[SituationTotal]:
    """The establishment's DR filed in ``period`` (``{"du": date, "au": date}``), counted and
    summed by situation in SQL, in the seed's order; a situation without files counts 0."""
    statement = (
        select(ReimbursementFile.situation, func.count(), func.sum(ReimbursementFile.amount_billed))
        .where(own_rows(ReimbursementFile))
        .group_by(ReimbursementFile.situation)
    )
    condition = between(ReimbursementFile.filed_on)(period)
    if condition is not None:
        statement = statement.where(condition)
    found = {situation: (count, Decimal(total or 0).quantize(ZERO)) for situation, count, total in db.session.execute(statement)}
    order = list(DR_SITUATIONS) + sorted(s for s in found if s not in DR_SITUATIONS)
    return [SituationTotal(s, *found.get(s, (0, ZERO))) for s in order]


@pages.get("/dossiers-remboursement/recapitulatif")
@requires_profile(PAYMENTS_PROFILE)
def dr_summary() -> Response:
    """The summary table, its « Total général » and a chart of the same figures."""
    form = SummaryCriteria(formdata=request.args)
    lines: list[SituationTotal] = []
    total = SituationTotal("Total général", 0, ZERO)
    valid = form.validate()
    if valid:
        lines = reimbursement_summary(form.envoi.data)
        total = SituationTotal("Total général", sum(line.count for line in lines), sum((line.amount for line in lines), ZERO))
    return render("cnss/dr_summary.html", form=form, valid=valid, lines=lines, total=total)
