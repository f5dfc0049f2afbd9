"""Sub-accounts (CORE-8): a main account lists, creates, edits, resets,
disables and deletes its own sub-accounts; the sub-account's temporary
password goes to its own address only (SAFE-1); a sub-account never sees more
than its main account; every change is audited (CORE-10)."""
from __future__ import annotations

import html as htmllib
import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, AuditEvent, LoginSession, OutboxMessage, Token
from tests.conftest import PASSWORD, SPACE_URL, csrf_of, make_account

ACCOUNTS = f"{SPACE_URL}/accounts"
ADMIN_URL = "/variantes/admin"
SUB_PASSWORD = "Choisi2027ab"
GENERIC_FAILURE = "Identifiant ou mot de passe incorrect."


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_variants", "tests.plugin_etablissement"]
    return app_config


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def body(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def field_errors(page: str, name: str) -> str:
    found = re.search(rf'<ul class="errors" id="{name}-errors">(.*?)</ul>', page, re.S)
    return found.group(1) if found else ""


def logged_in(response) -> bool:
    return response.status_code == 303 and "/login" not in response.headers["Location"]


def login_at(client: FlaskClient, url: str, login_: str, password: str, sub: str = ""):
    page = client.get(f"{url}/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "adherent": login_, "password": password}
    if sub:
        data["sous_compte"] = sub
    return client.post(f"{url}/login", data=data)


def main_client(app: Flask, login_: str = "1001", url: str = SPACE_URL) -> FlaskClient:
    client = app.test_client()
    assert logged_in(login_at(client, url, login_, PASSWORD))
    return client


def create(client: FlaskClient, identifier: str = "caissier", name: str = "Salma Benali",
           email: str = "salma@exemple.ma", profiles=("CONSULT",), url: str = SPACE_URL, pages: list | None = None):
    """Post « Nouveau sous-compte »; every page the main account gets is appended to ``pages``."""
    form = client.get(f"{url}/accounts/new")
    assert form.status_code == 200
    data = {
        "csrf_token": csrf_of(form.get_data(as_text=True)),
        "identifier": identifier,
        "display_name": name,
        "email": email,
        "profiles": list(profiles),
    }
    response = client.post(f"{url}/accounts/new", data=data)
    if pages is not None:
        pages += [body(form), body(response)]
    return response


def action(client: FlaskClient, account_id: int, name: str, url: str = SPACE_URL):
    """Post one of the list's actions (reset, disable, delete) with the list's CSRF token."""
    listing = client.get(f"{url}/accounts")
    token = csrf_of(listing.get_data(as_text=True)) if listing.status_code == 200 else _any_token(client, url)
    return client.post(f"{url}/accounts/{account_id}/{name}", data={"csrf_token": token})


def _any_token(client: FlaskClient, url: str) -> str:
    """A valid CSRF token of the session, from a page any logged-in account reaches."""
    page = client.get(f"{url}/password/change")
    return csrf_of(page.get_data(as_text=True))


def sub_of(app: Flask, login_: str, space_key: str = "exemple/membres") -> Account | None:
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.space_key == space_key, Account.login == login_))
        if account is not None:
            db.session.expunge(account)
        return account


def temporary_password_in(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"Mot de passe temporaire : (\S+)", text)
    assert found, text
    return found.group(1)


def no_mail(smtp_server, app: Flask, wait: float = 0.3) -> None:
    time.sleep(wait)
    assert smtp_server.messages == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def audit(app: Flask, *actions: str) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if actions:
            query = query.where(AuditEvent.action.in_(actions))
        events = list(db.session.scalars(query))
        db.session.expunge_all()
        return events


def change_forced(client: FlaskClient, url: str, new: str):
    page = client.get(f"{url}/password/change")
    assert page.status_code == 200
    assert 'name="current_password"' not in page.get_data(as_text=True)
    return client.post(
        f"{url}/password/change",
        data={"csrf_token": csrf_of(page.get_data(as_text=True)), "new_password": new, "confirmation": new},
    )


def created_sub(app: Flask, smtp_server, client: FlaskClient, identifier: str = "caissier", count: int = 1, **kw) -> tuple[int, str]:
    """Create a sub-account; return its id and the temporary password it was mailed."""
    response = create(client, identifier, **kw)
    assert response.status_code == 303, body(response)
    message = smtp_server.wait_for(count)[count - 1]
    space_key = "variantes/admin" if kw.get("url") == ADMIN_URL else "exemple/membres"
    sub = sub_of(app, f"1001/{identifier}", space_key)
    assert sub is not None
    return sub.id, temporary_password_in(message)


