"""« Création de compte » in self-service (CORE-7 a, CMIM-P1, CMIM-P2) through the
test insurer's space: an inactive account with the chosen password, an
activation link e-mailed from ``PUBLIC_URL`` that works once and expires
(SAFE-4), a confirmation e-mail, then the login. E-mails are read from the
real SMTP server."""
from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.mail import ERASED_BODY
from app.models import Account, AuditEvent, OutboxMessage, SecretAnswer, Token, utcnow
from app.passwords import verify_answer
from tests.conftest import SPACE_URL, csrf_of, login, make_account
from tests.plugin_exemple.enrollment import QUESTIONS

ENROLL_URL = f"{SPACE_URL}/enroll"
PASSWORD = "Solide2026x"
FORM = {
    "adherent": "1002",
    "nom": "Benali",
    "date_naissance": "1990-05-17",
    "email": "benali@exemple.ma",
    "new_password": PASSWORD,
    "confirmation": PASSWORD,
    "secret_question": QUESTIONS[1],
    "secret_answer": "Fatima Zahra",
}
DONE = "Votre compte a bien été créé, vous recevrez un mail d'activation sur votre boîte mail d'ici quelques minutes."
UNKNOWN = "Ces informations ne correspondent à aucun adhérent de la Mutuelle Exemple."
LINK_RE = re.compile(r"https?://[^\s\"'<>]+/enroll/activate/[A-Za-z0-9_\-]+")


def page(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def errors_of(response, field: str) -> str:
    """The error list printed next to a field (``<ul id="<field>-errors">``)."""
    found = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', page(response), re.S)
    return found.group(1) if found else ""


def enroll(client, headers=None, **changes):
    """Fill « Création de compte » like a browser and post it."""
    token = csrf_of(client.get(ENROLL_URL, headers=headers or {}).get_data(as_text=True))
    data = {"csrf_token": token, "enrollment_step": "0", **FORM, **changes}
    return client.post(ENROLL_URL, data=data, headers=headers or {})


def account_1002(app) -> Account | None:
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.space_key == "exemple/membres", Account.login == "1002"))
        if account is not None:
            db.session.expunge(account)
        return account


def activation_link(smtp_server, count: int = 1) -> str:
    message = smtp_server.wait_for(count)[count - 1]
    found = LINK_RE.findall(text_of(message))
    assert len(found) == 1, text_of(message)
    return found[0]


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


# --------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------


def test_login_page_links_to_the_spaces_account_creation(client):
    response = client.get(f"{SPACE_URL}/login")

    assert f'href="{ENROLL_URL}"' in page(response)
    assert "Création de compte" in page(response)


def test_enrollment_form_shows_the_seeds_sections_and_the_password_policy(client):
    response = client.get(ENROLL_URL)

    text = page(response)
    assert response.status_code == 200
    for label in ("Vos informations personnelles", "Numéro d'adhérent", "Date de naissance", "Vos identifiants",
                  "Mot de passe", "Confirmation du mot de passe", "Question secrète", "Réponse", "Entre 8 et 12 caractères"):
        assert label in text
    assert "Confirmer" in text


@pytest.fixture
def two_insurers(app_config: dict) -> dict:
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_variants"]
    return app_config


def test_a_space_without_enrollment_has_no_enrollment_page_nor_link(two_insurers, client):
    assert client.get("/variantes/question/enroll").status_code == 404
    assert client.get("/variantes/question/enroll/done").status_code == 404
    assert "/enroll" not in client.get("/variantes/question/login").get_data(as_text=True)


def test_a_flow_missing_a_field_the_core_reads_is_refused_when_declared():
    from dataclasses import replace

    from app.plugins import EnrollmentStep
    from tests.plugin_exemple.enrollment import ENROLLMENT
    from tests.plugin_enrollment import CompanyNumberForm

    with pytest.raises(ValueError, match="no step has the field 'matricule'"):
        replace(ENROLLMENT, identifier="matricule")
    with pytest.raises(ValueError, match="no step has the field 'courriel'"):
        replace(ENROLLMENT, email_field="courriel")
    with pytest.raises(ValueError, match="ChosenPassword"):
        replace(ENROLLMENT, steps=(*ENROLLMENT.steps, EnrollmentStep(CompanyNumberForm)))


