"""« Mot de passe oublié ? » (CORE-5) with each recovery method, reset links
(SAFE-4), temporary passwords (SAFE-1), secret questions (SAFE-2), sessions
ended by a reset (SAFE-5) and the audit trail (CORE-10).

Every e-mail is read from the real SMTP server (``smtp_server``)."""
from __future__ import annotations

import html as htmllib
import re
import time
from datetime import timedelta
from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, AuditEvent, LoginSession, OutboxMessage, SecretAnswer, Token, utcnow
from app.passwords import hash_answer
from tests.conftest import PASSWORD, SPACE_URL, csrf_of, login, make_account
from tests.plugin_variants import ADMIN_INSTRUCTIONS, QUESTIONS

QUESTION_URL = "/variantes/question"
IDENTITY_URL = "/variantes/identite"
ADMIN_URL = "/variantes/admin"

NEW_PASSWORD = "Nouveau2027y"
GENERIC = "Si ces informations correspondent à un compte, un e-mail vient d'être envoyé à l'adresse enregistrée."
MISMATCH = "Les informations saisies ne correspondent pas à celles déclarées lors de votre adhésion."
TEMPORARY_SENT = "Un nouveau mot de passe a été envoyé à votre adresse e-mail."
INVALID_LINK = "Lien invalide ou expiré"
LINK_RE = re.compile(r"https?://[^\s\"'<>]+/password/reset/[A-Za-z0-9_\-]+")


@pytest.fixture
def app_config(app_config: dict) -> dict:
    """Both test plugins: « exemple » (e-mailed link) and « variantes » (the other methods)."""
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_variants"]
    return app_config


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def body(response) -> str:
    """The page's HTML with entities decoded, so that French text compares as written."""
    return htmllib.unescape(response.get_data(as_text=True))


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_in(message: EmailMessage) -> str:
    found = LINK_RE.findall(text_of(message))
    assert len(found) == 1, text_of(message)
    return found[0]


def temporary_password_in(message: EmailMessage) -> str:
    """The temporary password: the one indented line of the text part."""
    lines = [line.strip() for line in text_of(message).splitlines() if line.startswith("    ") and line.strip()]
    assert len(lines) == 1, text_of(message)
    return lines[0]


def path_of(link: str) -> str:
    """``https://host/a/b`` → ``/a/b``."""
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def no_mail(smtp_server, app: Flask, wait: float = 0.3) -> None:
    """Nothing was queued in the outbox and nothing reached the SMTP server."""
    time.sleep(wait)
    assert smtp_server.messages == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def form_errors(page: str) -> str:
    """The form-level error block of a page (empty when none)."""
    found = re.search(r'<div class="form-errors" role="alert">.*?</div>', page, re.S)
    return found.group(0) if found else ""


def status_message(page: str) -> str:
    found = re.search(r'<p role="status">.*?</p>', page, re.S)
    assert found, page
    return found.group(0)


def field_errors(page: str, name: str) -> str:
    found = re.search(rf'<ul class="errors" id="{name}-errors">(.*?)</ul>', page, re.S)
    return found.group(1) if found else ""


def forgot(client: FlaskClient, login_: str = "1001", url: str = SPACE_URL, headers: dict | None = None,
           address: str = "127.0.0.1", **extra):
    """Open « Mot de passe oublié ? » and post the identifier (and ``extra`` fields)."""
    environ = {"REMOTE_ADDR": address}
    page = client.get(f"{url}/password/forgot", headers=headers or {}, environ_base=environ)
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "adherent": login_, **extra}
    return client.post(f"{url}/password/forgot", data=data, headers=headers or {}, environ_base=environ)


def reset(client: FlaskClient, path: str, password: str = NEW_PASSWORD, confirmation: str | None = None):
    """Open the reset link and post a new password."""
    page = client.get(path)
    assert page.status_code == 200, body(page)
    data = {
        "csrf_token": csrf_of(page.get_data(as_text=True)),
        "new_password": password,
        "confirmation": password if confirmation is None else confirmation,
    }
    return client.post(path, data=data)


