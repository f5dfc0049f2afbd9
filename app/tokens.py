"""Single-use secrets sent to users (SAFE-1, SAFE-4): link tokens and temporary passwords.

Link tokens carry 256 random bits and are stored as their SHA-256; temporary
passwords are stored as argon2 hashes. A newer request of the same purpose and
any password change revoke the older ones.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select, update

from app.extensions import db
from app.models import Account, PasswordHistory, Token, utcnow
from app.mail import queue_mail
from app.passwords import effective_policy, generate_temporary_password, hash_password, verify_password
from app.plugins.types import Space

LIFETIME_SETTING = {
    "activation": "ACTIVATION_LINK_HOURS",
    "reset": "RESET_LINK_HOURS",
    "temporary_password": "TEMPORARY_PASSWORD_HOURS",
}


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def revoke(account: Account, *purposes: str) -> None:
    """Revoke the account's unused tokens of these purposes (all when none is named)."""
    stmt = update(Token).where(Token.account_id == account.id, Token.used_at.is_(None), Token.revoked_at.is_(None))
    if purposes:
        stmt = stmt.where(Token.purpose.in_(purposes))
    db.session.execute(stmt.values(revoked_at=utcnow()))


def _issue(account: Account, purpose: str, secret_hash: str) -> Token:
    revoke(account, purpose)
    hours = current_app.config[LIFETIME_SETTING[purpose]]
    token = Token(account_id=account.id, purpose=purpose, secret_hash=secret_hash, expires_at=utcnow() + timedelta(hours=hours))
    db.session.add(token)
    return token


def issue_link_token(account: Account, purpose: str) -> str:
    """Create an activation or reset token and return the raw value for the link."""
    raw = secrets.token_urlsafe(32)
    _issue(account, purpose, _digest(raw))
    return raw


def find_link_token(raw: str, purpose: str) -> Token | None:
    """The usable token behind a link, or None (unknown, used, revoked or expired)."""
    if not raw or len(raw) > 100:
        return None
    token = db.session.scalar(select(Token).where(Token.secret_hash == _digest(raw), Token.purpose == purpose))
    return token if token is not None and token.is_usable else None


def issue_temporary_password(account: Account, policy) -> str:
    """Create a temporary password (SAFE-1) and return it in clear, for the e-mail only.

    The account's current password keeps working until the temporary one is used."""
    password = generate_temporary_password(policy)
    _issue(account, "temporary_password", hash_password(password))
    return password


def mail_temporary_password(space: Space, account: Account, subject: str, template: str = "temporary_password", **context: Any) -> None:
    """Issue a temporary password (SAFE-1) and queue it to the account's own
    address on record, never to an address typed in a request. The message is
    sensitive: its body is erased from the outbox once sent."""
    password = issue_temporary_password(account, effective_policy(space))
    queue_mail(
        account.email,
        subject,
        template,
        insurer=space.insurer,
        sensitive=True,
        space=space,
        account=account,
        password=password,
        hours=current_app.config["TEMPORARY_PASSWORD_HOURS"],
        login_url=public_url("space.login", insurer=space.insurer, space=space.code),
        **context,
    )


def use_temporary_password(account: Account, password: str) -> bool:
    """When ``password`` is one of the account's live temporary passwords, mark it
    used and force the change; True if so.

    It serves once (SAFE-1): the account is left without a password until the
    forced change, so neither the old password nor the temporary one logs in
    again (the old hash is kept in the history for « différent de l'ancien »)."""
    tokens = db.session.scalars(
        select(Token).where(
            Token.account_id == account.id,
            Token.purpose == "temporary_password",
            Token.used_at.is_(None),
            Token.revoked_at.is_(None),
            Token.expires_at > utcnow(),
        )
    ).all()
    for token in tokens:
        if verify_password(token.secret_hash, password):
            token.used_at = utcnow()
            if account.password_hash:
                db.session.add(PasswordHistory(account_id=account.id, password_hash=account.password_hash))
            account.password_hash = None
            account.must_change_password = True
            return True
    return False


def public_url(endpoint: str, **values) -> str:
    """An absolute link built from ``PUBLIC_URL``, never from the request's Host header."""
    path = url_for(endpoint, _external=False, **values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path
