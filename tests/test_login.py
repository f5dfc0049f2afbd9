"""Logging into a space (CORE-1): the space's own fields, one generic message,
HTMX and plain posts, safe ``next``, throttling, rehash and temporary passwords
(SAFE-1, SAFE-3)."""
from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import timedelta

import argon2
import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Account, Token, utcnow
from app.passwords import needs_rehash, verify_password
from app.tokens import issue_temporary_password
from tests.conftest import PASSWORD, SPACE_URL, csrf_of, login, make_account
from tests.plugin_exemple import SPACE

GENERIC_FAILURE = "Identifiant ou mot de passe incorrect."
DASHBOARD = f"{SPACE_URL}/"
CHANGE_PAGE = f"{SPACE_URL}/password/change"


# --------------------------------------------------------------------------
# Helpers: what the user sees
# --------------------------------------------------------------------------


def text_of(response) -> str:
    """The page as text, entities decoded (« Numéro d'adhérent », not &#39;)."""
    return html.unescape(response.get_data(as_text=True))


def labels(page: str) -> list[str]:
    """The texts of the <label> elements of the page."""
    return [html.unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)]


def field_errors(page: str, field_id: str) -> list[str]:
    """The messages shown next to a field (the ``<ul class="errors">`` of its block)."""
    block = re.search(rf'<ul class="errors" id="{re.escape(field_id)}-errors">(.*?)</ul>', page, re.S)
    if not block:
        return []
    return [html.unescape(m).strip() for m in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]


def error_block(page: str) -> str | None:
    """The form-level error block (the generic login failure lives there)."""
    match = re.search(r'<div class="form-errors" role="alert">.*?</div>', page, re.S)
    return match.group(0) if match else None