def login_at(client: FlaskClient, url: str, login_: str, password: str):
    page = client.get(f"{url}/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "adherent": login_, "password": password}
    return client.post(f"{url}/login", data=data)


def logged_in(response) -> bool:
    return response.status_code == 303 and "/login" not in response.headers["Location"]


def request_link(client: FlaskClient, smtp_server, count: int = 1, login_: str = "1001") -> str:
    """Ask for a reset link (the ``count``-th message of the test) and return its path."""
    response = forgot(client, login_)
    assert response.status_code == 200
    return path_of(link_in(smtp_server.wait_for(count)[count - 1]))


def audit_events(app: Flask, *actions: str) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if actions:
            query = query.where(AuditEvent.action.in_(actions))
        events = list(db.session.scalars(query))
        db.session.expunge_all()
        return events


def tokens_of(app: Flask, account_id: int) -> list[Token]:
    with app.app_context():
        tokens = list(db.session.scalars(select(Token).where(Token.account_id == account_id).order_by(Token.id)))
        db.session.expunge_all()
        return tokens


def change_password(client: FlaskClient, url: str, new: str, current: str | None = None):
    page = client.get(f"{url}/password/change")
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "new_password": new, "confirmation": new}
    if current is not None:
        data["current_password"] = current
    return client.post(f"{url}/password/change", data=data)


# --------------------------------------------------------------------------
# E-mailed link (exemple/membres)
# --------------------------------------------------------------------------


def test_forgot_page_is_linked_from_login_and_asks_for_the_identifier(client):
    page = body(client.get(f"{SPACE_URL}/login"))
    assert f'href="{SPACE_URL}/password/forgot"' in page
    assert "Mot de passe oublié ?" in page
    assert ">Numéro d'adhérent</label>" in body(client.get(f"{SPACE_URL}/password/forgot"))


def test_reset_link_is_built_from_public_url_never_from_the_host_header(app, client, smtp_server):
    make_account(app, "1001")
    response = forgot(client, "1001", headers={"Host": "evil.test"})
    assert response.status_code == 200

    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["1001@exemple.test"]
    assert link_in(message).startswith("https://portail.example.test/exemple/membres/password/reset/")
    assert "evil.test" not in text_of(message)
    assert "evil.test" not in html_of(message)


def test_known_and_unknown_logins_get_the_same_message_and_only_the_known_one_a_mail(app, client, smtp_server):
    make_account(app, "1001")

    unknown = forgot(client, "9999")
    assert unknown.status_code == 200
    no_mail(smtp_server, app)

    known = forgot(client, "1001")
    assert known.status_code == 200
    assert status_message(body(unknown)) == status_message(body(known))
    assert GENERIC in status_message(body(known))
    smtp_server.wait_for(1)
    time.sleep(0.2)
    assert len(smtp_server.messages) == 1
    assert smtp_server.envelopes[0][1] == ["1001@exemple.test"]


def test_sub_account_link_goes_to_its_own_address(app, client, smtp_server):
    main_id = make_account(app, "1001", email="patron@exemple.test")
    make_account(app, "1001/caissier", parent_id=main_id, email="caissier@exemple.test")
    response = forgot(client, "1001", sous_compte="caissier")
    assert GENERIC in status_message(body(response))
    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["caissier@exemple.test"]
    assert reset(client, path_of(link_in(message))).status_code == 303
    page = client.get(f"{SPACE_URL}/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "adherent": "1001", "sous_compte": "caissier",
            "password": NEW_PASSWORD}
    assert logged_in(client.post(f"{SPACE_URL}/login", data=data))
    assert logged_in(login(app.test_client(), "1001", PASSWORD))  # the main account is untouched


def test_disabled_account_gets_the_generic_message_and_no_mail(app, client, smtp_server):
    make_account(app, "1001", status="disabled")
    response = forgot(client, "1001")
    assert GENERIC in status_message(body(response))
    no_mail(smtp_server, app)


