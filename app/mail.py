"""The e-mail outbox (CORE-9).

Every message the portal sends (activation link, credentials, reset,
notification) is first stored as an :class:`~app.models.OutboxMessage` in the
*same* database transaction as the change that causes it, then sent through
SMTP (Flask-Mail) once that transaction is committed:

* :func:`queue_mail` renders the message and adds it to ``db.session``
  without committing; the caller's commit stores it with the rest of its work,
  and a rollback throws it away with that work (a mail about a change that
  never happened is never sent).
* SQLAlchemy session events follow the transaction: the ids of the messages
  committed are collected; the messages of a transaction (or savepoint) that
  is rolled back are forgotten. Nothing is ever sent inside the commit.
* At the end of the application context (the end of the request, of a CLI
  command) those ids are handed to :func:`deliver` when
  ``OUTBOX_SEND_IMMEDIATELY`` is true.
* :func:`deliver` sends through one SMTP connection; a message that fails
  stays ``queued`` with its error and is retried by ``flask portal outbox``.
  An SMTP server that is down never turns the user's request into an error.
"""
from __future__ import annotations

import smtplib
from collections.abc import Iterable
from typing import Any

import flask_mail
from flask import Flask, current_app, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db
from app.models import OutboxMessage, utcnow

#: ``session.info`` key: messages added in the session's current transaction
PENDING_KEY = "portal_outbox_pending"
#: ``session.info`` key: ids of messages committed, to deliver at the end of the context
COMMITTED_KEY = "portal_outbox_committed"
#: longest ``last_error`` kept
ERROR_LENGTH = 300

# SMTP errors that concern one message only: the connection stays usable for the next one.
_MESSAGE_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
    flask_mail.BadHeaderError,
    AssertionError,  # Flask-Mail asserts a recipient and a sender
)


#: what stays of a sensitive message once it is sent: the secret never lingers in the database
ERASED_BODY = "[Contenu effacé après l'envoi : ce message contenait un secret.]"


def queue_mail(
    recipient: str,
    subject: str,
    template: str,
    *,
    insurer: str | None = None,
    sensitive: bool = False,
    **context: Any,
) -> OutboxMessage:
    """Render ``templates/mail/<template>.txt`` (and ``.html`` when it exists) and
    add the message to ``db.session``, status ``queued``.

    It is *not* committed: it is stored by the caller's commit, together with
    the change that causes it, and sent after that commit (see the module
    docstring). ``context`` is passed to both templates; ``insurer`` tags the
    message for the agents' view of the outbox. A ``sensitive`` message (it
    carries a temporary password or a reset link) has its body erased once sent.
    """
    body_text = render_template(f"mail/{template}.txt", **context)
    html_name = f"mail/{template}.html"
    try:
        body_html: str | None = render_template(html_name, **context)
    except TemplateNotFound as exc:
        if exc.name != html_name:  # the HTML template exists but includes a missing one
            raise
        body_html = None
    message = OutboxMessage(
        insurer=insurer,
        recipient=recipient,
        subject=str(subject),
        body_text=body_text,
        body_html=body_html,
        status="queued",
        attempts=0,
        sensitive=sensitive,
    )
    db.session.add(message)
    db.session.info.setdefault(PENDING_KEY, []).append(message)
    return message


# --- following the transaction -------------------------------------------------


def _after_commit(session: Session) -> None:
    """Move the messages of a committed transaction to the list to deliver.

    A savepoint's release also fires ``after_commit``; its messages still
    depend on the outer transaction, so they wait for the outermost commit.
    No SQL here: the ids come from the identity of the (expired) objects.
    """
    if session.in_nested_transaction():
        return
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    committed = session.info.setdefault(COMMITTED_KEY, [])
    for message in pending:
        state = inspect(message)
        if message in session and state.identity is not None:
            committed.append(state.identity[0])


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """Forget the messages of a transaction that ended without being committed.

    At the end of the outermost transaction (commit, rollback or close) the
    pending list is cleared: a commit has already collected its messages. At
    the end of a savepoint, only the messages still in the session are kept:
    rolling back a savepoint expunges the ones added inside it.
    """
    pending = session.info.get(PENDING_KEY)
    if not pending:
        return
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)
    else:
        session.info[PENDING_KEY] = [m for m in pending if m in session]


def _deliver_committed(exc: BaseException | None = None) -> None:
    """At the end of the application context (request, CLI command): send the
    messages committed during it, when ``OUTBOX_SEND_IMMEDIATELY`` is true.

    Runs before Flask-SQLAlchemy removes the session (teardown functions run in
    reverse order of registration and ``db.init_app`` comes first). Never
    raises: a failure leaves the messages queued for ``flask portal outbox``.
    """
    if not db.session.registry.has():
        return
    ids = db.session.info.pop(COMMITTED_KEY, None)
    if not ids or not current_app.config.get("OUTBOX_SEND_IMMEDIATELY", True):
        return
    try:
        deliver(ids)
    except Exception:  # noqa: BLE001 - the database itself failed; the messages stay queued
        current_app.logger.exception("outbox: delivery of %d message(s) failed", len(ids))