def active_sub(app: Flask, smtp_server, client: FlaskClient, identifier: str = "caissier", count: int = 1, **kw) -> tuple[int, FlaskClient]:
    """A sub-account that has logged in and chosen its password; return its id and its logged-in client."""
    sub_id, temporary = created_sub(app, smtp_server, client, identifier, count, **kw)
    url = kw.get("url", SPACE_URL)
    browser = app.test_client()
    assert logged_in(login_at(browser, url, "1001", temporary, sub=identifier))
    assert change_forced(browser, url, SUB_PASSWORD).status_code == 303
    return sub_id, browser


# --------------------------------------------------------------------------
# Listing and creating
# --------------------------------------------------------------------------


def test_main_account_has_the_menu_entry_and_the_list(app):
    make_account(app, "1001")
    client = main_client(app)
    assert f'href="{ACCOUNTS}">Sous-comptes</a>' in body(client.get(f"{SPACE_URL}/"))
    page = client.get(ACCOUNTS)
    assert page.status_code == 200
    assert "Aucun sous-compte." in body(page)


def test_creation_mails_the_temporary_password_to_the_sub_account_only(app, smtp_server):
    make_account(app, "1001", email="patron@exemple.ma")
    client = main_client(app)
    pages: list[str] = []
    form = body(client.get(f"{SPACE_URL}/accounts/new"))
    for label in ("Identifiant du sous-compte", "Nom et prénom", "Email", "Consultation", "Paiements"):
        assert label in form

    response = create(client, "caissier", "Salma Benali", "Salma@Exemple.ma", profiles=("CONSULT",), pages=pages)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(ACCOUNTS)
    listing = client.get(ACCOUNTS)
    pages.append(body(listing))
    assert "<td>1001/caissier</td>" in pages[-1] and "<td>Salma Benali</td>" in pages[-1]

    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["salma@exemple.ma"]  # its own address, never the main account's
    temporary = temporary_password_in(message)
    assert len(temporary) >= 8
    # the main account never sees it, in any page it gets
    pages.append(body(client.get(f"{SPACE_URL}/")))
    assert all(temporary not in page for page in pages)

    sub = sub_of(app, "1001/caissier")
    assert sub.profiles == ["CONSULT"] and sub.must_change_password and sub.tenant_ref == "1001"
    assert sub.email == "salma@exemple.ma" and sub.display_name == "Salma Benali"


def test_sub_account_logs_in_with_the_main_number_and_its_identifier_then_must_change(app, smtp_server):
    make_account(app, "1001")
    client = main_client(app)
    sub_id, temporary = created_sub(app, smtp_server, client)

    login_page = body(app.test_client().get(f"{SPACE_URL}/login"))
    assert ">Numéro d'adhérent</label>" in login_page and ">Identifiant du sous-compte</label>" in login_page

    browser = app.test_client()
    assert not logged_in(login_at(browser, SPACE_URL, "1001", temporary))  # the main account's number alone is not it
    response = login_at(browser, SPACE_URL, "1001", temporary, sub="caissier")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{SPACE_URL}/password/change")
    assert browser.get(f"{SPACE_URL}/").headers["Location"].endswith("/password/change")
    assert change_forced(browser, SPACE_URL, SUB_PASSWORD).status_code == 303
    dashboard = browser.get(f"{SPACE_URL}/")
    assert dashboard.status_code == 200
    assert "Salma Benali" in body(dashboard)
    assert "Sous-comptes" not in body(dashboard)  # a sub-account has no sub-accounts

    assert logged_in(login_at(app.test_client(), SPACE_URL, "1001", SUB_PASSWORD, sub="CAISSIER"))


