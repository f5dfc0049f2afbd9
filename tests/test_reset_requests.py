"""« Réinitialisation de compte » (CORE-11, CNSS-7) through the test insurer
« Caisse Exemple » (``tests/plugin_enrollment.py``, space « entreprise »): the
link on the login page, the request (identifier, N° GSM, Email) and its
checks, the printable form, the agent's queue, the reception of the signed
form, the approval (new contact details on record, a temporary password at
the new address, SAFE-1) or the rejection with a reason, another insurer's
agent. E-mails are read from the real SMTP server."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.enrollment import service
from app.enrollment.models import EnrollmentRequest
from app.extensions import db
from app.models import Account, AuditEvent, utcnow
from tests.conftest import PASSWORD, csrf_of, make_account
from tests.test_enrollment_printable import pdf_text
from tests.test_enrollment_reviewed import (
    agent_client,
    decide,
    errors_of,
    log_in,
    page,
    request_of,
    temporary_password_in,
    text_of,
)

SPACE_URL = "/caisse/entreprise"
RESET_URL = f"{SPACE_URL}/reset-request"
QUEUE_URL = "/caisse/gestion/reset-requests"
SPACE_KEY = "caisse/entreprise"
REQUEST = {"adherent": "4242", "phone": "06 12 34 56 78", "email": "Nouvelle.Direction@atlas.ma"}


@pytest.fixture
def app_config(app_config: dict) -> dict:
    """« Caisse Exemple » and « Mutuelle Exemple » (another insurer, with its own back office)."""
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_enrollment"]
    return app_config


@pytest.fixture
def accounts(app) -> dict[str, int]:
    """The establishment's two accounts, PEC and PAIE, with their former contact details."""
    return {
        login: make_account(
            app, login, space_key=SPACE_KEY, profiles=[login.split("/")[1]], email="ancienne@atlas.ma", phone="+212600000000"
        )
        for login in ("4242/PEC", "4242/PAIE")
    }


def ask(client, **changes):
    """Post « Réinitialisation de compte » like a browser: the page's CSRF token, then the values."""
    token = csrf_of(client.get(RESET_URL).get_data(as_text=True))
    return client.post(RESET_URL, data={"csrf_token": token, **REQUEST, **changes})


def reset_request_of(app, identifier: str = "4242") -> EnrollmentRequest | None:
    found = request_of(app, identifier, SPACE_KEY)
    return found if found is not None and found.kind == "reset" else None


def count_requests(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(EnrollmentRequest))


def account_of(app, login: str) -> Account:
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.space_key == SPACE_KEY, Account.login == login))
        db.session.expunge(account)
        return account


# --------------------------------------------------------------------------
# The applicant's side
# --------------------------------------------------------------------------


def test_login_page_links_the_reset_request_next_to_the_forgotten_password(app, client, smtp_server):
    login_page = page(client.get(f"{SPACE_URL}/login"))

    assert "Mot de passe oublié ?" in login_page and f'href="{RESET_URL}">Réinitialisation de compte</a>' in login_page
    assert "Réinitialisation de compte" not in page(client.get("/caisse/pro/login"))
    assert client.get("/caisse/pro/reset-request").status_code == 404


def test_reset_page_asks_the_identifier_the_gsm_and_the_email(app, client, smtp_server):
    form = page(client.get(RESET_URL))

    for label in ("N° Adhérent", "N° GSM", "Email", "Valider", "Revenir à la page d'accueil"):
        assert label in form, label
    assert "Profil" not in form  # only the identifier that names the establishment


