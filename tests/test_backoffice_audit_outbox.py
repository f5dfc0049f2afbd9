"""« Traçabilité » and « Boîte d'envoi » of the back office (CORE-10, CORE-9,
CORE-11): the insurer's audit trail with its filters, the insurer's outbox
with « Renvoyer » against a real SMTP server; an agent sees its insurer's
rows only and never the body of a message that carries a secret."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.mail import queue_mail
from app.models import AuditEvent, OutboxMessage
from tests.conftest import csrf_of, make_account
from tests.test_backoffice_accounts import (
    BACK_OFFICE,
    RESET_LINK,
    Agent,
    body,
    current_page,
    events,
    field_errors,
    member_client,
    next_page,
    text_of,
)

AUDIT = f"{BACK_OFFICE}/audit"
OUTBOX = f"{BACK_OFFICE}/outbox"


@pytest.fixture
def app_config(app_config: dict) -> dict:
    """Two insurers, so that every test can check one never sees the other."""
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_variants"]
    app_config["MAIL_TIMEOUT"] = 5
    return app_config


def rows(page: str) -> list[list[str]]:
    """The first table's rows, as lists of cell texts (none when the list shows no table)."""
    if "<tbody>" not in page:
        return []
    tbody = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", tbody, re.S)
        if 'colspan="' not in row
    ]


# --------------------------------------------------------------------------
# Traçabilité
# --------------------------------------------------------------------------


@pytest.fixture
def trail(app: Flask) -> None:
    """Events of both insurers, on known days (noon UTC: the same day in Casablanca)."""
    member = make_account(app, "1001")
    other = make_account(app, "2002")
    elsewhere = make_account(app, "1001", space_key="variantes/admin")
    with app.app_context():
        for at, action, account_id, actor, insurer, space_key in (
            (datetime(2025, 1, 10, 12), "login", member, "1001", "exemple", "exemple/membres"),
            (datetime(2025, 2, 15, 12), "login_failed", member, "1001", "exemple", "exemple/membres"),
            (datetime(2025, 2, 20, 12), "password_changed", other, "2002", "exemple", "exemple/membres"),
            (datetime(2025, 3, 20, 12), "login", other, "2002", "exemple", "exemple/membres"),
            (datetime(2025, 2, 16, 12), "login", elsewhere, "1001", "variantes", "variantes/admin"),
        ):
            db.session.add(AuditEvent(at=at, action=action, account_id=account_id, actor=actor, insurer=insurer,
                                      space_key=space_key, address="10.0.0.1", detail={}))
        db.session.commit()


def test_audit_trail_lists_the_insurers_events_newest_first_never_another_insurers(app, trail):
    page = body(Agent(app).get(AUDIT))
    listed = [(r[0][:10], r[1], r[2]) for r in rows(page) if r[2] != "karima"]  # not the agent's own login
    assert listed == [
        ("20/03/2025", "Connexion", "2002"),
        ("20/02/2025", "Modification du mot de passe", "2002"),
        ("15/02/2025", "Échec de connexion", "1001"),
        ("10/01/2025", "Connexion", "1001"),
    ]
    assert "16/02/2025" not in page
    assert "Nombre d'actions : 5" in page  # and the agent's own login


@pytest.mark.parametrize(
    "query, days",
    [
        ("action=login", ["20/03/2025", "10/01/2025"]),
        ("login=100", ["15/02/2025", "10/01/2025"]),
        ("date_from=01/02/2025&date_to=28/02/2025", ["20/02/2025", "15/02/2025"]),
        ("date_from=2025-02-15&date_to=2025-02-15", ["15/02/2025"]),
        ("date_to=31/01/2025", ["10/01/2025"]),
        ("action=login&login=2002&date_from=01/03/2025", ["20/03/2025"]),
    ],
)
def test_audit_trail_filters_by_action_login_and_dates(app, trail, query, days):
    page = body(Agent(app).get(f"{AUDIT}?{query}"))
    assert [r[0][:10] for r in rows(page) if r[2] != "karima"] == days


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("date_from=31/02/2025", "date_from", "Date invalide : saisissez-la sous la forme jj/mm/aaaa."),
        ("date_to=demain", "date_to", "Date invalide : saisissez-la sous la forme jj/mm/aaaa."),
        ("date_from=01/03/2025&date_to=01/02/2025", "date_to", "La date de fin précède la date de début."),
        ("action=drop_table", "action", "Choix invalide."),
        ("login=%00", "login", "Ce champ contient des caractères non autorisés."),
    ],
)
def test_bad_filters_get_a_french_message_next_to_the_field_and_no_rows(app, trail, query, field, message):
    response = Agent(app).get(f"{AUDIT}?{query}")
    assert response.status_code == 200
    page = body(response)
    assert message in field_errors(page, field)
    assert rows(page) == []


