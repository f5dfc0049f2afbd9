"""« Droits assurés » (CNSS-8): find an insured person by N° CNSS or CNI and read the AMO
rights of the family. Open to any establishment, since checking a patient's rights is the
point (CNSS-16), so every check is recorded in the audit trail with who, whom and the answer."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from sqlalchemy import select

from app import audit
from app.extensions import db
from app.models import Account
from plugins.cnss.models import Beneficiary, Establishment, InsuredPerson, RightsPeriod
from plugins.cnss.scoping import establishment_of

SearchKey = Literal["cnss", "cni"]

#: audit actions: the check on screen, and the attestation downloaded as a PDF
CHECK_ACTION = "cnss_rights_check"
ATTESTATION_ACTION = "cnss_rights_attestation"


@dataclass(frozen=True)
class Period:
    """One period of AMO rights: « date début », « date fin » (none while open)."""

    starts_on: date
    ends_on: date | None

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class PersonRights:
    """The insured (``relationship`` None) or one beneficiary, with their rights periods, latest first."""

    last_name: str
    first_name: str
    birth_date: date | None
    cni: str | None
    periods: tuple[Period, ...]
    relationship: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.last_name} {self.first_name}".strip()

    def open_on(self, day: date) -> bool:
        """Whether one of the periods covers ``day``."""
        return any(p.covers(day) for p in self.periods)


@dataclass(frozen=True)
class RightsCheck:
    """The answer of one check, stamped with its time and its reference (the audit event's)."""

    searched_by: SearchKey
    searched: str
    checked_at: datetime
    reference: str
    establishment: Establishment | None
    cnss_number: str | None = None
    insured: PersonRights | None = None
    beneficiaries: tuple[PersonRights, ...] = ()

    @property
    def found(self) -> bool:
        return self.insured is not None


def find_insured(searched_by: SearchKey, value: str) -> InsuredPerson | None:
    """The insured person with this N° CNSS, or with this CNI (the insured's own first,
    then a beneficiary's: a spouse's card leads to the family she is covered in)."""
    if searched_by == "cnss":
        return db.session.scalar(select(InsuredPerson).where(InsuredPerson.cnss_number == value))
    insured = db.session.scalar(select(InsuredPerson).where(InsuredPerson.cni == value).order_by(InsuredPerson.id).limit(1))
    if insured is not None:
        return insured
    return db.session.scalar(
        select(InsuredPerson)
        .join(Beneficiary, Beneficiary.cnss_number == InsuredPerson.cnss_number)
        .where(Beneficiary.cni == value)
        .order_by(InsuredPerson.id)
        .limit(1)
    )


def family_rights(insured: InsuredPerson) -> tuple[PersonRights, tuple[PersonRights, ...]]:
    """The insured's rights and each beneficiary's (in the family's order), two queries."""
    periods: dict[int, list[Period]] = {}
    for row in db.session.scalars(
        select(RightsPeriod).where(RightsPeriod.cnss_number == insured.cnss_number).order_by(RightsPeriod.rank, RightsPeriod.starts_on.desc())
    ):
        periods.setdefault(row.rank, []).append(Period(row.starts_on, row.ends_on))
    holder = PersonRights(insured.last_name, insured.first_name, insured.birth_date, insured.cni, tuple(periods.get(0, ())))
    beneficiaries = tuple(
        PersonRights(b.last_name, b.first_name, b.birth_date, b.cni, tuple(periods.get(b.rank, ())), relationship=b.relationship)
        for b in db.session.scalars(
            select(Beneficiary).where(Beneficiary.cnss_number == insured.cnss_number).order_by(Beneficiary.rank)
        )
    )
    return holder, beneficiaries


def check_rights(searched_by: SearchKey, value: str, *, account: Account, attestation: bool = False) -> RightsCheck:
    """Look the rights up and record the check in the audit trail (the caller commits).

    The audit event gives the check its time and its reference, so that the screen,
    the attestation and the trail agree."""
    inpe = establishment_of(account)
    insured = find_insured(searched_by, value)
    event = audit.record(
        ATTESTATION_ACTION if attestation else CHECK_ACTION,
        account=account,
        establishment=inpe,
        searched_by=searched_by,
        number=value,
        found=insured is not None,
        cnss_number=insured.cnss_number if insured is not None else None,
    )
    db.session.flush()
    establishment = db.session.scalar(select(Establishment).where(Establishment.inpe == inpe))
    check = RightsCheck(
        searched_by=searched_by,
        searched=value,
        checked_at=event.at,
        reference=f"DA-{event.at:%Y%m%d}-{event.id:07d}",
        establishment=establishment,
    )
    if insured is None:
        return check
    holder, beneficiaries = family_rights(insured)
    return replace(check, cnss_number=insured.cnss_number, insured=holder, beneficiaries=beneficiaries)