def test_unknown_identifier_gets_a_clear_message_next_to_the_field_and_nothing_is_stored(app, client, smtp_server, accounts):
    response = ask(client, adherent="4243")

    assert response.status_code == 200
    assert "Aucun compte de cet espace n'existe pour cet identifiant." in errors_of(response, "adherent")
    assert count_requests(app) == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "pas-une-adresse"}, "email", "Adresse e-mail invalide."),
        ({"phone": "0512345678"}, "phone", "Le N° GSM commence par 06 ou 07 (ou +212 6, +212 7) suivi de 8 chiffres."),
        ({"phone": "061234567"}, "phone", "Le N° GSM commence par 06 ou 07"),
        ({"phone": ""}, "phone", "Ce champ est obligatoire."),
        ({"adherent": "42A"}, "adherent", "Le N° adhérent compte de 1 à 10 chiffres."),
    ],
)
def test_bad_input_gets_its_message_next_to_the_field_and_nothing_is_stored(app, client, smtp_server, accounts, changes, field, message):
    response = ask(client, **changes)

    assert response.status_code == 200
    assert message in errors_of(response, field)
    assert count_requests(app) == 0


def test_htmx_post_shows_the_errors_in_place_then_redirects_the_whole_page(app, client, smtp_server, accounts):
    token = csrf_of(client.get(RESET_URL).get_data(as_text=True))
    headers = {"HX-Request": "true"}

    wrong = client.post(RESET_URL, data={"csrf_token": token, **REQUEST, "phone": "12"}, headers=headers)
    assert "<h1>" not in page(wrong) and "Le N° GSM commence par 06 ou 07" in errors_of(wrong, "phone")
    right = client.post(RESET_URL, data={"csrf_token": token, **REQUEST}, headers=headers)
    assert right.headers["HX-Redirect"] == f"{RESET_URL}/done"


def test_request_is_stored_with_the_gsm_normalised_and_acknowledged_by_e_mail(app, client, smtp_server, accounts):
    response = ask(client)

    assert response.status_code == 303 and response.headers["Location"] == f"{RESET_URL}/done"
    stored = reset_request_of(app)
    assert stored.state == "submitted" and stored.insurer == "caisse"
    assert stored.email == "nouvelle.direction@atlas.ma"
    assert stored.values == {"adherent": "4242", "phone": "+212612345678", "email": "nouvelle.direction@atlas.ma"}
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "nouvelle.direction@atlas.ma" and stored.reference in mail["Subject"]
    assert "Réinitialisation de compte" in text_of(mail)
    # nothing changes on the accounts before an agent decides
    assert account_of(app, "4242/PEC").email == "ancienne@atlas.ma"


def test_second_request_while_one_is_pending_is_refused_with_a_clear_message(app, client, smtp_server, accounts):
    assert ask(client).status_code == 303

    again = ask(app.test_client(), email="autre@atlas.ma")

    assert again.status_code == 200
    assert "Une demande de réinitialisation est déjà en cours de traitement pour cet identifiant" in errors_of(again, "adherent")
    assert count_requests(app) == 1


def test_the_database_refuses_a_second_pending_request_even_when_two_submissions_race(app, client, smtp_server, accounts):
    """The partial unique index: a second pending request written past the check becomes the same message."""
    assert ask(client).status_code == 303
    with app.test_request_context():
        duplicate = EnrollmentRequest(
            kind="reset", reference="RACE-0001", insurer="caisse", space_key=SPACE_KEY, identifier="4242",
            email="autre@atlas.ma", values={}, state="submitted", created_at=utcnow(), updated_at=utcnow(),
        )
        with pytest.raises(service.EnrollmentRefused) as refused:
            service.store_request(duplicate, "adherent")
        assert "Une demande de réinitialisation est déjà en cours" in refused.value.message
        assert refused.value.field == "adherent"
    assert count_requests(app) == 1


def test_a_pending_enrollment_does_not_block_a_reset_request_of_the_same_identifier(app, client, smtp_server, accounts):
    with app.app_context():
        db.session.add(EnrollmentRequest(
            reference="ENRO-0001", insurer="caisse", space_key=SPACE_KEY, identifier="4242", email="x@atlas.ma",
            values={}, state="submitted", created_at=utcnow(), updated_at=utcnow(),
        ))
        db.session.commit()

    assert ask(client).status_code == 303
    assert count_requests(app) == 2


