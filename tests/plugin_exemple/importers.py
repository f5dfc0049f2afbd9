"""The test insurer's importer « Relevés »: the statements file its agents upload
into ``exemple_statements``, one row per statement, updated by its number."""
from __future__ import annotations

from typing import Any

from app.imports import upsert
from app.plugins import ImportColumn, Importer
from tests.plugin_exemple.models import Statement


def write_statement(row: dict[str, Any]) -> None:
    """Insert the statement, or update the one with the same « N° de relevé »."""
    row["label"] = row["label"] or ""
    row["status"] = row["status"] or "Payé"
    upsert(Statement, row, key=("number",))


STATEMENTS = Importer(
    insurer="exemple",
    code="releves",
    title="Relevés",
    description="Les relevés de remboursement des adhérents, mis à jour par leur numéro.",
    columns=(
        ImportColumn(
            "Numéro d'adhérent",
            "member_number",
            required=True,
            pattern=r"\d{1,10}",
            message="Le numéro d'adhérent compte de 1 à 10 chiffres.",
            help="Le numéro figurant sur la carte de l'adhérent.",
        ),
        ImportColumn("N° de relevé", "number", required=True, max_length=20),
        ImportColumn("Date de paiement", "paid_on", type="date", required=True),
        ImportColumn("Libellé", "label", max_length=200),
        ImportColumn("Montant (DH)", "amount", type="decimal", required=True),
        ImportColumn("Situation", "status", max_length=20, help="Vide : « Payé »."),
    ),
    key=("number",),
    write=write_statement,
)