# --- sending -------------------------------------------------------------------


class _Connection(flask_mail.Connection):
    """Flask-Mail's connection with a socket timeout (``MAIL_TIMEOUT``), which
    Flask-Mail 0.10 does not set: a server that accepts and then hangs must not
    hold the user's request forever."""

    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        timeout = float(current_app.config.get("MAIL_TIMEOUT") or 10)
        host: smtplib.SMTP | smtplib.SMTP_SSL
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def _connect() -> flask_mail.Connection:
    """An unopened connection for a batch (open it with ``with``)."""
    return _Connection(current_app.extensions["mail"])


def _close(connection: flask_mail.Connection) -> None:
    """Close a connection quietly: the server may already be gone."""
    try:
        connection.__exit__(None, None, None)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001
        pass
    connection.host = None


def _describe(exc: BaseException) -> str:
    """A short description of a sending error, for ``last_error``; never the SMTP password."""
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        text = f"{type(exc).__name__}: {exc.smtp_code} {reply}"
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{type(exc).__name__}: {exc.strerror}"
    else:
        text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    password = current_app.config.get("MAIL_PASSWORD")
    if password:
        text = text.replace(str(password), "***")
    text = " ".join(text.split())
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"


def _as_mail(message: OutboxMessage) -> flask_mail.Message:
    return flask_mail.Message(
        message.subject,
        recipients=[message.recipient],
        body=message.body_text,
        html=message.body_html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )


def _send_all(messages: list[OutboxMessage]) -> dict[int, str | None]:
    """Send ``messages`` through one SMTP connection: {id: None when sent, else the error}.

    A connection that cannot be opened fails every remaining message at once
    (no reconnection per message to a server that is down). A per-message
    refusal keeps the connection; any other error drops it and the next
    message opens a new one.
    """
    results: dict[int, str | None] = {}
    connection: flask_mail.Connection | None = None
    try:
        for index, message in enumerate(messages):
            if connection is None:
                try:
                    connection = _connect().__enter__()
                except Exception as exc:  # noqa: BLE001 - refused, timeout, TLS, login…
                    error = _describe(exc)
                    current_app.logger.warning("outbox: cannot reach the SMTP server: %s", error)
                    for rest in messages[index:]:
                        results[rest.id] = error
                    break
            try:
                connection.send(_as_mail(message))
                results[message.id] = None
            except Exception as exc:  # noqa: BLE001
                results[message.id] = _describe(exc)
                current_app.logger.warning("outbox: message %s not sent: %s", message.id, results[message.id])
                if not isinstance(exc, _MESSAGE_ERRORS):
                    _close(connection)
                    connection = None
    finally:
        if connection is not None:
            _close(connection)
    return results


def deliver(ids: Iterable[int] | None = None) -> tuple[int, int]:
    """Send the queued messages (those of ``ids``, or all when None); return (sent, failed).

    A sent message gets status ``sent``, ``sent_at`` and one more attempt; a
    failed one stays ``queued`` with one more attempt and ``last_error``.

    It works in a session of its own, never ``db.session``: delivery must not
    commit nor roll back whatever the caller has pending. On PostgreSQL the
    rows are locked (``SKIP LOCKED``) so that two workers, or a worker and
    ``flask portal outbox``, never send the same message twice.
    """
    query = select(OutboxMessage).where(OutboxMessage.status == "queued").order_by(OutboxMessage.id)
    if ids is not None:
        wanted = list(ids)
        if not wanted:
            return 0, 0
        query = query.where(OutboxMessage.id.in_(wanted))
    with db.session.session_factory() as session:
        messages = list(session.scalars(query.with_for_update(skip_locked=True)))
        if not messages:
            session.rollback()
            return 0, 0
        results = _send_all(messages)
        now = utcnow()
        for message in messages:
            message.attempts = (message.attempts or 0) + 1
            error = results.get(message.id, "non envoyé")
            if error is None:
                message.status = "sent"
                message.sent_at = now
                message.last_error = None
                if message.sensitive:
                    message.body_text = ERASED_BODY
                    message.body_html = None
            else:
                message.last_error = error
        session.commit()
    sent = sum(1 for error in results.values() if error is None)
    return sent, len(messages) - sent


def init_app(app: Flask) -> None:
    """Follow ``db.session``'s transactions and deliver at the end of each context.

    The listeners are attached once to Flask-SQLAlchemy's session factory
    (``event.listen`` on the ``scoped_session`` targets its sessionmaker), so
    they serve every application built in the process.
    """
    for name, listener in (("after_commit", _after_commit), ("after_transaction_end", _after_transaction_end)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
    app.teardown_appcontext(_deliver_committed)
