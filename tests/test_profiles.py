"""Profiles grant parts of a space: the menu shows, and the pages answer, only what the account holds."""
from __future__ import annotations

from tests.conftest import SPACE_URL, login, make_account


def test_account_without_the_profile_sees_no_menu_entry_and_gets_403_on_the_page_and_its_export(app, client):
    make_account(app, profiles=["PAIE"])
    login(client)
    dashboard = client.get(f"{SPACE_URL}/").get_data(as_text=True)
    assert "Relevés" not in dashboard
    assert client.get(f"{SPACE_URL}/releves").status_code == 403
    refused = client.get(f"{SPACE_URL}/releves/export")
    assert refused.status_code == 403
    assert "Accès refusé" in refused.get_data(as_text=True)


def test_account_with_the_profile_sees_the_menu_entry_and_the_page(app, client):
    make_account(app, profiles=["CONSULT"])
    login(client)
    assert "Relevés" in client.get(f"{SPACE_URL}/").get_data(as_text=True)
    page = client.get(f"{SPACE_URL}/releves")
    assert page.status_code == 200
    assert "Relevés de l'adhérent 1001" in page.get_data(as_text=True)
