"""The lists of the profile « Consultation des paiements » (CNSS-11 to CNSS-13): the
reimbursement files (DR), the payments, the bank transfers (« émissions ») and the
payments of one transfer, declared once with the core's list component and scoped
through ``plugins.cnss.scoping``."""
from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, select
from wtforms import StringField
from wtforms.validators import Optional

from app.lists import (
    Column,
    Criteria,
    Filter,
    SearchList,
    amount_criterion,
    between,
    choice_criterion,
    equals,
    period_criterion,
    text_criterion,
)
from app.templating import format_date
from plugins.cnss.models import DR_SITUATIONS, BankTransfer, Payment, ReimbursementFile
from plugins.cnss.scoping import own_rows
from plugins.cnss.validators import cnss_number_error, field_check

DR = ReimbursementFile


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def cnss_number_criterion(label: str) -> StringField:
    """« N°CNSS »: 9 digits (SPEC « FORMATS »), spaces ignored, the format's message next to the field."""
    return StringField(_l(label), validators=[Optional(), field_check(cnss_number_error)], filters=[_strip],
                       render_kw={"inputmode": "numeric", "maxlength": "12"})


def file_number_criterion(label: str) -> StringField:
    """A file's number (« N° du DR », « N° du PEC »): matched whole, whatever the case."""
    return text_criterion(label, max_length=20)


def same_number(column: Any) -> Filter:
    """Filter: the number typed, upper-cased, equals the column (the indexes lead with ``inpe``
    then the number, so that the lookup stays quick on a large establishment)."""
    return lambda value: column == value.upper()


# --------------------------------------------------------------------------
# « Suivi des dossiers de remboursement (DR) » (CNSS-11)
# --------------------------------------------------------------------------


class ReimbursementFileCriteria(Criteria):
    """The criteria of « Suivi des dossiers de remboursement (DR) », in the seed's order."""

    cnss = cnss_number_criterion("N°CNSS")
    pec = file_number_criterion("N° du PEC")
    dr = file_number_criterion("N° du DR")
    # seed 003 opens the list on 1 January of the previous year (CORE-18)
    depot = period_criterion("Date de dépôt", recent_years=True)
    situation = choice_criterion("Situation du dossier", tuple((s, s) for s in DR_SITUATIONS))


REIMBURSEMENT_FILES = SearchList(
    name="dossiers-remboursement",
    title="Suivi des dossiers de remboursement (DR)",
    endpoint="cnss.dr_files",
    export_endpoint="cnss.dr_files_export",
    query=select(DR),
    scope=lambda: own_rows(DR),
    columns=(
        Column("cnss_number", "N° CNSS", sort=DR.cnss_number),
        Column("beneficiary", "Bénéficiaire", sort=DR.beneficiary),
        Column("number", "N° du DR", sort=DR.number),
        Column("filed_on", "Date de dépôt", type="date", sort=DR.filed_on),
        Column("pec_number", "N° de la PEC", sort=DR.pec_number),
        Column("amount_billed", "Montant facturé (DH)", type="amount", sort=DR.amount_billed),
        Column("care_on", "Date de soins", type="date", sort=DR.care_on),
        Column("situation", "Situation du dossier", sort=DR.situation),
        Column("situation_on", "Date de situation", type="date", sort=DR.situation_on),
        Column("return_reasons", "Motifs retour"),
    ),
    criteria=ReimbursementFileCriteria,
    filters={
        "cnss": equals(DR.cnss_number),
        "pec": same_number(DR.pec_number),
        "dr": same_number(DR.number),
        "depot": between(DR.filed_on),
        "situation": equals(DR.situation),
    },
    default_sort="filed_on",
    default_dir="desc",
    count_label="Nombre de dossiers : %(count)s",
)


# --------------------------------------------------------------------------
# « Suivi des paiements » — « Détail des paiements » (CNSS-12)
# --------------------------------------------------------------------------


def own_payments() -> ColumnElement[bool]:
    """The establishment's payments, of its own files: both sides of the join are scoped,
    so that a payment row pointing at another establishment's DR shows nothing of it."""
    return and_(own_rows(Payment), own_rows(DR))


#: the payments joined to the file they pay (rows: ``row.Payment``, ``row.ReimbursementFile``)
PAYMENTS_QUERY = select(Payment, DR).join(DR, DR.number == Payment.dr_number)