def test_identifier_is_unique_in_the_space(app, smtp_server):
    make_account(app, "1001")
    client = main_client(app)
    created_sub(app, smtp_server, client, "caissier")

    for typed in ("caissier", "CAISSIER", " caissier "):
        again = create(client, typed, "Autre Personne", "autre@exemple.ma")
        assert again.status_code == 200
        assert "Cet identifiant est déjà utilisé." in field_errors(body(again), "identifier")
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Account.parent_id.is_not(None))) == 1
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1

    # another main account may use the same identifier: its login differs
    make_account(app, "1002")
    other = main_client(app, "1002")
    assert create(other, "caissier", email="c2@exemple.ma").status_code == 303
    assert sub_of(app, "1002/caissier") is not None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "pas-une-adresse"}, "email", "Adresse e-mail invalide."),
        ({"email": ""}, "email", "Ce champ est obligatoire."),
        ({"identifier": "jean dupont"}, "identifier", "L'identifiant du sous-compte compte de 3 à 30 caractères"),
        ({"identifier": "a/b"}, "identifier", "L'identifiant du sous-compte compte de 3 à 30 caractères"),
        ({"identifier": "ab"}, "identifier", "L'identifiant du sous-compte compte de 3 à 30 caractères"),
        ({"identifier": ""}, "identifier", "Ce champ est obligatoire."),
        ({"name": ""}, "display_name", "Ce champ est obligatoire."),
    ],
    ids=["bad-email", "no-email", "spaces", "slash", "too-short", "no-identifier", "no-name"],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_created(app, smtp_server, changes, field, message):
    make_account(app, "1001")
    client = main_client(app)
    response = create(client, **{"identifier": "caissier", **changes})
    assert response.status_code == 200
    assert message in field_errors(body(response), field)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 1
    no_mail(smtp_server, app)


# --------------------------------------------------------------------------
# Profiles: never more than the main account
# --------------------------------------------------------------------------


def test_forged_profile_is_refused_at_creation(app, smtp_server):
    make_account(app, "1001", profiles=["CONSULT"])
    client = main_client(app)
    form = body(client.get(f"{SPACE_URL}/accounts/new"))
    assert "Consultation" in form and "Paiements" not in form  # only its own profiles are offered

    create(client, "caissier", profiles=("CONSULT", "PAIE"))
    create(client, "payeur", profiles=("PAIE", "ADMIN"))
    with app.app_context():
        subs = list(db.session.scalars(select(Account).where(Account.parent_id.is_not(None))))
        assert all(set(s.profiles) <= {"CONSULT"} for s in subs)


def test_forged_profile_is_refused_at_edit(app, smtp_server):
    make_account(app, "1001", profiles=["CONSULT"])
    client = main_client(app)
    sub_id, _ = created_sub(app, smtp_server, client)
    page = client.get(f"{ACCOUNTS}/{sub_id}")
    client.post(f"{ACCOUNTS}/{sub_id}", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "profiles": ["CONSULT", "PAIE"]})
    assert "PAIE" not in sub_of(app, "1001/caissier").profiles


def test_edit_changes_the_profiles(app, smtp_server):
    make_account(app, "1001")
    client = main_client(app)
    sub_id, browser = active_sub(app, smtp_server, client, profiles=("CONSULT",))
    assert "Relevés" in body(browser.get(f"{SPACE_URL}/"))

    page = client.get(f"{ACCOUNTS}/{sub_id}")
    assert page.status_code == 200
    assert re.search(r'<input[^>]*checked[^>]*value="CONSULT"|<input[^>]*value="CONSULT"[^>]*checked', page.get_data(as_text=True))
    edited = client.post(f"{ACCOUNTS}/{sub_id}", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "profiles": ["PAIE"]})
    assert edited.status_code == 303
    assert sub_of(app, "1001/caissier").profiles == ["PAIE"]
    assert "Relevés" not in body(browser.get(f"{SPACE_URL}/"))  # the menu entry follows at once


def test_sub_account_loses_what_its_main_account_loses(app, smtp_server):
    main_id = make_account(app, "1001", space_key="variantes/admin")
    client = main_client(app, url=ADMIN_URL)
    sub_id, browser = active_sub(app, smtp_server, client, url=ADMIN_URL, profiles=("CONSULT", "PAIE"))
    assert 'href="/variantes/admin/paiements"' in body(browser.get(f"{ADMIN_URL}/"))
    assert browser.get(f"{ADMIN_URL}/paiements").status_code == 200

    with app.app_context():
        db.session.get(Account, main_id).profiles = ["CONSULT"]
        db.session.commit()

    assert 'href="/variantes/admin/paiements"' not in body(browser.get(f"{ADMIN_URL}/"))
    assert browser.get(f"{ADMIN_URL}/paiements").status_code == 403
    # and the main account cannot give back what it no longer has
    page = client.get(f"{ADMIN_URL}/accounts/{sub_id}")
    assert "Paiements" not in body(page).split("<form", 1)[1]


def test_sub_account_of_a_disabled_main_account_cannot_log_in(app, smtp_server):
    main_id = make_account(app, "1001")
    client = main_client(app)
    sub_id, browser = active_sub(app, smtp_server, client)
    with app.app_context():
        db.session.get(Account, main_id).status = "disabled"
        db.session.commit()
    assert browser.get(f"{SPACE_URL}/").status_code == 303
    response = login_at(app.test_client(), SPACE_URL, "1001", SUB_PASSWORD, sub="caissier")
    assert GENERIC_FAILURE in body(response)


