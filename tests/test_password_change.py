"""« Modification du mot de passe » (CORE-4) under the space's policy, shown next
to the field and checked live (CORE-6), tightened but never loosened by the
deployment (SAFE-6)."""
from __future__ import annotations

import html
import re

import pytest

from app.extensions import db
from app.models import Account
from tests.conftest import PASSWORD, SPACE_URL, csrf_of, login, make_account

DASHBOARD = f"{SPACE_URL}/"
LOGIN_PAGE = f"{SPACE_URL}/login"
CHANGE_PAGE = f"{SPACE_URL}/password/change"
CHECK = f"{SPACE_URL}/password/check"
HTMX = {"HX-Request": "true"}
GENERIC_FAILURE = "Identifiant ou mot de passe incorrect."

LENGTH_RULE = "Entre 8 et 12 caractères"
DIGITS_RULE = "Au moins 2 chiffres"
COMMON_RULE = "Pas un mot de passe courant"
CONTEXT_RULE = "Ne contient ni votre identifiant ni le nom de l'organisme"
PREVIOUS_RULE = "Différent de l'ancien mot de passe"


# --------------------------------------------------------------------------
# Helpers: what the user sees
# --------------------------------------------------------------------------


def labels(page: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)]


def field_errors(page: str, field_id: str) -> list[str]:
    """The messages shown next to a field (the ``<ul class="errors">`` of its block)."""
    block = re.search(rf'<ul class="errors" id="{re.escape(field_id)}-errors">(.*?)</ul>', page, re.S)
    if not block:
        return []
    return [html.unescape(m).strip() for m in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]


def rules_shown(page: str) -> dict[str, str]:
    """The policy rules next to the field: text → ok, ko or pending."""
    found = re.findall(r'<li class="rule (ok|ko|pending)">\s*<span class="mark"[^>]*>[^<]*</span>\s*([^<]+?)\s*(?:<|$)', page)
    return {html.unescape(text).strip(): state for state, text in found}


def change(client, new: str, *, current: str = PASSWORD, confirmation: str | None = None):
    page = client.get(CHANGE_PAGE).get_data(as_text=True)
    return client.post(
        CHANGE_PAGE,
        data={
            "csrf_token": csrf_of(page),
            "current_password": current,
            "new_password": new,
            "confirmation": new if confirmation is None else confirmation,
        },
    )


def check(client, typed: str, **headers):
    """What the page's HTMX does as the user types: the CSRF token comes from ``hx-headers``."""
    page = client.get(CHANGE_PAGE if "Déconnexion" in client.get(CHANGE_PAGE).get_data(as_text=True) else LOGIN_PAGE)
    token = csrf_of(page.get_data(as_text=True))
    return client.post(CHECK, data={"new_password": typed}, headers={**HTMX, "X-CSRFToken": token, **headers})


def can_log_in(app, password: str) -> bool:
    response = login(app.test_client(), password=password)
    return response.status_code == 303 and response.headers["Location"] == DASHBOARD


def stored_hash(app, account_id: int) -> str:
    with app.app_context():
        return db.session.get(Account, account_id).password_hash


@pytest.fixture
def logged_in(client, account):
    assert login(client).status_code == 303
    return client


def build(request, **config):
    """A logged-in client of an app built with ``config`` on top of conftest's."""
    app_config = request.getfixturevalue("app_config")
    app_config.update(config)
    app, client = request.getfixturevalue("app"), request.getfixturevalue("client")
    make_account(app, "1001")
    assert login(client).status_code == 303
    return app, client


# --------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------


def test_change_page_asks_current_new_and_confirmation_and_shows_the_space_rules(logged_in):
    response = logged_in.get(CHANGE_PAGE)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Modification du mot de passe" in html.unescape(page)
    assert labels(page) == ["Mot de passe actuel", "Nouveau mot de passe", "Confirmation du mot de passe"]
    assert rules_shown(page) == {
        LENGTH_RULE: "pending",
        DIGITS_RULE: "pending",
        COMMON_RULE: "pending",
        CONTEXT_RULE: "pending",
        PREVIOUS_RULE: "pending",
    }


def test_change_page_is_reachable_from_the_menu(logged_in):
    page = html.unescape(logged_in.get(DASHBOARD).get_data(as_text=True))

    assert f'href="{CHANGE_PAGE}">Modification du mot de passe</a>' in page


