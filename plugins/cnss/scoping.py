"""Tenant scoping in one place (CNSS-16): an establishment sees only its own PEC, DR,
transfers and payments. Views and lists take their queries or conditions from here,
never an INPE from the request."""
from __future__ import annotations

from typing import TypeVar

from flask_login import current_user
from sqlalchemy import ColumnElement, Select, select

from app.models import Account
from plugins.cnss.models import TENANT_MODELS
from plugins.cnss.space import SPACE

Model = TypeVar("Model")


def establishment_of(account: Account | None = None) -> str:
    """The INPE an account acts for (its ``tenant_ref``; a sub-account has its main
    account's). Without an account: the logged-in one. Refuses anyone who is not
    logged into the CNSS space, so that a scope can never widen by mistake."""
    account = account if account is not None else current_user
    if not getattr(account, "is_authenticated", False) or getattr(account, "space_key", None) != SPACE.key:
        raise PermissionError("no establishment: not logged into the CNSS space")
    return account.tenant_ref


def own_rows(model: type, account: Account | None = None) -> ColumnElement[bool]:
    """The SQL condition of the establishment's rows of ``model`` (``SearchList.scope``:
    ``scope=lambda: own_rows(ReimbursementFile)``)."""
    if model not in TENANT_MODELS:
        raise TypeError(f"{model.__name__} is not scoped by establishment")
    return model.inpe == establishment_of(account)


def scoped(model: type[Model], account: Account | None = None) -> Select[tuple[Model]]:
    """``select(model)`` limited to the establishment's rows: the base query of every view."""
    return select(model).where(own_rows(model, account))
