"""The CNSS's files that agents import (CORE-13): establishments, insured persons,
beneficiaries, AMO rights, PEC, DR, transfers (« émissions ») and payments. Headers are
the seed's labels; each file updates its rows by their CNSS key (``app.imports.upsert``).

Order matters once: establishments and insured persons first, then what refers to them
(a row that names an unknown establishment, insured person, DR or transfer is refused)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.imports import upsert
from app.plugins import ImportColumn, Importer
from plugins.cnss import validators as v
from plugins.cnss.models import (
    PEC_SITUATIONS,
    DR_SITUATIONS,
    RELATIONSHIPS,
    SECTORS,
    BankTransfer,
    Beneficiary,
    CareAuthorisation,
    Establishment,
    InsuredPerson,
    Payment,
    ReimbursementFile,
    RightsPeriod,
)
from plugins.cnss.space import INSURER


def _exists(column: Any, value: Any) -> bool:
    return db.session.scalar(select(column).where(column == value).limit(1)) is not None


def _known_establishment(inpe: str) -> None:
    if not _exists(Establishment.inpe, inpe):
        raise ValueError(_("Établissement inconnu : aucun établissement n'a l'Identifiant National %(inpe)s.", inpe=inpe))


def _known_insured(cnss_number: str) -> None:
    if not _exists(InsuredPerson.cnss_number, cnss_number):
        raise ValueError(_("Assuré inconnu : aucun assuré n'a le N° CNSS %(number)s.", number=cnss_number))


def _checked(message: str | None) -> None:
    if message:
        raise ValueError(_(message))


# --------------------------------------------------------------------------
# Columns shared by several files
# --------------------------------------------------------------------------


def inpe_column(header: str = "Identifiant National", key: str = "inpe", required: bool = True) -> ImportColumn:
    return ImportColumn(header, key, required=required, pattern=v.INPE_PATTERN, message=v.INPE_MESSAGE, help="INPE, 9 chiffres.")


def cnss_column(header: str = "N° CNSS") -> ImportColumn:
    return ImportColumn(header, "cnss_number", required=True, pattern=v.CNSS_NUMBER_PATTERN, message=v.CNSS_NUMBER_MESSAGE,
                        help="Immatriculation de l'assuré, 9 chiffres.")


def cni_column(header: str, required: bool = False) -> ImportColumn:
    return ImportColumn(header, "cni", required=required, max_length=8, help="1 ou 2 lettres puis des chiffres.")


# --------------------------------------------------------------------------
# Establishments, insured persons, beneficiaries, rights
# --------------------------------------------------------------------------


def write_establishment(row: dict[str, Any]) -> None:
    """An establishment by its INPE; the ICE, when given, must carry its check key."""
    sector = row["sector"] or SECTORS["prive"]
    row["sector"] = next(code for code, label in SECTORS.items() if label == sector)
    if row["ice"]:
        _checked(v.ice_error(row["ice"]))
    elif row["sector"] == "prive":
        raise ValueError(_("L'Identifiant Commun de l'Entreprise (ICE) est obligatoire hors secteur public."))
    if row["director_cnie"]:
        row["director_cnie"] = v.compact(row["director_cnie"])
        _checked(v.cnie_or_residence_card_error(row["director_cnie"]))
    if row["director_inpe"]:
        _checked(v.inpe_error(row["director_inpe"]))
    if row["director_email"]:
        row["director_email"] = row["director_email"].lower()
    if row["director_gsm"]:
        row["director_gsm"] = gsm(row["director_gsm"])
    row["address"] = row["address"] or ""
    row["city"] = row["city"] or ""
    upsert(Establishment, row, key=("inpe",))


def gsm(value: str) -> str:
    """« 06 61 23 45 67 » or « +212661234567 » → « +212661234567 » (SPEC FORMATS)."""
    digits = "".join(c for c in value if c.isdigit() and c.isascii())
    if digits.startswith("212") and len(digits) == 12 and digits[3] in "67":
        return "+" + digits
    if digits.startswith("0") and len(digits) == 10 and digits[1] in "67":
        return "+212" + digits[1:]
    raise ValueError(_("Le N° GSM commence par 06 ou 07 (ou +212 6, +212 7) suivi de 8 chiffres."))


ESTABLISHMENTS = Importer(
    insurer=INSURER,
    code="etablissements",
    title="Établissements de soins",
    description="Les établissements de soins connus de la CNSS et leur directeur, mis à jour par leur Identifiant National.",
    columns=(
        inpe_column(),
        ImportColumn("Nom de l'établissement", "name", required=True, max_length=200),
        ImportColumn("Identifiant Commun de l'Entreprise", "ice", max_length=15, help="ICE, 15 chiffres ; vide pour le secteur public."),
        ImportColumn("Adresse", "address", max_length=300),
        ImportColumn("Ville", "city", max_length=100),
        ImportColumn("Secteur", "sector", max_length=10, choices=tuple(SECTORS.values()), help="Vide : Privé."),
        ImportColumn("Nom du directeur", "director_last_name", max_length=100),
        ImportColumn("Prénom du directeur", "director_first_name", max_length=100),
        ImportColumn("Identifiant National du praticien", "director_inpe", max_length=9, help="INPE du directeur."),
        ImportColumn("CNIE / carte séjour", "director_cnie", max_length=14),
        ImportColumn("Email", "director_email", max_length=254),
        ImportColumn("N° GSM", "director_gsm", max_length=20),
    ),
    key=("inpe",),
    write=write_establishment,
)


def write_insured(row: dict[str, Any]) -> None:
    """An insured person by N° CNSS."""
    if row["cni"]:
        row["cni"] = v.compact(row["cni"])
        _checked(v.cni_error(row["cni"]))
    upsert(InsuredPerson, row, key=("cnss_number",))


INSURED = Importer(
    insurer=INSURER,
    code="assures",
    title="Assurés",
    description="Les assurés AMO, mis à jour par leur N° CNSS.",
    columns=(
        cnss_column(),
        cni_column("CNI"),
        ImportColumn("Nom", "last_name", required=True, max_length=100),
        ImportColumn("Prénom", "first_name", required=True, max_length=100),
        ImportColumn("Date de naissance", "birth_date", type="date"),
    ),
    key=("cnss_number",),
    write=write_insured,
)


def write_beneficiary(row: dict[str, Any]) -> None:
    """A beneficiary of a known insured person, by N° CNSS and N° d'ordre."""
    _known_insured(row["cnss_number"])
    if row["rank"] < 1:
        raise ValueError(_("Le N° d'ordre d'un bénéficiaire commence à 1 (0 désigne l'assuré)."))
    if row["cni"]:
        row["cni"] = v.compact(row["cni"])
        _checked(v.cni_error(row["cni"]))
    upsert(Beneficiary, row, key=("cnss_number", "rank"))