# --------------------------------------------------------------------------
# Refusals, each next to its field
# --------------------------------------------------------------------------


def test_wrong_current_password_is_refused_next_to_the_field_and_nothing_changes(app, logged_in, account):
    before = stored_hash(app, account)

    response = change(logged_in, "Nouveau42xy", current="Mauvais2026")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors(page, "current_password") == ["Mot de passe actuel incorrect."]
    assert field_errors(page, "new_password") == []
    assert stored_hash(app, account) == before
    assert can_log_in(app, PASSWORD)
    assert not can_log_in(app, "Nouveau42xy")


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        ("Ab12cd", LENGTH_RULE),
        ("Ab12cdefghijk", LENGTH_RULE),
        ("Zorglubxqw", DIGITS_RULE),
        ("Zorglubxq1", DIGITS_RULE),
        ("password12", COMMON_RULE),
        ("Azerty2026", COMMON_RULE),
        ("Xq1001zwvb", CONTEXT_RULE),
        ("Exemple42xy", CONTEXT_RULE),
        ("Mutuelle42x", CONTEXT_RULE),
        ("xAMINA42yzq", CONTEXT_RULE),
    ],
    ids=["too-short", "too-long", "no-digit", "one-digit", "common", "common-with-year", "login", "insurer-code",
         "insurer-name", "own-name"],
)
def test_new_password_breaking_a_rule_is_refused_with_the_reason_next_to_the_field(app, logged_in, account, new, reason):
    before = stored_hash(app, account)

    response = change(logged_in, new)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert reason in field_errors(page, "new_password")
    assert field_errors(page, "current_password") == []
    assert rules_shown(page)[reason] in ("ko", "pending")
    assert stored_hash(app, account) == before


def test_confirmation_that_differs_is_refused_next_to_the_confirmation(app, logged_in, account):
    before = stored_hash(app, account)

    response = change(logged_in, "Nouveau42xy", confirmation="Nouveau42xz")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors(page, "confirmation") == ["La confirmation ne correspond pas au nouveau mot de passe."]
    assert stored_hash(app, account) == before


def test_new_password_equal_to_the_current_one_is_refused(app, logged_in, account):
    before = stored_hash(app, account)

    response = change(logged_in, PASSWORD)

    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "new_password") == [PREVIOUS_RULE]
    assert stored_hash(app, account) == before


def test_empty_fields_are_required(logged_in):
    response = change(logged_in, "", current="", confirmation="")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for field_id in ("current_password", "new_password", "confirmation"):
        assert field_errors(page, field_id) == ["Ce champ est obligatoire."], field_id


# --------------------------------------------------------------------------
# Success
# --------------------------------------------------------------------------


def test_changed_password_logs_in_and_the_old_one_no_longer_does(app, logged_in):
    response = change(logged_in, "Nouveau42xy")

    assert response.status_code == 303
    assert response.headers["Location"] == DASHBOARD
    assert "Votre mot de passe a été modifié." in html.unescape(logged_in.get(DASHBOARD).get_data(as_text=True))
    assert can_log_in(app, "Nouveau42xy")
    assert not can_log_in(app, PASSWORD)


def test_changed_password_over_htmx_redirects_the_whole_page(app, logged_in):
    page = logged_in.get(CHANGE_PAGE).get_data(as_text=True)
    response = logged_in.post(
        CHANGE_PAGE,
        data={"csrf_token": csrf_of(page), "current_password": PASSWORD, "new_password": "Nouveau42xy", "confirmation": "Nouveau42xy"},
        headers=HTMX,
    )

    assert response.headers["HX-Redirect"] == DASHBOARD
    assert can_log_in(app, "Nouveau42xy")


def test_previous_password_cannot_come_back_right_after_a_change(app, logged_in):
    assert change(logged_in, "Nouveau42xy").status_code == 303

    response = change(logged_in, "Nouveau42xy", current="Nouveau42xy")

    assert field_errors(response.get_data(as_text=True), "new_password") == [PREVIOUS_RULE]


def test_forgotten_password_cannot_come_back_after_a_temporary_one(app, client):
    from app.tokens import issue_temporary_password
    from tests.plugin_exemple import SPACE

    account_id = make_account(app)
    with app.app_context():
        temporary = issue_temporary_password(db.session.get(Account, account_id), SPACE.password_policy)
        db.session.commit()
    assert login(client, password=temporary).headers["Location"] == CHANGE_PAGE

    response = change(client, PASSWORD)  # the forced change asks no current password

    assert field_errors(response.get_data(as_text=True), "new_password") == [PREVIOUS_RULE]


