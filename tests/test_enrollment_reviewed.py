"""« Création de compte » reviewed by an agent (CORE-7 b, CORE-11, CMIM-S1)
through the test insurer « Caisse Exemple » (``tests/plugin_enrollment.py``):
the request and its reference, the agent's queue, approval with a temporary
password e-mailed (SAFE-1), rejection with a reason, duplicates, the insurer's
check, another insurer's agent, the request's history. E-mails are read from
the real SMTP server."""
from __future__ import annotations

import html as htmllib
import re
from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.backoffice import create_agent
from app.enrollment.models import EnrollmentRequest
from app.extensions import db
from app.models import Account, AuditEvent
from tests.conftest import csrf_of, make_account

PRO_URL = "/caisse/pro"
QUEUE_URL = "/caisse/gestion/enrollments"
AGENT_PASSWORD = "Gestion-Solide-2026"
PRACTITIONER = {"code": "00000411", "correspondant": "Dr Karim Atlas", "email": "atlas@cabinet.ma"}


@pytest.fixture
def app_config(app_config: dict) -> dict:
    """« Mutuelle Exemple » (another insurer, with its own back office) and « Caisse Exemple »."""
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_enrollment"]
    return app_config


# --------------------------------------------------------------------------
# Helpers, also used by test_enrollment_printable.py
# --------------------------------------------------------------------------


def page(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def errors_of(response, field: str) -> str:
    """The error list printed next to a field (``<ul id="<field>-errors">``)."""
    found = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', page(response), re.S)
    return found.group(1) if found else ""


def temporary_password_in(message: EmailMessage) -> str:
    """The temporary password: the one indented line of the text part."""
    lines = [line.strip() for line in text_of(message).splitlines() if line.startswith("    ") and line.strip()]
    assert len(lines) == 1, text_of(message)
    return lines[0]


def post_step(client: FlaskClient, space_url: str, step: int, values: dict, headers: dict | None = None):
    """Post one step of a space's enrollment like a browser: the page's CSRF token, the step, the values."""
    token = csrf_of(client.get(f"{space_url}/enroll", headers=headers or {}).get_data(as_text=True))
    return client.post(f"{space_url}/enroll", data={"csrf_token": token, "enrollment_step": str(step), **values}, headers=headers or {})


def submit_pro(client: FlaskClient, **changes):
    return post_step(client, PRO_URL, 0, {**PRACTITIONER, **changes})


def request_of(app: Flask, identifier: str, space_key: str = "caisse/pro") -> EnrollmentRequest | None:
    with app.app_context():
        found = db.session.scalars(
            select(EnrollmentRequest)
            .where(EnrollmentRequest.space_key == space_key, EnrollmentRequest.identifier == identifier)
            .order_by(EnrollmentRequest.id.desc())
        ).first()
        if found is not None:
            found.events  # noqa: B018  (load the history before leaving the context)
            db.session.expunge(found)
        return found


def agent_client(app: Flask, insurer: str = "caisse", login: str = "karima") -> FlaskClient:
    """A browser logged into ``insurer``'s back office as a new agent."""
    with app.app_context():
        create_agent(insurer, login, AGENT_PASSWORD, name=login.title(), must_change=False)
        db.session.commit()
    client = app.test_client()
    token = csrf_of(client.get(f"/{insurer}/gestion/login").get_data(as_text=True))
    response = client.post(f"/{insurer}/gestion/login", data={"csrf_token": token, "identifiant": login, "password": AGENT_PASSWORD})
    assert response.status_code == 303, page(response)
    return client


def decide(agent: FlaskClient, reference: str, action: str, insurer: str = "caisse", **data):
    """Post « Formulaire reçu » (receive), « Approuver » (approve) or « Rejeter » (reject) from the request's page."""
    detail = agent.get(f"/{insurer}/gestion/enrollments/{reference}")
    token = csrf_of(detail.get_data(as_text=True)) if detail.status_code == 200 else csrf_of(agent.get(f"/{insurer}/gestion/").get_data(as_text=True))
    return agent.post(f"/{insurer}/gestion/enrollments/{reference}/{action}", data={"csrf_token": token, **data})


def log_in(client: FlaskClient, space_url: str, password: str, **identifiers):
    token = csrf_of(client.get(f"{space_url}/login").get_data(as_text=True))
    return client.post(f"{space_url}/login", data={"csrf_token": token, "password": password, **identifiers})


# --------------------------------------------------------------------------
# The applicant's side
# --------------------------------------------------------------------------


def test_request_gets_a_reference_shown_to_the_applicant_and_e_mailed(app, client, smtp_server):
    response = submit_pro(client)

    assert response.status_code == 303 and response.headers["Location"] == f"{PRO_URL}/enroll/done"
    stored = request_of(app, "00000411")
    assert stored.state == "submitted" and stored.email == "atlas@cabinet.ma" and stored.insurer == "caisse"
    assert stored.values == {"code": "00000411", "correspondant": "Dr Karim Atlas", "email": "atlas@cabinet.ma"}
    done = page(client.get(f"{PRO_URL}/enroll/done"))
    assert f"Votre demande a bien été enregistrée sous la référence {stored.reference}." in done
    assert "Un conseiller examine votre demande." in done
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "atlas@cabinet.ma" and stored.reference in mail["Subject"] and stored.reference in text_of(mail)


def test_unknown_practitioner_code_is_refused_by_the_insurers_check_next_to_the_field(app, client, smtp_server):
    response = submit_pro(client, code="00000999")

    assert response.status_code == 200
    assert "Ce code praticien est inconnu de la Caisse Exemple." in errors_of(response, "code")
    assert request_of(app, "00000999") is None


def test_badly_formed_code_gets_the_forms_message_and_changes_nothing(app, client, smtp_server):
    response = submit_pro(client, code="41")

    assert "Le code praticien compte 8 chiffres." in errors_of(response, "code")
    assert request_of(app, "41") is None


def test_second_request_while_one_is_pending_is_refused_with_a_clear_message(app, client, smtp_server):
    assert submit_pro(client).status_code == 303

    again = submit_pro(app.test_client(), correspondant="Quelqu'un d'autre")

    assert again.status_code == 200
    assert "Une demande est déjà en cours de traitement pour cet identifiant" in errors_of(again, "code")
    with app.app_context():
        assert len(db.session.scalars(select(EnrollmentRequest)).all()) == 1


def test_code_that_already_has_an_account_is_refused(app, client, smtp_server):
    make_account(app, "00000411", space_key="caisse/pro", profiles=["CONSULT"])

    response = submit_pro(client)

    assert "Un compte existe déjà pour cet identifiant" in errors_of(response, "code")
    assert request_of(app, "00000411") is None


# --------------------------------------------------------------------------
# The agent's decisions
# --------------------------------------------------------------------------


def test_agent_approves_request_and_the_applicant_receives_a_temporary_password_that_forces_the_change(app, client, smtp_server):
    submit_pro(client)
    reference = request_of(app, "00000411").reference
    agent = agent_client(app)

    response = decide(agent, reference, "approve")

    assert response.status_code == 303 and response.headers["Location"] == f"{QUEUE_URL}/{reference}"
    assert "compte(s) 00000411 créé(s)" in page(agent.get(response.headers["Location"]))
    mail = smtp_server.wait_for(2)[1]
    assert smtp_server.envelopes[1][1] == ["atlas@cabinet.ma"]
    assert reference in mail["Subject"] and "Identifiant : 00000411" in text_of(mail)
    password = temporary_password_in(mail)
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.space_key == "caisse/pro", Account.login == "00000411"))
        assert account.profiles == ["CONSULT"] and account.display_name == "Dr Karim Atlas" and account.tenant_ref == "00000411"
        assert account.status == "active" and account.password_hash is None and account.must_change_password
    first = log_in(app.test_client(), PRO_URL, password, code="00000411")
    assert first.status_code == 303 and first.headers["Location"] == f"{PRO_URL}/password/change"


