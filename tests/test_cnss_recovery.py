"""CNSS « Mot de passe oublié ? » (CNSS-6: Identifiant National, Profil, GSM, Email; a new
password to the address on record, one message whatever did not match) and the
establishment's sub-accounts (CNSS-15) through the core's screens, with the e-mails
read from the real SMTP server."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Account, OutboxMessage
from tests.conftest import csrf_of, make_account

URL = "/cnss/ps"
INPE = "101234567"
PASSWORD = "Kx7#pm2Q"
NEW_PASSWORD = "Nv8!cz4R"
EMAIL = "direction@clinique-alamal.ma"
MISMATCH = "Les informations saisies ne correspondent pas à celles déclarées lors de votre adhésion."
SENT = "Un nouveau mot de passe a été envoyé à votre adresse e-mail."


@pytest.fixture
def app_config(app_config):
    app_config["PLUGINS"] = ["cnss"]
    app_config["PLUGIN_MODULES"] = ["plugins.cnss"]
    return app_config


@pytest.fixture
def establishment(app) -> None:
    """The two main accounts of an establishment, as the adhesion creates them (CNSS-3)."""
    for profile in ("PEC", "PAIEMENTS"):
        make_account(app, f"{INPE}/{profile}", space_key="cnss/ps", tenant_ref=INPE, profiles=[profile],
                     password=PASSWORD, email=EMAIL, phone="+212661234567", display_name="Clinique Al Amal")


def body(response) -> str:
    return response.get_data(as_text=True)


def forgot(client, inpe: str = INPE, profile: str = "PEC", phone: str = "0661234567", email: str = EMAIL):
    page = client.get(f"{URL}/password/forgot")
    data = {"csrf_token": csrf_of(body(page)), "inpe": inpe, "profil": profile, "phone": phone, "email": email}
    return client.post(f"{URL}/password/forgot", data=data)


def login(client, profile: str = "PEC", password: str = PASSWORD, sub: str = "", inpe: str = INPE):
    page = client.get(f"{URL}/login")
    data = {"csrf_token": csrf_of(body(page)), "inpe": inpe, "profil": profile, "password": password,
            "nature": "secondaire" if sub else "principal", "sous_compte": sub}
    return client.post(f"{URL}/login", data=data)


def logged_in(response) -> bool:
    return response.status_code == 303 and "/login" not in response.headers["Location"]


def form_errors(page: str) -> str:
    found = re.search(r'<div class="form-errors" role="alert">.*?</div>', page, re.S)
    return found.group(0) if found else ""


def temporary_password_in(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    lines = [line.strip() for line in text.splitlines() if line.startswith("    ") and line.strip()]
    found = re.search(r"Mot de passe temporaire : (\S+)", text)
    return found.group(1) if found else lines[0]


def test_the_forgotten_password_form_asks_the_seeds_fields(client):
    page = body(client.get(f"{URL}/password/forgot"))
    for label in ("Identifiant National", "Profil", "N° GSM", "Email"):
        assert label in page
    assert 'type="radio"' in page and 'value="PAIEMENTS"' in page


def test_a_match_mails_a_temporary_password_for_that_profile_only(app, client, smtp_server, establishment):
    response = forgot(client, profile="PAIEMENTS")
    assert SENT in body(response)
    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == [EMAIL]
    temporary = temporary_password_in(message)
    assert temporary not in body(response)

    # the PEC account is untouched; the Paiements one takes the temporary password once, then must change it
    assert logged_in(login(app.test_client(), "PEC", PASSWORD))
    assert not logged_in(login(app.test_client(), "PEC", temporary))
    first = login(client, "PAIEMENTS", temporary)
    assert first.status_code == 303 and first.headers["Location"].endswith(f"{URL}/password/change")


def test_the_old_password_keeps_working_until_the_temporary_one_is_used(app, client, smtp_server, establishment):
    forgot(client)
    temporary = temporary_password_in(smtp_server.wait_for(1)[0])
    assert logged_in(login(app.test_client(), "PEC", PASSWORD))
    assert logged_in(login(app.test_client(), "PEC", temporary))
    assert not logged_in(login(app.test_client(), "PEC", PASSWORD))


@pytest.mark.parametrize(
    "typed",
    [
        {"inpe": "109999999"},  # an INPE without account
        {"profile": "PAIEMENTS", "inpe": "109999999"},
        {"phone": "0698765432"},  # wrong GSM
        {"email": "autre@clinique-alamal.ma"},  # wrong e-mail
        {"phone": "0698765432", "email": "autre@clinique-alamal.ma"},
    ],
    ids=["unknown-inpe", "unknown-inpe-paiements", "wrong-gsm", "wrong-email", "both-wrong"],
)
def test_each_mismatch_gives_the_same_message_and_no_mail(app, client, smtp_server, establishment, typed):
    reference = form_errors(body(forgot(client, phone="0600000000")))
    response = forgot(client, **typed)
    assert response.status_code == 200
    assert MISMATCH in form_errors(body(response))
    assert form_errors(body(response)) == reference
    assert SENT not in body(response)
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.id)) is None
    assert smtp_server.messages == []


def test_a_badly_typed_inpe_gets_its_format_message_next_to_the_field(client, establishment):
    page = body(forgot(client, inpe="12AB"))
    assert "compte 9 chiffres" in page
    assert SENT not in page


# --------------------------------------------------------------------------
# Sub-accounts (CNSS-15): the establishment's staff, one login « <INPE>/<identifiant »
# holding PEC and/or Paiements, managed from either main account (Space.profile_field)
# --------------------------------------------------------------------------

GENERIC_FAILURE = "Identifiant ou mot de passe incorrect."
STAFF_EMAIL = "admissions@clinique-alamal.ma"
OTHER_INPE = "109876543"


def create_sub(client, identifier: str, profiles=("PEC",), email: str = STAFF_EMAIL):
    form = client.get(f"{URL}/accounts/new")
    assert form.status_code == 200
    data = {"csrf_token": csrf_of(body(form)), "identifier": identifier, "display_name": "Service des admissions",
            "email": email, "profiles": list(profiles)}
    return client.post(f"{URL}/accounts/new", data=data)


def main_client(app, profile: str, inpe: str = INPE):
    client = app.test_client()
    assert logged_in(login(client, profile, inpe=inpe))
    return client


def sub_account(app, login_: str) -> Account | None:
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.space_key == "cnss/ps", Account.login == login_))
        if account is not None:
            db.session.expunge(account)
        return account


def action(client, account_id: int, name: str):
    listing = client.get(f"{URL}/accounts")
    return client.post(f"{URL}/accounts/{account_id}/{name}", data={"csrf_token": csrf_of(body(listing))})


def set_status(app, login_: str, status: str) -> None:
    with app.app_context():
        db.session.scalar(select(Account).where(Account.space_key == "cnss/ps", Account.login == login_)).status = status
        db.session.commit()


def staff_member(app, smtp_server, profiles=("PEC", "PAIEMENTS"), created_by: str = "PEC") -> str:
    """A sub-account « accueil » created by one main account; its temporary password is returned."""
    response = create_sub(main_client(app, created_by), "accueil", profiles=profiles)
    assert response.status_code == 303, body(response)
    (message,) = smtp_server.wait_for(1)
    smtp_server.messages.clear()
    smtp_server.envelopes.clear()
    return temporary_password_in(message)


def test_the_pec_main_account_creates_a_secondary_account_that_logs_in_as_secondaire(app, client, smtp_server, establishment):
    assert logged_in(login(client, "PEC"))
    page = body(client.get(f"{URL}/accounts/new"))
    assert f"{INPE}/" in page and f"{INPE}/PEC/" not in page  # the login it will get: without the profile

    response = create_sub(client, "accueil")
    assert response.status_code == 303
    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == [STAFF_EMAIL]  # SAFE-1: the sub-account's own address only
    temporary = temporary_password_in(message)
    assert temporary not in body(client.get(f"{URL}/accounts"))
    sub = sub_account(app, f"{INPE}/accueil")
    assert sub is not None and sub.profiles == ["PEC"] and sub.tenant_ref == INPE
    assert sub_account(app, f"{INPE}/PEC/accueil") is None

    other = app.test_client()
    assert not logged_in(login(other, "PEC", temporary))  # « Principal » is the main account, not the sub-account
    first = login(other, "PEC", temporary, sub="accueil")
    assert first.status_code == 303 and first.headers["Location"].endswith(f"{URL}/password/change")


def test_a_staff_member_with_both_profiles_logs_in_with_either_and_works_in_the_profile_chosen(app, smtp_server, establishment):
    temporary = staff_member(app, smtp_server, profiles=("PEC", "PAIEMENTS"))
    assert sub_account(app, f"{INPE}/accueil").profiles == ["PEC", "PAIEMENTS"]

    browser = app.test_client()
    assert login(browser, "PAIEMENTS", temporary, sub="accueil").headers["Location"].endswith("/password/change")
    page = browser.get(f"{URL}/password/change")
    changed = browser.post(f"{URL}/password/change", data={"csrf_token": csrf_of(body(page)), "new_password": NEW_PASSWORD,
                                                          "confirmation": NEW_PASSWORD})
    assert changed.status_code == 303, body(changed)
    dashboard = body(browser.get(f"{URL}/"))
    # « le profil de consultation désiré » (seed 003, 2.2): the Paiements pages only
    assert "Suivi des dossiers de remboursement" in dashboard and "Droits assurés" not in dashboard
    assert browser.get(f"{URL}/dossiers-remboursement").status_code == 200
    assert browser.get(f"{URL}/pec").status_code == 403
    assert "Sous-comptes" not in dashboard  # a sub-account manages nothing

    pec = app.test_client()
    assert logged_in(login(pec, "PEC", NEW_PASSWORD, sub="accueil"))
    assert pec.get(f"{URL}/pec").status_code == 200
    assert pec.get(f"{URL}/dossiers-remboursement").status_code == 403


def test_a_pec_only_sub_account_fails_with_profil_paiements_like_any_wrong_input(app, smtp_server, establishment):
    temporary = staff_member(app, smtp_server, profiles=("PEC",))
    wrong_password = login(app.test_client(), "PEC", "Faux1234", sub="accueil")
    wrong_profile = login(app.test_client(), "PAIEMENTS", temporary, sub="accueil")
    assert wrong_profile.status_code == 200
    assert GENERIC_FAILURE in form_errors(body(wrong_profile))
    assert form_errors(body(wrong_profile)) == form_errors(body(wrong_password))
    assert logged_in(login(app.test_client(), "PEC", temporary, sub="accueil"))


def test_created_from_pec_the_sub_account_is_managed_from_the_paiements_main_account(app, smtp_server, establishment):
    staff_member(app, smtp_server, profiles=("PEC",), created_by="PEC")
    sub = sub_account(app, f"{INPE}/accueil")
    payments = main_client(app, "PAIEMENTS")
    assert f"{INPE}/accueil" in body(payments.get(f"{URL}/accounts"))

    # profiles: the Paiements main account may give both, since the establishment holds both
    page = payments.get(f"{URL}/accounts/{sub.id}")
    assert page.status_code == 200 and 'value="PEC"' in body(page) and 'value="PAIEMENTS"' in body(page)
    edited = payments.post(f"{URL}/accounts/{sub.id}", data={"csrf_token": csrf_of(body(page)), "profiles": ["PEC", "PAIEMENTS"]})
    assert edited.status_code == 303
    assert sub_account(app, f"{INPE}/accueil").profiles == ["PEC", "PAIEMENTS"]

    assert action(payments, sub.id, "reset").status_code == 303
    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == [STAFF_EMAIL]
    first = login(app.test_client(), "PAIEMENTS", temporary_password_in(message), sub="accueil")  # its new profile
    assert first.status_code == 303 and first.headers["Location"].endswith("/password/change")
    assert action(payments, sub.id, "disable").status_code == 303
    assert sub_account(app, f"{INPE}/accueil").status == "disabled"
    assert action(payments, sub.id, "enable").status_code == 303
    assert action(payments, sub.id, "delete").status_code == 303
    assert sub_account(app, f"{INPE}/accueil") is None


def test_another_establishments_main_account_never_sees_or_manages_it(app, smtp_server, establishment):
    for profile in ("PEC", "PAIEMENTS"):
        make_account(app, f"{OTHER_INPE}/{profile}", space_key="cnss/ps", tenant_ref=OTHER_INPE, profiles=[profile],
                     password=PASSWORD, email="direction@autre.ma", display_name="Clinique Autre")
    staff_member(app, smtp_server)
    sub = sub_account(app, f"{INPE}/accueil")
    other = main_client(app, "PAIEMENTS", inpe=OTHER_INPE)
    assert "accueil" not in body(other.get(f"{URL}/accounts"))
    assert other.get(f"{URL}/accounts/{sub.id}").status_code == 404
    for name in ("reset", "disable", "enable", "delete"):
        assert action(other, sub.id, name).status_code == 404, name
    assert sub_account(app, f"{INPE}/accueil").status == "active"
    assert smtp_server.messages == []
    # the same identifier is free in another establishment: logins are unique per INPE
    assert create_sub(other, "accueil", profiles=("PAIEMENTS",), email="accueil@autre.ma").status_code == 303
    assert sub_account(app, f"{OTHER_INPE}/accueil").tenant_ref == OTHER_INPE


def test_the_identifier_is_unique_in_the_establishment_whichever_main_account_creates_it(app, smtp_server, establishment):
    staff_member(app, smtp_server, created_by="PEC")
    response = create_sub(main_client(app, "PAIEMENTS"), "accueil", profiles=("PAIEMENTS",), email="autre@clinique-alamal.ma")
    assert response.status_code == 200 and "Cet identifiant est déjà utilisé." in body(response)


def test_a_profile_no_active_main_account_holds_is_never_offered_nor_accepted(app, smtp_server, establishment):
    set_status(app, f"{INPE}/PAIEMENTS", "locked")
    client = main_client(app, "PEC")
    assert 'value="PAIEMENTS"' not in body(client.get(f"{URL}/accounts/new"))
    assert create_sub(client, "facturation", profiles=("PEC", "PAIEMENTS")).status_code == 200  # a forged choice is refused
    assert sub_account(app, f"{INPE}/facturation") is None


def test_the_sub_account_lives_while_one_main_account_of_its_establishment_is_active(app, smtp_server, establishment):
    """Decision: the sub-account belongs to the establishment. A locked main account takes
    its profile away; with no active main account left, the sub-account cannot log in."""
    temporary = staff_member(app, smtp_server, created_by="PEC")
    set_status(app, f"{INPE}/PEC", "locked")  # the creator
    assert not logged_in(login(app.test_client(), "PEC", temporary, sub="accueil"))
    first = login(app.test_client(), "PAIEMENTS", temporary, sub="accueil")
    assert first.status_code == 303 and first.headers["Location"].endswith("/password/change")
    set_status(app, f"{INPE}/PAIEMENTS", "locked")
    failed = login(app.test_client(), "PAIEMENTS", NEW_PASSWORD, sub="accueil")
    assert GENERIC_FAILURE in form_errors(body(failed))


def test_forgotten_password_of_a_sub_account_goes_to_its_own_address_with_one_of_its_profiles(app, client, smtp_server, establishment):
    main = sub_account(app, f"{INPE}/PEC")
    make_account(app, f"{INPE}/accueil", space_key="cnss/ps", tenant_ref=INPE, parent_id=main.id, profiles=["PEC"],
                 password=PASSWORD, email=STAFF_EMAIL, phone="+212661000111", display_name="Service des admissions")

    def forgot_sub(profile: str):
        page = client.get(f"{URL}/password/forgot")
        data = {"csrf_token": csrf_of(body(page)), "inpe": INPE, "profil": profile, "sous_compte": "accueil",
                "phone": "0661000111", "email": STAFF_EMAIL}
        return client.post(f"{URL}/password/forgot", data=data)

    assert MISMATCH in form_errors(body(forgot_sub("PAIEMENTS")))  # not one of its profiles: as if unknown
    assert smtp_server.messages == []
    assert SENT in body(forgot_sub("PEC"))
    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == [STAFF_EMAIL]
    first = login(app.test_client(), "PEC", temporary_password_in(message), sub="accueil")
    assert first.status_code == 303 and first.headers["Location"].endswith("/password/change")
    assert logged_in(login(app.test_client(), "PEC"))  # the main account's password is untouched
