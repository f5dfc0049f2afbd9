"""« Comptes » of the back office (CORE-11): the agent searches the insurer's
accounts, reads one, locks, unlocks or resets it. Every query goes through
``scoped_accounts()``: the accounts of the insurer's spaces, never another
insurer's, never the agents of the back office (the portal's administrator
manages those from the command line)."""
from __future__ import annotations

from flask import abort, current_app, flash, url_for
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, or_, select

from app import audit
from app.backoffice import AGENT_PROFILE, CODE, backoffice_bp, current_insurer
from app.extensions import db
from app.forms import ConfirmForm
from app.htmx import redirect_to, render
from app.lists import Column, Criteria, SearchList, choice_criterion, equals, render_list, text_criterion
from app.models import Account, AuditEvent
from app.plugins.manager import registry_of
from app.plugins.types import Space
from app.resets import agent_method, send_reset
from app.sessions import end_other_sessions
from app.spaces import requires_profile
from app.templating import format_date
from app.tokens import revoke

#: audit events shown on an account's page
RECENT_EVENTS = 20
#: an account's status, as the search offers it (labels translated when shown)
STATUS_CHOICES = (("active", "Actif"), ("locked", "Verrouillé"), ("disabled", "Désactivé"), ("inactive", "Inactif"))


# --------------------------------------------------------------------------
# Scoping: every account query of the back office goes through here
# --------------------------------------------------------------------------


def insurer_spaces() -> list[Space]:
    """The spaces of the agent's insurer whose accounts agents manage (not the back office itself)."""
    insurer = current_insurer()
    return [s for s in registry_of(current_app).spaces.values() if s.insurer == insurer and s.code != CODE]


def in_insurer() -> ColumnElement[bool]:
    """The accounts of the agent's insurer: those of its spaces, by exact space key
    (no ``LIKE``, whose ``_`` would match any character)."""
    return Account.space_key.in_([s.key for s in insurer_spaces()])


def scoped_accounts() -> Select:
    """The accounts of the agent's insurer."""
    return select(Account).where(in_insurer())


def scoped_account(account_id: int) -> Account:
    """One account of the agent's insurer, or 404 (another insurer's account does not exist here)."""
    account = db.session.scalar(scoped_accounts().where(Account.id == account_id))
    if account is None:
        abort(404)
    return account


def status_labels() -> dict[str, str]:
    """French labels of an account's status."""
    return {value: _(label) for value, label in STATUS_CHOICES}


# --------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------


def _identifier_starts(typed: str) -> ColumnElement[bool]:
    """The login or the reference starts with ``typed`` (case ignored, wildcards taken literally)."""
    typed = typed.lower()
    return or_(
        func.lower(Account.login).startswith(typed, autoescape=True),
        func.lower(Account.tenant_ref).startswith(typed, autoescape=True),
    )


def search_list() -> SearchList:
    """« Comptes » as a list: its space choices are the insurer's, so it is built per request."""
    spaces = {s.key: s for s in insurer_spaces()}
    labels = status_labels()
    criteria = type(
        "AccountCriteria",
        (Criteria,),
        {
            "login": text_criterion("Identifiant", max_length=190),
            "space": choice_criterion("Espace", tuple((k, s.title) for k, s in spaces.items()), all_label="Tous les espaces"),
            "status": choice_criterion("État", STATUS_CHOICES, all_label="Tous les états"),
            "email": text_criterion("Email", max_length=254),
        },
    )
    return SearchList(
        name="accounts",
        title="Comptes",
        endpoint="backoffice.accounts",
        query=select(Account),
        scope=in_insurer,
        columns=(
            Column("login", "Identifiant", sort=Account.login,
                   link=lambda a: url_for("backoffice.account_detail", account_id=a.id)),
            Column("space", "Espace", value=lambda a: _(spaces[a.space_key].title) if a.space_key in spaces else a.space_key,
                   sort=Account.space_key),
            Column("display_name", "Nom et prénom", sort=Account.display_name),
            Column("email", "Email", sort=Account.email),
            Column("status", "État", value=lambda a: labels.get(a.status, a.status), sort=Account.status),
            Column("last_login_at", "Dernière connexion", value=lambda a: format_date(a.last_login_at, True),
                   sort=Account.last_login_at),
        ),
        criteria=criteria,
        filters={
            "login": _identifier_starts,
            "space": equals(Account.space_key),
            "status": equals(Account.status),
            "email": lambda typed: func.lower(Account.email).contains(typed.lower(), autoescape=True),
        },
        default_sort="login",
        page_size=25,
        count_label="Nombre de comptes : %(count)s",
        empty_label="Aucun compte ne correspond à ces critères.",
    )