# --------------------------------------------------------------------------
# Reset, disable, delete
# --------------------------------------------------------------------------


def test_reset_mails_a_new_temporary_password_forces_the_change_and_ends_its_sessions(app, smtp_server):
    make_account(app, "1001")
    client = main_client(app)
    sub_id, browser = active_sub(app, smtp_server, client)
    assert browser.get(f"{SPACE_URL}/").status_code == 200

    response = action(client, sub_id, "reset")
    assert response.status_code == 303
    message = smtp_server.wait_for(2)[1]
    assert smtp_server.envelopes[1][1] == ["salma@exemple.ma"]
    temporary = temporary_password_in(message)
    assert temporary not in body(client.get(ACCOUNTS))
    assert "réinitialisé" in message.get_body(preferencelist=("plain",)).get_content()

    # its open session is over, and the password it had no longer works (the reset may follow a leak)
    assert "/login" in browser.get(f"{SPACE_URL}/").headers["Location"]
    assert GENERIC_FAILURE in body(login_at(app.test_client(), SPACE_URL, "1001", SUB_PASSWORD, sub="caissier"))

    again = app.test_client()
    response = login_at(again, SPACE_URL, "1001", temporary, sub="caissier")
    assert response.headers["Location"].endswith("/password/change")
    assert change_forced(again, SPACE_URL, "Encore2028cd").status_code == 303
    assert again.get(f"{SPACE_URL}/").status_code == 200


def test_disable_ends_its_session_and_refuses_login_then_enable(app, smtp_server):
    make_account(app, "1001")
    client = main_client(app)
    sub_id, browser = active_sub(app, smtp_server, client)

    assert action(client, sub_id, "disable").status_code == 303
    assert sub_of(app, "1001/caissier").status == "disabled"
    assert "Désactivé" in body(client.get(ACCOUNTS))
    assert "/login" in browser.get(f"{SPACE_URL}/").headers["Location"]
    refused = login_at(app.test_client(), SPACE_URL, "1001", SUB_PASSWORD, sub="caissier")
    assert refused.status_code == 200
    assert GENERIC_FAILURE in body(refused)
    wrong = login_at(app.test_client(), SPACE_URL, "1001", "Mauvais2027x", sub="caissier")
    assert GENERIC_FAILURE in body(wrong)  # the same message as a wrong password

    assert action(client, sub_id, "disable").status_code == 303  # posting it twice changes nothing
    assert sub_of(app, "1001/caissier").status == "disabled"
    assert action(client, sub_id, "enable").status_code == 303
    assert sub_of(app, "1001/caissier").status == "active"
    assert logged_in(login_at(app.test_client(), SPACE_URL, "1001", SUB_PASSWORD, sub="caissier"))


def test_disable_revokes_a_pending_temporary_password(app, smtp_server):
    make_account(app, "1001")
    client = main_client(app)
    sub_id, temporary = created_sub(app, smtp_server, client)
    action(client, sub_id, "disable")
    action(client, sub_id, "enable")
    assert not logged_in(login_at(app.test_client(), SPACE_URL, "1001", temporary, sub="caissier"))


def test_delete_refuses_login_and_removes_its_tokens_and_sessions(app, smtp_server):
    make_account(app, "1001")
    client = main_client(app)
    sub_id, browser = active_sub(app, smtp_server, client)
    action(client, sub_id, "reset")  # a pending temporary password
    smtp_server.wait_for(2)

    assert action(client, sub_id, "delete").status_code == 303
    assert sub_of(app, "1001/caissier") is None
    assert "<td>1001/caissier</td>" not in body(client.get(ACCOUNTS))  # (the flash message still names it)
    assert "/login" in browser.get(f"{SPACE_URL}/").headers["Location"]
    assert GENERIC_FAILURE in body(login_at(app.test_client(), SPACE_URL, "1001", SUB_PASSWORD, sub="caissier"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Token.account_id == sub_id)) == 0
        assert db.session.scalar(select(func.count()).where(LoginSession.account_id == sub_id)) == 0
    assert client.get(f"{ACCOUNTS}/{sub_id}").status_code == 404


# --------------------------------------------------------------------------
# Who may do what
# --------------------------------------------------------------------------


