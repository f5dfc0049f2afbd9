"""The CNSS's files imported through the core (CORE-13, `flask portal import cnss …`):
each importer, from .csv and from .xlsx, lands its rows; a bad row writes nothing."""
from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from plugins.cnss.models import (
    BankTransfer,
    Beneficiary,
    CareAuthorisation,
    Establishment,
    InsuredPerson,
    Payment,
    ReimbursementFile,
    RightsPeriod,
)

#: one file per importer, in the order they must run; the seed's headers
FILES = {
    "etablissements": [
        ["Identifiant National", "Nom de l'établissement", "Identifiant Commun de l'Entreprise", "Adresse", "Ville", "Secteur",
         "Nom du directeur", "Prénom du directeur", "Identifiant National du praticien", "CNIE / carte séjour", "Email", "N° GSM"],
        ["101234567", "Clinique Al Amal", "001561191000066", "45, boulevard Zerktouni", "Casablanca", "Privé",
         "Bennani", "Karim", "201234567", "be123456", "Direction@Alamal.test", "06 61 23 45 67"],
        ["102345678", "Centre hospitalier provincial", "", "Route de Casablanca", "Settat", "public",
         "Alaoui", "Mehdi", "", "W123987", "", ""],
    ],
    "assures": [
        ["N° CNSS", "CNI", "Nom", "Prénom", "Date de naissance"],
        ["123456789", "ab123456", "Tazi", "Omar", "02/03/1980"],
        ["987654321", "", "Berrada", "Nadia", "1975-11-20"],
    ],
    "beneficiaires": [
        ["N° CNSS de l'assuré", "N° d'ordre", "Lien de parenté", "Nom", "Prénom", "Date de naissance", "N° CNI"],
        ["123456789", "1", "conjoint", "Tazi", "Salma", "15/06/1982", "BE654321"],
        ["123456789", "2", "Enfant", "Tazi", "Yasmine", "01/09/2012", ""],
    ],
    "droits": [
        ["N° CNSS", "N° d'ordre", "Date début", "Date fin"],
        ["123456789", "0", "01/01/2010", ""],
        ["123456789", "1", "01/01/2010", "31/12/2019"],
        ["123456789", "1", "01/01/2021", ""],
    ],
    "pec": [
        ["Identifiant National", "N°CNSS", "Bénéficiaire", "N° de la PEC", "Date de réception", "Montant demandé (DH)",
         "Montant accordé (DH)", "Situation de la PEC", "Date de situation", "Document"],
        ["101234567", "123456789", "Tazi Omar", "P0001", "05/01/2026", "12 500,00", "10 000,00", "PEC accordée", "10/01/2026", "DEC-1"],
        ["101234567", "123456789", "Tazi Salma", "P0002", "06/01/2026", "800", "", "pec en cours de traitement", "", ""],
    ],
    "dr": [
        ["Identifiant National", "N° CNSS", "Bénéficiaire", "N° du DR", "Date de dépôt", "N° de la PEC", "Montant facturé (DH)",
         "Date de soins", "Situation du dossier", "Date de situation", "Motifs retour"],
        ["101234567", "123456789", "Tazi Omar", "D0001", "01/02/2026", "P0001", "12 000,00", "20/01/2026", "Dossier payé", "01/03/2026", ""],
        ["101234567", "123456789", "Tazi Salma", "D0002", "02/02/2026", "", "450,50", "25/01/2026", "Dossier payé", "01/03/2026", ""],
        ["101234567", "987654321", "Berrada Nadia", "D0003", "03/02/2026", "", "300", "28/01/2026", "Dossier retourné", "10/02/2026",
         "Ordonnance non conforme"],
    ],
    "emissions": [
        ["Identifiant National", "N° d'émission", "Montant global viré", "Date d'émission"],
        ["101234567", "E0001", "12 450,50", "01/03/2026"],
    ],
    "paiements": [
        ["Identifiant National", "N° du DR", "N° d'émission", "Montant payé (DH)", "Date de paiement", "Réf facture", "Observation"],
        ["101234567", "D0001", "E0001", "12 000,00", "01/03/2026", "FAC-2026-001", ""],
        ["101234567", "D0002", "E0001", "450,50", "01/03/2026", "FAC-2026-002", "Ticket modérateur déduit"],
    ],
}


