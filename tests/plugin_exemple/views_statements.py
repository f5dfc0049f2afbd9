"""« Relevés »: the member's statements, searched, paged, sorted and exported
through the core's list component (``app.lists``, ``app.exports``)."""
from __future__ import annotations

from flask import Response
from flask_login import current_user
from sqlalchemy import select

from app.exports import export_list
from app.lists import (
    Column,
    Criteria,
    SearchList,
    amount_criterion,
    at_least,
    between,
    choice_criterion,
    contains,
    equals,
    period_criterion,
    render_list,
    text_criterion,
)
from app.spaces import requires_profile
from tests.plugin_exemple import pages
from tests.plugin_exemple.models import Statement

SITUATIONS = (("Payé", "Payé"), ("En cours", "En cours"), ("Rejeté", "Rejeté"))


class StatementCriteria(Criteria):
    """The criteria of « Relevés »."""

    numero = text_criterion("N° du relevé", max_length=20)
    libelle = text_criterion("Libellé")
    periode = period_criterion("Date de paiement", recent_years=True)
    montant_min = amount_criterion("Montant minimum (DH)")
    situation = choice_criterion("Situation", SITUATIONS)


STATEMENTS = SearchList(
    name="releves",
    title="Relevés",
    endpoint="exemple.statements",
    export_endpoint="exemple.statements_export",
    query=select(Statement),
    # the member sees their own statements only: the page, the count and the export alike
    scope=lambda: Statement.member_number == current_user.tenant_ref,
    columns=(
        Column("number", "N° du relevé", sort=Statement.number),
        Column("paid_on", "Date de paiement", type="date", sort=Statement.paid_on),
        Column("label", "Libellé", sort=Statement.label),
        Column("amount", "Montant (DH)", type="amount", sort=Statement.amount),
        Column("status", "Situation", sort=Statement.status),
    ),
    criteria=StatementCriteria,
    filters={
        "numero": contains(Statement.number),
        "libelle": contains(Statement.label),
        "periode": between(Statement.paid_on),
        "montant_min": at_least(Statement.amount),
        "situation": equals(Statement.status),
    },
    default_sort="paid_on",
    default_dir="desc",
)


@pages.get("/releves")
@requires_profile("CONSULT")
def statements() -> Response:
    """« Relevés »: reachable only once logged in with profile CONSULT."""
    return render_list(STATEMENTS, "exemple/releves.html", tenant=current_user.tenant_ref)


@pages.get("/releves/export")
@requires_profile("CONSULT")
def statements_export() -> Response:
    """The same statements as an Excel file: the forced-change gate covers exports too."""
    return export_list(STATEMENTS)