# --------------------------------------------------------------------------
# Sign-up, activation, login
# --------------------------------------------------------------------------


def test_member_signs_up_and_the_inactive_account_cannot_log_in(app, client, smtp_server):
    response = enroll(client)

    assert response.status_code == 303 and response.headers["Location"] == f"{ENROLL_URL}/done"
    assert DONE in page(client.get(f"{ENROLL_URL}/done"))
    account = account_1002(app)
    assert account.status == "inactive" and not account.must_change_password
    assert account.display_name == "Benali" and account.email == "benali@exemple.ma" and account.tenant_ref == "1002"
    assert account.profiles == ["CONSULT", "PAIE"]
    assert "Identifiant ou mot de passe incorrect." in page(login(client, "1002", PASSWORD))


def test_secret_answer_is_stored_hashed_with_the_chosen_question(app, client, smtp_server):
    enroll(client)

    with app.app_context():
        (answer,) = db.session.scalars(select(SecretAnswer)).all()
        assert answer.question == QUESTIONS[1]
        assert "Fatima" not in answer.answer_hash and verify_answer(answer.answer_hash, "fatima  zahra")


def test_activation_link_works_once_then_a_confirmation_follows_and_the_login_works(app, client, smtp_server):
    enroll(client)
    link = activation_link(smtp_server)
    assert link.startswith("https://portail.example.test/exemple/membres/enroll/activate/")

    activated = client.get(path_of(link))

    assert activated.status_code == 200 and "Votre compte 1002 est activé" in page(activated)
    confirmation = smtp_server.wait_for(2)[1]
    assert confirmation["To"] == "benali@exemple.ma"
    assert "est activé" in text_of(confirmation) and "https://portail.example.test/exemple/membres/login" in text_of(confirmation)
    again = client.get(path_of(link))
    assert again.status_code == 400 and "Lien invalide ou expiré" in page(again)
    response = login(client, "1002", PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == f"{SPACE_URL}/"


def test_activation_mail_is_sensitive_and_erased_from_the_outbox_once_sent(app, client, smtp_server):
    enroll(client)
    smtp_server.wait_for(1)

    with app.app_context():
        (message,) = db.session.scalars(select(OutboxMessage)).all()
        assert message.sensitive and message.status == "sent" and message.body_text == ERASED_BODY


def test_expired_activation_link_is_refused_and_a_new_sign_up_replaces_the_account(app, client, smtp_server):
    enroll(client)
    link = activation_link(smtp_server)
    with app.app_context():
        db.session.execute(Token.__table__.update().values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()

    expired = client.get(path_of(link))

    assert expired.status_code == 400 and "Lien invalide ou expiré" in page(expired)
    assert account_1002(app).status == "inactive"
    # the member starts again: the stale account is replaced, the new link works
    assert enroll(client).status_code == 303
    assert client.get(path_of(activation_link(smtp_server, 2))).status_code == 200
    assert account_1002(app).status == "active"


def test_activation_link_is_built_from_the_public_url_never_the_host_header(client, smtp_server):
    enroll(client, headers={"Host": "evil.example"})

    assert activation_link(smtp_server).startswith("https://portail.example.test/")


def test_sign_up_and_activation_are_in_the_members_history(app, client, smtp_server):
    enroll(client)
    client.get(path_of(activation_link(smtp_server)))

    with app.app_context():
        account_id = account_1002(app).id
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.account_id == account_id).order_by(AuditEvent.id)).all()
    assert actions == ["account_enrolled", "account_activated"]
    login(client, "1002", PASSWORD)
    history = page(client.get(f"{SPACE_URL}/history"))
    assert "Création de compte" in history and "Activation du compte" in history


# --------------------------------------------------------------------------
# Refusals: a French message next to the field, nothing created
# --------------------------------------------------------------------------


def no_account_nor_mail(app, smtp_server) -> None:
    assert account_1002(app) is None
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage)).all() == []


