"""Password resets (SAFE-1, SAFE-4, SAFE-5): one helper sends, to the account's
address on record, a single-use reset link or a temporary password, and
records it in the audit trail. Used by « Mot de passe oublié ? », by a main
account resetting a sub-account and by an agent of the back office."""
from __future__ import annotations

from typing import Any, Literal

from flask import current_app
from flask_babel import gettext as _

from app import audit
from app.extensions import db
from app.mail import queue_mail
from app.models import Account, PasswordHistory
from app.plugins.types import Space
from app.sessions import end_other_sessions
from app.tokens import issue_link_token, mail_temporary_password, public_url, revoke

Method = Literal["email_link", "temporary_password"]
#: who asks: the user (« Mot de passe oublié ? »), or someone else for them
Requester = Literal["user", "agent", "main_account"]


def agent_method(space: Space) -> Method:
    """What an agent's reset sends: a link where the space recovers by e-mailed
    link, a temporary password elsewhere (the seeds' flows mail passwords)."""
    return "email_link" if space.recovery.kind == "email_link" else "temporary_password"


def send_reset(space: Space, account: Account, method: Method, *, by: Requester, **detail: Any) -> bool:
    """Send ``account`` a reset link or a temporary password at its address on
    record, never at an address typed in a request, and audit it; the caller
    commits. False, and nothing done, when the account has no address.

    Asked by the user (``by="user"``), the current password keeps working until
    the secret is used (SAFE-1: knowing someone's details must not lock them
    out); the event is ``password_reset_requested``. Asked by someone else, the
    reset may follow a leak: the old password, links and temporary passwords
    stop working now, the account's sessions end and the change is forced; the
    event is ``password_reset``. Nobody but the user ever sees the secret: it
    is only in the sensitive e-mail, erased from the outbox once sent."""
    if not account.email:
        return False
    forced = by != "user"
    ended = _forget_password(account) if forced else 0
    if method == "email_link":
        _mail_link(space, account, "account_reset_link" if forced else "reset_link")
    elif forced:
        subject = _("%(name)s : votre mot de passe a été réinitialisé", name=space.insurer_name)
        mail_temporary_password(space, account, subject, "subaccount_password", created=False)
    else:
        subject = _("%(name)s : votre mot de passe temporaire", name=space.insurer_name)
        mail_temporary_password(space, account, subject)
    if forced:
        audit.record("password_reset", account=account, via=by, method=method, sessions_ended=ended, **detail)
    else:
        audit.record("password_reset_requested", account=account, actor=account.login, method=method, **detail)
    return True


def _forget_password(account: Account) -> int:
    """Drop the account's password (kept in the history for « différent de
    l'ancien »), revoke what was sent to it, force the change, end its sessions."""
    revoke(account)
    if account.password_hash:
        db.session.add(PasswordHistory(account_id=account.id, password_hash=account.password_hash))
    account.password_hash = None
    account.must_change_password = True
    return end_other_sessions(account)


def _mail_link(space: Space, account: Account, template: str) -> None:
    """A single-use, expiring reset link (SAFE-4), built from ``PUBLIC_URL``; sensitive in the outbox."""
    raw = issue_link_token(account, "reset")
    queue_mail(
        account.email,
        _("%(name)s : réinitialisation de votre mot de passe", name=space.insurer_name),
        template,
        insurer=space.insurer,
        sensitive=True,
        space=space,
        account=account,
        link=public_url("space.reset_password", token=raw, insurer=space.insurer, space=space.code),
        hours=current_app.config["RESET_LINK_HOURS"],
    )