def test_audit_trail_is_paged_and_keeps_its_filters_in_the_links(app):
    with app.app_context():
        for day in range(1, 31):
            db.session.add(AuditEvent(at=datetime(2025, 4, day, 12), action="login_failed", actor="9999", insurer="exemple"))
        db.session.commit()
    agent = Agent(app)
    first = body(agent.get(f"{AUDIT}?action=login_failed"))
    assert "Nombre d'actions : 30" in first and current_page(first) == 1 and len(rows(first)) == 25
    next_link = next_page(first)
    assert "action=login_failed" in next_link
    second = body(agent.get(next_link))
    assert [r[0][:10] for r in rows(second)] == [f"0{d}/04/2025" for d in range(5, 0, -1)]


def test_each_back_office_action_is_in_the_audit_trail_with_the_agent_as_actor(app, smtp_server):
    member = make_account(app, "1001")
    agent = Agent(app)
    for action in ("lock", "unlock", "reset"):
        agent.post(f"{BACK_OFFICE}/accounts/{member}/{action}")
    smtp_server.wait_for(1)
    agent.post(f"{OUTBOX}/retry")

    page = body(agent.get(f"{AUDIT}?login=karima"))
    actions = [r[1] for r in rows(page) if r[4] == "karima"]
    assert actions[:3] == [
        "Réinitialisation du mot de passe",
        "Déverrouillage du compte par un gestionnaire",
        "Verrouillage du compte par un gestionnaire",
    ]
    for action in ("account_locked", "account_unlocked", "password_reset"):
        (event,) = events(app, action)
        assert (event.actor, event.account_id, event.insurer) == ("karima", member, "exemple")
    # « Renvoyer tout » with nothing queued records nothing
    assert events(app, "outbox_retried") == []


# --------------------------------------------------------------------------
# Boîte d'envoi
# --------------------------------------------------------------------------


def queue(app: Flask, recipient: str, subject: str, insurer: str = "exemple", **kwargs) -> int:
    with app.app_context():
        message = queue_mail(recipient, subject, "test_message", insurer=insurer, name="Karim", **kwargs)
        db.session.commit()
        return message.id


def stored(app: Flask, message_id: int) -> OutboxMessage:
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        db.session.expunge_all()
        return message


def test_outbox_lists_the_insurers_messages_with_state_attempts_and_error(app, smtp_server):
    sent = queue(app, "karim@exemple.ma", "Bienvenue")
    smtp_server.stop()
    waiting = queue(app, "amina@exemple.ma", "Votre relevé")
    queue(app, "omar@variantes.ma", "Message de variantes", insurer="variantes")
    smtp_server.start()

    agent = Agent(app)
    page = body(agent.get(OUTBOX))
    table = {r[2]: r for r in rows(page)}
    assert set(table) == {"Bienvenue", "Votre relevé"}
    assert table["Bienvenue"][1] == "karim@exemple.ma" and table["Bienvenue"][3].startswith("Envoyé")
    assert table["Votre relevé"][3:5] == ["En attente", "1"]
    assert "ConnectionRefusedError" in table["Votre relevé"][5]
    assert "Bonjour Karim," in table["Votre relevé"][6]  # an ordinary message can be read
    assert "Nombre de messages : 2" in page and "en attente : 1" in page

    assert [r[2] for r in rows(body(agent.get(f"{OUTBOX}?status=queued")))] == ["Votre relevé"]
    assert [r[2] for r in rows(body(agent.get(f"{OUTBOX}?status=sent")))] == ["Bienvenue"]
    bad = body(agent.get(f"{OUTBOX}?status=perdu"))
    assert "Choix invalide." in field_errors(bad, "status") and rows(bad) == []
    assert stored(app, sent).status == "sent" and stored(app, waiting).status == "queued"


