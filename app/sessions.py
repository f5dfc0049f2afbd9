"""Login sessions kept on the server (SAFE-5) and the gate in front of every
space page: login required, idle timeout, forced password change (CORE-3)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import Flask, abort, current_app, g, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select, update

from app.backoffice import CODE as BACK_OFFICE
from app.extensions import db, login_manager
from app.htmx import redirect_to
from app.models import Account, LoginSession, utcnow
from app.spaces import ACTIVE_PROFILE_KEY

SESSION_KEY = "sid"
#: set when an idle session ends, so that the login page says « Votre session a expiré »
EXPIRED_KEY = "session_expired"


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start_session(account: Account, profile: str | None = None) -> None:
    """Log the account in with a fresh session (a new cookie: no fixation).
    A session this browser still held ends: a copy of its cookie stops working.
    ``profile``: the profile chosen at login; the session then uses that one only."""
    previous = session.get(SESSION_KEY)
    if profile is None and current_user.is_authenticated and current_user.id == account.id:
        profile = session.get(ACTIVE_PROFILE_KEY)  # a new session after a password change keeps the profile chosen
    if previous:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.sid_hash == _hash(previous), LoginSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
    session.clear()
    sid = secrets.token_urlsafe(32)
    db.session.add(LoginSession(sid_hash=_hash(sid), account_id=account.id, address=request.remote_addr))
    session[SESSION_KEY] = sid
    if profile:
        session[ACTIVE_PROFILE_KEY] = profile
    login_user(account)
    account.last_login_at = utcnow()


def end_session() -> None:
    """Log out for real: the server forgets the session, so a copied cookie stops working."""
    sid = session.get(SESSION_KEY)
    if sid:
        db.session.execute(
            update(LoginSession).where(LoginSession.sid_hash == _hash(sid)).values(ended_at=utcnow())
        )
    logout_user()
    session.clear()


def end_other_sessions(account: Account) -> int:
    """End every session of the account but the current one (after a password change or reset)."""
    sid = session.get(SESSION_KEY) if current_user.is_authenticated and current_user.id == account.id else None
    stmt = update(LoginSession).where(LoginSession.account_id == account.id, LoginSession.ended_at.is_(None))
    if sid:
        stmt = stmt.where(LoginSession.sid_hash != _hash(sid))
    return db.session.execute(stmt.values(ended_at=utcnow())).rowcount or 0


@login_manager.user_loader
def load_account(account_id: str) -> Account | None:
    """Flask-Login's loader: the account only while its server-side session lives."""
    sid = session.get(SESSION_KEY)
    if not sid:
        return None
    row = db.session.scalar(select(LoginSession).where(LoginSession.sid_hash == _hash(sid)))
    if row is None or row.ended_at is not None or str(row.account_id) != account_id:
        return None
    now = utcnow()
    if now - row.last_seen_at > timedelta(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"]):
        row.ended_at = now
        db.session.commit()
        # the login page is the next request: tell it, once, why the user is there
        session.pop(SESSION_KEY, None)
        session[EXPIRED_KEY] = True
        return None
    if now - row.last_seen_at > timedelta(seconds=current_app.config["SESSION_TOUCH_SECONDS"]):
        row.last_seen_at = now
        db.session.commit()
    account = db.session.get(Account, row.account_id)
    return account if account is not None and account.is_active else None


def _insurer_of(space_key: str) -> str:
    return space_key.split("/", 1)[0]


def gate():
    """Before every request of a space: anonymous visitors go to the login page
    (``HX-Redirect`` for HTMX requests); an account that must change its
    password reaches nothing but the change form and logout.

    Spaces are independent logins, so an account of another space is sent to
    this space's login page too, except in a back office: there an account of
    another insurer gets 403, so that an agent of one insurer is told plainly
    that another insurer's back office is not theirs (docs/security.md)."""
    space = g.get("space")
    if space is None or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "portal_public", False):
        return None
    if (
        current_user.is_authenticated
        and space.code == BACK_OFFICE
        and _insurer_of(current_user.space_key) != space.insurer
    ):
        abort(403)
    if not current_user.is_authenticated or current_user.space_key != space.key:
        target = url_for("space.login", insurer=space.insurer, space=space.code, next=_safe_next())
        return redirect_to(target)
    if current_user.must_change_password and not getattr(view, "portal_before_change", False):
        return redirect_to(url_for("space.change_password", insurer=space.insurer, space=space.code))
    return None


def _safe_next() -> str | None:
    """Where to come back after login: the full page the user asked for, never a fragment."""
    if request.method != "GET":
        return None
    if request.headers.get("HX-Request") == "true":
        current = request.headers.get("HX-Current-URL", "")
        root = request.host_url.rstrip("/")
        return current[len(root):] if current.startswith(root + "/") else None
    return request.full_path.rstrip("?")


def init_app(app: Flask) -> None:
    login_manager.session_protection = "basic"
    app.before_request(gate)