def test_reset_link_enforces_the_policy_then_sets_the_password(app, client, smtp_server):
    make_account(app, "1001")
    path = request_link(client, smtp_server)

    assert "Entre 8 et 12 caractères" in body(client.get(path))  # the policy is shown next to the field

    weak = reset(client, path, "abc")
    assert weak.status_code == 200
    errors = field_errors(body(weak), "new_password")
    assert "Entre 8 et 12 caractères" in errors and "Au moins 2 chiffres" in errors

    mismatch = reset(client, path, NEW_PASSWORD, confirmation="Autre2027yy")
    assert "La confirmation ne correspond pas" in field_errors(body(mismatch), "confirmation")

    done = reset(client, path)
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"{SPACE_URL}/login")

    assert not logged_in(login(client, "1001", PASSWORD))
    assert logged_in(login(client, "1001", NEW_PASSWORD))
    assert client.get(f"{SPACE_URL}/").status_code == 200  # no forced change after choosing one's own


def test_reset_link_refuses_the_current_password(app, client, smtp_server):
    """The reset page shows « Différent de l'ancien mot de passe »: it is checked too."""
    make_account(app, "1001")
    path = request_link(client, smtp_server)
    assert "Différent de l'ancien mot de passe" in body(client.get(path))
    same = reset(client, path, PASSWORD)
    assert same.status_code == 200
    assert "Différent de l'ancien mot de passe" in field_errors(body(same), "new_password")


def test_reset_link_works_once(app, client, smtp_server):
    make_account(app, "1001")
    path = request_link(client, smtp_server)
    assert reset(client, path).status_code == 303

    again = client.get(path)
    assert again.status_code == 400
    assert INVALID_LINK in body(again)
    assert client.post(path, data={"new_password": "Autre2027yy", "confirmation": "Autre2027yy"}).status_code == 400
    assert logged_in(login(client, "1001", NEW_PASSWORD))


def test_expired_link_is_refused(app, client, smtp_server):
    account_id = make_account(app, "1001")
    path = request_link(client, smtp_server)
    with app.app_context():
        token = db.session.scalar(select(Token).where(Token.account_id == account_id, Token.purpose == "reset"))
        token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()

    response = client.get(path)
    assert response.status_code == 400
    assert INVALID_LINK in body(response)


def test_link_lives_the_configured_hours_and_is_stored_hashed(app, client, smtp_server):
    account_id = make_account(app, "1001")
    path = request_link(client, smtp_server)
    raw = path.rsplit("/", 1)[1]
    assert len(raw) >= 22  # at least 128 random bits in url-safe base64

    (token,) = tokens_of(app, account_id)
    assert raw not in token.secret_hash
    hours = app.config["RESET_LINK_HOURS"]
    assert abs((token.expires_at - token.created_at) - timedelta(hours=hours)) < timedelta(minutes=1)
    assert f"expire dans {hours} heure" in text_of(smtp_server.messages[0])


def test_newer_request_invalidates_the_older_link(app, client, smtp_server):
    make_account(app, "1001")
    first = request_link(client, smtp_server, 1)
    second = request_link(client, smtp_server, 2)
    assert first != second

    assert client.get(first).status_code == 400
    assert reset(client, second).status_code == 303


def test_password_change_invalidates_an_unused_link(app, client, smtp_server):
    make_account(app, "1001")
    path = request_link(client, smtp_server)

    other = app.test_client()
    assert logged_in(login(other, "1001", PASSWORD))
    assert change_password(other, SPACE_URL, "Change2028zz", current=PASSWORD).status_code == 303

    response = client.get(path)
    assert response.status_code == 400
    assert INVALID_LINK in body(response)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1] + ("A" if raw[-1] != "A" else "B"),  # one character changed
        lambda raw: raw[:-3],  # truncated
        lambda raw: raw + "x",  # lengthened
        lambda raw: "x" * 500,  # far too long
        lambda raw: "%00%ff%C3%A9",  # bytes that are not a token at all
        lambda raw: "..%2F..%2Fetc",  # encoded slashes
        lambda raw: "' OR '1'='1",  # SQL
    ],
    ids=["changed", "truncated", "lengthened", "too-long", "binary", "slashes", "sql"],
)
def test_tampered_token_gives_the_clear_message_not_an_error(app, client, smtp_server, mangle):
    make_account(app, "1001")
    path = request_link(client, smtp_server)
    prefix, raw = path.rsplit("/", 1)
    response = client.get(f"{prefix}/{mangle(raw)}")
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert INVALID_LINK in body(response)
    # the real link still works afterwards
    assert reset(client, path).status_code == 303


