"""A test-only insurer, « Assurance Établissements », whose space declares
``profile_field``: an establishment has one main account per profile
(« 123456789/PEC », « 123456789/PAIEMENTS ») and its staff's sub-accounts
belong to the establishment (« 123456789/accueil »), holding PEC and/or
Paiements. Enable it with
``app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_etablissement"]``.
"""
from __future__ import annotations

from flask import Blueprint

from app.plugins import IdentifierField, MenuItem, PasswordPolicy, Profile, RecoveryMethod, Space, hookimpl
from app.spaces import requires_profile

PLUGIN_NAME = "etablissements"
__version__ = "0.0.1"

NATIONAL_ID = IdentifierField(
    name="identifiant",
    label="Identifiant National",
    pattern=r"\d{9}",
    message="L'identifiant national compte 9 chiffres.",
)

PROFILE = IdentifierField(
    name="profil",
    label="Profil",
    choices=(("PEC", "PEC"), ("PAIEMENTS", "Paiements")),
    autocomplete="off",
    widget="radio",
)

pages = Blueprint("etablissements", __name__)


@pages.get("/pec")
@requires_profile("PEC")
def pec() -> str:
    """A page of profile PEC only."""
    return "<!doctype html><title>PEC</title><h1>Prises en charge</h1>"


@pages.get("/paiements")
@requires_profile("PAIEMENTS")
def payments() -> str:
    """A page of profile Paiements only."""
    return "<!doctype html><title>Paiements</title><h1>Paiements</h1>"


SPACE = Space(
    insurer="etablissements",
    code="ps",
    title="Portail des établissements",
    insurer_name="Assurance Établissements",
    identifier_fields=(NATIONAL_ID, PROFILE),
    password_policy=PasswordPolicy(min_length=8, max_length=12, min_digits=2),
    recovery=RecoveryMethod(kind="identity_match", match_fields=("phone", "email")),
    profiles=(Profile("PEC", "Consultation des prises en charge"), Profile("PAIEMENTS", "Consultation des paiements")),
    menu=(
        MenuItem("Prises en charge", "etablissements.pec", profiles=("PEC",)),
        MenuItem("Paiements", "etablissements.payments", profiles=("PAIEMENTS",)),
    ),
    blueprint=pages,
    login_reveal=True,
    account_nature=True,
    profile_field="profil",
)


@hookimpl
def portal_spaces() -> list[Space]:
    return [SPACE]