def test_sub_account_gets_403_on_the_sub_account_pages(app, smtp_server):
    make_account(app, "1001")
    client = main_client(app)
    other_id, _ = created_sub(app, smtp_server, client, "autre", email="autre@exemple.ma")
    sub_id, browser = active_sub(app, smtp_server, client, "caissier", count=2)
    assert browser.get(ACCOUNTS).status_code == 403
    assert browser.get(f"{ACCOUNTS}/new").status_code == 403
    assert browser.get(f"{ACCOUNTS}/{other_id}").status_code == 403
    token = _any_token(browser, SPACE_URL)
    for name in ("reset", "disable", "enable", "delete"):
        assert browser.post(f"{ACCOUNTS}/{other_id}/{name}", data={"csrf_token": token}).status_code == 403
    assert sub_of(app, "1001/autre").status == "active"


def test_main_account_cannot_touch_another_main_accounts_sub_accounts(app, smtp_server):
    make_account(app, "1001")
    make_account(app, "1002")
    owner = main_client(app, "1001")
    sub_id, browser = active_sub(app, smtp_server, owner)
    intruder = main_client(app, "1002")

    assert "<td>1001/caissier</td>" not in body(intruder.get(ACCOUNTS))
    assert intruder.get(f"{ACCOUNTS}/{sub_id}").status_code == 404
    token = csrf_of(intruder.get(ACCOUNTS).get_data(as_text=True))
    edited = intruder.post(f"{ACCOUNTS}/{sub_id}", data={"csrf_token": token, "profiles": ["PAIE"]})
    assert edited.status_code == 404
    for name in ("reset", "disable", "enable", "delete"):
        assert intruder.post(f"{ACCOUNTS}/{sub_id}/{name}", data={"csrf_token": token}).status_code == 404

    sub = sub_of(app, "1001/caissier")
    assert sub.status == "active" and sub.profiles == ["CONSULT"]
    assert browser.get(f"{SPACE_URL}/").status_code == 200  # its session is untouched
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1  # no reset mail
    assert logged_in(login_at(app.test_client(), SPACE_URL, "1001", SUB_PASSWORD, sub="caissier"))


def test_main_account_of_another_space_cannot_reach_them_either(app, smtp_server):
    make_account(app, "1001")
    make_account(app, "1001", space_key="variantes/admin", email="admin@variantes.ma")
    owner = main_client(app, "1001")
    sub_id, _ = created_sub(app, smtp_server, owner)
    intruder = main_client(app, "1001", url=ADMIN_URL)
    assert intruder.get(f"{ADMIN_URL}/accounts/{sub_id}").status_code == 404
    token = csrf_of(intruder.get(f"{ADMIN_URL}/accounts").get_data(as_text=True))
    assert intruder.post(f"{ADMIN_URL}/accounts/{sub_id}/delete", data={"csrf_token": token}).status_code == 404
    assert sub_of(app, "1001/caissier") is not None


def test_actions_need_the_csrf_token(app, smtp_server):
    make_account(app, "1001")
    client = main_client(app)
    sub_id, _ = created_sub(app, smtp_server, client)
    for name in ("reset", "disable", "enable", "delete"):
        assert client.post(f"{ACCOUNTS}/{sub_id}/{name}").status_code == 400
    assert sub_of(app, "1001/caissier").status == "active"


# --------------------------------------------------------------------------
# Audit trail
# --------------------------------------------------------------------------


def test_every_change_is_in_the_audit_trail(app, smtp_server):
    main_id = make_account(app, "1001")
    client = main_client(app)
    sub_id, temporary = created_sub(app, smtp_server, client)
    page = client.get(f"{ACCOUNTS}/{sub_id}")
    client.post(f"{ACCOUNTS}/{sub_id}", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "profiles": ["PAIE"]})
    action(client, sub_id, "reset")
    second = temporary_password_in(smtp_server.wait_for(2)[1])
    action(client, sub_id, "disable")
    action(client, sub_id, "enable")
    action(client, sub_id, "delete")

    actions = [
        "subaccount_created",
        "subaccount_profiles_changed",
        "subaccount_reset",
        "subaccount_disabled",
        "subaccount_enabled",
        "subaccount_deleted",
    ]
    events = audit(app, *actions)
    assert [e.action for e in events] == actions
    for event in events:
        assert event.account_id == main_id
        assert event.actor == "1001"
        assert event.detail["subaccount"] == "1001/caissier"
        assert event.address == "127.0.0.1"
        assert temporary not in repr(event.detail) and second not in repr(event.detail)
    assert events[0].detail["profiles"] == ["CONSULT"]
    assert events[1].detail["profiles"] == ["PAIE"]

    history = body(client.get(f"{SPACE_URL}/history"))
    for label in ("Création d'un sous-compte", "Modification des profils d'un sous-compte",
                  "Réinitialisation du mot de passe d'un sous-compte", "Désactivation d'un sous-compte",
                  "Réactivation d'un sous-compte", "Suppression d'un sous-compte"):
        assert label in history