# --------------------------------------------------------------------------
# Live check as the user types (HTMX)
# --------------------------------------------------------------------------


def test_live_check_marks_each_rule_met_or_not(logged_in):
    response = check(logged_in, "Zorglubxqw")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<html" not in page and "<form" not in page
    assert rules_shown(page) == {
        LENGTH_RULE: "ok",
        DIGITS_RULE: "ko",
        COMMON_RULE: "ok",
        CONTEXT_RULE: "ok",
        PREVIOUS_RULE: "pending",
    }
    assert "non respecté" in html.unescape(page)


def test_live_check_flags_context_words_of_the_account(logged_in):
    rules = rules_shown(check(logged_in, "Zz1001qq99").get_data(as_text=True))

    assert rules[CONTEXT_RULE] == "ko"
    assert rules[LENGTH_RULE] == rules[DIGITS_RULE] == "ok"


def test_live_check_never_says_whether_the_typed_password_is_the_current_one(logged_in):
    for typed in (PASSWORD, "Nouveau42xy"):
        rules = rules_shown(check(logged_in, typed).get_data(as_text=True))
        assert rules[PREVIOUS_RULE] == "pending", typed
        assert set(rules.values()) - {"pending"} == {"ok"}, typed


def test_live_check_with_nothing_typed_shows_every_rule_pending(logged_in):
    rules = rules_shown(check(logged_in, "").get_data(as_text=True))

    assert rules and set(rules.values()) == {"pending"}


def test_live_check_without_the_csrf_header_is_refused(logged_in):
    response = logged_in.post(CHECK, data={"new_password": "Zorglubxqw"}, headers=HTMX)

    assert response.status_code == 400
    assert "Formulaire expiré" in html.unescape(response.get_data(as_text=True))


def test_live_check_works_before_login_for_the_reset_page(client):
    response = check(client, "Mutuelle42x")

    assert response.status_code == 200
    rules = rules_shown(response.get_data(as_text=True))
    assert rules[CONTEXT_RULE] == "ko"
    assert rules[PREVIOUS_RULE] == "pending"


def test_live_check_of_a_member_who_must_change_the_password_uses_the_same_rules(app, client):
    make_account(app, "1001", must_change=True)
    assert login(client).headers["Location"] == CHANGE_PAGE

    response = check(client, "Zorglub42x")

    assert response.status_code == 200
    assert rules_shown(response.get_data(as_text=True))[LENGTH_RULE] == "ok"


# --------------------------------------------------------------------------
# Deployment tightening (CORE-6, SAFE-6)
# --------------------------------------------------------------------------


def test_deployment_tightening_refuses_a_password_the_plugin_alone_would_accept(request):
    app, client = build(request, PASSWORD_TIGHTEN={"exemple/membres": {"min_length": 10}})

    page = client.get(CHANGE_PAGE).get_data(as_text=True)
    assert "Entre 10 et 12 caractères" in rules_shown(page)
    assert LENGTH_RULE not in rules_shown(page)

    response = change(client, "Nouvea42x")  # 9 characters: fine for the plugin's 8 to 12
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "new_password") == ["Entre 10 et 12 caractères"]
    assert rules_shown(check(client, "Nouvea42x").get_data(as_text=True))["Entre 10 et 12 caractères"] == "ko"
    assert can_log_in(app, PASSWORD)

    assert change(client, "Nouveau42x").headers["Location"] == DASHBOARD
    assert can_log_in(app, "Nouveau42x")


def test_deployment_loosening_is_ignored(request):
    app, client = build(request, PASSWORD_TIGHTEN={"exemple/membres": {"min_length": 4, "min_digits": 0}})

    page = client.get(CHANGE_PAGE).get_data(as_text=True)
    assert LENGTH_RULE in rules_shown(page)
    assert DIGITS_RULE in rules_shown(page)

    response = change(client, "Nq42xy")  # 6 characters: accepted only under the loosened bound
    assert field_errors(response.get_data(as_text=True), "new_password") == [LENGTH_RULE]
    response = change(client, "Nouveauxyz")
    assert field_errors(response.get_data(as_text=True), "new_password") == [DIGITS_RULE]
    assert can_log_in(app, PASSWORD)
