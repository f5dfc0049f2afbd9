"""A member's first visit in a real browser: login, forced password change with
the live policy check (htmx), the dashboard and its lazily loaded widget,
logout; and the same path with JavaScript turned off."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import new_page, save_screenshot
from tests.conftest import PASSWORD, SPACE_URL, make_account

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Zorba2026ka"
#: the live URL of a space page, whatever the query string (``?next=…``)
LOGIN_PAGE = re.compile(re.escape(SPACE_URL) + r"/login(\?.*)?$")
CHANGE_PAGE = re.compile(re.escape(SPACE_URL) + r"/password/change$")
DASHBOARD = re.compile(re.escape(SPACE_URL) + r"/$")


def log_in(page: Page, base_url: str, login: str = "1001", password: str = PASSWORD) -> None:
    page.goto(base_url + SPACE_URL + "/login")
    page.get_by_label("Numéro d'adhérent").fill(login)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Valider").click()


def test_member_logs_in_changes_forced_password_sees_dashboard_and_logs_out(live_server, browser_page):
    page = browser_page
    make_account(live_server.app, "1001", must_change=True)

    # Login (an htmx post answered by HX-Redirect) lands on the forced change.
    log_in(page, live_server.url)
    expect(page).to_have_url(CHANGE_PAGE)
    expect(page.get_by_role("heading", level=1)).to_have_text("Modification du mot de passe")
    expect(page.get_by_role("navigation", name="Menu principal")).to_have_count(0)

    # The live policy check: a password that breaks the policy marks rules as not met…
    rules = page.locator("#policy-rules li.rule")
    expect(rules.first).to_have_class(re.compile(r"\bpending\b"))
    new_password = page.get_by_label("Nouveau mot de passe")
    new_password.press_sequentially("exemple1", delay=20)
    expect(page.locator("#policy-rules li.rule.ko").first).to_be_visible()
    expect(page.locator("#policy-rules li.rule.ko")).to_contain_text(["Au moins 2 chiffres"])
    expect(page.locator("#policy-rules li.rule.ko")).to_contain_text(
        ["Ne contient ni votre identifiant ni le nom de l'organisme"]
    )
    expect(page.locator("#policy-rules li.rule.ko .sr-only").first).to_have_text(re.compile("non respecté"))

    # …a valid one meets them all (the previous-password rule is checked on submit only).
    new_password.fill("")
    new_password.press_sequentially(NEW_PASSWORD, delay=20)
    expect(page.locator("#policy-rules li.rule.ko")).to_have_count(0)
    expect(page.locator("#policy-rules li.rule.ok")).to_have_count(4)
    page.get_by_label("Confirmation du mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Valider").click()

    # The dashboard, its flash message and the widget « Solde » loaded by htmx.
    expect(page).to_have_url(DASHBOARD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace adhérents")
    expect(page.locator(".flash-success")).to_have_text("Votre mot de passe a été modifié.")
    widget = page.locator(".widget", has=page.get_by_role("heading", name="Solde"))
    expect(widget.locator(".widget-body")).to_have_text("Solde : 1 250,00 DH")
    expect(page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Relevés")).to_be_visible()
    save_screenshot(page, "dashboard")

    # Logout: back on the login page, and the space is closed again.
    page.get_by_role("button", name="Déconnexion").click()
    expect(page).to_have_url(LOGIN_PAGE)
    expect(page.locator(".flash-info")).to_have_text("Vous êtes déconnecté.")
    expect(page.get_by_label("Numéro d'adhérent")).to_be_visible()
    save_screenshot(page, "login")
    page.goto(live_server.url + SPACE_URL + "/")
    expect(page).to_have_url(LOGIN_PAGE)
    expect(page.get_by_label("Mot de passe", exact=True)).to_be_visible()

    log = page.console_log
    assert log.csp_violations() == []
    assert log.problems() == []
    assert live_server.errors == []


def test_pages_work_without_javascript(live_server, chromium):
    make_account(live_server.app, "1001", must_change=True)
    page = new_page(chromium, java_script_enabled=False)
    try:
        log_in(page, live_server.url)
        expect(page).to_have_url(CHANGE_PAGE)
        expect(page.get_by_role("heading", level=1)).to_have_text("Modification du mot de passe")

        # A password refused by the policy comes back with the error next to the field.
        page.get_by_label("Nouveau mot de passe").fill("exemple1")
        page.get_by_label("Confirmation du mot de passe").fill("exemple1")
        page.get_by_role("button", name="Valider").click()
        expect(page).to_have_url(CHANGE_PAGE)
        expect(page.locator(".field.has-error ul.errors").first).to_be_visible()

        page.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
        page.get_by_label("Confirmation du mot de passe").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Valider").click()

        expect(page).to_have_url(DASHBOARD)
        expect(page.get_by_role("heading", level=1)).to_have_text("Espace adhérents")
        expect(page.locator(".flash-success")).to_have_text("Votre mot de passe a été modifié.")
        # Without htmx the widget offers a plain link to its content.
        expect(page.locator(".widget .widget-body").get_by_role("link", name="Afficher")).to_be_visible()

        page.get_by_role("button", name="Déconnexion").click()
        expect(page).to_have_url(LOGIN_PAGE)
        expect(page.locator(".flash-info")).to_have_text("Vous êtes déconnecté.")
        assert live_server.errors == []
    finally:
        page.context.close()
