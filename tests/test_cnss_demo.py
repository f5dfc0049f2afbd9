"""The CNSS demo (`flask portal demo`): establishments, insured persons and families, at
least 5,000 PEC and DR for the demo establishment in every situation, transfers whose
amount is the sum of their payments, and demo logins that work."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account
from app.passwords import verify_password
from plugins.cnss.demo import DEMO_ESTABLISHMENT, DEMO_PASSWORD, ENROLL_ESTABLISHMENT, generate
from plugins.cnss.models import (
    DR_SITUATIONS,
    PEC_SITUATIONS,
    BankTransfer,
    Beneficiary,
    CareAuthorisation,
    Establishment,
    InsuredPerson,
    Payment,
    ReimbursementFile,
    RightsPeriod,
)
from plugins.cnss.validators import cni_error, cnss_number_error, ice_error, inpe_error
from tests.conftest import csrf_of

INPE = DEMO_ESTABLISHMENT.inpe


@pytest.fixture
def app_config(app_config):
    app_config["PLUGINS"] = ["cnss"]
    return app_config


def load_demo(app) -> dict:
    result = app.test_cli_runner().invoke(args=["portal", "demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{"):])


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in (
            Establishment, InsuredPerson, Beneficiary, RightsPeriod, CareAuthorisation, ReimbursementFile, BankTransfer, Payment, Account)}


def test_demo_establishment_has_three_years_of_files_in_every_situation(app):
    load_demo(app)
    today = date.today()
    with app.app_context():
        pec = dict(db.session.execute(select(CareAuthorisation.situation, func.count()).where(CareAuthorisation.inpe == INPE)
                                      .group_by(CareAuthorisation.situation)).all())
        dr = dict(db.session.execute(select(ReimbursementFile.situation, func.count()).where(ReimbursementFile.inpe == INPE)
                                     .group_by(ReimbursementFile.situation)).all())
        assert set(pec) == set(PEC_SITUATIONS) and sum(pec.values()) >= 5_000
        assert set(dr) == set(DR_SITUATIONS) and sum(dr.values()) >= 5_000
        first, last = db.session.execute(select(func.min(ReimbursementFile.filed_on), func.max(ReimbursementFile.filed_on))
                                         .where(ReimbursementFile.inpe == INPE)).one()
        assert today - timedelta(days=3 * 366) <= first < today - timedelta(days=2 * 365) and last <= today
        # the files name real insured persons
        unknown = db.session.scalar(select(func.count()).select_from(ReimbursementFile).where(
            ReimbursementFile.cnss_number.not_in(select(InsuredPerson.cnss_number))))
        assert unknown == 0


def test_each_transfer_pays_several_files_and_its_amount_is_their_sum(app):
    load_demo(app)
    with app.app_context():
        paid = select(Payment.emission_number, func.sum(Payment.amount_paid).label("total"), func.count().label("files"),
                      func.max(Payment.paid_on).label("last")).group_by(Payment.emission_number).subquery()
        rows = db.session.execute(select(BankTransfer.amount, BankTransfer.issued_on, paid.c.total, paid.c.files, paid.c.last)
                                  .join(paid, paid.c.emission_number == BankTransfer.number)).all()
        assert len(rows) == db.session.scalar(select(func.count()).select_from(BankTransfer)) > 100
        assert all(amount == total for amount, _, total, _, _ in rows)
        assert all(issued == last for _, issued, _, _, last in rows)
        assert max(files for *_, files, _ in rows) > 1
        # every paid file is paid, and only paid files are
        unpaid = db.session.scalar(select(func.count()).select_from(ReimbursementFile).where(
            ReimbursementFile.situation == "Dossier payé", ReimbursementFile.number.not_in(select(Payment.dr_number))))
        wrongly_paid = db.session.scalar(select(func.count()).select_from(Payment).join(
            ReimbursementFile, ReimbursementFile.number == Payment.dr_number).where(ReimbursementFile.situation != "Dossier payé"))
        assert unpaid == wrongly_paid == 0
        foreign = db.session.scalar(select(func.count()).select_from(Payment).join(
            ReimbursementFile, ReimbursementFile.number == Payment.dr_number).where(ReimbursementFile.inpe != Payment.inpe))
        assert foreign == 0


def test_demo_registry_has_families_rights_and_valid_identifiers(app):
    load_demo(app)
    with app.app_context():
        establishments = db.session.scalars(select(Establishment)).all()
        assert {e.sector for e in establishments} == {"public", "prive"} and len({e.city for e in establishments}) >= 5
        assert all(inpe_error(e.inpe) is None for e in establishments)
        assert all((e.ice is None) == e.is_public and (e.ice is None or ice_error(e.ice) is None) for e in establishments)
        assert db.session.scalar(select(func.count()).select_from(InsuredPerson)) >= 2_000
        relationships = set(db.session.scalars(select(Beneficiary.relationship).distinct()))
        assert relationships == {"Conjoint", "Enfant"}
        insured = db.session.scalars(select(InsuredPerson).limit(500)).all()
        assert all(cnss_number_error(i.cnss_number) is None and cni_error(i.cni) is None for i in insured)
        closed = db.session.scalar(select(func.count()).select_from(RightsPeriod).where(RightsPeriod.ends_on.is_not(None)))
        assert closed > 0
        several = db.session.execute(select(RightsPeriod.cnss_number).where(RightsPeriod.rank == 0)
                                     .group_by(RightsPeriod.cnss_number).having(func.count() > 1).limit(1)).first()
        assert several is not None


def test_demo_runs_again_without_adding_anything(app):
    load_demo(app)
    before = counts(app)
    load_demo(app)
    assert counts(app) == before


def test_demo_accounts_log_in_and_the_enroll_entry_is_an_establishment_without_account(app, client):
    report = load_demo(app)["cnss/ps"]
    assert [a["fields"].get("Profil") for a in report["accounts"]] == ["PEC", "Paiements", "Paiements"]
    with app.app_context():
        accounts = {a.login: a for a in db.session.scalars(select(Account).where(Account.space_key == "cnss/ps"))}
        assert set(accounts) == {f"{INPE}/PEC", f"{INPE}/PAIEMENTS", f"{INPE}/accueil"}
        assert accounts[f"{INPE}/PEC"].profiles == ["PEC"] and accounts[f"{INPE}/PAIEMENTS"].profiles == ["PAIEMENTS"]
        assert accounts[f"{INPE}/accueil"].parent_id == accounts[f"{INPE}/PEC"].id
        assert accounts[f"{INPE}/accueil"].profiles == ["PEC", "PAIEMENTS"]  # CNSS-15: both profiles, one login
        assert all(verify_password(a.password_hash, DEMO_PASSWORD) for a in accounts.values())
        assert all(a.tenant_ref == INPE and not a.must_change_password for a in accounts.values())
        assert 6 <= len(DEMO_PASSWORD) <= 8
        enroll = report["enroll"]
        assert enroll["Identifiant National"] == ENROLL_ESTABLISHMENT.inpe
        assert db.session.scalar(select(Establishment.name).where(Establishment.inpe == enroll["Identifiant National"])) == enroll["Nom de l'établissement"]
        assert not db.session.scalar(select(func.count()).select_from(Account).where(Account.tenant_ref == enroll["Identifiant National"]))
    for entry in report["accounts"]:
        page = client.get("/cnss/ps/login")
        data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "inpe": entry["fields"]["Identifiant National"],
                "profil": {"PEC": "PEC", "Paiements": "PAIEMENTS"}[entry["fields"]["Profil"]],
                "nature": entry["fields"]["Nature de compte"].lower(),
                "sous_compte": entry["fields"].get("Identifiant du sous-compte", ""), "password": entry["password"]}
        response = client.post("/cnss/ps/login", data=data)
        assert response.status_code == 303 and response.headers["Location"].endswith("/cnss/ps/"), (entry, response.get_data(as_text=True))
        client.post("/cnss/ps/logout", data={"csrf_token": csrf_of(client.get("/cnss/ps/").get_data(as_text=True))})


def test_generate_adds_volumes_after_the_existing_files(app):
    load_demo(app)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(ReimbursementFile).where(ReimbursementFile.inpe == INPE))
        done = generate(INPE, dr_count=2_000, pec_count=500, seed="more")
        db.session.commit()
        after = db.session.scalar(select(func.count()).select_from(ReimbursementFile).where(ReimbursementFile.inpe == INPE))
        assert after == before + done.dr == before + 2_000 and done.pec == 500 and done.emissions > 0


def test_the_volume_command_adds_files_for_a_benchmark(app):
    result = app.test_cli_runner().invoke(args=["cnss-volume", "108000001", "--dr", "300", "--pec", "50"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("300 DR, 50 PEC")
    with app.app_context():
        assert db.session.scalar(select(Establishment.name).where(Establishment.inpe == "108000001")) == "Établissement 108000001"
        assert db.session.scalar(select(func.count()).select_from(ReimbursementFile).where(ReimbursementFile.inpe == "108000001")) == 300


def test_the_demo_scale_multiplies_the_demo_establishments_files(app):
    app.config["CNSS_DEMO_SCALE"] = 0.1  # PORTAL_CNSS_DEMO_SCALE, read when the demo loads
    load_demo(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReimbursementFile).where(ReimbursementFile.inpe == INPE)) == 520
        assert db.session.scalar(select(func.count()).select_from(CareAuthorisation).where(CareAuthorisation.inpe == INPE)) == 520
