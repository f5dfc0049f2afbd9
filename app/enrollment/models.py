"""Requests reviewed by an agent and their history: enrollment requests
(« demandes d'adhésion ») and account reset requests (« demandes de
réinitialisation »), one table told apart by ``kind``."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import utcnow

#: the states of a request, in the order a request goes through them
STATES = ("submitted", "received", "approved", "rejected")
#: states in which an agent still has to act
PENDING_STATES = ("submitted", "received")
#: who acted when the applicant did (the history's « Par » column)
APPLICANT = "demandeur"
#: what a request asks: an enrollment (CORE-7) or an account reset (CORE-11, « Réinitialisation de compte »)
KINDS = ("enrollment", "reset")
#: the SQL condition of a pending request, for the partial unique index
_PENDING_SQL = "state IN (" + ", ".join(f"'{state}'" for state in PENDING_STATES) + ")"


class EnrollmentRequest(db.Model):
    """A request reviewed by an agent: to open an account (``kind`` « enrollment »,
    flows b and c of CORE-7) or to reset one (« reset »: « Réinitialisation de
    compte », the new e-mail and GSM in ``values``).

    ``values`` is the submitted form without any password nor secret answer;
    a password the applicant chose is kept as its argon2 hash only."""

    __tablename__ = "enrollment_requests"
    __table_args__ = (
        Index("ix_enrollment_space_identifier", "space_key", "identifier"),
        Index("ix_enrollment_insurer_state_created", "insurer", "state", "created_at"),
        # one pending request per identifier and kind, even when two submissions race
        Index(
            "uq_enrollment_pending",
            "space_key",
            "identifier",
            "kind",
            unique=True,
            sqlite_where=text(_PENDING_SQL),
            postgresql_where=text(_PENDING_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: shown to the applicant and to agents: « 7KQ2-M9XP »
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    #: « enrollment » (an account to open) or « reset » (an account to reset)
    kind: Mapped[str] = mapped_column(String(16), default="enrollment", server_default="enrollment")
    insurer: Mapped[str] = mapped_column(String(40))
    space_key: Mapped[str] = mapped_column(String(80))
    #: the value of the flow's identifier field (INPE, matricule, N° adhérent)
    identifier: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254), index=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: a password the applicant chose (argon2id), set on the accounts at approval
    password_hash: Mapped[str | None] = mapped_column(String(255))
    secret_question: Mapped[str | None] = mapped_column(String(255))
    secret_answer_hash: Mapped[str | None] = mapped_column(String(255))
    #: submitted, received (signed form deposited), approved, rejected
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)

    events: Mapped[list[EnrollmentEvent]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="EnrollmentEvent.id"
    )

    @property
    def is_pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def is_reset(self) -> bool:
        """True for a « Réinitialisation de compte » request."""
        return self.kind == "reset"


class EnrollmentEvent(db.Model):
    """One step of a request's history: who (an agent's login or « demandeur »), when, what, why."""

    __tablename__ = "enrollment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("enrollment_requests.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    #: submitted, received, approved, rejected
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)

    request: Mapped[EnrollmentRequest] = relationship(back_populates="events")


def state_labels() -> dict[str, str]:
    """French labels of the states (also the history's actions)."""
    from flask_babel import gettext as _

    return {
        "submitted": _("Soumise"),
        "received": _("Formulaire reçu"),
        "approved": _("Approuvée"),
        "rejected": _("Rejetée"),
    }


def event_labels() -> dict[str, str]:
    """French labels of the steps of a request's history."""
    from flask_babel import gettext as _

    return {
        "submitted": _("Demande envoyée"),
        "received": _("Formulaire signé reçu"),
        "approved": _("Demande approuvée"),
        "rejected": _("Demande rejetée"),
    }
