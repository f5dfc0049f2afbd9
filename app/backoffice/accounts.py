"""« Comptes » of the back office (CORE-11): the agent searches the insurer's
accounts, reads one, locks, unlocks or resets it. Every query goes through
``scoped_accounts()``: the accounts of the insurer's spaces, never another
insurer's, never the agents of the back office (the portal's administrator
manages those from the command line)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, or_, select
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from app import audit
from app.backoffice import AGENT_PROFILE, CODE, backoffice_bp, current_insurer
from app.extensions import db
from app.forms import ConfirmForm
from app.htmx import redirect_to, render
from app.mail import queue_mail
from app.models import Account, AuditEvent, PasswordHistory
from app.plugins.manager import registry_of
from app.plugins.types import Space
from app.sessions import end_other_sessions
from app.spaces import requires_profile
from app.tokens import issue_link_token, mail_temporary_password, public_url, revoke

#: rows per page of the back office's lists
PAGE_SIZE = 25
#: audit events shown on an account's page
RECENT_EVENTS = 20
#: the audit actions the back office records, with their French labels (``action_labels``)
ACTIONS = {
    "account_locked": _l("Verrouillage du compte par un gestionnaire"),
    "account_unlocked": _l("Déverrouillage du compte par un gestionnaire"),
    "outbox_retried": _l("Renvoi de messages de la boîte d'envoi"),
}


# --------------------------------------------------------------------------
# Paging (a simple paged table; the lead moves it to the generic list component)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, its number, how many pages, how many rows in all."""

    rows: list[Any]
    number: int = 1
    pages: int = 1
    total: int = 0


def paginate(stmt: Select, *, scalars: bool = True, size: int = PAGE_SIZE) -> Page:
    """The page ``?page=`` of ``stmt`` (already ordered) and the total count, both in SQL;
    the page number is clamped, so a huge one never overflows the database's OFFSET."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max((total + size - 1) // size, 1)
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    result = db.session.execute(stmt.limit(size).offset((number - 1) * size))
    rows = list(result.scalars()) if scalars else list(result.all())
    return Page(rows, number, pages, total)


def active_filters(form: FlaskForm, *names: str) -> dict[str, str]:
    """The filters typed in ``form``, for the pager's links: a search stays in the address bar."""
    return {name: str(form[name].raw_data[0]) for name in names if form[name].raw_data and form[name].raw_data[0]}


def printable(form: FlaskForm, field: Any) -> None:
    """Typed text without control characters (PostgreSQL refuses a NUL in a query)."""
    if field.data and not field.data.isprintable():
        raise ValidationError(_l("Ce champ contient des caractères non autorisés."))


def one_of_choices(form: FlaskForm, field: Any) -> None:
    """A select's value must be one of its choices (a French message, not WTForms' English one)."""
    if (field.data or "") not in {value for value, _label in field.choices}:
        raise ValidationError(_l("Choix invalide."))


# --------------------------------------------------------------------------
# Scoping: every account query of the back office goes through here
# --------------------------------------------------------------------------


def insurer_spaces() -> list[Space]:
    """The spaces of the agent's insurer whose accounts agents manage (not the back office itself)."""
    insurer = current_insurer()
    return [s for s in registry_of(current_app).spaces.values() if s.insurer == insurer and s.code != CODE]


def scoped_accounts() -> Select:
    """The accounts of the agent's insurer: those of its spaces, by exact space key."""
    return select(Account).where(Account.space_key.in_([s.key for s in insurer_spaces()]))


def scoped_account(account_id: int) -> Account:
    """One account of the agent's insurer, or 404 (another insurer's account does not exist here)."""
    account = db.session.scalar(scoped_accounts().where(Account.id == account_id))
    if account is None:
        abort(404)
    return account


def status_labels() -> dict[str, str]:
    """French labels of an account's status."""
    return {
        "active": _("Actif"),
        "locked": _("Verrouillé"),
        "disabled": _("Désactivé"),
        "inactive": _("Inactif"),
    }


