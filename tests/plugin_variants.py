"""A second test-only insurer, « Assurance Variantes », with one space per other
recovery method of « Mot de passe oublié ? » (CORE-5): secret question,
identity match and administrator reset. Enable it with
``app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_variants"]``.

The « admin » space also has a page that checks the account's profile, so
that tests can prove a sub-account never reaches more than its main account.
"""
from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from app.plugins import IdentifierField, MenuItem, PasswordPolicy, Profile, RecoveryMethod, Space, hookimpl

PLUGIN_NAME = "variantes"
__version__ = "0.0.1"

INSURER = "variantes"
INSURER_NAME = "Assurance Variantes"

MEMBER_NUMBER = IdentifierField(
    name="adherent",
    label="Numéro d'adhérent",
    pattern=r"\d{1,10}",
    message="Le numéro d'adhérent compte de 1 à 10 chiffres.",
)

POLICY = PasswordPolicy(min_length=8, max_length=12, min_digits=2)

PROFILES = (Profile("CONSULT", "Consultation"), Profile("PAIE", "Paiements"))

QUESTIONS = (
    "Quel est le nom de votre ville de naissance ?",
    "Quel est le prénom de votre grand-mère ?",
    "Quel était le nom de votre premier animal ?",
)

ADMIN_INSTRUCTIONS = "Adressez-vous à l'administrateur de votre entreprise."

admin_pages = Blueprint("variantes_admin", __name__)


@admin_pages.get("/paiements")
def payments():
    """A page of the « admin » space reserved to profile PAIE (checked here, by the plugin)."""
    if not current_user.has_profile("PAIE"):
        abort(403)
    return "<!doctype html><title>Paiements</title><h1>Paiements</h1>"


def _space(code: str, title: str, recovery: RecoveryMethod, **extra) -> Space:
    return Space(
        insurer=INSURER,
        code=code,
        title=title,
        insurer_name=INSURER_NAME,
        identifier_fields=(MEMBER_NUMBER,),
        password_policy=POLICY,
        recovery=recovery,
        profiles=PROFILES,
        **extra,
    )


QUESTION_SPACE = _space("question", "Espace question secrète", RecoveryMethod(kind="secret_question", questions=QUESTIONS))
IDENTITY_SPACE = _space(
    "identite", "Espace identité", RecoveryMethod(kind="identity_match", match_fields=("phone", "email"))
)
ADMIN_SPACE = _space(
    "admin",
    "Espace entreprise",
    RecoveryMethod(kind="admin_reset", instructions=ADMIN_INSTRUCTIONS),
    menu=(MenuItem("Paiements", "variantes_admin.payments", profiles=("PAIE",)),),
    blueprint=admin_pages,
)


@hookimpl
def portal_spaces() -> list[Space]:
    return [QUESTION_SPACE, IDENTITY_SPACE, ADMIN_SPACE]
