"""« Nouvelle adhésion » with a printable form (CORE-7 c, CORE-16, CNSS-1 to
CNSS-3, CIMR-1) through the test insurer « Caisse Exemple »: two steps, the
filled form downloaded as a PDF by the applicant only, the reception of the
signed form recorded before any approval, two accounts with two profiles, and
a password chosen in the form that is never e-mailed."""
from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Account
from tests.test_enrollment_reviewed import (
    agent_client,
    decide,
    errors_of,
    log_in,
    page,
    post_step,
    request_of,
    temporary_password_in,
    text_of,
)

ENTREPRISE_URL = "/caisse/entreprise"
DELEGUES_URL = "/caisse/delegues"
QUEUE_URL = "/caisse/gestion/enrollments"
COMPANY = {"raison_sociale": "Société Atlas", "ville": "Agadir", "nom": "Tazi", "prenom": "Leila", "email": "direction@atlas.ma", "mentions": "y"}
DELEGATE_PASSWORD = "Deleg2026"


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_enrollment"]
    return app_config


def submit_company(client, adherent: str = "4242", **changes):
    """Both steps: the N° adhérent, then the two-part form."""
    first = post_step(client, ENTREPRISE_URL, 0, {"adherent": adherent})
    assert first.status_code == 303, errors_of(first, "adherent")
    return post_step(client, ENTREPRISE_URL, 1, {**COMPANY, **changes})


def pdf_text(data: bytes) -> str:
    """The text of a PDF, as Debian's poppler-utils reads it."""
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


# --------------------------------------------------------------------------
# The steps
# --------------------------------------------------------------------------


def test_step_one_checks_the_number_then_step_two_is_prefilled_from_the_registry(app, client, smtp_server):
    unknown = post_step(client, ENTREPRISE_URL, 0, {"adherent": "9999"})
    assert "Ce N° adhérent est inconnu de la Caisse Exemple." in errors_of(unknown, "adherent")

    known = post_step(client, ENTREPRISE_URL, 0, {"adherent": "4242"})

    assert known.status_code == 303 and known.headers["Location"] == f"{ENTREPRISE_URL}/enroll"
    second = page(client.get(f"{ENTREPRISE_URL}/enroll"))
    assert "Étape 2 sur 2 : Formulaire d'adhésion" in second
    assert "<legend>Informations générales</legend>" in second and "<legend>Responsable de l'entreprise</legend>" in second
    assert 'value="Société Atlas"' in second
    assert "Étape précédente" in second and 'value="4242"' in page(client.get(f"{ENTREPRISE_URL}/enroll?step=0"))


def test_step_two_cannot_be_posted_before_step_one(app, client, smtp_server):
    response = post_step(client, ENTREPRISE_URL, 1, {**COMPANY, "adherent": "4242"})

    assert response.status_code == 303 and response.headers["Location"] == f"{ENTREPRISE_URL}/enroll"
    assert "Étape 1 sur 2" in page(client.get(f"{ENTREPRISE_URL}/enroll"))
    assert request_of(app, "4242", "caisse/entreprise") is None


def test_legal_mentions_must_be_accepted(app, client, smtp_server):
    response = submit_company(client, mentions="")

    assert "Vous devez accepter les mentions légales." in errors_of(response, "mentions")
    assert request_of(app, "4242", "caisse/entreprise") is None


def test_changing_the_number_at_step_one_refreshes_what_step_two_shows(app, client, smtp_server):
    post_step(client, ENTREPRISE_URL, 0, {"adherent": "4242"})
    post_step(client, ENTREPRISE_URL, 0, {"adherent": "4243"})

    assert 'value="Société Rif"' in page(client.get(f"{ENTREPRISE_URL}/enroll"))


# --------------------------------------------------------------------------
# The printable form
# --------------------------------------------------------------------------


