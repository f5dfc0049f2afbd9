"""Tables of the test-only insurer: the member's statements (« relevés »)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class Statement(db.Model):
    """Un relevé de remboursement d'un adhérent de la Mutuelle Exemple."""

    __tablename__ = "exemple_statements"
    __table_args__ = (Index("ix_exemple_statements_member_date", "member_number", "paid_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the tenant reference: the member number (« Numéro d'adhérent »)
    member_number: Mapped[str] = mapped_column(String(10), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    paid_on: Mapped[date] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(20), default="Payé", index=True)
