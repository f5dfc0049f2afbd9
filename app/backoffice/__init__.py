"""The agents' back office (« espace gestionnaire », CORE-11): one space per
insurer at ``/<insurer>/gestion/``, declared by the core, not by the plugins.

Agents are accounts of that space: they get the core's login, throttling,
forced password change, password change and history like every user. The
back office's own pages live on ``backoffice_bp``; each page scopes its
queries to the agent's insurer (``current_insurer()``).
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, g
from sqlalchemy import select

from app.extensions import db
from app.models import Account
from app.passwords import context_words_for, effective_policy, problems, set_password
from app.plugins.manager import registry_of
from app.plugins.types import IdentifierField, MenuItem, PasswordPolicy, Profile, RecoveryMethod, Space

CODE = "gestion"
AGENT_PROFILE = "AGENT"

backoffice_bp = Blueprint("backoffice", __name__, url_prefix="/<insurer>/gestion")

AGENT_LOGIN = IdentifierField(
    name="identifiant",
    label="Identifiant",
    pattern=r"[a-z0-9._-]{3,40}",
    message="L'identifiant compte de 3 à 40 caractères : lettres minuscules, chiffres, point, tiret.",
    transform="lower",
)

#: the back office's pages, in menu order; each feature adds its entry here
MENU: tuple[MenuItem, ...] = (
    MenuItem("Demandes d'adhésion", "backoffice.enrollments", profiles=(AGENT_PROFILE,)),
    MenuItem("Demandes de réinitialisation", "backoffice.reset_requests", profiles=(AGENT_PROFILE,)),
    MenuItem("Comptes", "backoffice.accounts", profiles=(AGENT_PROFILE,)),
    MenuItem("Imports", "backoffice.imports", profiles=(AGENT_PROFILE,)),
    MenuItem("Traçabilité", "backoffice.audit", profiles=(AGENT_PROFILE,)),
    MenuItem("Boîte d'envoi", "backoffice.outbox", profiles=(AGENT_PROFILE,)),
)


def backoffice_space(model: Space) -> Space:
    """The back office space of ``model``'s insurer, branded like it."""
    return Space(
        insurer=model.insurer,
        code=CODE,
        title="Espace gestionnaire",
        insurer_name=model.insurer_name,
        identifier_fields=(AGENT_LOGIN,),
        # agents hold the keys to every account: the long passwords ASVS asks for
        password_policy=PasswordPolicy(min_length=12, max_length=128, history=5),
        recovery=RecoveryMethod(
            kind="admin_reset",
            instructions="Le mot de passe d'un gestionnaire est réinitialisé par l'administrateur du portail.",
        ),
        profiles=(Profile(AGENT_PROFILE, "Gestionnaire"),),
        menu=MENU,
        subaccounts=False,
        branding=model.branding,
    )


def current_insurer() -> str:
    """The insurer of the back office being served: every query of a back office page is scoped by it."""
    return g.space.insurer


def create_agent(
    insurer: str, login: str, password: str, *, name: str = "", email: str | None = None, must_change: bool = True
) -> Account:
    """Add an agent of ``insurer``'s back office to the session (the caller commits).

    The password is checked against the back office's policy; ``must_change``
    forces its change at first login (a password someone else chose)."""
    registry = registry_of(current_app)
    space = registry.space(insurer, CODE)
    if space is None:
        raise ValueError(f"aucun espace gestionnaire pour l'organisme « {insurer} »")
    login = AGENT_LOGIN.normalise(login)
    if not AGENT_LOGIN.is_valid(login):
        raise ValueError(AGENT_LOGIN.message or "identifiant invalide")
    if db.session.scalar(select(Account.id).where(Account.space_key == space.key, Account.login == login)):
        raise ValueError(f"le gestionnaire {login} existe déjà")
    account = Account(space_key=space.key, login=login, tenant_ref=insurer, display_name=name, email=email, profiles=[AGENT_PROFILE])
    errors = problems(effective_policy(space), password, context_words=context_words_for(space, account))
    if errors:
        raise ValueError("mot de passe refusé : " + " ; ".join(errors))
    set_password(account, password, must_change=must_change)
    db.session.add(account)
    return account


def init_app(app: Flask) -> None:
    """Declare a back office space for every insurer that has a space, and mount its pages."""
    registry = registry_of(app)
    for space in list(registry.spaces.values()):
        key = f"{space.insurer}/{CODE}"
        if key not in registry.spaces:
            registry.spaces[key] = backoffice_space(space)
    from app.backoffice import accounts, audit, outbox  # noqa: F401  (their routes, on backoffice_bp)
    from app.backoffice import enrollments  # noqa: F401  (the enrollment queue, on backoffice_bp)
    from app.backoffice import imports as import_pages  # « Imports » (CORE-13)

    import_pages.init_app(app)

    app.register_blueprint(backoffice_bp)
