"""Branding per deployment (CORE-14): the plugin's defaults, overridden by configuration and templates."""
from __future__ import annotations

import pytest

from tests.conftest import SPACE_URL


def test_space_shows_the_plugins_branding_by_default(client):
    page = client.get(f"{SPACE_URL}/login").get_data(as_text=True)
    assert "Mutuelle Exemple" in page
    assert "contact@exemple.test" in page
    assert "05 22 00 00 00" in page
    assert "Données traitées conformément à la loi 09-08." in page
    assert "Comment obtenir mon numéro d&#39;adhérent ?" in page  # the FAQ
    css = client.get(f"{SPACE_URL}/theme.css")
    assert css.mimetype == "text/css"
    assert "--primary: #0b6e4f" in css.get_data(as_text=True)


@pytest.fixture
def rebranded(app_config):
    app_config["BRANDING"] = {
        "exemple/membres": {
            "name": "Mutuelle Exemple du Nord",
            "primary_colour": "#123456",
            "contact": {"phone": "0800 00 00 00"},
            "faq": [["Où est mon agence ?", "À Tanger."]],
        }
    }
    return app_config


def test_deployment_configuration_overrides_name_colours_contact_and_faq(rebranded, client):
    page = client.get(f"{SPACE_URL}/login").get_data(as_text=True)
    assert "Mutuelle Exemple du Nord" in page
    assert "0800 00 00 00" in page
    assert "contact@exemple.test" in page  # what the deployment did not override stays
    assert "Où est mon agence ?" in page
    assert "Comment obtenir mon numéro" not in page
    assert "--primary: #123456" in client.get(f"{SPACE_URL}/theme.css").get_data(as_text=True)


@pytest.fixture
def branding_in_environment(app_config, monkeypatch):
    monkeypatch.setenv("PORTAL_BRANDING", '{"exemple/membres": {"name": "Mutuelle par variable"}}')
    return app_config


def test_branding_from_an_environment_variable_is_read_as_json(branding_in_environment, client):
    page = client.get(f"{SPACE_URL}/login").get_data(as_text=True)
    assert "Mutuelle par variable" in page


def test_a_colour_that_is_not_a_colour_is_refused(app_config):
    from app import create_app

    app_config["BRANDING"] = {"exemple/membres": {"primary_colour": "red; } body { display:none"}}
    application = create_app(app_config)
    application.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(ValueError):
        with application.test_request_context(f"{SPACE_URL}/theme.css"):
            from app.branding import branding_for
            from app.plugins.manager import registry_of

            branding_for(registry_of(application).space("exemple", "membres"))


@pytest.fixture
def template_overrides(app_config, tmp_path):
    overrides = tmp_path / "overrides" / "auth"
    overrides.mkdir(parents=True)
    (overrides / "login.html").write_text(
        '{% extends "space/public.html" %}{% block card %}<h1>{{ _("Connexion personnalisée") }}</h1>{% endblock %}',
        encoding="utf-8",
    )
    app_config["TEMPLATE_OVERRIDES"] = str(tmp_path / "overrides")
    return app_config


def test_deployment_templates_override_the_core_templates(template_overrides, client):
    page = client.get(f"{SPACE_URL}/login").get_data(as_text=True)
    assert "Connexion personnalisée" in page


@pytest.fixture
def other_documents(app_config):
    app_config["BRANDING"] = {"exemple/membres": {"documents": [{"title": "Formulaire de réclamation", "url": "/static/reclamation.pdf"}]}}
    return app_config


def test_documents_to_download_come_from_the_plugin_by_default(app, client):
    from tests.conftest import login, make_account

    make_account(app)
    login(client)
    assert "Guide de l'adhérent" in client.get(f"{SPACE_URL}/").get_data(as_text=True)


def test_deployment_replaces_the_documents_to_download(other_documents, app, client):
    from tests.conftest import login, make_account

    make_account(app)
    login(client)
    page = client.get(f"{SPACE_URL}/").get_data(as_text=True)
    assert "Formulaire de réclamation" in page and "/static/reclamation.pdf" in page
    assert "Guide de l" not in page