# --------------------------------------------------------------------------
# Space.profile_field: sub-accounts of the tenant (tests/plugin_etablissement.py),
# one main account per profile, staff holding one or both profiles
# --------------------------------------------------------------------------

ETAB_URL = "/etablissements/ps"
ETAB_KEY = "etablissements/ps"
NATIONAL_ID = "123456789"
OTHER_ID = "987654321"


def etab_mains(app: Flask, national_id: str = NATIONAL_ID) -> dict[str, int]:
    """The tenant's two main accounts, one per profile."""
    return {
        profile: make_account(app, f"{national_id}/{profile}", space_key=ETAB_KEY, tenant_ref=national_id, profiles=[profile],
                              email=f"direction.{profile.lower()}@{national_id}.test", display_name=f"Clinique {profile}")
        for profile in ("PEC", "PAIEMENTS")
    }


def etab_login(client: FlaskClient, profile: str, password: str = PASSWORD, sub: str = "", national_id: str = NATIONAL_ID):
    page = client.get(f"{ETAB_URL}/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "identifiant": national_id, "profil": profile,
            "nature": "secondaire" if sub else "principal", "sous_compte": sub, "password": password}
    return client.post(f"{ETAB_URL}/login", data=data)


def etab_main(app: Flask, profile: str, national_id: str = NATIONAL_ID) -> FlaskClient:
    client = app.test_client()
    assert logged_in(etab_login(client, profile, national_id=national_id))
    return client


def etab_staff(app: Flask, smtp_server, profiles=("PEC", "PAIEMENTS"), created_by: str = "PEC") -> tuple[int, FlaskClient]:
    """« accueil », created by one main account, logged in with its own password; its id and client."""
    creator = etab_main(app, created_by)
    response = create(creator, "accueil", email="accueil@clinique-etab.ma", profiles=profiles, url=ETAB_URL)
    assert response.status_code == 303, body(response)
    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["accueil@clinique-etab.ma"]  # SAFE-1: its own address only
    smtp_server.messages.clear()
    smtp_server.envelopes.clear()
    sub = sub_of(app, f"{NATIONAL_ID}/accueil", ETAB_KEY)
    assert sub is not None and sub.parent_id is not None and sub.tenant_ref == NATIONAL_ID
    browser = app.test_client()
    assert logged_in(etab_login(browser, profiles[0], temporary_password_in(message), sub="accueil"))
    assert change_forced(browser, ETAB_URL, SUB_PASSWORD).status_code == 303
    return sub.id, browser


def test_tenant_sub_account_login_leaves_the_profile_out(app, smtp_server):
    etab_mains(app)
    client = etab_main(app, "PEC")
    form = body(client.get(f"{ETAB_URL}/accounts/new"))
    assert f"{NATIONAL_ID}/ suivi de cet identifiant" in form
    assert 'value="PEC"' in form and 'value="PAIEMENTS"' in form  # the tenant's profiles together
    etab_staff(app, smtp_server)
    assert sub_of(app, f"{NATIONAL_ID}/PEC/accueil", ETAB_KEY) is None
    assert sub_of(app, f"{NATIONAL_ID}/accueil", ETAB_KEY).profiles == ["PEC", "PAIEMENTS"]


def test_staff_with_both_profiles_logs_in_with_either_and_works_in_the_one_chosen(app, smtp_server):
    etab_mains(app)
    _, browser = etab_staff(app, smtp_server, profiles=("PEC", "PAIEMENTS"))  # logged in with « PEC »
    dashboard = body(browser.get(f"{ETAB_URL}/"))
    assert f'href="{ETAB_URL}/pec"' in dashboard and f'href="{ETAB_URL}/paiements"' not in dashboard
    assert browser.get(f"{ETAB_URL}/pec").status_code == 200
    assert browser.get(f"{ETAB_URL}/paiements").status_code == 403  # « le profil de consultation désiré » only
    for profile, page, other_page in (("PEC", "pec", "paiements"), ("PAIEMENTS", "paiements", "pec")):
        other = app.test_client()
        assert logged_in(etab_login(other, profile, SUB_PASSWORD, sub="accueil")), profile
        menu = body(other.get(f"{ETAB_URL}/"))
        assert f'href="{ETAB_URL}/{page}"' in menu and f'href="{ETAB_URL}/{other_page}"' not in menu
        assert other.get(f"{ETAB_URL}/{page}").status_code == 200
        assert other.get(f"{ETAB_URL}/{other_page}").status_code == 403


