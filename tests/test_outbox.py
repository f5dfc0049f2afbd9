"""The e-mail outbox (CORE-9), against a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import socket
import time

import pytest
from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy import func, select

from app.extensions import csrf, db
from app.mail import deliver, queue_mail
from app.models import Account, OutboxMessage


@pytest.fixture
def app_config(app_config: dict) -> dict:
    """conftest's configuration (SQLite file or PostgreSQL, the real SMTP server)."""
    app_config["MAIL_TIMEOUT"] = 5
    return app_config


@pytest.fixture
def app(app: Flask) -> Flask:
    """conftest's application plus a test view, registered before the first request."""

    @app.post("/_test/send-mail")
    @csrf.exempt
    def send_mail_view():
        """A view that does what a real one does: change data, queue a mail, commit."""
        db.session.add(Account(space_key="exemple/membres", login="amina", tenant_ref="A1"))
        queue_mail("amina@example.ma", "Bienvenue", "test_message", insurer="exemple", name="Amina")
        db.session.commit()
        return "ok"

    return app


def outbox(app: Flask) -> list[OutboxMessage]:
    """Every stored message, read afresh."""
    with app.app_context():
        messages = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return messages


def test_message_committed_in_a_transaction_arrives_with_subject_recipient_text_and_html(app, smtp_server):
    with app.app_context():
        queue_mail("karim@example.ma", "Votre accès au portail", "test_message", insurer="exemple", name="Karim")
        db.session.commit()

    (received,) = smtp_server.wait_for(1)
    assert received["Subject"] == "Votre accès au portail"
    assert received["To"] == "karim@example.ma"
    assert "no-reply@portail.local" in received["From"]
    assert smtp_server.envelopes[0][1] == ["karim@example.ma"]
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "Bonjour Karim," in text
    assert "<p>Bonjour Karim,</p>" in html and '<html lang="fr"' in html

    (stored,) = outbox(app)
    assert (stored.status, stored.attempts, stored.insurer) == ("sent", 1, "exemple")
    assert stored.sent_at is not None and stored.last_error is None


def test_message_queued_in_a_rolled_back_transaction_is_never_stored_nor_sent(app, smtp_server):
    with app.app_context():
        queue_mail("karim@example.ma", "Annulé", "test_message", name="Karim")
        db.session.flush()  # even once INSERTed, the rollback takes it back
        db.session.rollback()
        queue_mail("amina@example.ma", "Gardé", "test_message", name="Amina")
        db.session.commit()

    (received,) = smtp_server.wait_for(1)
    assert received["Subject"] == "Gardé"
    assert [m.subject for m in outbox(app)] == ["Gardé"]


def test_message_of_a_rolled_back_savepoint_is_forgotten_but_the_outer_one_is_sent(app, smtp_server):
    with app.app_context():
        queue_mail("a@example.ma", "Dehors", "test_message", name="A")
        savepoint = db.session.begin_nested()
        queue_mail("b@example.ma", "Dans le savepoint annulé", "test_message", name="B")
        savepoint.rollback()
        with db.session.begin_nested():  # a released savepoint sends nothing by itself
            queue_mail("c@example.ma", "Dans le savepoint gardé", "test_message", name="C")
        assert smtp_server.messages == []
        db.session.commit()

    received = smtp_server.wait_for(2)
    assert sorted(m["Subject"] for m in received) == ["Dans le savepoint gardé", "Dehors"]
    assert sorted(m.subject for m in outbox(app)) == ["Dans le savepoint gardé", "Dehors"]


def test_message_of_a_released_savepoint_is_not_sent_when_the_outer_transaction_rolls_back(app, smtp_server):
    with app.app_context():
        # a write first: pysqlite only opens the transaction on DML, and a SAVEPOINT
        # outside a transaction would be committed by its RELEASE
        db.session.add(Account(space_key="exemple/membres", login="karim", tenant_ref="K1"))
        db.session.flush()
        with db.session.begin_nested():
            queue_mail("karim@example.ma", "Annulé avec la transaction", "test_message", name="Karim")
        db.session.rollback()

    assert outbox(app) == []
    with app.app_context():
        queue_mail("amina@example.ma", "Témoin", "test_message", name="Amina")
        db.session.commit()
    (received,) = smtp_server.wait_for(1)
    assert received["Subject"] == "Témoin"


def test_nothing_is_sent_before_the_commit(app, smtp_server):
    with app.app_context():
        queue_mail("karim@example.ma", "Pas encore", "test_message", name="Karim")
        db.session.flush()
        assert deliver() == (0, 0)  # another session does not see an uncommitted message
        db.session.commit()
        assert smtp_server.messages == []  # delivery waits for the end of the context
    smtp_server.wait_for(1)


def test_message_without_html_template_has_a_text_body_only(app, smtp_server, tmp_path):
    (tmp_path / "tpl" / "mail").mkdir(parents=True)
    (tmp_path / "tpl" / "mail" / "texte_seul.txt").write_text("Bonjour {{ name }}.")
    app.jinja_env.loader = ChoiceLoader([FileSystemLoader(str(tmp_path / "tpl")), app.jinja_env.loader])
    with app.app_context():
        message = queue_mail("karim@example.ma", "Texte", "texte_seul", name="Karim")
        assert message.body_html is None
        db.session.commit()

    (received,) = smtp_server.wait_for(1)
    assert not received.is_multipart()
    assert received.get_content().strip() == "Bonjour Karim."