def test_retry_sends_a_reset_queued_while_the_smtp_server_was_down_never_showing_its_secret(app, smtp_server):
    member = make_account(app, "1001", email="amina@exemple.test")
    agent = Agent(app)
    smtp_server.stop()
    agent.post(f"{BACK_OFFICE}/accounts/{member}/reset")
    with app.app_context():
        (message,) = db.session.scalars(select(OutboxMessage)).all()
        token = RESET_LINK.search(message.body_text).group(1)  # kept while queued: it must still be sent
        message_id = message.id

    page = body(agent.get(OUTBOX))
    (row,) = rows(page)
    assert row[3] == "En attente" and row[6] == "Contenu confidentiel"
    assert not agent.saw(token)

    smtp_server.start()
    response = agent.post(f"{OUTBOX}/{message_id}/retry")
    assert "1 message(s) envoyé(s)." in body(response)
    (received,) = smtp_server.wait_for(1)
    assert token in text_of(received)
    assert stored(app, message_id).status == "sent" and stored(app, message_id).attempts == 2
    (row,) = rows(body(agent.get(OUTBOX)))
    assert row[3].startswith("Envoyé") and row[6] == "Contenu confidentiel"
    assert not agent.saw(token)
    (event,) = events(app, "outbox_retried")
    assert (event.actor, event.insurer, event.detail["sent"]) == ("karima", "exemple", 1)


def test_retry_while_the_server_is_still_down_says_so_and_keeps_the_message(app, smtp_server):
    smtp_server.stop()
    waiting = queue(app, "amina@exemple.ma", "Votre relevé")
    response = Agent(app).post(f"{OUTBOX}/{waiting}/retry")
    assert "toujours en attente" in body(response)
    assert stored(app, waiting).status == "queued" and stored(app, waiting).attempts == 2


def test_retry_all_sends_every_queued_message_of_the_insurer_only(app, smtp_server):
    smtp_server.stop()
    ids = [queue(app, "karim@exemple.ma", "Premier"), queue(app, "amina@exemple.ma", "Second")]
    theirs = queue(app, "omar@variantes.ma", "Message de variantes", insurer="variantes")
    smtp_server.start()

    agent = Agent(app)
    assert "Renvoyer tout" in body(agent.get(OUTBOX))
    response = agent.post(f"{OUTBOX}/retry")
    assert "2 message(s) envoyé(s)." in body(response)
    assert sorted(m["Subject"] for m in smtp_server.wait_for(2)) == ["Premier", "Second"]
    assert [stored(app, i).status for i in ids] == ["sent", "sent"]
    assert stored(app, theirs).status == "queued"
    assert "Renvoyer tout" not in body(agent.get(OUTBOX))


def test_resending_a_sent_message_sends_nothing_again(app, smtp_server):
    sent = queue(app, "karim@exemple.ma", "Bienvenue")
    smtp_server.wait_for(1)
    response = Agent(app).post(f"{OUTBOX}/{sent}/retry")
    assert "Ce message a déjà été envoyé." in body(response)
    assert len(smtp_server.messages) == 1 and stored(app, sent).attempts == 1


def test_agent_of_another_insurer_neither_sees_nor_resends_exemples_messages_nor_events(app, smtp_server):
    smtp_server.stop()
    waiting = queue(app, "amina@exemple.ma", "Votre relevé")
    make_account(app, "1001")
    member_client(app)  # a login in exemple's trail
    smtp_server.start()
    agent = Agent(app, "variantes")

    for url in (OUTBOX, AUDIT, f"{AUDIT}?login=1001"):
        response = agent.get(url)
        assert response.status_code == 403 and "Accès refusé" in body(response)
    token = csrf_of(agent.client.get("/variantes/gestion/outbox").get_data(as_text=True))
    for url in (f"{OUTBOX}/{waiting}/retry", f"{OUTBOX}/retry"):
        assert agent.client.post(url, data={"csrf_token": token}).status_code == 403

    assert agent.client.post(f"/variantes/gestion/outbox/{waiting}/retry", data={"csrf_token": token}).status_code == 404
    assert "Aucun message en attente." in body(agent.post("/variantes/gestion/outbox/retry"))
    assert rows(body(agent.get("/variantes/gestion/outbox"))) == []
    trail = body(agent.get("/variantes/gestion/audit?login=1001"))
    assert rows(trail) == []
    assert stored(app, waiting).status == "queued" and smtp_server.messages == []


def test_member_account_reaches_neither_the_trail_nor_the_outbox(app, smtp_server):
    waiting = queue(app, "amina@exemple.ma", "Votre relevé")
    make_account(app, "1001")
    member = member_client(app)
    token = csrf_of(member.get("/exemple/membres/").get_data(as_text=True))
    for url in (AUDIT, OUTBOX):
        assert member.get(url).headers["Location"].startswith(f"{BACK_OFFICE}/login")
    assert member.post(f"{OUTBOX}/{waiting}/retry", data={"csrf_token": token}).headers["Location"] == f"{BACK_OFFICE}/login"
