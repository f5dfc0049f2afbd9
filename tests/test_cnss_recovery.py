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
# Sub-accounts (CNSS-15): the main account of a profile creates its staff's accounts
# --------------------------------------------------------------------------


def create_sub(client, identifier: str, profiles=("PEC",), email: str = "admissions@clinique-alamal.ma"):
    form = client.get(f"{URL}/accounts/new")
    assert form.status_code == 200
    data = {"csrf_token": csrf_of(body(form)), "identifier": identifier, "display_name": "Service des admissions",
            "email": email, "profiles": list(profiles)}
    return client.post(f"{URL}/accounts/new", data=data)


def test_the_pec_main_account_creates_a_secondary_account_that_logs_in_as_secondaire(app, client, smtp_server, establishment):
    assert logged_in(login(client, "PEC"))
    listing = body(client.get(f"{URL}/accounts"))
    assert "Consultation des prises en charge" in listing or "Nouveau sous-compte" in listing

    response = create_sub(client, "accueil")
    assert response.status_code in (200, 303)
    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["admissions@clinique-alamal.ma"]
    temporary = temporary_password_in(message)
    with app.app_context():
        sub = db.session.scalar(select(Account).where(Account.login == f"{INPE}/PEC/accueil"))
        assert sub is not None and sub.profiles == ["PEC"] and sub.tenant_ref == INPE

    other = app.test_client()
    assert not logged_in(login(other, "PEC", temporary))  # « Principal » is the main account, not the sub-account
    first = login(other, "PEC", temporary, sub="accueil")
    assert first.status_code == 303 and first.headers["Location"].endswith(f"{URL}/password/change")


def test_a_sub_account_never_gets_a_profile_its_main_account_lacks(app, client, smtp_server, establishment):
    assert logged_in(login(client, "PEC"))
    page = body(client.get(f"{URL}/accounts/new"))
    assert 'value="PAIEMENTS"' not in page  # the PEC main account offers only its own profile
    create_sub(client, "facturation", profiles=("PEC", "PAIEMENTS"))
    with app.app_context():
        assert db.session.scalar(select(Account).where(Account.login == f"{INPE}/PEC/facturation")) is None