def test_message_queued_in_a_request_arrives_after_the_request(app, smtp_server):
    response = app.test_client().post("/_test/send-mail")

    assert response.status_code == 200
    (received,) = smtp_server.wait_for(1)
    assert received["Subject"] == "Bienvenue" and received["To"] == "amina@example.ma"
    assert [m.status for m in outbox(app)] == ["sent"]


def test_smtp_server_down_leaves_the_message_queued_with_its_error_and_the_request_succeeds(app, smtp_server):
    smtp_server.stop()

    response = app.test_client().post("/_test/send-mail")

    assert response.status_code == 200
    (stored,) = outbox(app)
    assert (stored.status, stored.attempts, stored.sent_at) == ("queued", 1, None)
    assert stored.last_error == "ConnectionRefusedError: Connection refused"
    with app.app_context():  # the change that caused the mail is committed all the same
        assert db.session.scalar(select(func.count()).select_from(Account)) == 1


def test_commit_outside_a_request_does_not_raise_when_the_smtp_server_is_down(app, smtp_server):
    smtp_server.stop()
    with app.app_context():
        queue_mail("karim@example.ma", "Objet", "test_message", name="Karim")
        db.session.commit()

    (stored,) = outbox(app)
    assert (stored.status, stored.attempts) == ("queued", 1)
    assert "Connection refused" in stored.last_error


def test_smtp_server_that_accepts_but_never_answers_times_out_after_mail_timeout(app, smtp_server):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never greets
        app.config["MAIL_PORT"] = silent.getsockname()[1]
        app.config["MAIL_TIMEOUT"] = 1
        app.extensions["mail"].port = app.config["MAIL_PORT"]
        started = time.monotonic()

        response = app.test_client().post("/_test/send-mail")

        assert response.status_code == 200
        assert time.monotonic() - started < 5
    (stored,) = outbox(app)
    assert (stored.status, stored.attempts) == ("queued", 1)
    assert "timed out" in stored.last_error


def test_outbox_command_sends_the_queued_messages_once_the_server_is_back(app, smtp_server):
    smtp_server.stop()
    app.test_client().post("/_test/send-mail")
    with app.app_context():
        queue_mail("karim@example.ma", "Deuxième", "test_message", name="Karim")
        db.session.commit()
    assert [m.status for m in outbox(app)] == ["queued", "queued"]

    smtp_server.start()
    result = app.test_cli_runner().invoke(args=["portal", "outbox"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 message(s) envoyé(s), 0 en échec."
    received = smtp_server.wait_for(2)
    assert sorted(m["Subject"] for m in received) == ["Bienvenue", "Deuxième"]
    stored = outbox(app)
    assert [(m.status, m.attempts, m.last_error) for m in stored] == [("sent", 2, None), ("sent", 2, None)]

    again = app.test_cli_runner().invoke(args=["portal", "outbox"])  # nothing left: nothing sent twice
    assert (again.exit_code, again.output.strip()) == (0, "0 message(s) envoyé(s), 0 en échec.")
    assert len(smtp_server.messages) == 2


def test_outbox_command_exits_1_while_the_server_is_still_down(app, smtp_server):
    smtp_server.stop()
    app.test_client().post("/_test/send-mail")

    result = app.test_cli_runner().invoke(args=["portal", "outbox"])

    assert result.exit_code == 1
    assert result.output.strip() == "0 message(s) envoyé(s), 1 en échec."
    (stored,) = outbox(app)
    assert (stored.status, stored.attempts) == ("queued", 2)
    assert smtp_server.messages == []


def test_messages_are_not_sent_at_the_end_of_the_request_when_send_immediately_is_off(app, smtp_server):
    app.config["OUTBOX_SEND_IMMEDIATELY"] = False

    app.test_client().post("/_test/send-mail")

    assert [(m.status, m.attempts) for m in outbox(app)] == [("queued", 0)]
    result = app.test_cli_runner().invoke(args=["portal", "outbox"])
    assert result.exit_code == 0
    smtp_server.wait_for(1)


def test_secret_of_a_sensitive_message_is_erased_from_the_outbox_once_sent(app, smtp_server):
    with app.app_context():
        queue_mail("karim@example.ma", "Mot de passe", "test_message", sensitive=True, name="Karim-secret")
        db.session.commit()

    (received,) = smtp_server.wait_for(1)
    assert "Karim-secret" in received.get_body(preferencelist=("plain",)).get_content()
    (stored,) = outbox(app)
    assert stored.status == "sent"
    assert "Karim-secret" not in stored.body_text and stored.body_html is None


def test_sensitive_message_keeps_its_body_while_it_waits_for_the_server(app, smtp_server):
    smtp_server.stop()
    with app.app_context():
        queue_mail("karim@example.ma", "Mot de passe", "test_message", sensitive=True, name="Karim-secret")
        db.session.commit()
    (stored,) = outbox(app)
    assert stored.status == "queued" and "Karim-secret" in stored.body_text
    smtp_server.start()
