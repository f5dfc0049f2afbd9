"""A test-only insurer, « Caisse Exemple », whose spaces enroll through an agent
(CORE-7 b and c): it proves that a plugin declares a reviewed enrollment with
data only — forms, a check against its registry, a handler creating the
accounts — and that the core serves the rest. Enable it with
``app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_enrollment"]``.

- « pro » (b, reviewed): « Création de compte », one step, one account;
- « entreprise » (c, reviewed_printable): « Nouvelle adhésion », step 1 the
  N° adhérent, step 2 a two-part form prefilled from the registry; two
  accounts, profile PEC and profile PAIE, like an establishment's;
- « delegues » (c): « Abonnement », the delegate chooses the password in the
  form; approval mails a reminder of the login, never the password.

« entreprise » also declares « Réinitialisation de compte » (CORE-11,
CNSS-7): its two accounts (PEC and PAIE) are reset together.
"""
from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Email, Length, Regexp

from app.enrollment.forms import ChosenPassword
from app.models import Account
from app.plugins import (
    EnrollmentFlow,
    EnrollmentSection,
    EnrollmentStep,
    IdentifierField,
    PasswordPolicy,
    Profile,
    ResetRequestFlow,
    Space,
    hookimpl,
)

PLUGIN_NAME = "caisse"
__version__ = "0.0.1"

INSURER = "caisse"
INSURER_NAME = "Caisse Exemple"

#: the insurer's registries the enrollments are checked against
PRACTITIONERS = {"00000411": "Cabinet Atlas", "00000412": "Clinique Andalous"}
COMPANIES = {"4242": "Société Atlas", "4243": "Société Rif"}

REQUIRED = DataRequired(message=_l("Ce champ est obligatoire."))


def at_most(count: int) -> Length:
    return Length(max=count, message=_l("%(max)d caractères au plus."))


EMAIL = [REQUIRED, Email(message=_l("Adresse e-mail invalide.")), at_most(254)]


def _digits(count: str, message: str) -> Regexp:
    return Regexp(rf"\d{{{count}}}\Z", message=message)


# --------------------------------------------------------------------------
# (b) « pro »: one form, one account, a temporary password on approval
# --------------------------------------------------------------------------


class PractitionerForm(FlaskForm):
    code = StringField(_l("Code praticien"), validators=[REQUIRED, _digits("8", "Le code praticien compte 8 chiffres.")])
    correspondant = StringField(_l("Nom du correspondant"), validators=[REQUIRED, at_most(100)])
    email = StringField(_l("Adresse mail"), validators=EMAIL)