BENEFICIARIES = Importer(
    insurer=INSURER,
    code="beneficiaires",
    title="Bénéficiaires",
    description="Les bénéficiaires rattachés aux assurés, par N° CNSS de l'assuré et N° d'ordre.",
    columns=(
        cnss_column("N° CNSS de l'assuré"),
        ImportColumn("N° d'ordre", "rank", type="int", required=True, help="1, 2 … dans la famille de l'assuré."),
        ImportColumn("Lien de parenté", "relationship", required=True, max_length=30, choices=RELATIONSHIPS),
        ImportColumn("Nom", "last_name", required=True, max_length=100),
        ImportColumn("Prénom", "first_name", required=True, max_length=100),
        ImportColumn("Date de naissance", "birth_date", type="date"),
        cni_column("N° CNI"),
    ),
    key=("cnss_number", "rank"),
    write=write_beneficiary,
)


def write_rights(row: dict[str, Any]) -> None:
    """A rights period of an insured person (N° d'ordre 0) or of a beneficiary."""
    _known_insured(row["cnss_number"])
    if row["rank"] < 0:
        raise ValueError(_("Le N° d'ordre est 0 pour l'assuré, 1, 2 … pour ses bénéficiaires."))
    if row["rank"] and not db.session.scalar(
        select(Beneficiary.id).where(Beneficiary.cnss_number == row["cnss_number"], Beneficiary.rank == row["rank"])
    ):
        raise ValueError(_("Bénéficiaire inconnu : l'assuré %(number)s n'a pas de bénéficiaire n° %(rank)s.", number=row["cnss_number"], rank=row["rank"]))
    if row["ends_on"] is not None and row["ends_on"] < row["starts_on"]:
        raise ValueError(_("La date de fin des droits précède la date de début."))
    upsert(RightsPeriod, row, key=("cnss_number", "rank", "starts_on"))


RIGHTS = Importer(
    insurer=INSURER,
    code="droits",
    title="Droits AMO",
    description="Les périodes d'ouverture des droits à l'AMO des assurés et de leurs bénéficiaires.",
    columns=(
        cnss_column(),
        ImportColumn("N° d'ordre", "rank", type="int", required=True, help="0 pour l'assuré, le N° d'ordre du bénéficiaire sinon."),
        ImportColumn("Date début", "starts_on", type="date", required=True),
        ImportColumn("Date fin", "ends_on", type="date", help="Vide tant que les droits sont ouverts."),
    ),
    key=("cnss_number", "rank", "starts_on"),
    write=write_rights,
)


# --------------------------------------------------------------------------
# PEC, DR, transfers, payments
# --------------------------------------------------------------------------


def write_pec(row: dict[str, Any]) -> None:
    """A PEC of a known establishment, by its number."""
    _known_establishment(row["inpe"])
    row["beneficiary"] = row["beneficiary"] or ""
    upsert(CareAuthorisation, row, key=("number",))