def test_applicant_downloads_the_filled_reset_form_as_a_pdf(app, client, smtp_server, accounts):
    ask(client)
    reference = reset_request_of(app).reference
    done = page(client.get(f"{RESET_URL}/done"))
    assert f"Votre demande a bien été enregistrée sous la référence {reference}." in done
    assert "Télécharger le formulaire" in done and "accompagné de la copie de sa CNI" in done

    response = client.get(f"{RESET_URL}/{reference}/form.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"reinitialisation-{reference}.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    for expected in ("Formulaire de réinitialisation de compte", reference, "N° Adhérent", "4242", "+212612345678",
                     "nouvelle.direction@atlas.ma", "4242/PEC", "4242/PAIE", "signature", "Partie réservée à Caisse Exemple"):
        assert expected in text, expected


def test_only_the_browser_that_sent_the_request_downloads_its_form(app, client, smtp_server, accounts):
    ask(client)
    reference = reset_request_of(app).reference

    assert app.test_client().get(f"{RESET_URL}/{reference}/form.pdf").status_code == 404
    # nor is it an enrollment form
    assert client.get(f"{SPACE_URL}/enroll/{reference}/form.pdf").status_code == 404


# --------------------------------------------------------------------------
# The agent's side
# --------------------------------------------------------------------------


def test_agent_sees_reset_requests_in_their_own_queue_with_counts_and_filters(app, client, smtp_server, accounts):
    ask(client)
    reference = reset_request_of(app).reference
    agent = agent_client(app)

    dashboard = page(agent.get("/caisse/gestion/"))
    queue = page(agent.get(QUEUE_URL))

    assert "Demandes de réinitialisation" in dashboard
    assert "<h1>Demandes de réinitialisation</h1>" in queue
    assert reference in queue and "Nombre de demandes : 1" in queue and "Soumise : <strong>1</strong>" in queue
    assert reference not in page(agent.get("/caisse/gestion/enrollments"))
    assert reference not in page(agent.get(f"{QUEUE_URL}?state=approved"))
    assert reference in page(agent.get(f"{QUEUE_URL}?q=4242"))
    results = page(agent.get(f"{QUEUE_URL}?q=4242", headers={"HX-Request": "true"}))
    assert reference in results and "<h1>" not in results and "Nombre de demandes : 1" in results
    detail = page(agent.get(f"/caisse/gestion/enrollments/{reference}"))
    for expected in ("Réinitialisation de compte", "+212612345678", "Comptes concernés", "4242/PEC", "ancienne@atlas.ma", "Formulaire reçu"):
        assert expected in detail, expected


def test_approval_before_the_reception_of_the_signed_form_is_refused(app, client, smtp_server, accounts):
    ask(client)
    reference = reset_request_of(app).reference
    agent = agent_client(app)

    response = decide(agent, reference, "approve")

    assert "Enregistrez d'abord la réception du formulaire signé" in page(agent.get(response.headers["Location"]))
    assert reset_request_of(app).state == "submitted"
    assert account_of(app, "4242/PEC").email == "ancienne@atlas.ma"


def test_agent_receives_then_approves_and_each_account_gets_a_temporary_password_at_the_new_address(app, client, smtp_server, accounts):
    ask(client)
    reference = reset_request_of(app).reference
    before = app.test_client()
    assert log_in(before, SPACE_URL, PASSWORD, adherent="4242", profil="PEC").status_code == 303
    agent = agent_client(app)

    assert decide(agent, reference, "receive").status_code == 303
    received = smtp_server.wait_for(2)[1]
    assert "formulaire signé" in received["Subject"] and reference in text_of(received)
    approved = decide(agent, reference, "approve")
    assert approved.status_code == 303
    assert "compte(s) 4242/PEC, 4242/PAIE réinitialisé(s)" in page(agent.get(approved.headers["Location"]))

    mails = smtp_server.wait_for(4)[2:]
    assert [m["To"] for m in mails] == ["nouvelle.direction@atlas.ma"] * 2
    passwords = {}
    for mail in mails:
        assert reference in mail["Subject"]
        login = next(line.split(": ", 1)[1] for line in text_of(mail).splitlines() if line.startswith("Identifiant : "))
        passwords[login] = temporary_password_in(mail)
    assert set(passwords) == {"4242/PEC", "4242/PAIE"} and len(set(passwords.values())) == 2
    for login in passwords:
        account = account_of(app, login)
        assert (account.email, account.phone) == ("nouvelle.direction@atlas.ma", "+212612345678")
    # the sessions opened before the approval are over
    assert before.get(f"{SPACE_URL}/").status_code == 303
    # SAFE-1: the old password works until the temporary one is used
    old = log_in(app.test_client(), SPACE_URL, PASSWORD, adherent="4242", profil="PAIE")
    assert old.status_code == 303 and old.headers["Location"] == f"{SPACE_URL}/"
    first = log_in(app.test_client(), SPACE_URL, passwords["4242/PEC"], adherent="4242", profil="PEC")
    assert first.status_code == 303 and first.headers["Location"] == f"{SPACE_URL}/password/change"
    assert log_in(app.test_client(), SPACE_URL, PASSWORD, adherent="4242", profil="PEC").status_code == 200
    stored = reset_request_of(app)
    assert stored.state == "approved" and stored.decided_by == "karima"
    assert [(e.action, e.actor) for e in stored.events] == [("submitted", "demandeur"), ("received", "karima"), ("approved", "karima")]


def test_reset_decisions_are_audited_with_their_own_labels(app, client, smtp_server, accounts):
    ask(client)
    reference = reset_request_of(app).reference
    agent = agent_client(app)
    decide(agent, reference, "receive")
    decide(agent, reference, "approve")

    with app.app_context():
        events = {e.action: e for e in db.session.scalars(select(AuditEvent))}
        resets = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "password_reset")).all()
    assert {"reset_request_submitted", "reset_request_received", "reset_request_approved"} <= set(events)
    assert events["reset_request_approved"].actor == "karima" and events["reset_request_approved"].insurer == "caisse"
    assert events["reset_request_approved"].detail["logins"] == ["4242/PEC", "4242/PAIE"]
    assert {e.account_id for e in resets} == set(accounts.values()) and {e.actor for e in resets} == {"karima"}
    trail = page(agent.get("/caisse/gestion/audit"))
    assert "Demande de réinitialisation de compte approuvée" in trail


