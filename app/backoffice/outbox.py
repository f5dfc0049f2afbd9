"""« Boîte d'envoi » of the back office (CORE-9, CORE-11): the insurer's e-mails,
their state and errors, and « Renvoyer » for those still queued. Every query
is scoped by ``OutboxMessage.insurer``. A sensitive message's body is never
shown to an agent, queued or sent: it carries someone's secret."""
from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, select

from app import audit
from app.backoffice import AGENT_PROFILE, backoffice_bp, current_insurer
from app.extensions import db
from app.forms import ConfirmForm
from app.htmx import redirect_to
from app.lists import Column, Criteria, SearchList, choice_criterion, equals, render_list
from app.mail import deliver
from app.models import OutboxMessage
from app.spaces import requires_profile

#: what an agent reads instead of a sensitive message's body
CONFIDENTIAL = _l("Contenu confidentiel")
#: a message's states, as the filter offers them (labels translated when shown)
STATE_CHOICES = (("queued", "En attente"), ("sent", "Envoyé"))


def state_labels() -> dict[str, str]:
    """French labels of a message's state."""
    return {value: _(label) for value, label in STATE_CHOICES}


def shown_body(message: OutboxMessage) -> str:
    """The text an agent may read: « Contenu confidentiel » for a message that carries a secret."""
    return str(CONFIDENTIAL) if message.sensitive else message.body_text


def in_insurer() -> ColumnElement[bool]:
    """The insurer's messages: every outbox query of the back office is scoped by it."""
    return OutboxMessage.insurer == current_insurer()


def scoped_messages() -> Select:
    """The insurer's messages."""
    return select(OutboxMessage).where(in_insurer())


def messages() -> SearchList:
    """« Boîte d'envoi » as a list, newest first; its page renders the rows itself
    (a sensitive body is never shown, a queued message has « Renvoyer »)."""
    criteria = type("OutboxCriteria", (Criteria,), {"status": choice_criterion("État", STATE_CHOICES, all_label="Tous les états")})
    return SearchList(
        name="outbox",
        title="Boîte d'envoi",
        endpoint="backoffice.outbox",
        query=select(OutboxMessage),
        scope=in_insurer,
        columns=(
            Column("created_at", "Date", sort=OutboxMessage.created_at),
            Column("recipient", "Destinataire"),
            Column("subject", "Objet"),
            Column("status", "État"),
        ),
        criteria=criteria,
        filters={"status": equals(OutboxMessage.status)},
        default_sort="created_at",
        default_dir="desc",
        page_size=25,
        count_label="Nombre de messages : %(count)s",
        empty_label="Aucun message.",
    )


@backoffice_bp.get("/outbox")
@requires_profile(AGENT_PROFILE)
def outbox():
    """« Boîte d'envoi »: the insurer's messages, newest first, filtered by state."""
    status = request.args.get("status", "")
    return render_list(
        messages(),
        "backoffice/outbox.html",
        layout="space/layout.html",
        queued=len(_queued_ids()),
        filters={"status": status} if status in state_labels() else {},
        state_labels=state_labels(),
        shown_body=shown_body,
    )


def _queued_ids() -> list[int]:
    return list(db.session.scalars(scoped_messages().with_only_columns(OutboxMessage.id).where(OutboxMessage.status == "queued")))


def _retry(ids: list[int]):
    """Send ``ids`` now (``app.mail.deliver``), record who asked, say how it went."""
    sent, failed = deliver(ids)
    audit.record("outbox_retried", messages=len(ids), sent=sent, failed=failed)
    db.session.commit()
    if failed:
        flash(_("%(sent)s message(s) envoyé(s) ; %(failed)s toujours en attente : le serveur de messagerie ne répond pas.", sent=sent, failed=failed), "danger")
    else:
        flash(_("%(sent)s message(s) envoyé(s).", sent=sent), "success")
    return _back()


def _back():
    """Back to the outbox, with the state filter the agent was looking at."""
    status = request.args.get("status", "")
    return redirect_to(url_for("backoffice.outbox", status=status if status in state_labels() else None))


@backoffice_bp.post("/outbox/<int:message_id>/retry")
@requires_profile(AGENT_PROFILE)
def outbox_retry(message_id: int):
    """« Renvoyer »: send one queued message of the insurer now."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    message = db.session.scalar(scoped_messages().where(OutboxMessage.id == message_id))
    if message is None:
        abort(404)
    if message.status != "queued":
        flash(_("Ce message a déjà été envoyé."), "info")
        return _back()
    return _retry([message.id])


@backoffice_bp.post("/outbox/retry")
@requires_profile(AGENT_PROFILE)
def outbox_retry_all():
    """« Renvoyer tout »: send every queued message of the insurer now."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ids = _queued_ids()
    if not ids:
        flash(_("Aucun message en attente."), "info")
        return _back()
    return _retry(ids)
