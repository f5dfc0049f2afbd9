"""The CNSS's data that the portal shows to healthcare establishments: establishments,
insured persons and their families with their AMO rights, PEC, DR, payments and the
bank transfers (« émissions ») that pay them. Fed by the importers and the demo.

Every list of the seed is scoped by the establishment (its INPE) first, then filtered:
each index of a tenant table leads with ``inpe``."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

#: « Situation de la PEC ». Only « PEC retournée » is worded by a seed (003, chart of
#: the recap); the others follow the same pattern and the CNSS's usual decisions.
PEC_SITUATIONS = (
    "PEC accordée",
    "PEC refusée",
    "PEC en cours de traitement",
    "PEC retournée",
    "PEC annulée",
)

#: « Situation du dossier » of a DR (CNSS-14, seed 002 2.3), in the seed's order
DR_PAID = "Dossier payé"
DR_CANCELLED = "Dossier annulé"
DR_IN_PROGRESS = "Dossier en cours de traitement"
DR_RETURNED = "Dossier retourné"
DR_SITUATIONS = (DR_PAID, DR_CANCELLED, DR_IN_PROGRESS, DR_RETURNED)

#: « Secteur » of an establishment: the adhesion form differs (610-1-14 privé, 610-1-16 public)
SECTORS = {"prive": "Privé", "public": "Public"}

#: « Lien de parenté » of a beneficiary
RELATIONSHIPS = ("Conjoint", "Enfant")

AMOUNT = Numeric(12, 2)


class Establishment(db.Model):
    """Établissement de soins known to the CNSS (clinic, hospital, pharmacy, laboratory…),
    with its director as declared at adhesion (CNSS-1)."""

    __tablename__ = "cnss_establishments"
    __table_args__ = (CheckConstraint("sector IN ('prive', 'public')", name="ck_cnss_establishment_sector"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: « Identifiant National » (INPE): the tenant reference of the establishment's accounts
    inpe: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: « Identifiant Commun de l'Entreprise »: private sector only
    ice: Mapped[str | None] = mapped_column(String(15))
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    sector: Mapped[str] = mapped_column(String(10), default="prive")
    director_last_name: Mapped[str | None] = mapped_column(String(100))
    director_first_name: Mapped[str | None] = mapped_column(String(100))
    #: « Identifiant National du praticien » (the director's own INPE)
    director_inpe: Mapped[str | None] = mapped_column(String(9))
    #: « CNIE / carte séjour »
    director_cnie: Mapped[str | None] = mapped_column(String(12))
    director_email: Mapped[str | None] = mapped_column(String(254))
    #: « N° GSM », stored +2126… / +2127…
    director_gsm: Mapped[str | None] = mapped_column(String(20))

    @property
    def is_public(self) -> bool:
        return self.sector == "public"


class InsuredPerson(db.Model):
    """Assuré AMO of the CNSS, found by « N° CNSS » or « CNI » (CNSS-8)."""

    __tablename__ = "cnss_insured"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: « N° CNSS » (immatriculation), 9 digits
    cnss_number: Mapped[str] = mapped_column(String(9), unique=True)
    cni: Mapped[str | None] = mapped_column(String(8), index=True)
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date | None]


class Beneficiary(db.Model):
    """Bénéficiaire attached to an insured person (« Bénéficiaires et droit AMO »)."""

    __tablename__ = "cnss_beneficiaries"
    __table_args__ = (UniqueConstraint("cnss_number", "rank", name="uq_cnss_beneficiary_rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cnss_number: Mapped[str] = mapped_column(ForeignKey("cnss_insured.cnss_number", ondelete="CASCADE"))
    #: « N° d'ordre » of the beneficiary in the family (1, 2 …; 0 is the insured)
    rank: Mapped[int]
    #: « Lien de parenté »: Conjoint, Enfant
    relationship: Mapped[str] = mapped_column(String(30))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date | None]
    #: « N° CNI », children have none
    cni: Mapped[str | None] = mapped_column(String(8), index=True)


class RightsPeriod(db.Model):
    """Période de droits AMO (« date début », « date fin ») of the insured (rank 0) or of
    one beneficiary (its rank); several per person, ``ends_on`` empty while open."""

    __tablename__ = "cnss_rights"
    __table_args__ = (
        UniqueConstraint("cnss_number", "rank", "starts_on", name="uq_cnss_rights_period"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ck_cnss_rights_dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cnss_number: Mapped[str] = mapped_column(ForeignKey("cnss_insured.cnss_number", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(default=0)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]


class CareAuthorisation(db.Model):
    """Demande de prise en charge (PEC) received by the CNSS from an establishment (CNSS-9)."""

    __tablename__ = "cnss_pec"
    __table_args__ = (
        Index("ix_cnss_pec_inpe_received", "inpe", "received_on"),
        Index("ix_cnss_pec_inpe_cnss", "inpe", "cnss_number"),
        Index("ix_cnss_pec_inpe_situation_received", "inpe", "situation", "received_on"),
        Index("ix_cnss_pec_inpe_number", "inpe", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: « N° de la PEC » (the list's « N° de dossier »)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    inpe: Mapped[str] = mapped_column(ForeignKey("cnss_establishments.inpe"))
    #: « N°CNSS » of the insured
    cnss_number: Mapped[str] = mapped_column(String(9))
    #: « Bénéficiaire »: the patient's name (the insured or a member of the family)
    beneficiary: Mapped[str] = mapped_column(String(200), default="")
    #: « Date de réception »
    received_on: Mapped[date]
    #: « Montant demandé (DH) »
    amount_requested: Mapped[Decimal] = mapped_column(AMOUNT)
    #: « Montant accordé (DH) », none until decided
    amount_granted: Mapped[Decimal | None] = mapped_column(AMOUNT)
    #: « Situation de la PEC », one of PEC_SITUATIONS
    situation: Mapped[str] = mapped_column(String(40))
    situation_on: Mapped[date | None]
    #: « Document »: the reference of the decision letter, when there is one
    document: Mapped[str | None] = mapped_column(String(100))


class ReimbursementFile(db.Model):
    """Dossier de remboursement (DR): an invoice deposited by the establishment (CNSS-11)."""

    __tablename__ = "cnss_dr"
    __table_args__ = (
        # also covers the summary (count and sum by situation over a period): read from the index only
        Index("ix_cnss_dr_inpe_filed", "inpe", "filed_on", "situation", "amount_billed"),
        Index("ix_cnss_dr_inpe_cnss", "inpe", "cnss_number"),
        Index("ix_cnss_dr_inpe_situation_filed", "inpe", "situation", "filed_on"),
        Index("ix_cnss_dr_inpe_pec", "inpe", "pec_number"),
        Index("ix_cnss_dr_inpe_number", "inpe", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: « N° du DR »
    number: Mapped[str] = mapped_column(String(20), unique=True)
    inpe: Mapped[str] = mapped_column(ForeignKey("cnss_establishments.inpe"))
    cnss_number: Mapped[str] = mapped_column(String(9))
    beneficiary: Mapped[str] = mapped_column(String(200), default="")
    #: « Date de dépôt »
    filed_on: Mapped[date]
    #: « N° de la PEC » when the care needed one
    pec_number: Mapped[str | None] = mapped_column(String(20))
    #: « Montant facturé (DH) » (the recap's « Montant déclaré »)
    amount_billed: Mapped[Decimal] = mapped_column(AMOUNT)
    #: « Date de soins »
    care_on: Mapped[date | None]
    #: « Situation du dossier », one of DR_SITUATIONS
    situation: Mapped[str] = mapped_column(String(40))
    situation_on: Mapped[date | None]
    #: « Motifs retour » of a returned file
    return_reasons: Mapped[str | None] = mapped_column(String(500))


class BankTransfer(db.Model):
    """Émission: one bank transfer to the establishment, paying several DR (CNSS-13)."""

    __tablename__ = "cnss_emissions"
    __table_args__ = (
        Index("ix_cnss_emissions_inpe_issued", "inpe", "issued_on"),
        Index("ix_cnss_emissions_inpe_amount", "inpe", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: « N° d'émission », the CNSS's reference of the transfer
    number: Mapped[str] = mapped_column(String(20), unique=True)
    inpe: Mapped[str] = mapped_column(ForeignKey("cnss_establishments.inpe"))
    #: « Montant global viré »: the sum of its payments
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    #: « Date d'émission »
    issued_on: Mapped[date]


class Payment(db.Model):
    """Paiement of one DR, part of one transfer (« Détail des paiements », CNSS-12).
    ``inpe`` repeats the DR's so that the list is scoped without a join."""

    __tablename__ = "cnss_payments"
    __table_args__ = (
        UniqueConstraint("dr_number", "emission_number", name="uq_cnss_payment"),
        Index("ix_cnss_payments_inpe_paid", "inpe", "paid_on"),
        Index("ix_cnss_payments_inpe_dr", "inpe", "dr_number"),
        Index("ix_cnss_payments_emission", "emission_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inpe: Mapped[str] = mapped_column(ForeignKey("cnss_establishments.inpe"))
    dr_number: Mapped[str] = mapped_column(ForeignKey("cnss_dr.number"))
    emission_number: Mapped[str] = mapped_column(ForeignKey("cnss_emissions.number"))
    #: « Montant payé (DH) »
    amount_paid: Mapped[Decimal] = mapped_column(AMOUNT)
    #: « Date de paiement »
    paid_on: Mapped[date]
    #: « Réf facture »
    invoice_ref: Mapped[str | None] = mapped_column(String(50))
    observation: Mapped[str | None] = mapped_column(String(300))


#: the tables whose rows belong to one establishment (scoped by ``inpe``)
TENANT_MODELS = (CareAuthorisation, ReimbursementFile, BankTransfer, Payment)
