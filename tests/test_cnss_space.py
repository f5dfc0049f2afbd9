"""The CNSS space « Portail des professionnels de santé »: mounted at /cnss/ps/, its login
asks « Identifiant National » and « Profil » (seed 003, 2.2), its policy is 6 to 8
characters (CNSS-5), and tenant data is scoped by the account's INPE in one place (CNSS-16)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account
from app.plugins.manager import registry_of
from plugins.cnss.models import BankTransfer, CareAuthorisation, Establishment, Payment, ReimbursementFile
from plugins.cnss.scoping import establishment_of, own_rows, scoped
from tests.conftest import csrf_of, make_account

URL = "/cnss/ps"
PASSWORD = "Kx7#pm2Q"


@pytest.fixture
def app_config(app_config):
    app_config["PLUGINS"] = ["cnss"]
    return app_config


def cnss_account(app, inpe: str = "101234567", profile: str = "PEC", **fields) -> int:
    return make_account(app, f"{inpe}/{profile}", space_key="cnss/ps", tenant_ref=inpe, profiles=[profile],
                        password=fields.pop("password", PASSWORD), email=f"direction.{inpe}@clinique.test",
                        phone="+212661234567", **fields)


def login(client, inpe: str = "101234567", profile: str = "PEC", password: str = PASSWORD, sub: str = ""):
    page = client.get(f"{URL}/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "inpe": inpe, "profil": profile, "password": password,
            "nature": "secondaire" if sub else "principal", "sous_compte": sub}
    return client.post(f"{URL}/login", data=data)


def test_the_space_is_declared_as_the_seed_describes_it(app):
    space = registry_of(app).spaces["cnss/ps"]
    assert space.title == "Portail des professionnels de santé"
    assert [f.label for f in space.identifier_fields] == ["Identifiant National", "Profil"]
    assert (space.password_policy.min_length, space.password_policy.max_length, space.password_policy.history) == (6, 8, 1)
    assert space.recovery.kind == "identity_match" and set(space.recovery.match_fields) == {"phone", "email"}
    assert {p.code: p.label for p in space.profiles} == {
        "PEC": "Consultation des prises en charge",
        "PAIEMENTS": "Consultation des paiements",
    }
    assert space.subaccounts


def test_login_page_asks_the_inpe_the_profile_and_the_password(client):
    page = client.get(f"{URL}/login").get_data(as_text=True)
    for label in ("Identifiant National", "Profil", "Mot de passe", "Paiements"):
        assert label in page


def test_an_inpe_that_is_not_nine_digits_is_refused_with_its_message(client):
    page = login(client, inpe="12345").get_data(as_text=True)
    assert "L&#39;Identifiant National (INPE) compte 9 chiffres." in page or "L'Identifiant National (INPE) compte 9 chiffres." in page


def test_each_profile_is_its_own_account_and_logs_in_with_its_choice(app, client):
    cnss_account(app, profile="PEC")
    cnss_account(app, profile="PAIEMENTS", password="Pa#2026b")
    assert login(client, profile="PAIEMENTS", password=PASSWORD).status_code == 200  # the PEC password is not the Paiements one
    response = login(client, profile="PAIEMENTS", password="Pa#2026b")
    assert response.status_code == 303 and response.headers["Location"].endswith("/cnss/ps/")


def test_a_new_password_of_nine_characters_is_refused(app, client):
    cnss_account(app)
    login(client)
    page = client.get(f"{URL}/password/change").get_data(as_text=True)
    response = client.post(f"{URL}/password/change", data={
        "csrf_token": csrf_of(page), "current_password": PASSWORD, "new_password": "Lq4#vz9Tw", "confirmation": "Lq4#vz9Tw",
    })
    assert response.status_code == 200 and "Entre 6 et 8 caractères" in response.get_data(as_text=True)
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.login == "101234567/PEC"))
        assert account.password_changed_at is None


def _files(app) -> None:
    with app.app_context():
        for inpe in ("101234567", "102345678"):
            db.session.add(Establishment(inpe=inpe, name=f"Clinique {inpe}", sector="public"))
            db.session.flush()
            db.session.add(CareAuthorisation(number=f"P{inpe}", inpe=inpe, cnss_number="123456789", received_on=date(2026, 1, 5),
                                             amount_requested=Decimal("100.00"), situation="PEC accordée"))
            db.session.add(ReimbursementFile(number=f"D{inpe}", inpe=inpe, cnss_number="123456789", filed_on=date(2026, 2, 1),
                                             amount_billed=Decimal("250.50"), situation="Dossier payé"))
            db.session.add(BankTransfer(number=f"E{inpe}", inpe=inpe, amount=Decimal("250.50"), issued_on=date(2026, 3, 1)))
            db.session.flush()
            db.session.add(Payment(inpe=inpe, dr_number=f"D{inpe}", emission_number=f"E{inpe}", amount_paid=Decimal("250.50"),
                                   paid_on=date(2026, 3, 1)))
        db.session.commit()


def test_an_establishment_sees_only_its_own_files_through_the_scope(app):
    _files(app)
    main = cnss_account(app)
    with app.app_context():
        account = db.session.get(Account, main)
        assert establishment_of(account) == "101234567"
        for model in (CareAuthorisation, ReimbursementFile, BankTransfer, Payment):
            rows = db.session.scalars(scoped(model, account)).all()
            assert [r.inpe for r in rows] == ["101234567"], model.__name__


def test_a_sub_account_is_scoped_by_its_main_accounts_inpe(app):
    _files(app)
    main = cnss_account(app)
    sub = make_account(app, "101234567/accueil", space_key="cnss/ps", tenant_ref="101234567", parent_id=main, profiles=["PEC"])
    with app.app_context():
        account = db.session.get(Account, sub)
        total = db.session.scalar(select(func.count()).select_from(ReimbursementFile).where(own_rows(ReimbursementFile, account)))
        assert total == 1


def test_the_scope_refuses_an_account_of_another_space_or_nobody(app):
    other = make_account(app, "101234567", space_key="exemple/membres", tenant_ref="101234567")
    with app.test_request_context():
        with pytest.raises(PermissionError):
            establishment_of()  # anonymous
        with pytest.raises(PermissionError):
            establishment_of(db.session.get(Account, other))
        with pytest.raises(TypeError):
            own_rows(Establishment, db.session.get(Account, other))


def test_the_scope_of_the_logged_in_account_is_used_during_a_request(app, client):
    _files(app)
    cnss_account(app, inpe="102345678")
    login(client, inpe="102345678")
    with client:  # inside one of the space's requests, the account is the logged-in one
        client.get(f"{URL}/")
        assert db.session.scalars(scoped(CareAuthorisation)).one().number == "P102345678"


def test_the_directors_name_from_the_registry_is_refused_in_a_password(app, client):
    with app.app_context():
        db.session.add(Establishment(inpe="101234567", name="Clinique Al Amal", sector="public", city="Casablanca",
                                     director_last_name="Bennani", director_first_name="Karim"))
        db.session.commit()
    cnss_account(app)
    login(client)
    page = client.get(f"{URL}/password/change").get_data(as_text=True)
    response = client.post(f"{URL}/password/change", data={
        "csrf_token": csrf_of(page), "current_password": PASSWORD, "new_password": "Bennani7", "confirmation": "Bennani7",
    })
    assert "Ne contient ni votre identifiant ni le nom de l" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Account.password_changed_at).where(Account.login == "101234567/PEC")) is None