@pytest.fixture
def app_config(app_config):
    app_config["PLUGINS"] = ["cnss"]
    return app_config


def write_file(folder: Path, name: str, rows: list[list[str]], kind: str) -> Path:
    path = folder / f"{name}.{kind}"
    if kind == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, delimiter=";").writerows(rows)
    else:
        workbook = Workbook()
        for row in rows:
            workbook.active.append(row)
        workbook.save(path)
    return path


def run_import(app, code: str, path: Path):
    return app.test_cli_runner().invoke(args=["portal", "import", "cnss", code, str(path)])


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_every_cnss_file_lands_its_rows(app, tmp_path, kind):
    for code, rows in FILES.items():
        result = run_import(app, code, write_file(tmp_path, code, rows, kind))
        assert result.exit_code == 0, (code, result.output)
    with app.app_context():
        clinic = db.session.scalar(select(Establishment).where(Establishment.inpe == "101234567"))
        assert (clinic.ice, clinic.sector, clinic.director_cnie, clinic.director_email, clinic.director_gsm) == (
            "001561191000066", "prive", "BE123456", "direction@alamal.test", "+212661234567")
        hospital = db.session.scalar(select(Establishment).where(Establishment.inpe == "102345678"))
        assert hospital.sector == "public" and hospital.ice is None
        assert db.session.scalar(select(InsuredPerson.cni).where(InsuredPerson.cnss_number == "123456789")) == "AB123456"
        family = db.session.scalars(select(Beneficiary).order_by(Beneficiary.rank)).all()
        assert [(b.rank, b.relationship, b.first_name) for b in family] == [(1, "Conjoint", "Salma"), (2, "Enfant", "Yasmine")]
        periods = db.session.execute(select(RightsPeriod.rank, RightsPeriod.starts_on, RightsPeriod.ends_on).order_by(
            RightsPeriod.rank, RightsPeriod.starts_on)).all()
        assert periods == [(0, date(2010, 1, 1), None), (1, date(2010, 1, 1), date(2019, 12, 31)), (1, date(2021, 1, 1), None)]
        pec = db.session.scalars(select(CareAuthorisation).order_by(CareAuthorisation.number)).all()
        assert [(p.number, p.situation, p.amount_requested, p.amount_granted) for p in pec] == [
            ("P0001", "PEC accordée", Decimal("12500.00"), Decimal("10000.00")),
            ("P0002", "PEC en cours de traitement", Decimal("800.00"), None),
        ]
        dr = db.session.scalars(select(ReimbursementFile).order_by(ReimbursementFile.number)).all()
        assert [(d.number, d.pec_number, d.situation, d.return_reasons) for d in dr] == [
            ("D0001", "P0001", "Dossier payé", None),
            ("D0002", None, "Dossier payé", None),
            ("D0003", None, "Dossier retourné", "Ordonnance non conforme"),
        ]
        transfer = db.session.scalars(select(BankTransfer)).one()
        paid = db.session.scalar(select(func.sum(Payment.amount_paid)).where(Payment.emission_number == transfer.number))
        assert transfer.amount == paid == Decimal("12450.50")


def test_a_second_import_updates_rows_by_their_key(app, tmp_path):
    for code in ("etablissements", "pec"):
        run_import(app, code, write_file(tmp_path, code, FILES[code], "csv"))
    decided = [FILES["pec"][0], ["101234567", "123456789", "Tazi Salma", "P0002", "06/01/2026", "800", "0", "PEC refusée", "12/01/2026", "DEC-2"]]
    assert run_import(app, "pec", write_file(tmp_path, "pec-2", decided, "csv")).exit_code == 0
    with app.app_context():
        assert count(app, CareAuthorisation) == 2
        assert db.session.scalar(select(CareAuthorisation.situation).where(CareAuthorisation.number == "P0002")) == "PEC refusée"