def test_agent_rejects_with_a_reason_that_is_e_mailed_and_nothing_changes(app, client, smtp_server, accounts):
    ask(client)
    reference = reset_request_of(app).reference
    agent = agent_client(app)

    empty = decide(agent, reference, "reject", reason="  ")
    assert "Le motif du rejet est obligatoire." in errors_of(empty, "reason")
    assert decide(agent, reference, "reject", reason="Copie de la CNI du directeur manquante.").status_code == 303

    mail = smtp_server.wait_for(2)[1]
    assert mail["To"] == "nouvelle.direction@atlas.ma" and reference in mail["Subject"]
    assert "Copie de la CNI du directeur manquante." in text_of(mail)
    stored = reset_request_of(app)
    assert stored.state == "rejected" and stored.reason == "Copie de la CNI du directeur manquante."
    assert account_of(app, "4242/PEC").email == "ancienne@atlas.ma"
    # a decided request no longer blocks a new one
    assert ask(client).status_code == 303


def test_agent_of_another_insurer_can_neither_see_nor_decide_the_request(app, client, smtp_server, accounts):
    ask(client)
    reference = reset_request_of(app).reference
    other = agent_client(app, insurer="exemple", login="youssef")

    assert other.get(f"/exemple/gestion/enrollments/{reference}").status_code == 404
    assert decide(other, reference, "receive", insurer="exemple").status_code == 404
    assert decide(other, reference, "approve", insurer="exemple").status_code == 404
    assert reference not in page(other.get("/exemple/gestion/reset-requests"))
    assert other.get(f"/caisse/gestion/enrollments/{reference}").status_code == 403
    assert reset_request_of(app).state == "submitted"
