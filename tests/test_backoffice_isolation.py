"""Isolation of the insurers' back offices (CORE-10, CORE-11): an agent of one
insurer gets 403 on every page and action of another insurer's back office,
and 404 for that insurer's objects in its own; nothing of the other insurer
changes and nothing of it is shown. Every route of the back office is tried,
read from the application's URL map, so that a new page is covered the day
it is added."""
from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.routing import Rule

from app.backoffice.import_jobs import ImportJob
from app.enrollment.models import EnrollmentEvent, EnrollmentRequest
from app.extensions import db
from app.mail import queue_mail
from app.models import Account, AuditEvent, LoginSession, OutboxMessage, Token
from app.tokens import issue_link_token
from tests.conftest import PASSWORD, csrf_of, make_account
from tests.test_backoffice_accounts import Agent, body, login_at

#: the insurer whose data must stay out of reach (« Mutuelle Exemple ») and the agent's insurer
THEIRS, OURS = "exemple", "variantes"
#: what would betray that a page shows the other insurer's data
THEIR_MARKS = ("amina@exemple.test", "Relevé de juin", "releves-juin.xlsx", "Cabinet Témoin", "ZZ99-ISOL")


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_variants"]
    app_config["MAIL_TIMEOUT"] = 5
    return app_config


@pytest.fixture
def theirs(app: Flask, smtp_server) -> dict[str, Any]:
    """One object of each kind of « Mutuelle Exemple »: a member logged in with a
    pending reset link, a sub-account, an agent, an enrollment request, an import
    job, a message still queued (the SMTP server was down) and audit events."""
    member = make_account(app, "1001", email="amina@exemple.test")
    Agent(app, THEIRS, "karima")  # their agent, logged in once (an audit event)
    assert login_at(app.test_client(), f"/{THEIRS}/membres", "1001", PASSWORD).status_code == 303
    smtp_server.stop()
    with app.app_context():
        account = db.session.get(Account, member)
        sub = Account(space_key=f"{THEIRS}/membres", login="1001/assistant", tenant_ref="1001", parent_id=member,
                      email="salma@exemple.test", profiles=["CONSULT"])
        db.session.add(sub)
        issue_link_token(account, "reset")
        request_ = EnrollmentRequest(reference="ZZ99-ISOL", insurer=THEIRS, space_key=f"{THEIRS}/membres",
                                     identifier="7777", email="temoin@exemple.test", values={"nom": "Cabinet Témoin"})
        db.session.add(request_)
        db.session.flush()
        db.session.add(EnrollmentEvent(request_id=request_.id, actor="demandeur", action="submitted"))
        job = ImportJob(token="jobisolation0001", insurer=THEIRS, importer="releves", actor="karima",
                        filename="releves-juin.xlsx", stored="absent.xlsx", status="ready", total=1, valid=1)
        db.session.add(job)
        message = queue_mail("amina@exemple.test", "Relevé de juin", "test_message", insurer=THEIRS, name="Amina")
        db.session.commit()
        ids = {"account_id": member, "sub_id": sub.id, "message_id": message.id, "reference": request_.reference,
               "token": job.token, "code": "releves"}
    smtp_server.start()
    return ids


def snapshot(app: Flask) -> dict[str, Any]:
    """Everything of « Mutuelle Exemple » an action could change."""
    with app.app_context():
        accounts = select(Account.id).where(Account.space_key.startswith(f"{THEIRS}/"))
        return {
            "accounts": db.session.execute(
                select(Account.id, Account.status, Account.password_hash, Account.must_change_password, Account.profiles,
                       Account.email).where(Account.id.in_(accounts)).order_by(Account.id)
            ).all(),
            "tokens": db.session.execute(
                select(Token.id, Token.used_at, Token.revoked_at).where(Token.account_id.in_(accounts)).order_by(Token.id)
            ).all(),
            "sessions": db.session.execute(
                select(LoginSession.id, LoginSession.ended_at).where(LoginSession.account_id.in_(accounts)).order_by(LoginSession.id)
            ).all(),
            "requests": db.session.execute(
                select(EnrollmentRequest.reference, EnrollmentRequest.state, EnrollmentRequest.decided_by, EnrollmentRequest.reason)
                .where(EnrollmentRequest.insurer == THEIRS)
            ).all(),
            "request events": db.session.scalar(select(func.count()).select_from(EnrollmentEvent)),
            "jobs": db.session.execute(select(ImportJob.token, ImportJob.status).where(ImportJob.insurer == THEIRS)).all(),
            "outbox": db.session.execute(
                select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts).order_by(OutboxMessage.id)
            ).all(),
            "audit": db.session.execute(
                select(AuditEvent.id, AuditEvent.action).where(AuditEvent.insurer == THEIRS).order_by(AuditEvent.id)
            ).all(),
        }


def back_office_rules(app: Flask) -> list[Rule]:
    """Every route of a back office: the back office's own pages, and the core's
    screens that the back office space shares with every space (dashboard,
    history, password change…), but for the public ones (login, logout…)."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint.startswith("backoffice.") or (
            rule.endpoint.startswith("space.") and not getattr(view, "portal_public", False)
        ):
            found.append(rule)
    assert len([r for r in found if r.endpoint.startswith("backoffice.")]) >= 19
    return found


def url_of(rule: Rule, insurer: str, ids: dict[str, Any]) -> str:
    """The rule's URL in ``insurer``'s back office, its parameters filled with the other insurer's objects."""
    values: dict[str, Any] = {"insurer": insurer, "space": "gestion"}
    for name in rule.arguments - {"insurer", "space"}:
        assert name in ids, f"{rule.rule}: give the test an object of the other insurer for <{name}>"
        values[name] = ids[name]
    return rule.build(values, append_unknown=False)[1]


