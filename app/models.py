"""The core's tables: accounts, their sessions, tokens and secret answers, the
e-mail outbox and the audit trail. Plugins own every other table."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.plugins.manager import registry_of


def utcnow() -> datetime:
    """The current time, UTC, without tzinfo (stored alike on SQLite and PostgreSQL)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Account(UserMixin, db.Model):
    """A login into one space: a main account or a sub-account of one."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("space_key", "login", name="uq_account_login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_key: Mapped[str] = mapped_column(String(80), index=True)
    login: Mapped[str] = mapped_column(String(190))
    #: the insurer's reference of whoever the account acts for (INPE, matricule,
    #: N° adhérent): every query of tenant data is scoped by it
    tenant_ref: Mapped[str] = mapped_column(String(80), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    profiles: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    #: active, inactive (not yet activated), locked (by an agent), disabled (by the main account)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    parent: Mapped[Account | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Account]] = relationship(back_populates="parent")

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_active(self) -> bool:
        """Flask-Login: only active accounts log in; a sub-account also needs an active
        main account: its own, or any of its tenant's when the space has ``profile_field``."""
        if self.status != "active":
            return False
        return self.is_main or any(m.status == "active" for m in self.main_accounts)

    @property
    def is_main(self) -> bool:
        return self.parent_id is None

    @property
    def tenant_wide(self) -> bool:
        """True for a sub-account of a space with ``Space.profile_field``: it belongs
        to its tenant (every main account of it), not to the main account that created it."""
        if self.is_main or not has_app_context():
            return False
        space = registry_of(current_app).spaces.get(self.space_key)
        return space is not None and space.profile_field is not None

    @cached_property
    def main_accounts(self) -> list[Account]:
        """The main accounts a sub-account answers to (none for a main account); read
        once per loaded account, not once per menu entry, widget and profile check."""
        if self.is_main:
            return []
        if not self.tenant_wide:
            return [self.parent] if self.parent is not None else []
        return tenant_main_accounts(self.space_key, self.tenant_ref)

    @property
    def effective_profiles(self) -> list[str]:
        """The profiles the account may use: a sub-account never more than its main
        account (with ``profile_field``: than its tenant's active main accounts together)."""
        own = list(self.profiles or [])
        if self.is_main:
            return own
        if not self.tenant_wide:
            return [p for p in own if self.parent is not None and p in (self.parent.profiles or [])]
        allowed = {p for m in self.main_accounts if m.status == "active" for p in (m.profiles or [])}
        return [p for p in own if p in allowed]

    def has_profile(self, *codes: str) -> bool:
        """True when the account may use any of ``codes`` (or when none is asked)."""
        return not codes or any(c in self.effective_profiles for c in codes)


def tenant_main_accounts(space_key: str, tenant_ref: str) -> list[Account]:
    """The main accounts of a space acting for one tenant (one per profile with ``Space.profile_field``)."""
    return list(
        db.session.scalars(
            select(Account).where(Account.space_key == space_key, Account.tenant_ref == tenant_ref, Account.parent_id.is_(None))
        )
    )


class LoginSession(db.Model):
    """A server-side record of one login, so that logout and password changes
    end sessions for real (a copied cookie stops working)."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of the random id kept in the signed cookie
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    address: Mapped[str | None] = mapped_column(String(64))


class PasswordHistory(db.Model):
    """Hashes of an account's previous passwords, for « différent de l'ancien »."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Token(db.Model):
    """A single-use secret sent to a user: activation or reset link, or a
    temporary password. Only its hash is stored."""

    __tablename__ = "tokens"
    __table_args__ = (Index("ix_tokens_account_purpose", "account_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    #: activation, reset, temporary_password
    purpose: Mapped[str] = mapped_column(String(32))
    #: sha256 hex of a link token, argon2 hash of a temporary password
    secret_hash: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > utcnow()


class SecretAnswer(db.Model):
    """A secret question and its answer, normalised and hashed (SAFE-2)."""

    __tablename__ = "secret_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(255))
    answer_hash: Mapped[str] = mapped_column(String(255))


class OutboxMessage(db.Model):
    """An e-mail, stored in the transaction that causes it, then sent (CORE-9)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    insurer: Mapped[str | None] = mapped_column(String(40), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    #: carries a secret (temporary password, reset link): its body is erased once sent
    sensitive: Mapped[bool] = mapped_column(default=False)
    #: queued, sent
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class AuditEvent(db.Model):
    """One line of the audit trail (« traçabilité des actions », CORE-10)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    insurer: Mapped[str | None] = mapped_column(String(40), index=True)
    space_key: Mapped[str | None] = mapped_column(String(80))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
