"""The audit trail (CORE-10): one helper records an event in the current transaction."""
from __future__ import annotations

from typing import Any

from flask import current_app, g, has_request_context, request
from flask_login import current_user

from app.extensions import db
from app.models import Account, AuditEvent

#: keys whose values never reach the audit trail
SECRET_KEYS = ("password", "token", "answer", "secret", "mot_de_passe", "csrf")


def _clean(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in detail.items()
        if not any(word in key.lower() for word in SECRET_KEYS)
    }


def record(action: str, *, account: Account | None = None, actor: str | None = None, **detail: Any) -> AuditEvent:
    """Add an audit event to the session; it is committed with the change it records.

    ``account`` is whose history it belongs to; ``actor`` who acted (defaults to
    the logged-in account's login); ``detail`` is free data, secrets filtered out.
    """
    space = g.get("space") if has_request_context() else None
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user.login
    space_key = account.space_key if account is not None else (space.key if space else None)
    event = AuditEvent(
        insurer=space_key.split("/")[0] if space_key else None,
        space_key=space_key,
        account_id=account.id if account is not None else None,
        actor=actor or "",
        action=action,
        address=request.remote_addr if has_request_context() else None,
        detail=_clean(detail),
    )
    db.session.add(event)
    return event


def action_labels() -> dict[str, str]:
    """French labels of every audit action, the core's and the plugins' (hook
    ``portal_audit_labels``): the user's history and the back office's trail show
    the same words. A plugin cannot rename a core action."""
    from flask_babel import gettext as _

    from app.plugins.manager import registry_of

    plugins: dict[str, str] = {}
    for labels in registry_of(current_app).pm.hook.portal_audit_labels():
        plugins.update({action: _(label) for action, label in (labels or {}).items()})
    return plugins | _core_labels()


def _core_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {
        "login": _("Connexion"),
        "login_failed": _("Échec de connexion"),
        "logout": _("Déconnexion"),
        "password_changed": _("Modification du mot de passe"),
        "password_reset_requested": _("Demande de mot de passe oublié"),
        "password_reset": _("Réinitialisation du mot de passe"),
        "secret_answer": _("Réponse à la question secrète"),
        "subaccount_created": _("Création d'un sous-compte"),
        "subaccount_profiles_changed": _("Modification des profils d'un sous-compte"),
        "subaccount_reset": _("Réinitialisation du mot de passe d'un sous-compte"),
        "subaccount_disabled": _("Désactivation d'un sous-compte"),
        "subaccount_enabled": _("Réactivation d'un sous-compte"),
        "subaccount_deleted": _("Suppression d'un sous-compte"),
        "export": _("Export"),
        "account_enrolled": _("Création de compte"),
        "account_activated": _("Activation du compte"),
        "enrollment_submitted": _("Demande d'adhésion envoyée"),
        "enrollment_received": _("Formulaire d'adhésion reçu"),
        "enrollment_approved": _("Demande d'adhésion approuvée"),
        "enrollment_rejected": _("Demande d'adhésion rejetée"),
        "reset_request_submitted": _("Demande de réinitialisation de compte envoyée"),
        "reset_request_received": _("Formulaire de réinitialisation de compte reçu"),
        "reset_request_approved": _("Demande de réinitialisation de compte approuvée"),
        "reset_request_rejected": _("Demande de réinitialisation de compte rejetée"),
        "import": _("Import de données"),
        "import_failed": _("Import de données refusé"),
        "account_locked": _("Verrouillage du compte par un gestionnaire"),
        "account_unlocked": _("Déverrouillage du compte par un gestionnaire"),
        "outbox_retried": _("Renvoi de messages de la boîte d'envoi"),
    }