def test_member_unknown_to_the_registry_is_refused_next_to_the_field(app, client, smtp_server):
    response = enroll(client, nom="Inconnu")

    assert response.status_code == 200
    assert UNKNOWN in errors_of(response, "adherent")
    no_account_nor_mail(app, smtp_server)


def test_password_outside_the_policy_is_refused_next_to_the_field(app, client, smtp_server):
    short = enroll(client, new_password="court1", confirmation="court1")
    named = enroll(client, new_password="Benali2026", confirmation="Benali2026")

    assert "Entre 8 et 12 caractères" in errors_of(short, "new_password")
    assert "Ne contient ni votre identifiant ni le nom de l'organisme" in errors_of(named, "new_password")
    no_account_nor_mail(app, smtp_server)


def test_confirmation_must_match_the_password(app, client, smtp_server):
    response = enroll(client, confirmation="Autre2026xx")

    assert "La confirmation ne correspond pas au mot de passe." in errors_of(response, "confirmation")
    no_account_nor_mail(app, smtp_server)


def test_too_long_values_get_a_french_message_next_to_the_field(app, client, smtp_server):
    response = enroll(client, nom="B" * 101, secret_answer="r" * 201)

    assert "100 caractères au plus." in errors_of(response, "nom")
    assert "200 caractères au plus." in errors_of(response, "secret_answer")
    no_account_nor_mail(app, smtp_server)


def test_signing_up_again_while_the_activation_is_pending_is_refused(app, client, smtp_server):
    assert enroll(client).status_code == 303

    again = enroll(client)

    assert again.status_code == 200
    assert "attend son activation" in errors_of(again, "adherent")
    smtp_server.wait_for(1)
    with app.app_context():
        assert len(db.session.scalars(select(Account).where(Account.login == "1002")).all()) == 1


def test_a_member_who_has_an_account_is_told_to_log_in(app, client, smtp_server):
    make_account(app, "1002")

    response = enroll(client)

    assert "Un compte existe déjà pour cet identifiant" in errors_of(response, "adherent")


def test_htmx_submit_gets_the_fragment_with_errors_then_a_redirect(client, smtp_server):
    token = csrf_of(client.get(ENROLL_URL).get_data(as_text=True))
    headers = {"HX-Request": "true"}
    data = {"csrf_token": token, "enrollment_step": "0", **FORM}

    refused = client.post(ENROLL_URL, data={**data, "nom": "Inconnu"}, headers=headers)
    accepted = client.post(ENROLL_URL, data=data, headers=headers)

    assert refused.status_code == 200 and "<html" not in refused.get_data(as_text=True) and UNKNOWN in page(refused)
    assert accepted.headers["HX-Redirect"] == f"{ENROLL_URL}/done"


@pytest.fixture
def tight_limits(app_config: dict) -> dict:
    app_config["RECOVERY_LIMITS"] = "2 per minute"
    return app_config


def test_enrollment_posts_are_throttled(tight_limits, client):
    codes = [enroll(client, nom="Inconnu").status_code for _ in range(3)]

    assert codes == [200, 200, 429]


def test_enrollment_posts_for_one_member_are_throttled_from_any_address(tight_limits, client):
    token = csrf_of(client.get(ENROLL_URL).get_data(as_text=True))
    data = {"csrf_token": token, "enrollment_step": "0", **FORM, "nom": "Inconnu"}

    codes = [client.post(ENROLL_URL, data=data, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code for i in range(3)]
    other_member = client.post(ENROLL_URL, data={**data, "adherent": "1003"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})

    assert codes == [200, 200, 429]
    assert other_member.status_code == 200


typed = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(adherent=typed, nom=typed, date_naissance=typed, email=typed, password=typed, step=typed)
def test_enrollment_form_never_fails_whatever_is_typed(client, adherent, nom, date_naissance, email, password, step):
    response = enroll(
        client, adherent=adherent, nom=nom, date_naissance=date_naissance, email=email,
        new_password=password, confirmation=password, enrollment_step=step,
    )
    assert response.status_code in (200, 303, 429)