PEC = Importer(
    insurer=INSURER,
    code="pec",
    title="Demandes de prise en charge (PEC)",
    description="Les PEC reçues par la CNSS et leur situation, mises à jour par leur numéro.",
    columns=(
        inpe_column(),
        cnss_column("N°CNSS"),
        ImportColumn("Bénéficiaire", "beneficiary", max_length=200),
        ImportColumn("N° de la PEC", "number", required=True, max_length=20),
        ImportColumn("Date de réception", "received_on", type="date", required=True),
        ImportColumn("Montant demandé (DH)", "amount_requested", type="decimal", required=True),
        ImportColumn("Montant accordé (DH)", "amount_granted", type="decimal"),
        ImportColumn("Situation de la PEC", "situation", required=True, max_length=40, choices=PEC_SITUATIONS),
        ImportColumn("Date de situation", "situation_on", type="date"),
        ImportColumn("Document", "document", max_length=100, help="Référence du document de la décision."),
    ),
    key=("number",),
    write=write_pec,
)


def write_dr(row: dict[str, Any]) -> None:
    """A DR of a known establishment, by its number."""
    _known_establishment(row["inpe"])
    row["beneficiary"] = row["beneficiary"] or ""
    upsert(ReimbursementFile, row, key=("number",))


DR = Importer(
    insurer=INSURER,
    code="dr",
    title="Dossiers de remboursement (DR)",
    description="Les DR déposés par les établissements et leur situation, mis à jour par leur numéro.",
    columns=(
        inpe_column(),
        cnss_column(),
        ImportColumn("Bénéficiaire", "beneficiary", max_length=200),
        ImportColumn("N° du DR", "number", required=True, max_length=20),
        ImportColumn("Date de dépôt", "filed_on", type="date", required=True),
        ImportColumn("N° de la PEC", "pec_number", max_length=20),
        ImportColumn("Montant facturé (DH)", "amount_billed", type="decimal", required=True),
        ImportColumn("Date de soins", "care_on", type="date"),
        ImportColumn("Situation du dossier", "situation", required=True, max_length=40, choices=DR_SITUATIONS),
        ImportColumn("Date de situation", "situation_on", type="date"),
        ImportColumn("Motifs retour", "return_reasons", max_length=500),
    ),
    key=("number",),
    write=write_dr,
)


def write_emission(row: dict[str, Any]) -> None:
    """A transfer to a known establishment, by its number."""
    _known_establishment(row["inpe"])
    upsert(BankTransfer, row, key=("number",))


EMISSIONS = Importer(
    insurer=INSURER,
    code="emissions",
    title="Émissions (virements)",
    description="Les virements émis au profit des établissements ; un virement paie plusieurs dossiers.",
    columns=(
        inpe_column(),
        ImportColumn("N° d'émission", "number", required=True, max_length=20),
        ImportColumn("Montant global viré", "amount", type="decimal", required=True),
        ImportColumn("Date d'émission", "issued_on", type="date", required=True),
    ),
    key=("number",),
    write=write_emission,
)


def write_payment(row: dict[str, Any]) -> None:
    """The payment of a DR by a transfer, both of the row's establishment."""
    dr_inpe = db.session.scalar(select(ReimbursementFile.inpe).where(ReimbursementFile.number == row["dr_number"]))
    if dr_inpe is None:
        raise ValueError(_("DR inconnu : aucun dossier n'a le N° %(number)s.", number=row["dr_number"]))
    if dr_inpe != row["inpe"]:
        raise ValueError(_("Le DR %(number)s n'est pas de l'établissement %(inpe)s.", number=row["dr_number"], inpe=row["inpe"]))
    emission_inpe = db.session.scalar(select(BankTransfer.inpe).where(BankTransfer.number == row["emission_number"]))
    if emission_inpe is None:
        raise ValueError(_("Émission inconnue : aucun virement n'a le N° %(number)s.", number=row["emission_number"]))
    if emission_inpe != row["inpe"]:
        raise ValueError(_("L'émission %(number)s n'est pas de l'établissement %(inpe)s.", number=row["emission_number"], inpe=row["inpe"]))
    upsert(Payment, row, key=("dr_number", "emission_number"))


PAYMENTS = Importer(
    insurer=INSURER,
    code="paiements",
    title="Paiements",
    description="Le détail des paiements : chaque DR payé et l'émission (virement) qui l'a payé.",
    columns=(
        inpe_column(),
        ImportColumn("N° du DR", "dr_number", required=True, max_length=20),
        ImportColumn("N° d'émission", "emission_number", required=True, max_length=20),
        ImportColumn("Montant payé (DH)", "amount_paid", type="decimal", required=True),
        ImportColumn("Date de paiement", "paid_on", type="date", required=True),
        ImportColumn("Réf facture", "invoice_ref", max_length=50),
        ImportColumn("Observation", "observation", max_length=300),
    ),
    key=("dr_number", "emission_number"),
    write=write_payment,
)

#: in the order the files must be imported
IMPORTERS = (ESTABLISHMENTS, INSURED, BENEFICIARIES, RIGHTS, PEC, DR, EMISSIONS, PAYMENTS)