def test_link_of_one_space_does_not_work_in_another(app, client, smtp_server):
    make_account(app, "1001")
    make_account(app, "1001", space_key="variantes/question", email="q@exemple.test")
    path = request_link(client, smtp_server)
    assert client.get(path.replace(SPACE_URL, QUESTION_URL)).status_code == 400
    assert client.get(path).status_code == 200


def test_link_of_an_account_disabled_since_is_refused(app, client, smtp_server):
    account_id = make_account(app, "1001")
    path = request_link(client, smtp_server)
    with app.app_context():
        db.session.get(Account, account_id).status = "disabled"
        db.session.commit()
    response = client.get(path)
    assert response.status_code == 400
    assert INVALID_LINK in body(response)


def test_reset_ends_the_accounts_other_sessions(app, client, smtp_server):
    account_id = make_account(app, "1001")
    browser = app.test_client()
    assert logged_in(login(browser, "1001", PASSWORD))
    assert browser.get(f"{SPACE_URL}/").status_code == 200

    path = request_link(client, smtp_server)
    assert reset(client, path).status_code == 303

    after = browser.get(f"{SPACE_URL}/")
    assert after.status_code == 303
    assert "/login" in after.headers["Location"]
    with app.app_context():
        live = db.session.scalar(
            select(func.count()).where(LoginSession.account_id == account_id, LoginSession.ended_at.is_(None))
        )
        assert live == 0


def test_audit_trail_has_the_request_and_the_reset_without_secrets(app, client, smtp_server):
    account_id = make_account(app, "1001")
    path = request_link(client, smtp_server)
    raw = path.rsplit("/", 1)[1]
    assert reset(client, path).status_code == 303

    events = audit_events(app, "password_reset_requested", "password_reset")
    assert [e.action for e in events] == ["password_reset_requested", "password_reset"]
    for event in events:
        assert event.account_id == account_id
        assert event.space_key == "exemple/membres"
        assert event.address == "127.0.0.1"
        assert event.at is not None
        flat = repr(event.detail)
        assert raw not in flat and NEW_PASSWORD not in flat and PASSWORD not in flat
        assert not any(word in key for key in event.detail for word in ("token", "password", "secret"))

    # an unknown login's request is recorded too, with what was typed as actor
    forgot(client, "9999")
    unknown = audit_events(app, "password_reset_requested")[-1]
    assert unknown.account_id is None and unknown.actor == "9999"


# --------------------------------------------------------------------------
# Secret question (variantes/question)
# --------------------------------------------------------------------------


def make_question_account(app: Flask, login_: str = "2001", answer_: str = "Élève de Casa", question: str = QUESTIONS[1]) -> int:
    account_id = make_account(app, login_, space_key="variantes/question", email=f"{login_}@variantes.test")
    with app.app_context():
        db.session.add(SecretAnswer(account_id=account_id, question=question, answer_hash=hash_answer(answer_)))
        db.session.commit()
    return account_id


def ask_question(client: FlaskClient, login_: str, address: str = "127.0.0.1"):
    """Post the identifier: the page asks the question."""
    return forgot(client, login_, url=QUESTION_URL, address=address)