NEW_ROWS = {
    "etablissements": ["104567891", "Laboratoire Atlas", "", "", "Fès", "Public", "", "", "", "", "", ""],
    "pec": ["101234567", "123456789", "X", "P0008", "05/01/2026", "10", "", "PEC accordée", "", ""],
    "dr": ["101234567", "123456789", "X", "D0008", "01/02/2026", "", "10", "", "Dossier payé", "", ""],
    "beneficiaires": ["123456789", "3", "Enfant", "Tazi", "Adam", "01/09/2015", ""],
    "droits": ["123456789", "2", "01/09/2015", ""],
}


@pytest.mark.parametrize(
    ("code", "bad_row", "message"),
    [
        ("etablissements", ["103456789", "Pharmacie", "001561191000065", "", "", "Privé", "", "", "", "", "", ""], "clé de contrôle"),
        ("etablissements", ["103456789", "Pharmacie", "", "", "", "Privé", "", "", "", "", "", ""], "obligatoire hors secteur public"),
        ("etablissements", ["10345678", "Pharmacie", "", "", "", "Public", "", "", "", "", "", ""], "compte 9 chiffres"),
        ("pec", ["109999999", "123456789", "X", "P0009", "05/01/2026", "10", "", "PEC accordée", "", ""], "Établissement inconnu"),
        ("pec", ["101234567", "123456789", "X", "P0009", "05/01/2026", "10", "", "Acceptée", "", ""], "Valeur inconnue : « Acceptée » (valeurs admises : PEC accordée"),
        ("dr", ["101234567", "123456789", "X", "D0009", "31/02/2026", "", "10", "", "Dossier payé", "", ""], "Date de dépôt"),
        ("dr", ["101234567", "123456789", "X", "D0009", "01/02/2026", "", "-10", "", "Dossier payé", "", ""], "Montant facturé"),
        ("beneficiaires", ["111111111", "1", "Conjoint", "X", "Y", "", ""], "Assuré inconnu"),
        ("droits", ["123456789", "3", "01/01/2020", ""], "Bénéficiaire inconnu"),
        ("droits", ["123456789", "0", "01/01/2020", "01/01/2019"], "précède"),
    ],
)
def test_one_bad_row_and_nothing_of_the_file_is_written(app, tmp_path, code, bad_row, message):
    for before in ("etablissements", "assures", "beneficiaires"):
        run_import(app, before, write_file(tmp_path, before, FILES[before], "csv"))
    model = {"etablissements": Establishment, "pec": CareAuthorisation, "dr": ReimbursementFile,
             "beneficiaires": Beneficiary, "droits": RightsPeriod}[code]
    before = count(app, model)
    # a new, good row before the bad one: it must not be written either
    rows = [FILES[code][0], NEW_ROWS[code], bad_row]
    result = run_import(app, code, write_file(tmp_path, f"{code}-bad", rows, "xlsx"))
    assert result.exit_code == 1
    assert message in result.output
    assert "Aucune ligne n'a été enregistrée." in result.output
    assert count(app, model) == before


def test_a_payment_of_another_establishments_file_is_refused(app, tmp_path):
    for code in ("etablissements", "assures", "dr", "emissions"):
        run_import(app, code, write_file(tmp_path, code, FILES[code], "csv"))
    rows = [FILES["paiements"][0], ["102345678", "D0001", "E0001", "10", "01/03/2026", "", ""]]
    result = run_import(app, "paiements", write_file(tmp_path, "paiements-bad", rows, "csv"))
    assert result.exit_code == 1 and "n'est pas de l'établissement 102345678" in result.output
    assert count(app, Payment) == 0
