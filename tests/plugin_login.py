"""A test-only insurer, « Assurance Connexion », whose space asks for its login
progressively, like the seed's health-professional portal (seed 003, 2.2): the
« Identifiant National » first; once its format is valid, « Profil » (radio
buttons), « Nature de compte » (« Principal » / « Secondaire », with the
sub-account's identifier for « Secondaire »), then « Mot de passe ». Enable it
with ``app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_login"]``.
"""
from __future__ import annotations

from app.plugins import IdentifierField, PasswordPolicy, Profile, RecoveryMethod, Space, hookimpl

PLUGIN_NAME = "connexion"
__version__ = "0.0.1"

NATIONAL_ID = IdentifierField(
    name="identifiant",
    label="Identifiant National",
    pattern=r"\d{9}",
    message="L'identifiant national compte 9 chiffres.",
)

#: the profile is part of the login (« 123456789/PEC »): one account per profile
PROFILE = IdentifierField(
    name="profil",
    label="Profil",
    choices=(("PEC", "PEC"), ("PAIEMENTS", "Paiements")),
    autocomplete="off",
    widget="radio",
)

SPACE = Space(
    insurer="connexion",
    code="ps",
    title="Portail des prestataires",
    insurer_name="Assurance Connexion",
    identifier_fields=(NATIONAL_ID, PROFILE),
    password_policy=PasswordPolicy(min_length=6, max_length=8),
    recovery=RecoveryMethod(kind="identity_match", match_fields=("phone", "email")),
    profiles=(Profile("PEC", "Consultation des prises en charge"), Profile("PAIEMENTS", "Consultation des paiements")),
    login_reveal=True,
    account_nature=True,
)


@hookimpl
def portal_spaces() -> list[Space]:
    return [SPACE]