@backoffice_bp.get("/accounts")
@requires_profile(AGENT_PROFILE)
def accounts():
    """« Comptes »: search the insurer's accounts; bad criteria show their message and no rows."""
    return render_list(search_list(), "backoffice/accounts.html", layout="space/layout.html")


# --------------------------------------------------------------------------
# One account
# --------------------------------------------------------------------------


@backoffice_bp.get("/accounts/<int:account_id>")
@requires_profile(AGENT_PROFILE)
def account_detail(account_id: int):
    """An account: who it is, its state, its main account or sub-accounts, its recent audit events."""
    account = scoped_account(account_id)
    space = registry_of(current_app).spaces[account.space_key]
    subaccounts = db.session.scalars(scoped_accounts().where(Account.parent_id == account.id).order_by(Account.login)).all()
    parent = scoped_account(account.parent_id) if account.parent_id is not None else None
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.account_id == account.id, AuditEvent.insurer == current_insurer())
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(RECENT_EVENTS)
    ).all()
    return render(
        "backoffice/accounts_detail.html",
        account=account,
        account_space=space,
        parent=parent,
        subaccounts=subaccounts,
        events=events,
        status_labels=status_labels(),
        action_labels=audit.action_labels(),
        action_form=ConfirmForm(),
    )


# --------------------------------------------------------------------------
# Actions: POST with CSRF, audited with the agent as actor, then 303
# --------------------------------------------------------------------------


def _target(account_id: int) -> Account:
    """The account an action is about, once the form's CSRF token is checked."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return scoped_account(account_id)


def _back_to(account: Account):
    return redirect_to(url_for("backoffice.account_detail", account_id=account.id))


@backoffice_bp.post("/accounts/<int:account_id>/lock")
@requires_profile(AGENT_PROFILE)
def account_lock(account_id: int):
    """« Verrouiller »: the account's sessions end and its login is refused with the generic message."""
    account = _target(account_id)
    if account.status != "active":
        flash(_("Seul un compte actif peut être verrouillé."), "warning")
        return _back_to(account)
    account.status = "locked"
    ended = end_other_sessions(account)
    revoke(account)  # a pending reset link or temporary password must not outlive the lock
    audit.record("account_locked", account=account, sessions_ended=ended)
    db.session.commit()
    flash(_("Le compte %(login)s est verrouillé : ses sessions sont fermées.", login=account.login), "success")
    return _back_to(account)


@backoffice_bp.post("/accounts/<int:account_id>/unlock")
@requires_profile(AGENT_PROFILE)
def account_unlock(account_id: int):
    """« Déverrouiller »: a locked account logs in again."""
    account = _target(account_id)
    if account.status != "locked":
        flash(_("Ce compte n'est pas verrouillé."), "warning")
        return _back_to(account)
    account.status = "active"
    audit.record("account_unlocked", account=account)
    db.session.commit()
    flash(_("Le compte %(login)s est déverrouillé.", login=account.login), "success")
    return _back_to(account)


@backoffice_bp.post("/accounts/<int:account_id>/reset")
@requires_profile(AGENT_PROFILE)
def account_reset(account_id: int):
    """« Réinitialiser le mot de passe »: the user gets, at the address on record, a reset link
    (spaces recovering by e-mailed link) or a temporary password (SAFE-1); the agent never
    sees nor chooses it. The old password stops working now (the reset may follow a leak),
    other sessions end and the change is forced."""
    account = _target(account_id)
    if not account.is_active:
        flash(_("Ce compte n'est pas actif : déverrouillez-le ou réactivez-le d'abord."), "warning")
        return _back_to(account)
    if not account.email:
        flash(_("Ce compte n'a pas d'adresse e-mail enregistrée : aucun mot de passe ne peut lui être envoyé."), "danger")
        return _back_to(account)
    space = registry_of(current_app).spaces[account.space_key]
    send_reset(space, account, agent_method(space), by="agent")
    db.session.commit()
    flash(
        _("Le mot de passe de %(login)s est réinitialisé ; un e-mail est envoyé à l'adresse enregistrée.", login=account.login),
        "success",
    )
    return _back_to(account)
