"""Agents of the back office (« espace gestionnaire »): created from the command
line, with their own login, policy and forced change, one back office per insurer."""
from __future__ import annotations

import json

import pytest

from app.models import Account
from tests.conftest import csrf_of

AGENT_PASSWORD = "Gestion-Solide-2026"


@pytest.fixture
def two_insurers(app_config):
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_variants"]
    return app_config


def create_agent(app, insurer="exemple", login="karima", password=AGENT_PASSWORD):
    return app.test_cli_runner().invoke(args=["portal", "create-agent", insurer, login, "--password", password])


def agent_login(client, insurer="exemple", login="karima", password=AGENT_PASSWORD):
    page = client.get(f"/{insurer}/gestion/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "identifiant": login, "password": password}
    return client.post(f"/{insurer}/gestion/login", data=data)


def test_each_insurer_gets_a_back_office_login_page(client):
    page = client.get("/exemple/gestion/login")
    assert page.status_code == 200
    assert "Espace gestionnaire" in page.get_data(as_text=True)
    assert "Identifiant" in page.get_data(as_text=True)


def test_agent_created_on_the_command_line_logs_in_and_must_change_the_password(app, client):
    result = create_agent(app)
    assert result.exit_code == 0, result.output
    assert "karima" in result.output and AGENT_PASSWORD not in result.output

    response = agent_login(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/exemple/gestion/password/change"
    assert client.get("/exemple/gestion/").headers["Location"] == "/exemple/gestion/password/change"


def test_agent_password_is_prompted_when_not_given(app):
    result = app.test_cli_runner().invoke(
        args=["portal", "create-agent", "exemple", "youssef"], input=f"{AGENT_PASSWORD}\n{AGENT_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert Account.query.filter_by(space_key="exemple/gestion", login="youssef").one().must_change_password


def test_agent_passwords_follow_the_back_office_policy(app):
    result = create_agent(app, password="court1")
    assert result.exit_code != 0
    assert "Entre 12 et 128 caractères" in result.output


def test_agent_logins_are_unique_and_the_insurer_must_exist(app):
    assert create_agent(app).exit_code == 0
    assert "existe déjà" in create_agent(app).output
    assert "aucun espace gestionnaire" in create_agent(app, insurer="inconnu").output


def test_agent_of_one_insurer_is_not_logged_into_another_insurers_back_office(two_insurers, app, client):
    assert create_agent(app).exit_code == 0
    with app.app_context():
        from app.extensions import db

        db.session.query(Account).filter_by(login="karima").update({"must_change_password": False})
        db.session.commit()
    assert agent_login(client).status_code == 303
    assert client.get("/exemple/gestion/").status_code == 200
    other = client.get("/variantes/gestion/")
    assert other.status_code == 403 and "Accès refusé" in other.get_data(as_text=True)
    assert client.get("/variantes/gestion/login").status_code == 200  # its login page stays open
    assert agent_login(client, insurer="variantes").status_code == 200  # no such agent there


def test_member_accounts_cannot_log_into_the_back_office(app, client):
    from tests.conftest import make_account

    make_account(app, "1001")
    assert agent_login(client, login="1001", password="Ancien2026x").status_code == 200


def test_home_page_does_not_advertise_the_back_office(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/exemple/membres/login"


def test_demo_lists_an_agent_for_each_back_office_and_its_password_logs_in(app, client):
    result = app.test_cli_runner().invoke(args=["portal", "demo", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    agent = report["exemple/gestion"]
    assert agent["path"] == "/exemple/gestion/"
    (account,) = agent["accounts"]
    assert account["fields"] == {"Identifiant": "agent"}
    response = agent_login(client, login="agent", password=account["password"])
    assert response.status_code == 303 and response.headers["Location"] == "/exemple/gestion/"