def test_staff_with_pec_only_fails_with_paiements_like_any_wrong_input(app, smtp_server):
    etab_mains(app)
    _, browser = etab_staff(app, smtp_server, profiles=("PEC",))
    assert browser.get(f"{ETAB_URL}/paiements").status_code == 403
    wrong_profile = etab_login(app.test_client(), "PAIEMENTS", SUB_PASSWORD, sub="accueil")
    wrong_password = etab_login(app.test_client(), "PEC", "Mauvais2027x", sub="accueil")
    unknown = etab_login(app.test_client(), "PAIEMENTS", SUB_PASSWORD, sub="inconnu")
    assert wrong_profile.status_code == wrong_password.status_code == unknown.status_code == 200
    assert GENERIC_FAILURE in body(wrong_profile)
    errors = [re.search(r'<div class="form-errors".*?</div>', body(r), re.S).group(0) for r in (wrong_profile, wrong_password, unknown)]
    assert errors[0] == errors[1] == errors[2]


def test_main_accounts_log_in_as_before(app):
    etab_mains(app)
    for profile in ("PEC", "PAIEMENTS"):
        assert logged_in(etab_login(app.test_client(), profile))
    assert not logged_in(etab_login(app.test_client(), "PEC", "Mauvais2027x"))


def test_created_from_pec_then_managed_from_paiements(app, smtp_server):
    mains = etab_mains(app)
    sub_id, browser = etab_staff(app, smtp_server, profiles=("PEC",), created_by="PEC")
    payments = etab_main(app, "PAIEMENTS")
    assert f"<td>{NATIONAL_ID}/accueil</td>" in body(payments.get(f"{ETAB_URL}/accounts"))

    page = payments.get(f"{ETAB_URL}/accounts/{sub_id}")
    assert page.status_code == 200
    edited = payments.post(f"{ETAB_URL}/accounts/{sub_id}", data={"csrf_token": csrf_of(body(page)), "profiles": ["PEC", "PAIEMENTS"]})
    assert edited.status_code == 303
    assert sub_of(app, f"{NATIONAL_ID}/accueil", ETAB_KEY).profiles == ["PEC", "PAIEMENTS"]

    assert action(payments, sub_id, "reset", url=ETAB_URL).status_code == 303
    (message,) = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["accueil@clinique-etab.ma"]  # never the main accounts' addresses
    assert browser.get(f"{ETAB_URL}/").status_code == 303  # the reset ended its session
    first = etab_login(app.test_client(), "PAIEMENTS", temporary_password_in(message), sub="accueil")
    assert first.status_code == 303 and first.headers["Location"].endswith("/password/change")

    assert action(payments, sub_id, "disable", url=ETAB_URL).status_code == 303
    assert action(payments, sub_id, "enable", url=ETAB_URL).status_code == 303
    assert action(payments, sub_id, "delete", url=ETAB_URL).status_code == 303
    assert sub_of(app, f"{NATIONAL_ID}/accueil", ETAB_KEY) is None
    actions = [(e.action, e.account_id) for e in audit(app, "subaccount_created", "subaccount_reset", "subaccount_deleted")]
    assert actions == [("subaccount_created", mains["PEC"]), ("subaccount_reset", mains["PAIEMENTS"]),
                       ("subaccount_deleted", mains["PAIEMENTS"])]


def test_another_tenants_main_account_never_sees_or_manages_them(app, smtp_server):
    etab_mains(app)
    etab_mains(app, OTHER_ID)
    sub_id, browser = etab_staff(app, smtp_server)
    intruder = etab_main(app, "PEC", national_id=OTHER_ID)
    assert "accueil" not in body(intruder.get(f"{ETAB_URL}/accounts"))
    assert intruder.get(f"{ETAB_URL}/accounts/{sub_id}").status_code == 404
    token = csrf_of(intruder.get(f"{ETAB_URL}/accounts").get_data(as_text=True))
    assert intruder.post(f"{ETAB_URL}/accounts/{sub_id}", data={"csrf_token": token, "profiles": ["PEC"]}).status_code == 404
    for name in ("reset", "disable", "enable", "delete"):
        assert intruder.post(f"{ETAB_URL}/accounts/{sub_id}/{name}", data={"csrf_token": token}).status_code == 404
    assert browser.get(f"{ETAB_URL}/").status_code == 200
    assert sub_of(app, f"{NATIONAL_ID}/accueil", ETAB_KEY).status == "active"
    time.sleep(0.3)
    assert smtp_server.messages == []  # no reset mail: only the creation's, already read
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    # nor does it log in under the other tenant's number
    assert not logged_in(etab_login(app.test_client(), "PEC", SUB_PASSWORD, sub="accueil", national_id=OTHER_ID))


