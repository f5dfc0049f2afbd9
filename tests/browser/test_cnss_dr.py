"""The billing staff of an establishment in a real browser (CNSS-4, CNSS-11): the
progressive login with the profile Paiements, the forced change of a first password,
the DR page from the menu, a search on two criteria, page 2 with the criteria kept in
the address bar, and « Exporter » downloading the .xlsx of the seed's columns."""
from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.extensions import db
from app.lists import local_today
from plugins.cnss.demo import DEMO_ESTABLISHMENT, add_establishments, generate
from plugins.cnss.models import ReimbursementFile
from tests.browser.conftest import save_screenshot
from tests.conftest import make_account

pytestmark = pytest.mark.browser

INPE = DEMO_ESTABLISHMENT.inpe
FIRST_PASSWORD = "Kx7#pm2Q"
NEW_PASSWORD = "Zt4!qw9R"
SPACE = "/cnss/ps"
DR_COLUMNS = ["N° CNSS", "Bénéficiaire", "N° du DR", "Date de dépôt", "N° de la PEC", "Montant facturé (DH)",
              "Date de soins", "Situation du dossier", "Date de situation", "Motifs retour"]
PEOPLE = [(f"1{i:08d}", f"Patient {i}") for i in range(1, 20)]


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "plugins.cnss"]
    app_config["PLUGINS"] = ["exemple", "cnss"]
    return app_config


def establishment(app) -> tuple[int, date]:
    """The demo establishment with 150 generated DR and its Paiements account, whose first
    password must be changed; returns 1 January three years ago and how many paid files were filed since."""
    with app.app_context():
        add_establishments([DEMO_ESTABLISHMENT])
        generate(INPE, 150, 0, people=PEOPLE, seed="browser-dr")
        db.session.commit()
        since = date(local_today().year - 3, 1, 1)
        paid = db.session.scalar(select(func.count()).select_from(ReimbursementFile).where(
            ReimbursementFile.inpe == INPE, ReimbursementFile.situation == "Dossier payé", ReimbursementFile.filed_on >= since))
    make_account(app, f"{INPE}/PAIEMENTS", space_key="cnss/ps", tenant_ref=INPE, profiles=["PAIEMENTS"],
                 password=FIRST_PASSWORD, must_change=True, display_name="Clinique Al Amal", email="facturation@alamal.test")
    return paid, since


def test_billing_staff_logs_in_searches_the_dr_pages_and_exports(live_server, browser_page, tmp_path):
    page = browser_page
    paid, since = establishment(live_server.app)
    assert paid > 40  # at least three pages of twenty

    # CNSS-4: the INPE first, then « Profil » and « Nature de compte », then the password
    page.goto(live_server(f"{SPACE}/login"))
    page.get_by_label("Identifiant National").press_sequentially(INPE, delay=20)
    page.get_by_label("Paiements").check()
    page.get_by_label("Principal").check()
    page.get_by_label("Mot de passe", exact=True).fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Valider").click()

    # CORE-3: a first password is changed before anything else
    expect(page.get_by_role("heading", level=1)).to_have_text("Modification du mot de passe")
    current = page.get_by_label("Mot de passe actuel")
    if current.count():
        current.fill(FIRST_PASSWORD)
    page.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Valider").click()
    expect(page).to_have_url(re.compile(re.escape(SPACE) + r"/$"))

    # the DR page from the menu
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Suivi des dossiers de remboursement", exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(SPACE) + "/dossiers-remboursement"))
    expect(page.get_by_text("Nombre de dossiers")).to_be_visible()

    # two criteria: « Situation du dossier » and « Date de dépôt » from 1 January three years ago
    page.get_by_label("Situation du dossier").select_option("Dossier payé")
    page.locator("#depot_du").fill(since.isoformat())
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("status")).to_have_text(f"Nombre de dossiers : {paid}")
    expect(page.locator("table.list tbody tr")).to_have_count(20)

    # page 2 by HTMX: the address bar keeps the criteria (hx-push-url)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Page 2").click()
    expect(page.get_by_role("navigation", name="Pages").locator("[aria-current=page]")).to_have_text("2")
    expect(page).to_have_url(re.compile(r"page=2"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["situation"] == ["Dossier payé"] and query["depot_du"] == [since.isoformat()], page.url
    cells = page.locator("table.list tbody tr td:nth-child(8)")
    expect(cells.first).to_have_text("Dossier payé")
    assert set(cells.all_inner_texts()) == {"Dossier payé"}
    save_screenshot(page, "cnss_dr_page2")

    # the address of page 2 opened anew shows the same page (a bookmark, a new tab)
    shown = page.locator("table.list tbody tr td:nth-child(3)").all_inner_texts()
    page.goto(page.url)
    expect(page.locator("table.list tbody tr td:nth-child(3)").first).to_have_text(shown[0])

    # « Exporter »: the .xlsx of the seed's columns, the same files as the count
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Exporter").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == DR_COLUMNS
    assert len(rows) - 1 == paid
    assert {row[7] for row in rows[1:]} == {"Dossier payé"}

    assert page.console_log.csp_violations() == []
    assert page.console_log.problems() == []
    assert live_server.errors == []
