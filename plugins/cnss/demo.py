"""Demo data of the CNSS space: establishments (public and private) in Moroccan cities,
insured persons with their families and AMO rights, and three years of PEC, DR,
transfers and payments for the demo establishment. Deterministic (seeded), relative to
today, inserted in bulk so that ``generate`` also fills a database for benchmarks."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from random import Random
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import Account
from app.passwords import hash_password
from app.plugins import DemoAccount, DemoSpace
from plugins.cnss.models import (
    DR_CANCELLED,
    DR_IN_PROGRESS,
    DR_PAID,
    DR_RETURNED,
    BankTransfer,
    Beneficiary,
    CareAuthorisation,
    Establishment,
    InsuredPerson,
    Payment,
    ReimbursementFile,
    RightsPeriod,
)
from plugins.cnss.space import PAYMENTS, PEC, SPACE
from plugins.cnss.validators import ice_key

#: the demo logins' password: 6 to 8 characters (CNSS-5)
DEMO_PASSWORD = "Soins#26"
#: rows sent to the database per executemany
CHUNK = 5_000


@dataclass(frozen=True)
class DemoEstablishment:
    inpe: str
    name: str
    sector: str
    address: str
    city: str
    director: tuple[str, str, str, str, str, str]  # nom, prénom, INPE, CNIE, email, GSM
    ice_base: str | None = None  # the 13 first digits of the ICE (private sector)

    @property
    def ice(self) -> str | None:
        return self.ice_base + ice_key(self.ice_base) if self.ice_base else None


DEMO_ESTABLISHMENT = DemoEstablishment(
    "101234567", "Clinique Al Amal", "prive", "45, boulevard Zerktouni", "Casablanca",
    ("Bennani", "Karim", "201234567", "BE123456", "direction@clinique-alamal.ma", "+212661234567"),
    ice_base="0015432180000",
)
#: known to the CNSS, no portal account yet: the « Nouvelle adhésion » of the demo
ENROLL_ESTABLISHMENT = DemoEstablishment(
    "107891234", "Polyclinique Al Inbiaat", "prive", "12, avenue des FAR", "Meknès",
    ("El Idrissi", "Salma", "207891234", "D456789", "direction@polyclinique-inbiaat.ma", "+212677889900"),
    ice_base="0027654310000",
)
OTHER_ESTABLISHMENTS = (
    DemoEstablishment("102345678", "Centre hospitalier provincial de Settat", "public", "Route de Casablanca", "Settat",
                      ("Alaoui", "Mehdi", "202345678", "W123987", "direction@chp-settat.ma", "+212662345678")),
    DemoEstablishment("103456789", "Pharmacie Ibn Rochd", "prive", "8, rue Ibn Rochd, Guéliz", "Marrakech",
                      ("Tazi", "Nadia", "203456789", "E654321", "pharmacie@ibnrochd.ma", "+212663456789"),
                      ice_base="0018765430000"),
    DemoEstablishment("104567891", "Laboratoire d'analyses médicales Atlas", "prive", "21, avenue Hassan II", "Fès",
                      ("Berrada", "Youssef", "204567891", "C789123", "labo@atlas-fes.ma", "+212664567891"),
                      ice_base="0023456780000"),
    DemoEstablishment("105678912", "Centre de radiologie Al Boughaz", "prive", "3, place de France", "Tanger",
                      ("Chraibi", "Leila", "205678912", "K321654", "radio@alboughaz.ma", "+212765678912"),
                      ice_base="0031234560000"),
    DemoEstablishment("106789123", "Hôpital régional Hassan II", "public", "Avenue Hassan II", "Agadir",
                      ("Ouazzani", "Rachid", "206789123", "J987654", "direction@hr-agadir.ma", "+212666789123")),
)

LAST_NAMES = (
    "Alaoui", "Bennani", "El Amrani", "Tazi", "Berrada", "Idrissi", "Chraibi", "Benjelloun", "Ouazzani", "El Fassi",
    "Lahlou", "Sqalli", "Bouzidi", "Ziani", "Haddad", "Benali", "Naciri", "Kettani", "Filali", "Saidi", "Mansouri",
    "Tahiri", "Bakkali", "Hajji", "Lamrani", "Ait Ouahmane", "Ouali", "Skalli", "Benkirane", "El Khatib", "Moussaoui",
    "Zerouali", "Amzil", "Boukhari", "Cherkaoui", "Daoudi", "El Hachimi", "Fassi Fihri", "Guessous", "Jabri",
)
MEN = ("Mohamed", "Ahmed", "Youssef", "Omar", "Hamza", "Karim", "Rachid", "Said", "Mehdi", "Anas", "Hassan",
       "Abdelaziz", "Driss", "Amine", "Ilyas", "Othmane", "Nabil", "Reda", "Tarik", "Hicham")
WOMEN = ("Fatima", "Khadija", "Aicha", "Salma", "Nadia", "Leila", "Zineb", "Meryem", "Hajar", "Imane", "Sanae",
         "Loubna", "Houda", "Samira", "Naima", "Ghizlane", "Asmae", "Kenza", "Yasmine", "Soukaina")
CNI_PREFIXES = ("A", "AB", "B", "BE", "BH", "BK", "C", "CD", "D", "E", "EE", "F", "G", "H", "I", "J", "JB", "K",
                "L", "M", "N", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z")
RETURN_REASONS = (
    "Pièces justificatives manquantes",
    "Ordonnance non conforme",
    "Signature ou cachet du médecin absent",
    "Bénéficiaire sans droits à la date des soins",
    "Délai de dépôt dépassé",
    "Facture illisible ou incomplète",
    "Code de l'acte absent de la nomenclature",
)
OBSERVATIONS = ("Ticket modérateur déduit", "Régularisation", "Paiement partiel : actes hors nomenclature", "Dépassement d'honoraires non remboursé")


def _cents(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


# --------------------------------------------------------------------------
# Establishments and the insured persons' registry
# --------------------------------------------------------------------------


def add_establishments(establishments: Sequence[DemoEstablishment]) -> None:
    """The establishments not in the table yet (idempotent)."""
    known = set(db.session.scalars(select(Establishment.inpe).where(Establishment.inpe.in_([e.inpe for e in establishments]))))
    rows = [
        {
            "inpe": e.inpe, "name": e.name, "ice": e.ice, "address": e.address, "city": e.city, "sector": e.sector,
            "director_last_name": e.director[0], "director_first_name": e.director[1], "director_inpe": e.director[2],
            "director_cnie": e.director[3], "director_email": e.director[4], "director_gsm": e.director[5],
        }
        for e in establishments
        if e.inpe not in known
    ]
    if rows:
        db.session.execute(insert(Establishment.__table__), rows)


def _chunks(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def add_insured(count: int, *, seed: str = "cnss-demo-assures", today: date | None = None) -> int:
    """``count`` insured persons with their families (a spouse for most, 0 to 4 children)
    and AMO rights periods (several for some, closed for a few). Returns how many persons
    (insured and beneficiaries) were added; 0 when the registry already has them."""
    today = today or date.today()
    rng = Random(seed)
    numbers = rng.sample(range(100_000_000, 1_000_000_000), count)
    if db.session.scalar(select(InsuredPerson.id).where(InsuredPerson.cnss_number == str(numbers[0]))):
        return 0
    cni_digits = iter(rng.sample(range(100_000, 1_000_000), count * 2))
    insured, beneficiaries, rights = [], [], []
    for number in map(str, numbers):
        man = rng.random() < 0.6
        last = rng.choice(LAST_NAMES)
        born = today - timedelta(days=rng.randrange(20 * 365, 65 * 365))
        insured.append({"cnss_number": number, "cni": f"{rng.choice(CNI_PREFIXES)}{next(cni_digits)}", "last_name": last,
                        "first_name": rng.choice(MEN if man else WOMEN), "birth_date": born})
        opened = max(born + timedelta(days=18 * 365), date(2006, 1, 1)) + timedelta(days=rng.randrange(0, 3000))
        opened = min(opened, today - timedelta(days=30))
        periods = _periods(rng, opened, today)
        rights += [{"cnss_number": number, "rank": 0, "starts_on": s, "ends_on": e} for s, e in periods]
        rank = 0
        if rng.random() < 0.7:
            rank += 1
            spouse_born = born + timedelta(days=rng.randrange(-5 * 365, 5 * 365))
            beneficiaries.append({"cnss_number": number, "rank": rank, "relationship": "Conjoint", "last_name": last if man else rng.choice(LAST_NAMES),
                                  "first_name": rng.choice(WOMEN if man else MEN), "birth_date": spouse_born,
                                  "cni": f"{rng.choice(CNI_PREFIXES)}{next(cni_digits)}"})
            rights += [{"cnss_number": number, "rank": rank, "starts_on": s, "ends_on": e} for s, e in periods]
        for _child in range(rng.choice((0, 0, 1, 2, 2, 3, 4)) if rank else rng.choice((0, 0, 1))):
            rank += 1
            child_born = min(today - timedelta(days=30), born + timedelta(days=rng.randrange(20 * 365, 42 * 365)))
            beneficiaries.append({"cnss_number": number, "rank": rank, "relationship": "Enfant", "last_name": last,
                                  "first_name": rng.choice(MEN + WOMEN), "birth_date": child_born, "cni": None})
            # a child is covered until 21 (the insured's periods, cut at that birthday)
            end_of_cover = child_born + timedelta(days=21 * 365)
            for starts, ends in periods:
                starts = max(starts, child_born)
                ends = end_of_cover if ends is None and end_of_cover < today else (min(ends, end_of_cover) if ends else None)
                if ends is None or ends >= starts:
                    rights.append({"cnss_number": number, "rank": rank, "starts_on": starts, "ends_on": ends})
    for table, rows in ((InsuredPerson, insured), (Beneficiary, beneficiaries), (RightsPeriod, rights)):
        for batch in _chunks(iter(rows)):
            db.session.execute(insert(table.__table__), batch)
    return len(insured) + len(beneficiaries)


def _periods(rng: Random, opened: date, today: date) -> list[tuple[date, date | None]]:
    """One open period for most, a closed one for some, a gap then a new one for others."""
    draw = rng.random()
    if draw < 0.75:
        return [(opened, None)]
    closed = opened + timedelta(days=rng.randrange(180, max(181, (today - opened).days)))
    closed = min(closed, today - timedelta(days=1))
    if draw < 0.88:
        return [(opened, closed)]
    reopened = min(closed + timedelta(days=rng.randrange(30, 400)), today)
    return [(opened, closed), (reopened, None)]


def patients(limit: int = 20_000) -> list[tuple[str, str]]:
    """(N° CNSS, « Nom Prénom ») of insured persons and beneficiaries, to name the patients of PEC and DR."""
    people = db.session.execute(
        select(InsuredPerson.cnss_number, InsuredPerson.last_name, InsuredPerson.first_name).order_by(InsuredPerson.id).limit(limit)
    ).all()
    family = db.session.execute(
        select(Beneficiary.cnss_number, Beneficiary.last_name, Beneficiary.first_name).order_by(Beneficiary.id).limit(limit)
    ).all()
    return [(n, f"{last} {first}") for n, last, first in [*people, *family]]


# --------------------------------------------------------------------------
# PEC, DR, transfers and payments of one establishment
# --------------------------------------------------------------------------


@dataclass
class Generated:
    """What ``generate`` inserted."""

    pec: int = 0
    dr: int = 0
    emissions: int = 0
    payments: int = 0


def generate(
    establishment_inpe: str,
    dr_count: int,
    pec_count: int,
    *,
    people: Sequence[tuple[str, str]] | None = None,
    years: int = 3,
    today: date | None = None,
    seed: str | None = None,
) -> Generated:
    """Insert ``pec_count`` PEC and ``dr_count`` DR of the establishment over the last
    ``years`` years, in every situation; the paid DR are paid by transfers of 2 to 12
    files each (« émissions »), whose amount is the sum of their payments. Bulk inserts,
    in chunks of ``CHUNK`` rows, never the whole set in memory; nothing is committed.
    ``people``: (N° CNSS, name) of the patients, default ``patients()``."""
    today = today or date.today()
    rng = Random(seed or f"cnss-demo-{establishment_inpe}")
    people = list(people or patients()) or [("100000001", "Assuré Démo")]
    span = years * 365
    done = Generated()
    # numbers follow the establishment's existing ones, so that generate can run again
    pec_before, dr_before, emissions_before = (
        db.session.scalar(select(func.count()).select_from(model).where(model.inpe == establishment_inpe))
        for model in (CareAuthorisation, ReimbursementFile, BankTransfer)
    )
    for batch in _chunks(_pec_rows(rng, establishment_inpe, pec_count, people, span, today, pec_before)):
        db.session.execute(insert(CareAuthorisation.__table__), batch)
        done.pec += len(batch)
    files = _dr_rows(rng, establishment_inpe, dr_count, (pec_before, pec_before + pec_count), people, span, today, dr_before)
    _insert_files(rng, files, done, emissions_before)
    return done


def _sorted_days(rng: Random, count: int, span: int) -> list[int]:
    days = [rng.randrange(span) for _ in range(count)]
    days.sort(reverse=True)  # oldest first: days ago, decreasing
    return days


def _pec_rows(
    rng: Random, inpe: str, count: int, people: Sequence[tuple[str, str]], span: int, today: date, before: int
) -> Iterator[dict[str, Any]]:
    for seq, ago in enumerate(_sorted_days(rng, count, span), start=before + 1):
        received = today - timedelta(days=ago)
        cnss_number, name = rng.choice(people)
        requested = rng.randrange(20_000, 8_000_000)
        draw = rng.random()
        granted: int | None = None
        document = None
        if (ago < 20 and draw < 0.6) or draw >= 0.9:  # recent requests are mostly still being processed
            situation, decided = "PEC en cours de traitement", received
        elif draw < 0.6:
            situation, decided = "PEC accordée", received + timedelta(days=rng.randrange(1, 15))
            granted = requested if rng.random() < 0.6 else requested * rng.randrange(60, 100) // 100
        elif draw < 0.72:
            situation, decided = "PEC refusée", received + timedelta(days=rng.randrange(1, 15))
            granted = 0
        elif draw < 0.82:
            situation, decided = "PEC retournée", received + timedelta(days=rng.randrange(1, 10))
        else:
            situation, decided = "PEC annulée", received + timedelta(days=rng.randrange(1, 30))
        if situation in ("PEC accordée", "PEC refusée"):
            document = f"DEC-{inpe}-{seq:07d}"
        yield {
            "number": f"P{inpe}{seq:07d}", "inpe": inpe, "cnss_number": cnss_number, "beneficiary": name,
            "received_on": received, "amount_requested": _cents(requested),
            "amount_granted": None if granted is None else _cents(granted),
            "situation": situation, "situation_on": min(decided, today), "document": document,
        }


def _dr_rows(
    rng: Random, inpe: str, count: int, pec_range: tuple[int, int], people: Sequence[tuple[str, str]], span: int, today: date, before: int
) -> Iterator[dict[str, Any]]:
    """The DR, oldest first; 4 in 10 name one of the PEC numbered in ``pec_range`` (first excluded)."""
    low, high = pec_range
    for seq, ago in enumerate(_sorted_days(rng, count, span), start=before + 1):
        filed = today - timedelta(days=ago)
        cnss_number, name = rng.choice(people)
        draw = rng.random()
        paid_on = filed + timedelta(days=rng.randrange(15, 90))
        reasons = None
        if draw < 0.62:
            # a file not settled yet is still being processed
            situation, situation_on = (DR_PAID, paid_on) if paid_on <= today else (DR_IN_PROGRESS, filed)
        elif draw < 0.70:
            situation, situation_on = DR_CANCELLED, min(today, filed + timedelta(days=rng.randrange(5, 60)))
        elif draw < 0.82:
            situation, situation_on = DR_RETURNED, min(today, filed + timedelta(days=rng.randrange(5, 45)))
            reasons = " ; ".join(rng.sample(RETURN_REASONS, rng.choice((1, 1, 2))))
        else:
            situation, situation_on = DR_IN_PROGRESS, filed
        yield {
            "number": f"D{inpe}{seq:07d}", "inpe": inpe, "cnss_number": cnss_number, "beneficiary": name,
            "filed_on": filed,
            "pec_number": f"P{inpe}{rng.randrange(low + 1, high + 1):07d}" if high > low and rng.random() < 0.4 else None,
            "amount_billed": _cents(rng.randrange(5_000, 5_000_000)),
            "care_on": filed - timedelta(days=rng.randrange(0, 60)),
            "situation": situation, "situation_on": situation_on, "return_reasons": reasons,
        }


def _insert_files(rng: Random, rows: Iterator[dict[str, Any]], done: Generated, emissions_before: int) -> None:
    """Insert the DR; group the paid ones, in order, into transfers of 2 to 12 files, each
    issued when its last file is settled, and insert the transfers and their payments."""
    files: list[dict[str, Any]] = []
    emissions: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    group: list[dict[str, Any]] = []
    target = rng.randrange(2, 13)

    def close_group() -> None:
        nonlocal group, target
        if not group:
            return
        inpe = group[0]["inpe"]
        issued = max(f["situation_on"] for f in group)
        done.emissions += 1
        number = f"E{inpe}{emissions_before + done.emissions:07d}"
        total = Decimal("0.00")
        for f in group:
            f["situation_on"] = issued
            share = rng.random()
            paid = f["amount_billed"] if share < 0.7 else (f["amount_billed"] * rng.randrange(70, 100) / 100).quantize(Decimal("0.01"))
            total += paid
            payments.append({
                "inpe": inpe, "dr_number": f["number"], "emission_number": number, "amount_paid": paid, "paid_on": issued,
                "invoice_ref": f"FAC-{f['filed_on'].year}-{f['number'][-6:]}",
                "observation": None if paid == f["amount_billed"] else rng.choice(OBSERVATIONS),
            })
        emissions.append({"number": number, "inpe": inpe, "amount": total, "issued_on": issued})
        files.extend(group)
        group = []
        target = rng.randrange(2, 13)

    def flush() -> None:
        for table, batch in ((ReimbursementFile, files), (BankTransfer, emissions), (Payment, payments)):
            if batch:
                db.session.execute(insert(table.__table__), batch)
        done.dr += len(files)
        done.payments += len(payments)
        files.clear()
        emissions.clear()
        payments.clear()

    for row in rows:
        if row["situation"] == DR_PAID:
            group.append(row)
            if len(group) >= target:
                close_group()
        else:
            files.append(row)
        if len(files) >= CHUNK:
            flush()
    close_group()
    flush()


# --------------------------------------------------------------------------
# The hook's body: establishments, registry, volumes, accounts
# --------------------------------------------------------------------------


def _account(login: str, profiles: list[str], *, name: str, email: str, phone: str, parent: Account | None = None) -> Account:
    account = db.session.scalar(select(Account).where(Account.space_key == SPACE.key, Account.login == login))
    if account is None:
        account = Account(
            space_key=SPACE.key, login=login, tenant_ref=DEMO_ESTABLISHMENT.inpe, display_name=name, email=email,
            phone=phone, profiles=profiles, password_hash=hash_password(DEMO_PASSWORD), must_change_password=False,
            parent=parent,
        )
        db.session.add(account)
        db.session.flush()
    return account


def load_demo(insured: int = 3_000, pec: int = 5_200, dr: int = 5_200, others: int = 150) -> list[DemoSpace]:
    """Everything the demo needs, once: a second run finds it and adds nothing.
    ``PORTAL_CNSS_DEMO_SCALE`` multiplies the demo establishment's PEC and DR."""
    scale = float(current_app.config.get("CNSS_DEMO_SCALE") or 1)
    add_establishments((DEMO_ESTABLISHMENT, ENROLL_ESTABLISHMENT, *OTHER_ESTABLISHMENTS))
    add_insured(insured)
    people = patients()
    for establishment, pec_count, dr_count in (
        (DEMO_ESTABLISHMENT, int(pec * scale), int(dr * scale)),
        *((e, others, others) for e in OTHER_ESTABLISHMENTS),
    ):
        has_files = db.session.scalar(select(func.count()).select_from(ReimbursementFile).where(ReimbursementFile.inpe == establishment.inpe))
        if not has_files:
            generate(establishment.inpe, dr_count, pec_count, people=people)
    director = DEMO_ESTABLISHMENT.director
    inpe = DEMO_ESTABLISHMENT.inpe
    main_pec = _account(f"{inpe}/{PEC}", [PEC], name=DEMO_ESTABLISHMENT.name, email=director[4], phone=director[5])
    _account(f"{inpe}/{PAYMENTS}", [PAYMENTS], name=DEMO_ESTABLISHMENT.name, email=director[4], phone=director[5])
    # CNSS-15: a member of staff with both profiles, one login « <INPE>/accueil » (Space.profile_field)
    _account(f"{inpe}/accueil", [PEC, PAYMENTS], name="Service des admissions", email="admissions@clinique-alamal.ma",
             phone="+212661000111", parent=main_pec)
    enroll = ENROLL_ESTABLISHMENT
    return [
        DemoSpace(
            space_key=SPACE.key,
            accounts=(
                DemoAccount({"Identifiant National": inpe, "Profil": "PEC", "Nature de compte": "Principal"},
                            DEMO_PASSWORD, "compte principal, profil PEC"),
                DemoAccount({"Identifiant National": inpe, "Profil": "Paiements", "Nature de compte": "Principal"},
                            DEMO_PASSWORD, "compte principal, profil Paiements"),
                DemoAccount({"Identifiant National": inpe, "Profil": "Paiements", "Nature de compte": "Secondaire",
                             "Identifiant du sous-compte": "accueil"}, DEMO_PASSWORD,
                             "compte secondaire (sous-compte) aux profils PEC et Paiements : Profil « PEC » convient aussi"),
            ),
            enroll={
                "Identifiant National": enroll.inpe,
                "Nom de l'établissement": enroll.name,
                "Identifiant Commun de l'Entreprise": enroll.ice or "",
                "Adresse": enroll.address,
                "Ville": enroll.city,
                "Nom": enroll.director[0],
                "Prénom": enroll.director[1],
                "Identifiant National du directeur": enroll.director[2],
                "CNIE / carte séjour": enroll.director[3],
                "Email": enroll.director[4],
                "N° GSM": "0" + enroll.director[5][4:],
                "J'ai lu et j'accepte les mentions légales": "oui (cocher)",
            },
        )
    ]