def methods_of(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def send(agent: Agent, method: str, url: str, token: str, **headers: str):
    """A request as the agent's browser sends it; a POST carries the session's CSRF token and
    what an attacker would add (a reason, a password of their choosing)."""
    if method == "GET":
        return agent.get(url, headers=headers)
    data = {"csrf_token": token, "reason": "Rejet forcé", "password": "Choisi-Par-Agent-1", "new_password": "Choisi-Par-Agent-1"}
    response = agent.client.post(url, data=data, headers=headers)
    agent.pages.append(body(response))
    return response


def test_agent_of_another_insurer_gets_403_on_every_back_office_route_and_changes_nothing(app, smtp_server, theirs):
    agent = Agent(app, OURS, "omar")
    token = csrf_of(agent.client.get(f"/{OURS}/gestion/").get_data(as_text=True))
    before = snapshot(app)
    tried = []
    for rule in back_office_rules(app):
        for method in methods_of(rule):
            url = url_of(rule, THEIRS, theirs)
            response = send(agent, method, url, token)
            tried.append((method, url, response.status_code))
            assert response.status_code == 403, f"{method} {url}: {response.status_code}"
            assert "Accès refusé" in body(response)
    assert len(tried) >= 25
    assert not any(mark in page for page in agent.pages for mark in THEIR_MARKS)
    assert snapshot(app) == before
    assert smtp_server.messages == []


def test_the_403_of_an_htmx_request_is_the_error_fragment(app, theirs):
    agent = Agent(app, OURS, "omar")
    response = agent.get(f"/{THEIRS}/gestion/accounts?login=1001", headers={"HX-Request": "true"})
    assert response.status_code == 403 and "HX-Redirect" not in response.headers
    page = body(response)
    assert "<html" not in page and "Accès refusé" in page and "amina@exemple.test" not in page


def test_in_its_own_back_office_the_other_insurers_objects_do_not_exist(app, smtp_server, theirs):
    agent = Agent(app, OURS, "omar")
    token = csrf_of(agent.client.get(f"/{OURS}/gestion/").get_data(as_text=True))
    before = snapshot(app)
    for rule in back_office_rules(app):
        about_an_object = bool(rule.arguments - {"insurer", "space"})
        for method in methods_of(rule):
            url = url_of(rule, OURS, theirs)
            response = send(agent, method, url, token)
            assert response.status_code < 500, f"{method} {url}: {response.status_code}"
            if about_an_object and rule.endpoint.startswith("backoffice."):
                assert response.status_code == 404, f"{method} {url}: {response.status_code}"
    # its lists, searched for the other insurer's data, show none of it
    for url in ("accounts?login=1001", "accounts?email=exemple", "audit?login=karima", "audit?login=1001",
                "outbox", "enrollments?q=ZZ99", "imports"):
        agent.get(f"/{OURS}/gestion/{url}")
    assert not any(mark in page for page in agent.pages for mark in THEIR_MARKS)
    assert snapshot(app) == before
    assert smtp_server.messages == []


def test_anonymous_visitor_is_sent_to_the_back_offices_login_page(app, theirs):
    client = app.test_client()
    token = csrf_of(client.get(f"/{THEIRS}/gestion/login").get_data(as_text=True))
    for rule in back_office_rules(app):
        for method in methods_of(rule):
            url = url_of(rule, THEIRS, theirs)
            response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
            assert response.status_code == 303, f"{method} {url}: {response.status_code}"
            assert response.headers["Location"].startswith(f"/{THEIRS}/gestion/login")


def test_a_member_of_another_insurer_gets_403_in_the_back_office_and_a_login_page_in_its_spaces(app, theirs):
    make_account(app, "3001", space_key=f"{OURS}/admin", email="omar@variantes.test")
    client = app.test_client()
    assert login_at(client, f"/{OURS}/admin", "3001", PASSWORD).status_code == 303
    assert client.get(f"/{THEIRS}/gestion/accounts/{theirs['account_id']}").status_code == 403
    # spaces are independent logins: another space's page asks for that space's login
    response = client.get(f"/{THEIRS}/membres/")
    assert response.status_code == 303 and response.headers["Location"].startswith(f"/{THEIRS}/membres/login")
    response = client.get(f"/{OURS}/identite/")
    assert response.status_code == 303 and response.headers["Location"].startswith(f"/{OURS}/identite/login")


def test_an_agent_opening_a_members_space_is_asked_to_log_into_it(app, theirs):
    agent = Agent(app, OURS, "omar")
    response = agent.get(f"/{THEIRS}/membres/")
    assert response.status_code == 303 and response.headers["Location"].startswith(f"/{THEIRS}/membres/login")


def test_their_own_agent_sees_what_the_other_agent_must_not(app, theirs):
    """The marks the tests above look for are on the insurer's own back office pages."""
    agent = Agent(app, THEIRS, "youssef")
    pages = [
        body(agent.get(f"/{THEIRS}/gestion/{url}"))
        for url in ("accounts?login=1001", "outbox", f"enrollments/{theirs['reference']}", "imports",
                    f"imports/jobs/{theirs['token']}", f"accounts/{theirs['account_id']}")
    ]
    assert all(any(mark in page for page in pages) for mark in THEIR_MARKS)