def logout(client) -> None:
    page = client.get(f"{SPACE_URL}/login").get_data(as_text=True)
    response = client.post(f"{SPACE_URL}/logout", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 303


def stored_hash(app, account_id: int) -> str:
    with app.app_context():
        return db.session.get(Account, account_id).password_hash


def build(request, **config):
    """The test client of an app built with ``config`` on top of conftest's."""
    app_config = request.getfixturevalue("app_config")
    app_config.update(config)
    return request.getfixturevalue("app"), request.getfixturevalue("client")


# --------------------------------------------------------------------------
# The page and a good login
# --------------------------------------------------------------------------


def test_login_page_asks_for_the_member_number_and_the_password(client):
    response = client.get(f"{SPACE_URL}/login")

    assert response.status_code == 200
    shown = labels(response.get_data(as_text=True))
    assert shown[0] == "Numéro d'adhérent"
    assert shown[-1] == "Mot de passe"
    assert "Mot de passe oublié ?" in text_of(response)


def test_member_with_the_right_password_lands_on_the_dashboard(client, account):
    response = login(client)

    assert response.status_code == 303
    assert response.headers["Location"] == DASHBOARD
    dashboard = client.get(DASHBOARD)
    assert dashboard.status_code == 200
    assert "Bienvenue, Amina Test." in text_of(dashboard)


# --------------------------------------------------------------------------
# One generic message whatever was wrong (CORE-1)
# --------------------------------------------------------------------------


def test_unknown_member_wrong_password_and_disabled_or_locked_account_get_the_same_message(app, client):
    make_account(app, "1001")
    make_account(app, "1002", status="disabled")
    make_account(app, "1003", status="locked")

    blocks = []
    for who, password in [("9999", PASSWORD), ("1001", "Mauvais2026"), ("1002", PASSWORD), ("1003", PASSWORD)]:
        response = login(client, who, password)
        assert response.status_code == 200, who
        page = response.get_data(as_text=True)
        assert GENERIC_FAILURE in html.unescape(page), who
        blocks.append(error_block(page))
        assert client.get(DASHBOARD).status_code == 303, f"{who} must not be logged in"

    assert blocks[0] is not None
    assert blocks == [blocks[0]] * 4


def test_unknown_member_and_disabled_account_cost_the_same_password_check_as_a_wrong_password(app, client, monkeypatch):
    """The response time must not tell which part was wrong: one argon2 verification each time."""
    import app.auth.views as views

    make_account(app, "1001")
    make_account(app, "1002", status="disabled")
    checked = []
    real = views.verify_password
    monkeypatch.setattr(views, "verify_password", lambda stored, typed: checked.append(stored) or real(stored, typed))

    for who in ("9999", "1001", "1002"):
        checked.clear()
        assert GENERIC_FAILURE in text_of(login(client, who, "Mauvais2026")), who
        assert len(checked) == 1 and checked[0].startswith("$argon2id$"), who


def test_member_number_with_letters_gets_the_format_message_next_to_the_field(client, account):
    response = login(client, "12ab")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors(page, "adherent") == ["Le numéro d'adhérent compte de 1 à 10 chiffres."]
    assert GENERIC_FAILURE not in html.unescape(page)


@pytest.mark.parametrize("typed", ["abc", "1" * 11, "", "   ", "١٢٣", "1001\x00", "<script>", "x" * 5000])
def test_malformed_member_numbers_never_cause_a_server_error(client, account, typed):
    response = login(client, typed)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors(page, "adherent") or GENERIC_FAILURE in html.unescape(page)
    assert "<script>" not in page.split("<main", 1)[1]
    assert client.get(DASHBOARD).status_code == 303


# --------------------------------------------------------------------------
# HTMX
# --------------------------------------------------------------------------


def test_htmx_login_answers_with_a_full_page_redirect_to_the_dashboard(client, account):
    response = login(client, **{"HX-Request": "true"})

    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == DASHBOARD
    assert client.get(DASHBOARD).status_code == 200


def test_htmx_login_failure_answers_with_the_form_fragment_only(client, account):
    response = login(client, password="Mauvais2026", **{"HX-Request": "true"})

    assert response.status_code == 200
    assert "HX-Redirect" not in response.headers
    page = response.get_data(as_text=True)
    assert "<html" not in page and "<body" not in page
    assert "<form" in page and 'name="adherent"' in page
    assert GENERIC_FAILURE in html.unescape(page)
    assert "HX-Request" in response.headers.get("Vary", "")


# --------------------------------------------------------------------------
# Where the login leads
# --------------------------------------------------------------------------


def test_next_inside_the_space_is_honoured_after_login(client, account):
    page = client.get(f"{SPACE_URL}/login?next={SPACE_URL}/releves").get_data(as_text=True)
    response = client.post(
        f"{SPACE_URL}/login?next={SPACE_URL}/releves",
        data={"csrf_token": csrf_of(page), "adherent": "1001", "password": PASSWORD},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == f"{SPACE_URL}/releves"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.test",
        "https://evil.test",
        "https://evil.test/exemple/membres/",
        "/exemple/membres//evil.test",
        "/exemple/membres/\\evil.test",
        "/autre/espace/",
        "javascript:alert(1)",
    ],
)
def test_next_outside_the_space_is_ignored_and_leads_to_the_dashboard(client, account, target):
    page = client.get(f"{SPACE_URL}/login").get_data(as_text=True)
    response = client.post(
        f"{SPACE_URL}/login",
        query_string={"next": target},
        data={"csrf_token": csrf_of(page), "adherent": "1001", "password": PASSWORD},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == DASHBOARD


@pytest.mark.parametrize("target", ["/exemple/membres/\r\nSet-Cookie: x=1", "/exemple/membres/\t/evil.test", "/exemple/membres/\x00"])
def test_next_with_control_characters_never_breaks_the_redirect(client, account, target):
    page = client.get(f"{SPACE_URL}/login").get_data(as_text=True)
    response = client.post(
        f"{SPACE_URL}/login",
        query_string={"next": target},
        data={"csrf_token": csrf_of(page), "adherent": "1001", "password": PASSWORD},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == DASHBOARD
    assert not any(cookie.startswith("x=") for cookie in response.headers.getlist("Set-Cookie"))


def test_unknown_space_shows_the_french_not_found_page(client):
    response = client.get("/nope/x/login")

    assert response.status_code == 404
    assert "Page introuvable" in text_of(response)
    assert "La page demandée n'existe pas." in text_of(response)


# --------------------------------------------------------------------------
# Throttling (SAFE-3)
# --------------------------------------------------------------------------


def test_repeated_failures_on_one_account_are_throttled_while_another_account_still_logs_in(request):
    app, client = build(request, LOGIN_LIMITS_PER_ACCOUNT="3 per minute")
    make_account(app, "1001")
    make_account(app, "1002")

    for _ in range(3):
        assert login(client, "1001", "Mauvais2026").status_code == 200

    refused = login(client, "1001", "Mauvais2026")
    assert refused.status_code == 429
    assert "Trop de tentatives" in text_of(refused)
    assert login(client, "1001", PASSWORD).status_code == 429, "even the right password waits"

    other = login(client, "1002", PASSWORD)
    assert other.status_code == 303
    assert other.headers["Location"] == DASHBOARD


def test_extra_form_fields_do_not_start_a_fresh_count_for_the_same_account(request):
    app, client = build(request, LOGIN_LIMITS_PER_ACCOUNT="3 per minute")
    make_account(app, "1001")

    statuses = []
    for attempt in range(5):
        page = client.get(f"{SPACE_URL}/login").get_data(as_text=True)
        response = client.post(
            f"{SPACE_URL}/login",
            data={"csrf_token": csrf_of(page), "adherent": " 1001 ", "password": "Mauvais2026", f"bruit{attempt}": "x"},
        )
        statuses.append(response.status_code)

    assert statuses == [200, 200, 200, 429, 429]


def test_successful_logins_do_not_count_against_the_limit(request):
    app, client = build(request, LOGIN_LIMITS_PER_ACCOUNT="3 per minute", LOGIN_LIMITS_PER_ADDRESS="3 per minute")
    make_account(app, "1001")

    for _ in range(6):
        assert login(client, "1001", PASSWORD).status_code == 303
    for _ in range(3):
        assert login(client, "1001", "Mauvais2026").status_code == 200
    assert login(client, "1001", "Mauvais2026").status_code == 429


def test_htmx_successful_logins_do_not_count_either(request):
    app, client = build(request, LOGIN_LIMITS_PER_ACCOUNT="2 per minute")
    make_account(app, "1001")

    for _ in range(4):
        assert "HX-Redirect" in login(client, "1001", PASSWORD, **{"HX-Request": "true"}).headers
    assert login(client, "1001", "Mauvais2026").status_code == 200


def test_failures_from_one_address_are_throttled_across_accounts(request):
    app, client = build(request, LOGIN_LIMITS_PER_ADDRESS="3 per minute")
    for number in ("1001", "1002", "1003", "1004"):
        make_account(app, number)

    for number in ("1001", "1002", "1003"):
        assert login(client, number, "Mauvais2026").status_code == 200

    refused = login(client, "1004", PASSWORD)
    assert refused.status_code == 429
    assert "Trop de tentatives" in text_of(refused)


# --------------------------------------------------------------------------
# Hashing (SAFE-3)
# --------------------------------------------------------------------------


def test_login_rehashes_a_password_stored_with_old_argon2_parameters(app, client):
    old_hasher = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    account_id = make_account(app, "1001")
    old_hash = old_hasher.hash(PASSWORD)
    with app.app_context():
        db.session.get(Account, account_id).password_hash = old_hash
        db.session.commit()

    assert login(client).status_code == 303

    new_hash = stored_hash(app, account_id)
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$")
    with app.app_context():  # made with the parameters the deployment configures today
        assert not needs_rehash(new_hash)
        assert verify_password(new_hash, PASSWORD)


def test_login_keeps_a_hash_made_with_current_parameters(app, client, account):
    before = stored_hash(app, account)

    assert login(client).status_code == 303
    assert stored_hash(app, account) == before


# --------------------------------------------------------------------------
# Temporary passwords (SAFE-1)
# --------------------------------------------------------------------------


def issue_temporary(app, account_id: int) -> str:
    with app.app_context():
        password = issue_temporary_password(db.session.get(Account, account_id), SPACE.password_policy)
        db.session.commit()
        return password


def test_old_password_still_works_until_the_temporary_one_is_used(app, client, account):
    temporary = issue_temporary(app, account)

    response = login(client, password=PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == DASHBOARD
    logout(client)

    response = login(client, password=temporary)
    assert response.status_code == 303
    assert response.headers["Location"] == CHANGE_PAGE
    logout(client)

    assert GENERIC_FAILURE in text_of(login(client, password=PASSWORD)), "the old password ends once the temporary one is used"


def test_temporary_password_logs_in_once_and_forces_the_change(app, client, account):
    temporary = issue_temporary(app, account)

    response = login(client, password=temporary)
    assert response.headers["Location"] == CHANGE_PAGE
    assert client.get(DASHBOARD).headers["Location"] == CHANGE_PAGE
    with app.app_context():
        token = db.session.scalar(select(Token).where(Token.account_id == account))
        assert token.used_at is not None

    page = client.get(CHANGE_PAGE)
    assert "vous devez choisir un nouveau mot de passe" in text_of(page)
    changed = client.post(
        CHANGE_PAGE,
        data={"csrf_token": csrf_of(page.get_data(as_text=True)), "new_password": "Nouveau42xy", "confirmation": "Nouveau42xy"},
    )
    assert changed.headers["Location"] == DASHBOARD
    assert client.get(DASHBOARD).status_code == 200
    logout(client)

    assert GENERIC_FAILURE in text_of(login(client, password=temporary))
    assert GENERIC_FAILURE in text_of(login(client, password=PASSWORD))
    assert login(client, password="Nouveau42xy").headers["Location"] == DASHBOARD


def test_temporary_password_serves_only_once_even_when_the_change_is_not_done(app, client, account):
    temporary = issue_temporary(app, account)
    assert login(client, password=temporary).headers["Location"] == CHANGE_PAGE
    logout(client)

    response = login(client, password=temporary)

    assert response.status_code == 200
    assert GENERIC_FAILURE in text_of(response)


def test_newer_temporary_password_replaces_the_older_one(app, client, account):
    first = issue_temporary(app, account)
    second = issue_temporary(app, account)

    assert GENERIC_FAILURE in text_of(login(client, password=first))
    assert login(client, password=second).headers["Location"] == CHANGE_PAGE


def test_expired_temporary_password_does_not_log_in(app, client, account):
    temporary = issue_temporary(app, account)
    with app.app_context():
        db.session.execute(update(Token).where(Token.account_id == account).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()

    response = login(client, password=temporary)

    assert response.status_code == 200
    assert GENERIC_FAILURE in text_of(response)
    assert client.get(DASHBOARD).status_code == 303
    assert login(client, password=PASSWORD).headers["Location"] == DASHBOARD


def test_throttled_htmx_login_gets_the_french_message_as_a_fragment(request):
    app, client = build(request, LOGIN_LIMITS_PER_ACCOUNT="2 per minute")
    make_account(app, "1001")
    for _ in range(2):
        login(client, "1001", "Mauvais2026", **{"HX-Request": "true"})

    refused = login(client, "1001", "Mauvais2026", **{"HX-Request": "true"})

    assert refused.status_code == 429
    assert "Trop de tentatives" in text_of(refused)
    assert "<html" not in text_of(refused)


def test_member_number_in_arabic_indic_digits_gets_the_format_message(app, client):
    make_account(app, "123")
    response = login(client, "١٢٣", PASSWORD)
    assert response.status_code == 200
    assert "Le numéro d'adhérent compte de 1 à 10 chiffres." in text_of(response)


# --------------------------------------------------------------------------
# Progressive login with « Profil » and « Nature de compte » (seed 003, 2.2):
# the test space of tests/plugin_login.py
# --------------------------------------------------------------------------

PROGRESSIVE = "/connexion/ps"
NATIONAL_ID = "123456789"
HTMX = {"HX-Request": "true"}
SUB_MISSING = "Indiquez l'identifiant du sous-compte pour un compte secondaire."
SUB_WITH_MAIN = "Laissez ce champ vide pour un compte principal, ou choisissez « Secondaire »."


@pytest.fixture
def progressive(request):
    """The app with the progressive-login space; two main accounts (one per profile)
    and a sub-account « caisse » of the Paiements one."""
    app, client = build(request, PLUGIN_MODULES=["tests.plugin_exemple", "tests.plugin_login"])
    make_account(app, f"{NATIONAL_ID}/PEC", space_key="connexion/ps", display_name="Clinique PEC", profiles=["PEC"])
    main = make_account(
        app, f"{NATIONAL_ID}/PAIEMENTS", space_key="connexion/ps", display_name="Clinique Paiements", profiles=["PAIEMENTS"]
    )
    make_account(
        app,
        f"{NATIONAL_ID}/PAIEMENTS/caisse",
        space_key="connexion/ps",
        display_name="Agent de caisse",
        profiles=["PAIEMENTS"],
        parent_id=main,
        tenant_ref=NATIONAL_ID,
    )
    return app, client


def without_noscript(page: str) -> str:
    """What a browser running JavaScript shows: <noscript> content is not part of the page."""
    return re.sub(r"<noscript>.*?</noscript>", "", page, flags=re.S)


def legends(page: str) -> list[str]:
    return [html.unescape(m).strip() for m in re.findall(r"<legend>(.*?)</legend>", page, re.S)]


def reveal(client, value: str, **params):
    """What htmx asks while the first field is typed (``login/next``)."""
    return client.get(f"{PROGRESSIVE}/login/next", query_string={"identifiant": value, **params}, headers=HTMX)


def post_progressive(client, *, identifiant=NATIONAL_ID, profil="PEC", nature="principal", sous_compte="", password=PASSWORD, **headers):
    page = client.get(f"{PROGRESSIVE}/login").get_data(as_text=True)
    data = {"csrf_token": csrf_of(page), "identifiant": identifiant, "password": password}
    for name, value in (("profil", profil), ("nature", nature), ("sous_compte", sous_compte)):
        if value is not None:
            data[name] = value
    return client.post(f"{PROGRESSIVE}/login", data=data, headers=headers)


def checked(page: str, name: str) -> list[str]:
    """The values of the checked radio buttons named ``name``."""
    return re.findall(rf'<input checked id="[^"]+" name="{name}"[^>]*value="([^"]*)"', page)


def test_progressive_login_first_shows_the_national_id_only_and_everything_without_javascript(progressive):
    _, client = progressive

    page = client.get(f"{PROGRESSIVE}/login").get_data(as_text=True)

    with_js = without_noscript(page)
    assert labels(with_js) == ["Identifiant National"]
    assert legends(with_js) == []
    assert f'hx-get="{PROGRESSIVE}/login/next"' in with_js
    assert "Valider" not in with_js.split('<div id="login-rest">', 1)[1].split("</form>", 1)[0]
    # without JavaScript, the <noscript> copy holds the whole form, in the seed's order
    assert labels(page) == ["Identifiant National", "PEC", "Paiements", "Principal", "Secondaire", "Identifiant du sous-compte", "Mot de passe"]
    assert legends(page) == ["Profil", "Nature de compte"]
    assert 'type="radio" value="PEC"' in page and 'type="radio" value="PAIEMENTS"' in page
    assert checked(page, "nature") == ["principal"]


def test_a_valid_national_id_reveals_the_rest_the_same_whether_or_not_an_account_exists(progressive):
    _, client = progressive

    known = reveal(client, NATIONAL_ID)
    unknown = reveal(client, "987654321")

    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert dict(known.headers) == dict(unknown.headers)
    rest = known.get_data(as_text=True)
    assert legends(rest) == ["Profil", "Nature de compte"]
    assert labels(rest) == ["PEC", "Paiements", "Principal", "Secondaire", "Mot de passe"], "the sub-account waits for « Secondaire »"
    assert "Valider" in rest
    assert '<div id="identifiant-status" hx-swap-oob="innerHTML"></div>' in rest
    assert "HX-Request" in known.headers["Vary"]


@pytest.mark.parametrize("typed", ["12345", "1234567890", "12345678a", "١٢٣٤٥٦٧٨٩", "<script>"])
def test_an_invalid_national_id_hides_the_rest_and_shows_the_format_message(progressive, typed):
    _, client = progressive

    response = reveal(client, typed)

    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert field_errors(fragment, "identifiant") == ["L'identifiant national compte 9 chiffres."]
    assert "<label" not in fragment and "Mot de passe" not in fragment
    assert "<script>" not in fragment


def test_an_emptied_national_id_hides_the_rest_without_a_message(progressive):
    _, client = progressive

    fragment = reveal(client, "  ").get_data(as_text=True)

    assert field_errors(fragment, "identifiant") == []
    assert "<label" not in fragment


def test_a_rest_already_shown_is_kept_so_that_the_user_s_choices_stay(progressive):
    _, client = progressive

    response = reveal(client, "987654321", login_rest="1")

    assert response.headers["HX-Reswap"] == "none"
    assert "HX-Reswap" not in reveal(client, "98765", login_rest="1").headers, "an invalid value hides it"


def test_choosing_secondaire_reveals_the_sub_account_field(progressive):
    _, client = progressive
    url = f"{PROGRESSIVE}/login/next"

    secondary = client.get(url, query_string={"part": "sous_compte", "nature": "secondaire"}, headers=HTMX)
    main = client.get(url, query_string={"part": "sous_compte", "nature": "principal"}, headers=HTMX)

    assert labels(secondary.get_data(as_text=True)) == ["Identifiant du sous-compte"]
    assert labels(main.get_data(as_text=True)) == []


def test_reveal_endpoint_opened_as_a_page_leads_to_the_login_and_exists_only_for_progressive_spaces(progressive):
    _, client = progressive

    opened = client.get(f"{PROGRESSIVE}/login/next?identifiant={NATIONAL_ID}")
    assert opened.status_code == 303
    assert opened.headers["Location"] == f"{PROGRESSIVE}/login"
    assert client.get(f"{SPACE_URL}/login/next?adherent=1001", headers=HTMX).status_code == 404


@pytest.mark.parametrize(("profil", "name"), [("PEC", "Clinique PEC"), ("PAIEMENTS", "Clinique Paiements")])
def test_main_account_logs_in_with_each_profile(progressive, profil, name):
    _, client = progressive

    response = post_progressive(client, profil=profil)

    assert response.status_code == 303
    assert response.headers["Location"] == f"{PROGRESSIVE}/"
    assert f"Bienvenue, {name}." in text_of(client.get(f"{PROGRESSIVE}/"))


def test_secondary_account_logs_in_with_its_sub_account_identifier(progressive):
    _, client = progressive

    response = post_progressive(client, profil="PAIEMENTS", nature="secondaire", sous_compte="Caisse", **HTMX)

    assert response.headers["HX-Redirect"] == f"{PROGRESSIVE}/"
    assert "Bienvenue, Agent de caisse." in text_of(client.get(f"{PROGRESSIVE}/"))


def test_secondaire_without_its_identifier_gets_the_message_next_to_the_field(progressive):
    app, client = progressive

    response = post_progressive(client, profil="PAIEMENTS", nature="secondaire", sous_compte="")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_errors(page, "sous_compte") == [SUB_MISSING]
    assert error_block(page) is None
    assert client.get(f"{PROGRESSIVE}/").status_code == 303


def test_a_sub_account_identifier_with_principal_gets_the_message_next_to_the_field(progressive):
    _, client = progressive

    page = post_progressive(client, profil="PAIEMENTS", nature="principal", sous_compte="caisse").get_data(as_text=True)

    assert field_errors(page, "sous_compte") == [SUB_WITH_MAIN]
    assert error_block(page) is None
    assert client.get(f"{PROGRESSIVE}/").status_code == 303


def test_missing_profile_or_nature_get_french_messages_never_a_server_error(progressive):
    _, client = progressive

    page = post_progressive(client, profil=None, nature="").get_data(as_text=True)

    assert field_errors(page, "profil") == ["Ce champ est obligatoire."]
    assert field_errors(page, "nature") == ["Choisissez la nature de compte."]
    tampered = post_progressive(client, profil="ADMIN", nature="autre")
    assert tampered.status_code == 200
    assert field_errors(tampered.get_data(as_text=True), "profil") == ["Format invalide."]
    assert field_errors(tampered.get_data(as_text=True), "nature") == ["Choisissez la nature de compte."]
    assert "Not a valid choice" not in tampered.get_data(as_text=True)


@pytest.mark.parametrize(
    "wrong",
    [
        {"identifiant": "987654321"},  # unknown establishment
        {"password": "Mauvais1"},  # wrong password
        {"profil": "PEC", "nature": "secondaire", "sous_compte": "caisse"},  # the sub-account is under Paiements
        {"profil": "PAIEMENTS", "nature": "secondaire", "sous_compte": "inconnu"},  # unknown sub-account
    ],
)
def test_wrong_anything_in_a_progressive_login_gets_the_same_generic_message(progressive, wrong):
    _, client = progressive
    reference = error_block(post_progressive(client, password="Mauvais1").get_data(as_text=True))

    response = post_progressive(client, **wrong)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert GENERIC_FAILURE in html.unescape(page)
    assert error_block(page) == reference
    assert client.get(f"{PROGRESSIVE}/").status_code == 303


def test_a_failed_post_shows_the_whole_form_with_the_values_but_the_password(progressive):
    _, client = progressive

    for headers in ({}, HTMX):
        page = post_progressive(
            client, profil="PAIEMENTS", nature="secondaire", sous_compte="caisse", password="Mauvais1", **headers
        ).get_data(as_text=True)

        shown = without_noscript(page)
        assert labels(shown) == ["Identifiant National", "PEC", "Paiements", "Principal", "Secondaire", "Identifiant du sous-compte", "Mot de passe"]
        assert f'value="{NATIONAL_ID}"' in shown
        assert checked(shown, "profil") == ["PAIEMENTS"]
        assert checked(shown, "nature") == ["secondaire"]
        assert 'name="sous_compte" type="text" value="caisse"' in shown
        assert "Mauvais1" not in page
        assert "hx-trigger=\"input changed delay:300ms, change\"" in shown, "no new fetch that would hide the messages"


def test_htmx_failed_post_with_principal_keeps_the_sub_account_field_hidden(progressive):
    _, client = progressive

    page = post_progressive(client, password="Mauvais1", **HTMX).get_data(as_text=True)

    assert "<html" not in page
    assert '<div id="login-subaccount">' in page
    assert "Identifiant du sous-compte" not in page


def test_progressive_login_is_throttled_per_account(request):
    app, client = build(request, PLUGIN_MODULES=["tests.plugin_exemple", "tests.plugin_login"], LOGIN_LIMITS_PER_ACCOUNT="3 per minute")
    make_account(app, f"{NATIONAL_ID}/PEC", space_key="connexion/ps", profiles=["PEC"])
    make_account(app, f"{NATIONAL_ID}/PAIEMENTS", space_key="connexion/ps", profiles=["PAIEMENTS"])

    for _ in range(3):
        assert post_progressive(client, profil="PEC", password="Mauvais1").status_code == 200
    assert post_progressive(client, profil="PEC", password="Mauvais1").status_code == 429
    assert post_progressive(client, profil="PEC").status_code == 429, "even the right password waits"

    assert post_progressive(client, profil="PAIEMENTS").status_code == 303, "the other profile's account is another account"


def test_forgotten_password_of_the_progressive_space_asks_the_profile_as_radio_buttons(progressive):
    app, client = progressive
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.login == f"{NATIONAL_ID}/PEC"))
        account.phone = "+212612345678"
        db.session.commit()
        email = account.email

    page = client.get(f"{PROGRESSIVE}/password/forgot").get_data(as_text=True)
    assert legends(page) == ["Profil"]
    assert 'name="profil" required type="radio" value="PEC"' in page
    assert "Nature de compte" not in page

    response = client.post(
        f"{PROGRESSIVE}/password/forgot",
        data={"csrf_token": csrf_of(page), "identifiant": NATIONAL_ID, "profil": "PEC", "phone": "0612345678", "email": email},
    )
    assert "Un nouveau mot de passe a été envoyé à votre adresse e-mail." in text_of(response)


def test_account_nature_needs_sub_accounts():
    from tests.plugin_login import SPACE

    with pytest.raises(ValueError, match="account_nature"):
        replace(SPACE, subaccounts=False)