#: the columns of « Liste des paiements », also those of a transfer's detail and its export
PAYMENT_COLUMNS = (
    Column("cnss_number", "N° CNSS", value="ReimbursementFile.cnss_number", sort=DR.cnss_number),
    Column("beneficiary", "Bénéficiaire", value="ReimbursementFile.beneficiary", sort=DR.beneficiary),
    Column("dr_number", "N° de DR", value="Payment.dr_number", sort=Payment.dr_number),
    Column("pec_number", "N° de la PEC", value="ReimbursementFile.pec_number", sort=DR.pec_number),
    Column("filed_on", "Date de dépôt", type="date", value="ReimbursementFile.filed_on", sort=DR.filed_on),
    Column("amount_paid", "Montant payé (DH)", type="amount", value="Payment.amount_paid", sort=Payment.amount_paid),
    Column("care_on", "Date de soins", type="date", value="ReimbursementFile.care_on", sort=DR.care_on),
    Column("paid_on", "Date de paiement", type="date", value="Payment.paid_on", sort=Payment.paid_on),
    Column("invoice_ref", "Réf facture", value="Payment.invoice_ref", sort=Payment.invoice_ref),
    Column("observation", "Observation", value="Payment.observation"),
)


class PaymentCriteria(Criteria):
    """The criteria of « Détail des paiements », in the seed's order."""

    cnss = cnss_number_criterion("N°CNSS")
    dr = file_number_criterion("N° du DR")
    pec = file_number_criterion("N° du PEC")
    depot = period_criterion("Date de dépôt", recent_years=True)
    paiement = period_criterion("Date de paiement")


PAYMENTS = SearchList(
    name="paiements",
    title="Détail des paiements",
    endpoint="cnss.payments",
    export_endpoint="cnss.payments_export",
    query=PAYMENTS_QUERY,
    scope=own_payments,
    columns=PAYMENT_COLUMNS,
    criteria=PaymentCriteria,
    filters={
        "cnss": equals(DR.cnss_number),
        "dr": same_number(Payment.dr_number),
        "pec": same_number(DR.pec_number),
        "depot": between(DR.filed_on),
        "paiement": between(Payment.paid_on),
    },
    default_sort="paid_on",
    default_dir="desc",
    count_label="Nombre de dossiers : %(count)s",
)


# --------------------------------------------------------------------------
# « Détail des paiements par date d'émission » (CNSS-13)
# --------------------------------------------------------------------------


class EmissionCriteria(Criteria):
    """« Montant » (the amount transferred) and « Date d'émission », by default this year and the last."""

    montant = amount_criterion("Montant")
    emission = period_criterion("Date d'émission", recent_years=True)


EMISSIONS = SearchList(
    name="emissions",
    title="Détail des paiements par date d'émission",
    endpoint="cnss.emissions",
    query=select(BankTransfer),
    scope=lambda: own_rows(BankTransfer),
    columns=(
        Column("amount", "Montant global viré", type="amount", sort=BankTransfer.amount),
        Column("issued_on", "Date d'émission", type="date", sort=BankTransfer.issued_on),
        Column("detail", "Détail", value=lambda t: gettext("détail"),
               link=lambda t: url_for("cnss.emission_detail", emission_id=t.id),
               link_label=lambda t: gettext("Détail de l'émission du %(date)s", date=format_date(t.issued_on))),
        Column("export", "Export", value=lambda t: gettext("Export"),
               link=lambda t: url_for("cnss.emission_export", emission_id=t.id),
               link_label=lambda t: gettext("Export de l'émission du %(date)s", date=format_date(t.issued_on))),
    ),
    criteria=EmissionCriteria,
    filters={"montant": equals(BankTransfer.amount), "emission": between(BankTransfer.issued_on)},
    default_sort="issued_on",
    default_dir="desc",
    count_label="Nombre d'émissions : %(count)s",
    empty_label="Aucune émission ne correspond à ces critères.",
)


def _requested_transfer() -> ColumnElement[bool]:
    """The payments of the transfer in the URL, only if it is the establishment's own: a
    transfer of another establishment selects no payment, even if a view forgot its 404."""
    transfer = (
        select(BankTransfer.number)
        .where(BankTransfer.id == (request.view_args or {}).get("emission_id"), own_rows(BankTransfer))
        .scalar_subquery()
    )
    return and_(own_payments(), Payment.emission_number == transfer)


#: « détail » of one transfer: the files it paid, with the columns of « Détail des paiements »
EMISSION_PAYMENTS = SearchList(
    name="paiements-emission",
    title="Détail des paiements",
    endpoint="cnss.emission_detail",
    export_endpoint="cnss.emission_export",
    query=PAYMENTS_QUERY,
    scope=_requested_transfer,
    columns=PAYMENT_COLUMNS,
    default_sort="dr_number",
    count_label="Nombre de dossiers : %(count)s",
)