def answer(client: FlaskClient, login_: str, text: str, address: str = "127.0.0.1"):
    """Post the identifier then the answer, as a browser would through both pages
    (every hidden field of the question page, its CSRF token included, is sent back)."""
    page = ask_question(client, login_, address=address)
    if page.status_code != 200:
        return page
    data = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.get_data(as_text=True)))
    data.update(re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"', page.get_data(as_text=True)))
    data["q-answer"] = text
    return client.post(f"{QUESTION_URL}/password/forgot", data=data, environ_base={"REMOTE_ADDR": address})


def question_on(page: str) -> str:
    found = re.search(r'<p class="question"><strong>Question secrète :</strong>\s*(.*?)</p>', page, re.S)
    assert found, page
    return found.group(1).strip()


def test_secret_question_is_asked_after_the_identifier(app, client):
    make_question_account(app)
    page = ask_question(client, "2001")
    assert page.status_code == 200
    assert question_on(body(page)) == QUESTIONS[1]
    assert 'name="q-answer"' in body(page)


def test_unknown_login_gets_a_stable_decoy_question(app, client):
    make_question_account(app)
    first = question_on(body(ask_question(client, "2999")))
    second = question_on(body(ask_question(client, "2999")))
    assert first == second
    assert first in QUESTIONS
    # and apart from the question and the values, the page is a known login's page
    strip = lambda page: re.sub(r'value="[^"]*"|hx-headers="[^"]*"|<p class="question">.*?</p>', "", page, flags=re.S)  # noqa: E731
    assert strip(body(ask_question(client, "2001"))) == strip(body(ask_question(client, "2999")))


@pytest.mark.parametrize("typed", ["Élève de Casa", "eleve de casa", "  ELEVE   DE  casa ", "élève DE CASA"])
def test_right_answer_emails_a_reset_link_that_works(app, client, smtp_server, typed):
    make_question_account(app)
    response = answer(client, "2001", typed)
    assert response.status_code == 200
    assert GENERIC in status_message(body(response))

    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["2001@variantes.test"]
    link = link_in(message)
    assert link.startswith("https://portail.example.test/variantes/question/password/reset/")
    assert reset(client, path_of(link)).status_code == 303
    assert logged_in(login_at(client, QUESTION_URL, "2001", NEW_PASSWORD))


def test_wrong_answer_sends_nothing_and_shows_the_same_message(app, client, smtp_server):
    make_question_account(app)
    wrong = answer(client, "2001", "Rabat")
    unknown = answer(client, "2999", "Rabat")
    assert wrong.status_code == unknown.status_code == 200
    assert status_message(body(wrong)) == status_message(body(unknown))
    assert GENERIC in status_message(body(wrong))
    no_mail(smtp_server, app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Token)) == 0

    right = answer(client, "2001", "eleve de casa")
    assert status_message(body(right)) == status_message(body(wrong))
    smtp_server.wait_for(1)


def test_secret_answers_are_audited_without_the_answer(app, client, smtp_server):
    account_id = make_question_account(app)
    answer(client, "2001", "Rabat")
    answer(client, "2001", "Élève de Casa")
    smtp_server.wait_for(1)
    events = audit_events(app, "secret_answer")
    assert [(e.account_id, e.detail.get("right")) for e in events] == [(account_id, False), (account_id, True)]
    assert all("rabat" not in repr(e.detail).lower() and "casa" not in repr(e.detail).lower() for e in events)


def test_secret_answer_attempts_are_throttled_per_account_across_addresses(app, client, smtp_server):
    """Changing address, or the answer typed, does not reset one account's count of attempts (SAFE-2)."""
    app.config["RECOVERY_LIMITS"] = "4 per minute"
    make_question_account(app)
    statuses = []
    for n in range(3):
        # each attempt is two posts (identifier, then answer), each attempt from a new address
        statuses.append(answer(client, "2001", f"mauvaise réponse {n}", address=f"10.0.0.{n + 1}").status_code)
    assert statuses == [200, 200, 429]
    # another account is not affected
    make_question_account(app, "2002")
    assert answer(client, "2002", "Élève de Casa", address="10.0.0.9").status_code == 200
    smtp_server.wait_for(1)