def test_applicant_downloads_the_filled_form_as_a_pdf(app, client, smtp_server):
    assert submit_company(client).status_code == 303
    reference = request_of(app, "4242", "caisse/entreprise").reference
    done = page(client.get(f"{ENTREPRISE_URL}/enroll/done"))
    assert "Télécharger le formulaire" in done and "Déposez le formulaire signé et cacheté à votre agence." in done

    response = client.get(f"{ENTREPRISE_URL}/enroll/{reference}/form.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"demande-{reference}.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    for expected in ("Nouvelle adhésion", reference, "Informations générales", "Raison sociale", "Société Atlas",
                     "Responsable de l'entreprise", "Leila", "direction@atlas.ma", "signature", "Partie réservée à Caisse Exemple"):
        assert expected in text, expected


def test_only_the_browser_that_sent_the_request_downloads_its_form(app, client, smtp_server):
    submit_company(client)
    reference = request_of(app, "4242", "caisse/entreprise").reference

    assert app.test_client().get(f"{ENTREPRISE_URL}/enroll/{reference}/form.pdf").status_code == 404
    assert client.get(f"/caisse/pro/enroll/{reference}/form.pdf").status_code == 404


# --------------------------------------------------------------------------
# Reception, then approval
# --------------------------------------------------------------------------


def test_approval_before_the_reception_of_the_signed_form_is_refused(app, client, smtp_server):
    submit_company(client)
    reference = request_of(app, "4242", "caisse/entreprise").reference
    agent = agent_client(app)
    detail = page(agent.get(f"{QUEUE_URL}/{reference}"))
    assert "Formulaire reçu" in detail and "La demande pourra être approuvée une fois le formulaire signé reçu." in detail

    response = decide(agent, reference, "approve")

    assert "Enregistrez d'abord la réception du formulaire signé" in page(agent.get(response.headers["Location"]))
    assert request_of(app, "4242", "caisse/entreprise").state == "submitted"
    with app.app_context():
        assert db.session.scalar(select(Account).where(Account.space_key == "caisse/entreprise")) is None


def test_agent_records_the_reception_then_approves_and_both_accounts_get_their_own_temporary_password(app, client, smtp_server):
    submit_company(client)
    reference = request_of(app, "4242", "caisse/entreprise").reference
    agent = agent_client(app)

    assert decide(agent, reference, "receive").status_code == 303
    received = smtp_server.wait_for(2)[1]
    assert "formulaire signé" in received["Subject"] and reference in text_of(received)
    assert request_of(app, "4242", "caisse/entreprise").state == "received"
    assert decide(agent, reference, "approve").status_code == 303

    mails = smtp_server.wait_for(4)[2:]
    assert [m["To"] for m in mails] == ["direction@atlas.ma", "direction@atlas.ma"]
    passwords = {}
    for mail in mails:
        login = next(line.split(": ", 1)[1] for line in text_of(mail).splitlines() if line.startswith("Identifiant : "))
        passwords[login] = temporary_password_in(mail)
    assert set(passwords) == {"4242/PEC", "4242/PAIE"} and len(set(passwords.values())) == 2
    with app.app_context():
        accounts = {a.login: a.profiles for a in db.session.scalars(select(Account).where(Account.space_key == "caisse/entreprise"))}
    assert accounts == {"4242/PEC": ["PEC"], "4242/PAIE": ["PAIE"]}
    first = log_in(app.test_client(), ENTREPRISE_URL, passwords["4242/PAIE"], adherent="4242", profil="PAIE")
    assert first.status_code == 303 and first.headers["Location"] == f"{ENTREPRISE_URL}/password/change"
    stored = request_of(app, "4242", "caisse/entreprise")
    assert [(e.action, e.actor) for e in stored.events] == [("submitted", "demandeur"), ("received", "karima"), ("approved", "karima")]


def test_reception_is_recorded_once(app, client, smtp_server):
    submit_company(client)
    reference = request_of(app, "4242", "caisse/entreprise").reference
    agent = agent_client(app)
    decide(agent, reference, "receive")

    again = decide(agent, reference, "receive")

    assert "La réception du formulaire est déjà enregistrée." in page(agent.get(again.headers["Location"]))
    assert len(request_of(app, "4242", "caisse/entreprise").events) == 2


def test_reception_makes_no_sense_for_a_request_without_a_printable_form(app, client, smtp_server):
    post_step(client, "/caisse/pro", 0, {"code": "00000411", "correspondant": "Dr Atlas", "email": "atlas@cabinet.ma"})
    reference = request_of(app, "00000411").reference
    agent = agent_client(app)

    response = decide(agent, reference, "receive")

    assert "Cette demande ne comporte pas de formulaire à déposer." in page(agent.get(response.headers["Location"]))
    assert request_of(app, "00000411").state == "submitted"


# --------------------------------------------------------------------------
# A password chosen in the form (the delegate's)
# --------------------------------------------------------------------------


def submit_subscription(client, password: str = DELEGATE_PASSWORD):
    values = {"adherent": "4243", "nom": "Omar Rif", "email": "delegue@rif.ma", "new_password": password, "confirmation": password}
    return post_step(client, DELEGUES_URL, 0, values)


def test_delegate_password_outside_the_policy_is_refused_next_to_the_field(app, client, smtp_server):
    response = submit_subscription(client, "abc!")

    assert "Entre 5 et 10 caractères" in errors_of(response, "new_password")
    assert "Lettres et chiffres uniquement" in errors_of(response, "new_password")
    assert request_of(app, "4243", "caisse/delegues") is None


def test_delegates_chosen_password_is_stored_hashed_never_mailed_and_logs_in_after_approval(app, client, smtp_server):
    assert submit_subscription(client).status_code == 303
    stored = request_of(app, "4243", "caisse/delegues")
    assert "new_password" not in stored.values and "confirmation" not in stored.values
    assert DELEGATE_PASSWORD not in stored.password_hash
    agent = agent_client(app)
    decide(agent, stored.reference, "receive")
    decide(agent, stored.reference, "approve")

    approval = smtp_server.wait_for(3)[2]

    assert "Identifiant : 4243" in text_of(approval)
    assert "le mot de passe que vous avez choisi" in text_of(approval)
    assert DELEGATE_PASSWORD not in approval.as_string()
    response = log_in(app.test_client(), DELEGUES_URL, DELEGATE_PASSWORD, adherent="4243")
    assert response.status_code == 303 and response.headers["Location"] == f"{DELEGUES_URL}/"