def test_a_profile_no_active_main_account_holds_is_refused_even_forged(app, smtp_server):
    mains = etab_mains(app)
    with app.app_context():
        db.session.get(Account, mains["PAIEMENTS"]).status = "locked"
        db.session.commit()
    client = etab_main(app, "PEC")
    assert 'value="PAIEMENTS"' not in body(client.get(f"{ETAB_URL}/accounts/new"))
    response = create(client, "accueil", profiles=("PEC", "PAIEMENTS"), url=ETAB_URL)
    assert response.status_code == 200
    assert sub_of(app, f"{NATIONAL_ID}/accueil", ETAB_KEY) is None
    no_mail(smtp_server, app)


def test_the_sub_account_lives_while_one_main_account_of_its_tenant_is_active(app, smtp_server):
    """The sub-account belongs to the tenant: locking its creator takes the creator's profile
    away but not the account; locking every main account of the tenant disables it."""
    mains = etab_mains(app)
    sub_id, browser = etab_staff(app, smtp_server, profiles=("PEC", "PAIEMENTS"), created_by="PEC")
    with app.app_context():
        db.session.get(Account, mains["PEC"]).status = "locked"
        db.session.commit()
    assert browser.get(f"{ETAB_URL}/pec").status_code == 403  # its PEC session lost its profile
    assert not logged_in(etab_login(app.test_client(), "PEC", SUB_PASSWORD, sub="accueil"))
    paiements = app.test_client()
    assert logged_in(etab_login(paiements, "PAIEMENTS", SUB_PASSWORD, sub="accueil"))
    assert paiements.get(f"{ETAB_URL}/paiements").status_code == 200
    assert f"<td>{NATIONAL_ID}/accueil</td>" in body(etab_main(app, "PAIEMENTS").get(f"{ETAB_URL}/accounts"))

    with app.app_context():
        db.session.get(Account, mains["PAIEMENTS"]).status = "locked"
        db.session.commit()
    assert browser.get(f"{ETAB_URL}/").status_code == 303
    assert GENERIC_FAILURE in body(etab_login(app.test_client(), "PAIEMENTS", SUB_PASSWORD, sub="accueil"))


def test_forgotten_password_of_tenant_staff_needs_one_of_its_profiles(app, smtp_server):
    mains = etab_mains(app)
    make_account(app, f"{NATIONAL_ID}/accueil", space_key=ETAB_KEY, tenant_ref=NATIONAL_ID, parent_id=mains["PEC"],
                 profiles=["PEC"], email="accueil@clinique-etab.ma", phone="0661000111")
    client = app.test_client()

    def forgot(profile: str):
        page = client.get(f"{ETAB_URL}/password/forgot")
        data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "identifiant": NATIONAL_ID, "profil": profile,
                "sous_compte": "accueil", "phone": "0661000111", "email": "accueil@clinique-etab.ma"}
        return client.post(f"{ETAB_URL}/password/forgot", data=data)

    assert "ne correspondent pas" in body(forgot("PAIEMENTS"))
    no_mail(smtp_server, app)
    assert "Un nouveau mot de passe a été envoyé" in body(forgot("PEC"))
    smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["accueil@clinique-etab.ma"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"profile_field": "inconnu"}, "names no identifier field"),
        ({"profile_field": "identifiant"}, "must be the profile codes"),
        ({"profiles": ()}, "must be the profile codes"),
        ({"subaccounts": False, "account_nature": False}, "needs subaccounts=True"),
    ],
    ids=["unknown-field", "field-without-choices", "choices-not-profiles", "without-subaccounts"],
)
def test_a_wrong_profile_field_fails_at_start_up(changes, message):
    from dataclasses import replace

    from tests.plugin_etablissement import SPACE

    with pytest.raises(ValueError, match=message):
        replace(SPACE, **changes)


def test_login_without_profile_drops_the_profile_fields_value():
    from tests.plugin_etablissement import SPACE

    assert SPACE.login_without_profile("123456789/PEC") == "123456789"
    assert SPACE.login_without_profile("123456789/PAIEMENTS") == "123456789"