# --------------------------------------------------------------------------
# Identity match (variantes/identite)
# --------------------------------------------------------------------------


def make_identity_account(app: Flask, login_: str = "3001", **fields) -> int:
    fields.setdefault("email", "karim.alami@variantes.test")
    fields.setdefault("phone", "+212612345678")
    return make_account(app, login_, space_key="variantes/identite", **fields)


def identity(client: FlaskClient, login_: str = "3001", phone: str = "0612345678", email: str = "karim.alami@variantes.test"):
    return forgot(client, login_, url=IDENTITY_URL, phone=phone, email=email)


def test_identity_form_asks_for_identifier_gsm_and_email(client):
    page = body(client.get(f"{IDENTITY_URL}/password/forgot"))
    for label in ("Numéro d'adhérent", "N° GSM", "Email"):
        assert f">{label}</label>" in page


def test_identity_match_mails_a_temporary_password_to_the_address_on_record(app, client, smtp_server):
    make_identity_account(app, email="Karim.Alami@variantes.test")
    response = identity(client, email="KARIM.ALAMI@VARIANTES.TEST")  # differs in case only
    assert response.status_code == 200
    assert TEMPORARY_SENT in body(response)

    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["Karim.Alami@variantes.test"]  # the stored address, as stored
    password = temporary_password_in(message)
    assert password not in body(response)
    assert "https://portail.example.test/variantes/identite/login" in text_of(message)


def test_the_mail_never_goes_to_an_address_typed_in_the_request(app, client, smtp_server):
    make_identity_account(app)
    response = identity(client, email="attaquant@evil.test")
    assert MISMATCH in form_errors(body(response))
    no_mail(smtp_server, app)


def test_old_password_keeps_working_until_the_temporary_one_is_used(app, client, smtp_server):
    make_identity_account(app)
    identity(client)
    temporary = temporary_password_in(smtp_server.wait_for(1)[0])

    other = app.test_client()
    assert logged_in(login_at(other, IDENTITY_URL, "3001", PASSWORD))
    assert other.get(f"{IDENTITY_URL}/").status_code == 200  # no forced change: nothing was reset yet

    # once the temporary password is used, the old one stops working
    assert logged_in(login_at(app.test_client(), IDENTITY_URL, "3001", temporary))
    assert not logged_in(login_at(app.test_client(), IDENTITY_URL, "3001", PASSWORD))


def test_temporary_password_logs_in_once_and_forces_the_change(app, client, smtp_server):
    account_id = make_identity_account(app)
    identity(client)
    temporary = temporary_password_in(smtp_server.wait_for(1)[0])

    response = login_at(client, IDENTITY_URL, "3001", temporary)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{IDENTITY_URL}/password/change")
    # nothing else is reachable before the change
    blocked = client.get(f"{IDENTITY_URL}/history")
    assert blocked.status_code == 303 and blocked.headers["Location"].endswith("/password/change")

    # it served once: a second login with it fails
    assert not logged_in(login_at(app.test_client(), IDENTITY_URL, "3001", temporary))

    page = body(client.get(f"{IDENTITY_URL}/password/change"))
    assert 'name="current_password"' not in page
    assert change_password(client, IDENTITY_URL, NEW_PASSWORD).status_code == 303
    assert client.get(f"{IDENTITY_URL}/").status_code == 200

    assert not logged_in(login_at(app.test_client(), IDENTITY_URL, "3001", temporary))
    assert logged_in(login_at(app.test_client(), IDENTITY_URL, "3001", NEW_PASSWORD))
    (token,) = [t for t in tokens_of(app, account_id) if t.purpose == "temporary_password"]
    assert token.used_at is not None


