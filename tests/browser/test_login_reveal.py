"""The progressive login of a health professional in a real browser (seed 003,
2.2): the « Identifiant National » first; once its format is valid, « Profil »
and « Nature de compte » appear (htmx), « Secondaire » asks the sub-account;
and the whole form at once with JavaScript turned off."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, save_screenshot
from tests.conftest import PASSWORD, make_account

pytestmark = pytest.mark.browser

SPACE_URL = "/connexion/ps"
NATIONAL_ID = "123456789"
DASHBOARD = re.compile(re.escape(SPACE_URL) + r"/$")


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_login"]
    return app_config


def accounts(app) -> None:
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


def test_secondary_account_types_its_id_sees_the_profiles_appear_and_logs_in(live_server, browser_page):
    page = browser_page
    accounts(live_server.app)
    page.goto(live_server(SPACE_URL + "/login"))

    # only the « Identifiant National » at first
    national_id = page.get_by_label("Identifiant National")
    expect(national_id).to_be_visible()
    expect(page.get_by_text("Profil", exact=True)).to_have_count(0)
    expect(page.get_by_label("Mot de passe", exact=True)).to_have_count(0)

    # a value of the wrong format: its message, still nothing else
    national_id.press_sequentially("12345", delay=20)
    expect(page.locator("#identifiant-errors")).to_have_text("L'identifiant national compte 9 chiffres.")
    expect(page.get_by_label("Paiements")).to_have_count(0)

    # valid: « Profil » and « Nature de compte » appear, the message goes
    national_id.press_sequentially("6789", delay=20)
    expect(page.get_by_label("Paiements")).to_be_visible()
    expect(page.locator("#identifiant-errors")).to_have_count(0)
    expect(page.get_by_role("group", name="Profil")).to_be_visible()
    expect(page.get_by_role("group", name="Nature de compte")).to_be_visible()
    expect(page.get_by_label("Identifiant du sous-compte")).to_have_count(0)

    page.get_by_label("Paiements").check()
    page.get_by_label("Secondaire").check()
    sub_account = page.get_by_label("Identifiant du sous-compte")
    expect(sub_account).to_be_visible()
    expect(page.get_by_label("Paiements")).to_be_checked()
    sub_account.fill("caisse")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    # leaving the first field again (change) keeps what was chosen
    national_id.dispatch_event("change")
    page.wait_for_timeout(300)
    expect(page.get_by_label("Paiements")).to_be_checked()
    expect(sub_account).to_have_value("caisse")
    save_screenshot(page, "login_reveal")
    page.get_by_role("button", name="Valider").click()

    expect(page).to_have_url(DASHBOARD)
    expect(page.get_by_text("Bienvenue, Agent de caisse.")).to_be_visible()
    assert page.console_log.csp_violations() == []
    assert page.console_log.problems() == []
    assert live_server.errors == []


def test_without_javascript_the_whole_form_is_there_and_logs_in(live_server, chromium):
    accounts(live_server.app)
    page = new_page(chromium, java_script_enabled=False)
    try:
        page.goto(live_server(SPACE_URL + "/login"))
        page.get_by_label("Identifiant National").fill(NATIONAL_ID)
        expect(page.get_by_label("Identifiant du sous-compte")).to_be_visible()
        page.get_by_label("PEC", exact=True).check()
        # « Secondaire » without the sub-account: the message next to the field, the rest kept
        page.get_by_label("Secondaire").check()
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Valider").click()
        expect(page.locator("#sous_compte-errors")).to_have_text(
            "Indiquez l'identifiant du sous-compte pour un compte secondaire."
        )
        expect(page.get_by_label("PEC", exact=True)).to_be_checked()

        page.get_by_label("Principal").check()
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Valider").click()
        expect(page).to_have_url(DASHBOARD)
        expect(page.get_by_text("Bienvenue, Clinique PEC.")).to_be_visible()
    finally:
        page.context.close()
    assert live_server.errors == []