def test_approval_is_audited_with_the_agent_as_actor(app, client, smtp_server):
    submit_pro(client)
    reference = request_of(app, "00000411").reference

    decide(agent_client(app), reference, "approve")

    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "enrollment_approved"))
    assert event.actor == "karima" and event.insurer == "caisse"
    assert event.detail["reference"] == reference and event.detail["logins"] == ["00000411"]


def test_agent_rejects_with_a_reason_that_is_e_mailed_and_no_account_is_created(app, client, smtp_server):
    submit_pro(client)
    reference = request_of(app, "00000411").reference
    agent = agent_client(app)

    without = decide(agent, reference, "reject", reason="   ")
    assert without.status_code == 200 and "Le motif du rejet est obligatoire." in errors_of(without, "reason")
    assert request_of(app, "00000411").state == "submitted"

    response = decide(agent, reference, "reject", reason="Le correspondant n'est pas habilité.")

    assert response.status_code == 303
    stored = request_of(app, "00000411")
    assert stored.state == "rejected" and stored.reason == "Le correspondant n'est pas habilité." and stored.decided_by == "karima"
    mail = smtp_server.wait_for(2)[1]
    assert mail["To"] == "atlas@cabinet.ma" and "Le correspondant n'est pas habilité." in text_of(mail)
    with app.app_context():
        assert db.session.scalar(select(Account).where(Account.space_key == "caisse/pro")) is None
    # a rejected request is no longer pending: the applicant may ask again
    assert submit_pro(app.test_client()).status_code == 303


def test_a_decided_request_cannot_be_decided_again(app, client, smtp_server):
    submit_pro(client)
    reference = request_of(app, "00000411").reference
    agent = agent_client(app)
    decide(agent, reference, "approve")

    again = decide(agent, reference, "reject", reason="Trop tard")

    assert again.status_code == 303
    assert "Cette demande a déjà été traitée." in page(agent.get(again.headers["Location"]))
    assert request_of(app, "00000411").state == "approved"
    assert len(smtp_server.wait_for(2)) == 2


