"""« Comptes » of the back office (CORE-11): an agent searches the insurer's
accounts, reads one, locks, unlocks and resets it; the user gets the reset
at the address on record and the agent never sees the secret (SAFE-1); an
agent of another insurer, or a member, reaches none of it."""
from __future__ import annotations

import html as htmllib
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.backoffice import create_agent
from app.extensions import db
from app.models import Account, AuditEvent, LoginSession, OutboxMessage
from tests.conftest import PASSWORD, SPACE_URL, csrf_of, make_account

AGENT_PASSWORD = "Gestion-Solide-2026"
NEW_PASSWORD = "Choisi2027ab"
GENERIC_FAILURE = "Identifiant ou mot de passe incorrect."
BACK_OFFICE = "/exemple/gestion"
ADMIN_URL = "/variantes/admin"


@pytest.fixture
def app_config(app_config: dict) -> dict:
    """Two insurers, so that every test can check one never sees the other."""
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_variants"]
    return app_config


# --------------------------------------------------------------------------
# Helpers (also used by tests/test_backoffice_audit_outbox.py)
# --------------------------------------------------------------------------


def body(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def field_errors(page: str, name: str) -> str:
    """The messages shown next to a criterion (the list component's error block)."""
    found = re.search(rf'id="{name}-errors"[^>]*>(.*?)</(?:ul|div)>', page, re.S)
    return found.group(1) if found else ""


def next_page(page: str) -> str:
    """The pager's « Suivant » link."""
    return re.search(r'<a rel="next" href="([^"]+)"', page).group(1)


def current_page(page: str) -> int:
    return int(re.search(r'aria-current="page">(\d+)<', page).group(1))


class Agent:
    """An agent's browser; it keeps every page it got, to prove that no secret reached one."""

    def __init__(self, app: Flask, insurer: str = "exemple", login: str = "karima") -> None:
        with app.app_context():
            create_agent(insurer, login, AGENT_PASSWORD, name="Karima Agent", must_change=False)
            db.session.commit()
        self.base = f"/{insurer}/gestion"
        self.client: FlaskClient = app.test_client()
        self.pages: list[str] = []
        page = self.client.get(f"{self.base}/login")
        data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "identifiant": login, "password": AGENT_PASSWORD}
        assert self.client.post(f"{self.base}/login", data=data).status_code == 303

    def get(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        self.pages.append(body(response))
        return response

    def post(self, url: str):
        """Post an action's form like a browser (CSRF token of the session), following the redirect."""
        token = csrf_of(self.client.get(f"{self.base}/accounts").get_data(as_text=True))
        response = self.client.post(url, data={"csrf_token": token}, follow_redirects=True)
        self.pages += [body(r) for r in response.history] + [body(response)]
        return response

    def saw(self, secret: str) -> bool:
        return any(secret in page for page in self.pages)


def listed_ids(page: str, base: str = BACK_OFFICE) -> set[int]:
    """The ids of the accounts a list links to."""
    return {int(i) for i in re.findall(rf'href="{base}/accounts/(\d+)"', page)}


def listed_logins(page: str) -> set[str]:
    return set(re.findall(r'href="/[a-z]+/gestion/accounts/\d+">([^<]+)</a>', page))


def login_at(client: FlaskClient, url: str, login_: str, password: str):
    page = client.get(f"{url}/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "adherent": login_, "password": password}
    return client.post(f"{url}/login", data=data)


def member_client(app: Flask, login_: str = "1001", url: str = SPACE_URL) -> FlaskClient:
    client = app.test_client()
    response = login_at(client, url, login_, PASSWORD)
    assert response.status_code == 303 and "/login" not in response.headers["Location"]
    return client


def account(app: Flask, account_id: int) -> Account:
    with app.app_context():
        found = db.session.get(Account, account_id)
        db.session.expunge_all()
        return found


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        db.session.expunge_all()
        return found


RESET_LINK = re.compile(r"https://portail\.example\.test/[a-z]+/[a-z]+/password/reset/([A-Za-z0-9_\-]+)")


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


# --------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------


@pytest.fixture
def accounts(app: Flask) -> dict[str, int]:
    """Accounts of both insurers, and an agent, with the same logins here and there."""
    ids = {
        "1001": make_account(app, "1001", email="amina@exemple.test", phone="+212612345678"),
        "1002": make_account(app, "1002", email="youssef@exemple.test", status="locked"),
        "2001": make_account(app, "2001", email="karim@autre.test"),
    }
    with app.app_context():
        sub = Account(space_key="exemple/membres", login="1001/assistant", tenant_ref="1001", parent_id=ids["1001"],
                      display_name="Salma Assistante", email="salma@exemple.test", profiles=["CONSULT"])
        db.session.add(sub)
        db.session.commit()
        ids["1001/assistant"] = sub.id
    ids["variantes 1001"] = make_account(app, "1001", space_key="variantes/admin", email="amina@variantes.test")
    ids["variantes 3001"] = make_account(app, "3001", space_key="variantes/identite", email="omar@variantes.test")
    return ids


def test_agent_lists_the_insurers_accounts_only_never_its_agents_nor_another_insurers(app, accounts):
    agent = Agent(app)
    page = body(agent.get(f"{BACK_OFFICE}/accounts"))
    assert listed_logins(page) == {"1001", "1001/assistant", "1002", "2001"}
    assert listed_ids(page) == {accounts[k] for k in ("1001", "1001/assistant", "1002", "2001")}
    assert "Nombre de comptes : 4" in page
    assert "karima" not in listed_logins(page)
    assert "amina@variantes.test" not in page


@pytest.mark.parametrize(
    "query, expected",
    [
        ("login=100", {"1001", "1001/assistant", "1002"}),
        ("login=1001/", {"1001/assistant"}),
        ("login=100_", set()),  # a LIKE wildcard is a character like any other
        ("status=locked", {"1002"}),
        ("status=active&login=2", {"2001"}),
        ("email=AUTRE", {"2001"}),
        ("email=exemple.test&login=100", {"1001", "1001/assistant", "1002"}),
        ("space=exemple/membres", {"1001", "1001/assistant", "1002", "2001"}),
    ],
)
def test_agent_searches_accounts_by_identifier_space_status_and_email(app, accounts, query, expected):
    agent = Agent(app)
    page = body(agent.get(f"{BACK_OFFICE}/accounts?{query}"))
    assert listed_logins(page) == expected
    assert f"Nombre de comptes : {len(expected)}" in page


def test_space_filter_offers_the_insurers_spaces_and_finds_their_accounts(app, accounts):
    agent = Agent(app, "variantes")
    page = body(agent.get("/variantes/gestion/accounts"))
    options = set(re.findall(r"<option [^>]*>([^<]+)</option>", page))
    assert {"Espace question secrète", "Espace identité", "Espace entreprise"} <= options
    assert "Espace adhérents" not in options and "Espace gestionnaire" not in options
    page = body(agent.get("/variantes/gestion/accounts?space=variantes/identite"))
    assert listed_logins(page) == {"3001"}


@pytest.mark.parametrize(
    "query, field",
    [("space=variantes/admin", "space"), ("space=exemple/gestion", "space"), ("status=supprime", "status")],
)
def test_bad_criteria_get_a_french_message_next_to_the_field_and_no_rows(app, accounts, query, field):
    agent = Agent(app)
    response = agent.get(f"{BACK_OFFICE}/accounts?{query}")
    assert response.status_code == 200
    page = body(response)
    assert "Choix invalide." in field_errors(page, field)
    assert listed_ids(page) == set()


@pytest.mark.parametrize("query", ["page=abc", "page=-3", "page=99999999999999999999", "login=" + "9" * 500, "email=%00", "login=%0A1"])
def test_odd_addresses_never_fail(app, accounts, query):
    assert Agent(app).get(f"{BACK_OFFICE}/accounts?{query}").status_code == 200


def test_control_characters_get_a_french_message(app, accounts):
    page = body(Agent(app).get(f"{BACK_OFFICE}/accounts?email=a%00b"))
    assert "Ce champ contient des caractères non autorisés." in field_errors(page, "email")
    assert listed_ids(page) == set()


def test_search_is_paged_with_its_total_and_keeps_its_filters_in_the_links(app):
    with app.app_context():
        for n in range(30):
            db.session.add(Account(space_key="exemple/membres", login=f"30{n:02d}", tenant_ref=f"30{n:02d}", email=f"m{n}@exemple.test"))
        db.session.add(Account(space_key="exemple/membres", login="4000", tenant_ref="4000"))
        db.session.commit()
    agent = Agent(app)
    first = body(agent.get(f"{BACK_OFFICE}/accounts?login=30"))
    assert "Nombre de comptes : 30" in first and current_page(first) == 1
    assert len(listed_logins(first)) == 25
    next_link = next_page(first)
    assert "login=30" in next_link and "page=2" in next_link
    second = body(agent.get(next_link))
    assert current_page(second) == 2 and 'rel="next"' not in second and len(listed_logins(second)) == 5
    assert listed_logins(first).isdisjoint(listed_logins(second)) and "4000" not in listed_logins(first + second)
    assert current_page(body(agent.get(f"{BACK_OFFICE}/accounts?login=30&page=999"))) == 2


def test_htmx_search_answers_with_the_results_fragment_only(app, accounts):
    agent = Agent(app)
    response = agent.get(f"{BACK_OFFICE}/accounts?status=locked", headers={"HX-Request": "true"})
    page = body(response)
    assert "<html" not in page and "<form" not in page and 'class="list"' in page
    assert listed_logins(page) == {"1002"}
    assert "HX-Request" in response.headers["Vary"]


def test_back_office_menu_has_the_three_pages(app):
    page = body(Agent(app).get(f"{BACK_OFFICE}/"))
    for label, url in (("Comptes", "accounts"), ("Traçabilité", "audit"), ("Boîte d'envoi", "outbox")):
        assert f'<a href="{BACK_OFFICE}/{url}">{label}</a>' in page


# --------------------------------------------------------------------------
# One account
# --------------------------------------------------------------------------


def test_account_page_shows_particulars_sub_accounts_and_recent_events(app, accounts):
    member_client(app)  # a login, in the account's audit trail
    agent = Agent(app)
    page = body(agent.get(f"{BACK_OFFICE}/accounts/{accounts['1001']}"))
    for shown in ("Compte 1001", "Espace adhérents", "Amina Test", "amina@exemple.test", "+212612345678",
                  "Consultation, Paiements", "Actif", "Salma Assistante", "Connexion"):
        assert shown in page
    assert f'href="{BACK_OFFICE}/accounts/{accounts["1001/assistant"]}"' in page
    assert "Jamais" not in page  # it has logged in

    sub_page = body(agent.get(f"{BACK_OFFICE}/accounts/{accounts['1001/assistant']}"))
    assert "Compte principal" in sub_page and f'href="{BACK_OFFICE}/accounts/{accounts["1001"]}"' in sub_page


def test_unknown_account_is_a_404(app, accounts):
    assert Agent(app).get(f"{BACK_OFFICE}/accounts/999999").status_code == 404


# --------------------------------------------------------------------------
# Lock, unlock
# --------------------------------------------------------------------------


def test_agent_locks_an_account_its_session_ends_and_login_is_refused_with_the_generic_message(app, accounts):
    member = member_client(app)
    assert member.get(f"{SPACE_URL}/").status_code == 200
    agent = Agent(app)

    response = agent.post(f"{BACK_OFFICE}/accounts/{accounts['1001']}/lock")
    assert response.request.path == f"{BACK_OFFICE}/accounts/{accounts['1001']}"
    assert "Le compte 1001 est verrouillé" in body(response) and "Verrouillé" in body(response)
    assert account(app, accounts["1001"]).status == "locked"

    assert "/login" in member.get(f"{SPACE_URL}/").headers["Location"]
    refused = login_at(app.test_client(), SPACE_URL, "1001", PASSWORD)
    assert refused.status_code == 200 and GENERIC_FAILURE in body(refused)
    with app.app_context():
        assert db.session.scalar(select(LoginSession).where(LoginSession.account_id == accounts["1001"], LoginSession.ended_at.is_(None))) is None
    (event,) = events(app, "account_locked")
    assert (event.actor, event.account_id, event.insurer) == ("karima", accounts["1001"], "exemple")


def test_agent_unlocks_an_account_and_the_member_logs_in_again(app, accounts):
    agent = Agent(app)
    response = agent.post(f"{BACK_OFFICE}/accounts/{accounts['1002']}/unlock")
    assert "Le compte 1002 est déverrouillé" in body(response)
    assert account(app, accounts["1002"]).status == "active"
    member_client(app, "1002")
    (event,) = events(app, "account_unlocked")
    assert (event.actor, event.account_id) == ("karima", accounts["1002"])


def test_locking_a_locked_account_or_unlocking_an_active_one_changes_nothing(app, accounts):
    agent = Agent(app)
    assert "Seul un compte actif peut être verrouillé." in body(agent.post(f"{BACK_OFFICE}/accounts/{accounts['1002']}/lock"))
    assert "Ce compte n'est pas verrouillé." in body(agent.post(f"{BACK_OFFICE}/accounts/{accounts['1001']}/unlock"))
    assert events(app, "account_locked") == [] and events(app, "account_unlocked") == []


def test_actions_need_the_csrf_token(app, accounts):
    agent = Agent(app)
    for action in ("lock", "unlock", "reset"):
        assert agent.client.post(f"{BACK_OFFICE}/accounts/{accounts['1001']}/{action}").status_code == 400
    assert account(app, accounts["1001"]).status == "active"


# --------------------------------------------------------------------------
# Reset
# --------------------------------------------------------------------------


def test_agent_reset_mails_a_link_to_the_address_on_record_and_the_old_password_stops_working(app, smtp_server, accounts):
    member = member_client(app)
    agent = Agent(app)
    response = agent.post(f"{BACK_OFFICE}/accounts/{accounts['1001']}/reset")
    assert "Le mot de passe de 1001 est réinitialisé" in body(response)

    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["amina@exemple.test"]
    link = RESET_LINK.search(text_of(message))
    assert link and link.group(0).startswith("https://portail.example.test/exemple/membres/password/reset/")
    token = link.group(1)

    # the agent never sees it, not even in the outbox
    agent.get(f"{BACK_OFFICE}/accounts/{accounts['1001']}")
    agent.get(f"{BACK_OFFICE}/accounts")
    agent.get(f"{BACK_OFFICE}/audit")
    outbox = body(agent.get(f"{BACK_OFFICE}/outbox"))
    assert "Contenu confidentiel" in outbox
    assert not agent.saw(token)

    # the member's session ended; the old password no longer logs in
    assert "/login" in member.get(f"{SPACE_URL}/").headers["Location"]
    assert GENERIC_FAILURE in body(login_at(app.test_client(), SPACE_URL, "1001", PASSWORD))

    browser = app.test_client()
    form = browser.get(f"{SPACE_URL}/password/reset/{token}")
    data = {"csrf_token": csrf_of(form.get_data(as_text=True)), "new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}
    assert browser.post(f"{SPACE_URL}/password/reset/{token}", data=data).status_code == 303
    assert login_at(app.test_client(), SPACE_URL, "1001", NEW_PASSWORD).status_code == 303

    (event,) = [e for e in events(app, "password_reset") if e.detail.get("via") == "agent"]
    assert (event.actor, event.account_id, event.detail["method"]) == ("karima", accounts["1001"], "email_link")


def test_agent_reset_mails_a_temporary_password_that_logs_in_once_and_forces_the_change(app, smtp_server, accounts):
    agent = Agent(app, "variantes")
    member = member_client(app, "1001", ADMIN_URL)
    agent.post(f"/variantes/gestion/accounts/{accounts['variantes 1001']}/reset")

    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["amina@variantes.test"]
    temporary = re.search(r"Mot de passe temporaire : (\S+)", text_of(message)).group(1)
    for url in ("accounts", f"accounts/{accounts['variantes 1001']}", "audit", "outbox"):
        agent.get(f"/variantes/gestion/{url}")
    assert not agent.saw(temporary)
    assert "Contenu confidentiel" in agent.pages[-1]

    assert "/login" in member.get(f"{ADMIN_URL}/").headers["Location"]
    assert GENERIC_FAILURE in body(login_at(app.test_client(), ADMIN_URL, "1001", PASSWORD))
    first = login_at(app.test_client(), ADMIN_URL, "1001", temporary)
    assert first.status_code == 303 and first.headers["Location"] == f"{ADMIN_URL}/password/change"
    again = login_at(app.test_client(), ADMIN_URL, "1001", temporary)
    assert again.status_code == 200 and GENERIC_FAILURE in body(again)
    with app.app_context():
        stored = db.session.scalar(select(OutboxMessage))
        assert stored.sensitive and temporary not in stored.body_text


def test_reset_of_an_account_without_email_or_not_active_changes_nothing(app, smtp_server, accounts):
    no_mail = make_account(app, "5001", email=None)
    agent = Agent(app)
    assert "pas d'adresse e-mail enregistrée" in body(agent.post(f"{BACK_OFFICE}/accounts/{no_mail}/reset"))
    assert "n'est pas actif" in body(agent.post(f"{BACK_OFFICE}/accounts/{accounts['1002']}/reset"))
    assert account(app, no_mail).password_hash and account(app, accounts["1002"]).password_hash
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage)) is None
    assert [e for e in events(app, "password_reset") if e.detail.get("via") == "agent"] == []


# --------------------------------------------------------------------------
# An agent can neither read nor choose a user's password (SAFE-1)
# --------------------------------------------------------------------------

CHOSEN_BY_AGENT = "Choisi-Par-Agent-7"


def password_inputs(page: str) -> list[str]:
    """The password fields and the fields named like a password of a page."""
    return re.findall(r'<input[^>]*(?:type="password"|name="(?:new_)?password")[^>]*>', page)


@pytest.mark.parametrize("space_url, key, secret", [
    (f"{BACK_OFFICE}", "1001", "link"),
    ("/variantes/gestion", "variantes 1001", "temporary"),
])
def test_no_back_office_page_ever_shows_the_secret_a_reset_sends(app, smtp_server, accounts, space_url, key, secret):
    insurer = space_url.split("/")[1]
    agent = Agent(app, insurer)
    target = accounts[key]
    detail = body(agent.get(f"{space_url}/accounts/{target}"))
    assert "Réinitialiser le mot de passe" in detail and password_inputs(detail) == []  # nothing to type a password in

    confirmation = agent.post(f"{space_url}/accounts/{target}/reset")
    assert "est réinitialisé ; un e-mail est envoyé à l'adresse enregistrée" in body(confirmation)
    (message,) = smtp_server.wait_for(1)
    sent = text_of(message)
    found = RESET_LINK.search(sent) if secret == "link" else re.search(r"Mot de passe temporaire : (\S+)", sent)
    value = found.group(1)

    for url in (f"accounts/{target}", "accounts", "accounts?login=1001", "audit", "audit?login=1001",
                "outbox", "outbox?status=sent"):
        agent.get(f"{space_url}/{url}")
        agent.get(f"{space_url}/{url}", headers={"HX-Request": "true"})
    assert not agent.saw(value)
    assert "Contenu confidentiel" in agent.pages[-1]
    with app.app_context():
        stored = db.session.scalar(select(OutboxMessage))
        assert stored.sensitive and stored.status == "sent"
        assert value not in stored.body_text and not stored.body_html  # erased once sent
        assert all(value not in repr(e.detail) for e in db.session.scalars(select(AuditEvent)))


def test_a_password_posted_with_the_reset_is_ignored(app, smtp_server, accounts):
    agent = Agent(app)
    target = accounts["1001"]
    token = csrf_of(agent.client.get(f"{BACK_OFFICE}/accounts/{target}").get_data(as_text=True))
    data = {"csrf_token": token, "password": CHOSEN_BY_AGENT, "new_password": CHOSEN_BY_AGENT, "confirmation": CHOSEN_BY_AGENT}
    assert agent.client.post(f"{BACK_OFFICE}/accounts/{target}/reset", data=data).status_code == 303
    smtp_server.wait_for(1)

    assert account(app, target).password_hash is None and account(app, target).must_change_password
    refused = login_at(app.test_client(), SPACE_URL, "1001", CHOSEN_BY_AGENT)
    assert refused.status_code == 200 and GENERIC_FAILURE in body(refused)
    with app.app_context():
        assert CHOSEN_BY_AGENT not in db.session.scalar(select(OutboxMessage)).body_text
        assert all(CHOSEN_BY_AGENT not in repr(e.detail) for e in db.session.scalars(select(AuditEvent)))


def test_a_password_posted_with_the_reset_of_a_temporary_password_space_is_ignored(app, smtp_server, accounts):
    agent = Agent(app, "variantes")
    target = accounts["variantes 1001"]
    token = csrf_of(agent.client.get(f"/variantes/gestion/accounts/{target}").get_data(as_text=True))
    data = {"csrf_token": token, "password": CHOSEN_BY_AGENT, "new_password": CHOSEN_BY_AGENT}
    agent.client.post(f"/variantes/gestion/accounts/{target}/reset", data=data)
    (message,) = smtp_server.wait_for(1)
    temporary = re.search(r"Mot de passe temporaire : (\S+)", text_of(message)).group(1)
    assert temporary != CHOSEN_BY_AGENT
    assert GENERIC_FAILURE in body(login_at(app.test_client(), ADMIN_URL, "1001", CHOSEN_BY_AGENT))
    assert login_at(app.test_client(), ADMIN_URL, "1001", temporary).status_code == 303


def test_no_back_office_form_offers_a_password_field_but_the_agents_own(app, accounts):
    agent = Agent(app)
    for url in ("", "/accounts", f"/accounts/{accounts['1001']}", f"/accounts/{accounts['1001/assistant']}", "/audit", "/outbox"):
        assert password_inputs(body(agent.get(f"{BACK_OFFICE}{url}"))) == [], url


# --------------------------------------------------------------------------
# Who reaches these pages
# --------------------------------------------------------------------------


def test_agent_of_another_insurer_reaches_none_of_exemples_accounts(app, smtp_server, accounts):
    agent = Agent(app, "variantes")
    target = accounts["1001"]

    # exemple's back office is not this agent's: « Accès refusé », nothing else
    for url in ("/accounts", f"/accounts/{target}", "/accounts?login=1001"):
        response = agent.get(f"{BACK_OFFICE}{url}")
        assert response.status_code == 403 and "Accès refusé" in body(response)
        assert "amina@exemple.test" not in body(response)
    for action in ("lock", "unlock", "reset"):
        token = csrf_of(agent.client.get("/variantes/gestion/accounts").get_data(as_text=True))
        response = agent.client.post(f"{BACK_OFFICE}/accounts/{target}/{action}", data={"csrf_token": token})
        assert response.status_code == 403

    # its own back office, given exemple's account ids: they do not exist there
    assert agent.get(f"/variantes/gestion/accounts/{target}").status_code == 404
    for action in ("lock", "unlock", "reset"):
        token = csrf_of(agent.client.get("/variantes/gestion/accounts").get_data(as_text=True))
        assert agent.client.post(f"/variantes/gestion/accounts/{target}/{action}", data={"csrf_token": token}).status_code == 404

    # its lists never show exemple's rows, whatever the search
    for query in ("", "?login=1001", "?email=exemple", "?space=exemple/membres"):
        page = body(agent.get(f"/variantes/gestion/accounts{query}"))
        assert listed_ids(page, "/variantes/gestion") <= {accounts["variantes 1001"], accounts["variantes 3001"]}
        assert "amina@exemple.test" not in page

    assert account(app, target).status == "active" and account(app, target).password_hash
    assert smtp_server.messages == []
    assert events(app, "account_locked") == []


BACK_OFFICE_PAGES = ("/", "/accounts", "/accounts/{id}", "/audit", "/outbox")
BACK_OFFICE_ACTIONS = ("/accounts/{id}/lock", "/accounts/{id}/unlock", "/accounts/{id}/reset", "/outbox/retry")


def test_member_account_reaches_no_back_office_page(app, accounts):
    member = member_client(app)
    token = csrf_of(member.get(f"{SPACE_URL}/").get_data(as_text=True))
    for url in BACK_OFFICE_PAGES:
        response = member.get(BACK_OFFICE + url.format(id=accounts["1002"]))
        assert response.status_code == 303 and response.headers["Location"].startswith(f"{BACK_OFFICE}/login")
    for url in BACK_OFFICE_ACTIONS:
        response = member.post(BACK_OFFICE + url.format(id=accounts["1002"]), data={"csrf_token": token})
        assert response.status_code == 303 and response.headers["Location"].startswith(f"{BACK_OFFICE}/login")
    assert account(app, accounts["1002"]).status == "locked"


def test_back_office_account_without_the_agent_profile_gets_403(app, accounts):
    make_account(app, "intrus", space_key="exemple/gestion", tenant_ref="exemple", profiles=[], password=AGENT_PASSWORD)
    client = app.test_client()
    page = client.get(f"{BACK_OFFICE}/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "identifiant": "intrus", "password": AGENT_PASSWORD}
    assert client.post(f"{BACK_OFFICE}/login", data=data).status_code == 303
    token = csrf_of(client.get(f"{BACK_OFFICE}/").get_data(as_text=True))
    for url in BACK_OFFICE_PAGES[1:]:
        assert client.get(BACK_OFFICE + url.format(id=accounts["1002"])).status_code == 403
    for url in BACK_OFFICE_ACTIONS:
        assert client.post(BACK_OFFICE + url.format(id=accounts["1002"]), data={"csrf_token": token}).status_code == 403
    assert f'href="{BACK_OFFICE}/accounts"' not in body(client.get(f"{BACK_OFFICE}/"))  # nor in the menu
    assert account(app, accounts["1002"]).status == "locked"
