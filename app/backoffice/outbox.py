"""« Boîte d'envoi » of the back office (CORE-9, CORE-11): the insurer's e-mails,
their state and errors, and « Renvoyer » for those still queued. Every query
is scoped by ``OutboxMessage.insurer``. A sensitive message's body is never
shown to an agent, queued or sent: it carries someone's secret."""
from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import Select, select
from wtforms import SelectField

from app import audit
from app.backoffice import AGENT_PROFILE, backoffice_bp, current_insurer
from app.backoffice.accounts import Page, active_filters, one_of_choices, paginate
from app.extensions import db
from app.forms import ConfirmForm
from app.htmx import redirect_to, render
from app.mail import deliver
from app.models import OutboxMessage
from app.spaces import requires_profile

#: what an agent reads instead of a sensitive message's body
CONFIDENTIAL = _l("Contenu confidentiel")


def state_labels() -> dict[str, str]:
    """French labels of a message's state."""
    return {"queued": _("En attente"), "sent": _("Envoyé")}


def shown_body(message: OutboxMessage) -> str:
    """The text an agent may read: « Contenu confidentiel » for a message that carries a secret."""
    return str(CONFIDENTIAL) if message.sensitive else message.body_text


def scoped_messages() -> Select:
    """The insurer's messages: every outbox query of the back office starts here."""
    return select(OutboxMessage).where(OutboxMessage.insurer == current_insurer())


class OutboxFilterForm(FlaskForm):
    """The filter of « Boîte d'envoi »: a GET form, its value in the address bar."""

    class Meta:
        csrf = False  # a filter changes nothing

    status = SelectField(_l("État"), choices=[], validate_choice=False, validators=[one_of_choices])


@backoffice_bp.get("/outbox")
@requires_profile(AGENT_PROFILE)
def outbox():
    """« Boîte d'envoi »: the insurer's messages, newest first, filtered by state."""
    form = OutboxFilterForm(formdata=request.args)
    form.status.choices = [("", _("Tous les états"))] + list(state_labels().items())
    if form.validate():
        stmt = scoped_messages()
        if form.status.data:
            stmt = stmt.where(OutboxMessage.status == form.status.data)
        page = paginate(stmt.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()))
    else:
        page = Page([])
    queued = len(_queued_ids())
    return render(
        "backoffice/outbox.html",
        form=form,
        page=page,
        filters=active_filters(form, "status"),
        queued=queued,
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
