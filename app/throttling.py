"""Throttling of the public forms (SAFE-2, SAFE-3): login, « Mot de passe
oublié ? », enrollment. Flask-Limiter counts per client address by default;
these keys also count per account, from whatever address the attempts come."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from flask import current_app, g, request


def identifiers_key(purpose: str, names: Iterable[str] | None = None, typed: Mapping[str, Any] | None = None) -> str:
    """A throttling key made of some typed fields only — by default the space's
    identifier fields and « sous_compte » — so that other fields (an answer, a
    GSM, junk) cannot start a fresh count for the same account. The values are
    read from ``typed`` (default: the posted form)."""
    space = g.get("space")
    if names is None:
        names = [f.name for f in space.identifier_fields] + ["sous_compte"] if space else []
    source = request.form if typed is None else typed
    typed_text = "|".join(f"{name}={str(source.get(name) or '').strip().lower()}" for name in names)
    return f"{purpose}:{space.key if space else ''}:{hashlib.sha256(typed_text.encode()).hexdigest()}"


def recovery_limits() -> str:
    """``RECOVERY_LIMITS``: the limits of the forms that send e-mails to anyone
    who asks (« Mot de passe oublié ? », enrollment), per address and per account."""
    return current_app.config["RECOVERY_LIMITS"]