def test_temporary_password_expires(app, client, smtp_server):
    account_id = make_identity_account(app)
    identity(client)
    temporary = temporary_password_in(smtp_server.wait_for(1)[0])
    hours = app.config["TEMPORARY_PASSWORD_HOURS"]
    with app.app_context():
        token = db.session.scalar(select(Token).where(Token.account_id == account_id))
        assert abs((token.expires_at - token.created_at) - timedelta(hours=hours)) < timedelta(minutes=1)
        token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert not logged_in(login_at(client, IDENTITY_URL, "3001", temporary))
    assert logged_in(login_at(client, IDENTITY_URL, "3001", PASSWORD))


@pytest.mark.parametrize(
    "typed",
    [
        {"login_": "3999"},  # unknown identifier
        {"phone": "0698765432"},  # wrong GSM
        {"email": "autre@variantes.test"},  # wrong e-mail
        {"phone": "0698765432", "email": "autre@variantes.test"},  # both wrong
        {"login_": "3002", "phone": "0698765432", "email": "x@variantes.test"},  # a disabled account's details
    ],
    ids=["unknown-identifier", "wrong-gsm", "wrong-email", "both-wrong", "disabled-account"],
)
def test_each_mismatch_gives_the_same_error_and_no_mail(app, client, smtp_server, typed):
    make_identity_account(app)
    make_identity_account(app, "3002", status="disabled", email="x@variantes.test", phone="+212698765432")
    reference = identity(client, "3001", phone="0611111111")
    response = identity(client, **typed)
    assert response.status_code == reference.status_code == 200
    errors = form_errors(body(response))
    assert MISMATCH in errors
    assert errors == form_errors(body(reference))
    assert TEMPORARY_SENT not in body(response)
    no_mail(smtp_server, app)


@pytest.mark.parametrize("typed", ["0612345678", "+212612345678", "06 12 34 56 78", "+212 6 12 34 56 78"])
def test_gsm_matches_in_national_or_international_form(app, client, smtp_server, typed):
    make_identity_account(app, phone="+212612345678")
    response = identity(client, phone=typed)
    assert TEMPORARY_SENT in body(response)
    smtp_server.wait_for(1)


def test_identity_match_is_audited_without_secrets(app, client, smtp_server):
    account_id = make_identity_account(app)
    identity(client, phone="0698765432")
    identity(client)
    temporary = temporary_password_in(smtp_server.wait_for(1)[0])
    events = audit_events(app, "password_reset_requested")
    assert [(e.account_id, e.detail.get("matched")) for e in events] == [(account_id, False), (account_id, True)]
    assert all(temporary not in repr(e.detail) for e in events)


# --------------------------------------------------------------------------
# Administrator reset (variantes/admin)
# --------------------------------------------------------------------------


def test_admin_reset_shows_the_instructions_and_no_form(client):
    response = client.get(f"{ADMIN_URL}/password/forgot")
    assert response.status_code == 200
    page = body(response)
    assert ADMIN_INSTRUCTIONS in page
    card = page.split('<div class="card narrow">', 1)[1].split("</div>", 1)[0]
    assert "<form" not in card and "<input" not in card


def test_admin_reset_sends_nothing_on_post(app, client, smtp_server):
    make_account(app, "4001", space_key="variantes/admin")
    page = client.get(f"{ADMIN_URL}/login")
    response = client.post(
        f"{ADMIN_URL}/password/forgot", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "adherent": "4001"}
    )
    assert response.status_code == 200
    assert ADMIN_INSTRUCTIONS in body(response)
    no_mail(smtp_server, app)


# --------------------------------------------------------------------------
# Throttling
# --------------------------------------------------------------------------


@pytest.fixture
def throttled(app_config: dict) -> dict:
    """RECOVERY_LIMITS set before the application is built."""
    app_config["RECOVERY_LIMITS"] = "2 per minute"
    return app_config


def test_third_recovery_request_gets_429(throttled, app, client, smtp_server):
    make_account(app, "1001")
    assert forgot(client, "1001").status_code == 200
    assert forgot(client, "1002").status_code == 200
    third = forgot(client, "1003")
    assert third.status_code == 429
    assert "Trop de tentatives" in body(third)
    assert client.get(f"{SPACE_URL}/password/forgot").status_code == 200  # the page itself stays reachable