def test_decisions_need_the_forms_csrf_token(app, client, smtp_server):
    submit_pro(client)
    reference = request_of(app, "00000411").reference
    agent = agent_client(app)

    response = agent.post(f"{QUEUE_URL}/{reference}/approve")

    assert response.status_code == 400
    assert request_of(app, "00000411").state == "submitted"


def test_request_history_shows_each_step_with_who_and_when(app, client, smtp_server):
    submit_pro(client)
    reference = request_of(app, "00000411").reference
    agent = agent_client(app)
    decide(agent, reference, "reject", reason="Pièces manquantes")

    detail = page(agent.get(f"{QUEUE_URL}/{reference}"))

    history = detail[detail.index("Historique de la demande"):]
    rows = re.findall(r"<tr><td>(\d\d/\d\d/\d{4} \d\d:\d\d)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", history)
    assert [(what, who, why) for _when, what, who, why in rows] == [
        ("Demande envoyée", "Demandeur", ""),
        ("Demande rejetée", "karima", "Pièces manquantes"),
    ]
    stored = request_of(app, "00000411")
    assert [e.actor for e in stored.events] == ["demandeur", "karima"]
    assert stored.events[0].at <= stored.events[1].at


def test_request_page_shows_the_submitted_values_with_the_forms_labels(app, client, smtp_server):
    submit_pro(client)
    reference = request_of(app, "00000411").reference

    detail = page(agent_client(app).get(f"{QUEUE_URL}/{reference}"))

    for label, value in (("Code praticien", "00000411"), ("Nom du correspondant", "Dr Karim Atlas"), ("Adresse mail", "atlas@cabinet.ma")):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in detail
    assert "Approuver" in detail and "Rejeter" in detail and "Formulaire reçu" not in detail


# --------------------------------------------------------------------------
# The queue
# --------------------------------------------------------------------------


def test_queue_counts_filters_and_searches_the_insurers_requests(app, client, smtp_server):
    submit_pro(client)
    submit_pro(app.test_client(), code="00000412", email="andalous@clinique.ma")
    agent = agent_client(app)
    decide(agent, request_of(app, "00000411").reference, "approve")

    everything = page(agent.get(QUEUE_URL))
    approved = page(agent.get(f"{QUEUE_URL}?state=approved"))
    searched = page(agent.get(f"{QUEUE_URL}?q=andalous"))

    assert "Nombre de demandes : 2" in everything and "Soumise : <strong>1</strong>" in everything
    assert "Approuvée : <strong>1</strong>" in everything
    assert "Nombre de demandes : 1" in approved and "00000411" in approved and "00000412" not in approved
    assert "Nombre de demandes : 1" in searched and "00000412" in searched and "00000411" not in searched
    assert "Demandes d'adhésion" in page(agent.get("/caisse/gestion/"))


def test_queue_search_by_reference_and_space_and_date(app, client, smtp_server):
    submit_pro(client)
    reference = request_of(app, "00000411").reference
    agent = agent_client(app)

    by_reference = page(agent.get(f"{QUEUE_URL}?q={reference.lower()}"))
    by_space = page(agent.get(f"{QUEUE_URL}?space=caisse/entreprise"))
    future = page(agent.get(f"{QUEUE_URL}?submitted_du=01/01/2999"))

    assert "Nombre de demandes : 1" in by_reference
    assert "Nombre de demandes : 0" in by_space
    assert "Nombre de demandes : 0" in future


def test_queue_with_a_bad_date_says_so_next_to_the_field(app, client, smtp_server):
    agent = agent_client(app)

    response = agent.get(f"{QUEUE_URL}?submitted_du=31/02/2026")

    assert response.status_code == 200
    assert "Date invalide : saisissez-la sous la forme jj/mm/aaaa." in page(response)


def test_queue_answers_htmx_with_the_results_only(app, client, smtp_server):
    submit_pro(client)
    agent = agent_client(app)

    response = agent.get(f"{QUEUE_URL}?state=submitted", headers={"HX-Request": "true"})

    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert "Nombre de demandes : 1" in page(response)


def test_agent_of_another_insurer_can_neither_see_nor_decide_the_request(app, client, smtp_server):
    submit_pro(client)
    reference = request_of(app, "00000411").reference
    other = agent_client(app, insurer="exemple", login="youssef")

    assert other.get(f"/exemple/gestion/enrollments/{reference}").status_code == 404
    assert decide(other, reference, "approve", insurer="exemple").status_code == 404
    assert decide(other, reference, "reject", insurer="exemple", reason="Non").status_code == 404
    assert reference not in page(other.get("/exemple/gestion/enrollments"))
    # and the other insurer's back office is not theirs: 403 (app/sessions.py's gate)
    assert other.get(f"{QUEUE_URL}/{reference}").status_code == 403
    assert request_of(app, "00000411").state == "submitted"


def test_members_cannot_reach_the_queue(app, client, smtp_server):
    make_account(app, "00000412", space_key="caisse/pro", profiles=["CONSULT"])
    log_in(client, PRO_URL, "Ancien2026x", code="00000412")

    response = client.get(QUEUE_URL)

    assert response.status_code == 303 and response.headers["Location"].startswith("/caisse/gestion/login")
