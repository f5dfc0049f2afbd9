"""The list component in a real browser: active search keeps the address bar in
step, errors appear next to the field and go, sort and pages swap the results
only, the back button comes back; and the same list with JavaScript turned off."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, save_screenshot
from tests.browser.test_login_flow import DASHBOARD, log_in
from tests.conftest import SPACE_URL, make_account
from tests.test_lists import statements  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

LIST_URL = f"{SPACE_URL}/releves"


def test_member_searches_sorts_and_pages_statements_with_htmx(live_server, browser_page, statements):  # noqa: F811
    page = browser_page
    make_account(live_server.app, "1001")
    log_in(page, live_server.url)
    expect(page).to_have_url(DASHBOARD)
    page.goto(live_server(LIST_URL))
    expect(page.locator(".list-count")).to_have_text("Nombre de dossiers : 49")
    form = page.locator("form.criteria")

    # Active search: typing narrows the list; the address bar follows; the field keeps the focus.
    label = page.get_by_label("Libellé")
    label.press_sequentially("pharma", delay=30)
    expect(page).to_have_url(re.compile(r"libelle=pharma"))
    expect(page.locator(".list-count")).to_have_text("Nombre de dossiers : 15")
    expect(label).to_be_focused()
    expect(form).to_have_count(1)

    # A bad amount: the French message appears next to the field, no results; fixed, it goes.
    amount = page.get_by_label("Montant minimum (DH)")
    amount.press_sequentially("abc", delay=30)
    expect(page.locator("#montant_min-errors")).to_contain_text("Montant invalide")
    expect(page.locator("table.list")).to_have_count(0)
    amount.fill("")
    amount.press_sequentially("300", delay=30)
    expect(page.locator("#montant_min-errors")).to_have_text("")
    expect(page.locator("table.list")).to_have_count(1)

    # Sorting swaps the results and is kept by the next search.
    page.get_by_role("link", name="Montant (DH)").click()
    expect(page).to_have_url(re.compile(r"sort=amount&dir=asc"))
    expect(page.locator("th[aria-sort=ascending]")).to_have_text(re.compile("Montant"))
    label.fill("")
    label.press_sequentially("r", delay=30)
    expect(page).to_have_url(re.compile(r"libelle=r&.*sort=amount"))

    # Pages, then the back button.
    label.fill("")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator(".list-count")).to_have_text(re.compile(r"Nombre de dossiers : \d+"))
    page.get_by_role("link", name="Suivant").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator(".pager [aria-current=page]")).to_have_text("2")
    save_screenshot(page, "releves")
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"page=2"))
    expect(page.locator(".pager [aria-current=page]")).to_have_text("1")

    assert page.console_log.problems() == []
    assert page.console_log.csp_violations() == []
    assert live_server.errors == []


def test_member_searches_statements_without_javascript(live_server, chromium, statements):  # noqa: F811
    page = new_page(chromium, java_script_enabled=False)
    try:
        make_account(live_server.app, "1001")
        page.goto(live_server(SPACE_URL + "/login"))
        page.get_by_label("Numéro d'adhérent").fill("1001")
        page.get_by_label("Mot de passe", exact=True).fill("Ancien2026x")
        page.get_by_role("button", name="Valider").click()
        expect(page).to_have_url(DASHBOARD)
        page.goto(live_server(LIST_URL))

        page.get_by_label("Situation").select_option("Rejeté")
        page.get_by_role("button", name="Rechercher").click()
        expect(page).to_have_url(re.compile(r"situation=Rejet"))
        expect(page.locator(".list-count")).to_have_text("Nombre de dossiers : 15")
        page.get_by_role("link", name="Réinitialiser").click()
        expect(page.locator(".list-count")).to_have_text("Nombre de dossiers : 49")
    finally:
        page.context.close()
    assert live_server.errors == []