def known_practitioner(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    if values.get("code") not in PRACTITIONERS:
        return [("code", "Ce code praticien est inconnu de la Caisse Exemple.")]
    return []


def practitioner_account(values: Mapping[str, Any]) -> list[Account]:
    return [Account(login=values["code"], display_name=values["correspondant"], profiles=["CONSULT"])]


PRO = Space(
    insurer=INSURER,
    code="pro",
    title="Espace professionnels",
    insurer_name=INSURER_NAME,
    identifier_fields=(IdentifierField("code", "Code praticien", pattern=r"\d{8}", message="Le code praticien compte 8 chiffres."),),
    profiles=(Profile("CONSULT", "Consultation"),),
    subaccounts=False,
    enrollment=EnrollmentFlow(
        kind="reviewed",
        title="Création de compte",
        steps=(EnrollmentStep(PractitionerForm, submit_label="Envoyer"),),
        identifier="code",
        check=known_practitioner,
        handler=practitioner_account,
        instructions="Un conseiller examine votre demande.",
    ),
)

# --------------------------------------------------------------------------
# (c) « entreprise »: two steps, a printable form, two accounts
# --------------------------------------------------------------------------


class CompanyNumberForm(FlaskForm):
    adherent = StringField(_l("N° Adhérent"), validators=[REQUIRED, _digits("1,10", "Le N° adhérent compte de 1 à 10 chiffres.")])


class CompanyForm(FlaskForm):
    raison_sociale = StringField(_l("Raison sociale"), validators=[REQUIRED, at_most(200)])
    ville = StringField(_l("Ville"), validators=[REQUIRED, at_most(100)])
    nom = StringField(_l("Nom"), validators=[REQUIRED, at_most(100)])
    prenom = StringField(_l("Prénom"), validators=[REQUIRED, at_most(100)])
    email = StringField(_l("Email"), validators=EMAIL)
    mentions = BooleanField(
        _l("J'ai lu et j'accepte les mentions légales"),
        validators=[DataRequired(message=_l("Vous devez accepter les mentions légales."))],
    )


def known_company(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    if values.get("adherent") not in COMPANIES:
        return [("adherent", "Ce N° adhérent est inconnu de la Caisse Exemple.")]
    return []


def company_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    """What the registry knows already: shown in step 2."""
    return {"raison_sociale": COMPANIES.get(values.get("adherent"), "")}


def company_accounts(values: Mapping[str, Any]) -> list[Account]:
    """Two accounts, one per profile, like an establishment's PEC and Paiements accounts."""
    name = f"{values['prenom']} {values['nom']}"
    return [
        Account(login=f"{values['adherent']}/PEC", display_name=name, profiles=["PEC"]),
        Account(login=f"{values['adherent']}/PAIE", display_name=name, profiles=["PAIE"]),
    ]


ENTREPRISE = Space(
    insurer=INSURER,
    code="entreprise",
    title="Espace entreprises",
    insurer_name=INSURER_NAME,
    identifier_fields=(
        IdentifierField("adherent", "N° Adhérent", pattern=r"\d{1,10}", message="Le N° adhérent compte de 1 à 10 chiffres."),
        IdentifierField("profil", "Profil", choices=(("PEC", "Prises en charge"), ("PAIE", "Paiements"))),
    ),
    profiles=(Profile("PEC", "Consultation des prises en charge"), Profile("PAIE", "Consultation des paiements")),
    subaccounts=False,
    enrollment=EnrollmentFlow(
        kind="reviewed_printable",
        title="Nouvelle adhésion",
        steps=(
            EnrollmentStep(CompanyNumberForm, title="Identification"),
            EnrollmentStep(
                CompanyForm,
                title="Formulaire d'adhésion",
                sections=(
                    EnrollmentSection("Informations générales", ("raison_sociale", "ville")),
                    EnrollmentSection("Responsable de l'entreprise", ("nom", "prenom", "email")),
                ),
            ),
        ),
        identifier="adherent",
        check=known_company,
        prefill=company_defaults,
        handler=company_accounts,
        instructions="Déposez le formulaire signé et cacheté à votre agence.",
    ),
    reset_request=ResetRequestFlow(
        identifier="adherent",
        instructions="Ce formulaire dûment renseigné, signé et cacheté par le directeur, accompagné de la copie de sa CNI, est à déposer à votre agence contre accusé de réception.",
    ),
)

# --------------------------------------------------------------------------
# (c) « delegues »: the delegate chooses the password in the form
# --------------------------------------------------------------------------


class SubscriptionForm(ChosenPassword, FlaskForm):
    adherent = StringField(_l("N° Adhérent"), validators=[REQUIRED, _digits("1,10", "Le N° adhérent compte de 1 à 10 chiffres.")])
    nom = StringField(_l("Nom du délégué"), validators=[REQUIRED, at_most(100)])
    email = StringField(_l("Email"), validators=EMAIL)


def delegate_account(values: Mapping[str, Any]) -> list[Account]:
    return [Account(login=values["adherent"], display_name=values["nom"], profiles=["ADMIN"])]


DELEGUES = Space(
    insurer=INSURER,
    code="delegues",
    title="Espace délégués",
    insurer_name=INSURER_NAME,
    identifier_fields=(IdentifierField("adherent", "N° Adhérent", pattern=r"\d{1,10}", message="Le N° adhérent compte de 1 à 10 chiffres."),),
    password_policy=PasswordPolicy(min_length=5, max_length=10, allowed="[A-Za-z0-9]", allowed_label="Lettres et chiffres uniquement"),
    profiles=(Profile("ADMIN", "Administrateur des utilisateurs"),),
    subaccounts=False,
    enrollment=EnrollmentFlow(
        kind="reviewed_printable",
        title="Abonnement",
        steps=(EnrollmentStep(SubscriptionForm),),
        identifier="adherent",
        check=known_company,
        handler=delegate_account,
    ),
)


@hookimpl
def portal_spaces() -> list[Space]:
    return [PRO, ENTREPRISE, DELEGUES]