def action_labels() -> dict[str, str]:
    """French labels of the audit actions: the core's and the back office's."""
    return {**audit.action_labels(), **{action: str(label) for action, label in ACTIONS.items()}}


# --------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------


class AccountSearchForm(FlaskForm):
    """The search of « Comptes »: a GET form, its values in the address bar."""

    class Meta:
        csrf = False  # a search changes nothing

    login = StringField(_l("Identifiant"), validators=[Optional(), Length(max=190), printable])
    space = SelectField(_l("Espace"), choices=[], validate_choice=False, validators=[one_of_choices])
    status = SelectField(_l("État"), choices=[], validate_choice=False, validators=[one_of_choices])
    email = StringField(_l("Email"), validators=[Optional(), Length(max=254), printable])


def _search_form() -> AccountSearchForm:
    form = AccountSearchForm(formdata=request.args)
    form.space.choices = [("", _("Tous les espaces"))] + [(s.key, _(s.title)) for s in insurer_spaces()]
    form.status.choices = [("", _("Tous les états"))] + list(status_labels().items())
    return form


def _filtered(stmt: Select, form: AccountSearchForm) -> Select:
    """Apply the search: identifier prefix (login or reference), space, status, part of the e-mail."""
    typed = (form.login.data or "").strip().lower()
    if typed:
        stmt = stmt.where(
            or_(
                func.lower(Account.login).startswith(typed, autoescape=True),
                func.lower(Account.tenant_ref).startswith(typed, autoescape=True),
            )
        )
    if form.space.data:
        stmt = stmt.where(Account.space_key == form.space.data)
    if form.status.data:
        stmt = stmt.where(Account.status == form.status.data)
    email = (form.email.data or "").strip().lower()
    if email:
        stmt = stmt.where(func.lower(Account.email).contains(email, autoescape=True))
    return stmt


@backoffice_bp.get("/accounts")
@requires_profile(AGENT_PROFILE)
def accounts():
    """« Comptes »: search the insurer's accounts; bad criteria show their message and no rows."""
    form = _search_form()
    if form.validate():
        page = paginate(_filtered(scoped_accounts(), form).order_by(Account.space_key, Account.login))
    else:
        page = Page([])
    spaces = {s.key: s for s in insurer_spaces()}
    return render(
        "backoffice/accounts.html",
        form=form,
        page=page,
        filters=active_filters(form, "login", "space", "status", "email"),
        spaces=spaces,
        status_labels=status_labels(),
    )


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
        action_labels=action_labels(),
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
    revoke(account)
    if account.password_hash:
        db.session.add(PasswordHistory(account_id=account.id, password_hash=account.password_hash))
    account.password_hash = None
    account.must_change_password = True
    ended = end_other_sessions(account)
    method = "email_link" if space.recovery.kind == "email_link" else "temporary_password"
    if method == "email_link":
        _mail_reset_link(space, account)
    else:
        subject = _("%(name)s : votre mot de passe a été réinitialisé", name=space.insurer_name)
        mail_temporary_password(space, account, subject, "subaccount_password", created=False)
    audit.record("password_reset", account=account, via="agent", method=method, sessions_ended=ended)
    db.session.commit()
    flash(
        _("Le mot de passe de %(login)s est réinitialisé ; un e-mail est envoyé à l'adresse enregistrée.", login=account.login),
        "success",
    )
    return _back_to(account)


def _mail_reset_link(space: Space, account: Account) -> None:
    """A single-use reset link (SAFE-4) to the account's address on record; sensitive in the outbox."""
    raw = issue_link_token(account, "reset")
    queue_mail(
        account.email,
        _("%(name)s : réinitialisation de votre mot de passe", name=space.insurer_name),
        "account_reset_link",
        insurer=space.insurer,
        sensitive=True,
        space=space,
        account=account,
        link=public_url("space.reset_password", token=raw, insurer=space.insurer, space=space.code),
        hours=current_app.config["RESET_LINK_HOURS"],
    )
