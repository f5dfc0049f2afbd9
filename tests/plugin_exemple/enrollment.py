"""« Création de compte » of the test insurer's space (CORE-7 a, self-service):
the member proves who they are against the member registry, chooses a password
and a secret question, and activates the account from the e-mailed link."""
from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Regexp

from app.enrollment.forms import ChosenPassword, SecretQuestion
from app.models import Account
from app.plugins import EnrollmentFlow, EnrollmentSection, EnrollmentStep

#: the member registry the enrollment is checked against: number → (name, birth date)
MEMBERS = {"1002": ("Benali", "1990-05-17"), "1003": ("Alaoui", "1978-11-02")}

QUESTIONS = (
    "Quel est le nom de votre ville de naissance ?",
    "Quel est le prénom de votre grand-mère ?",
)

REQUIRED = DataRequired(message=_l("Ce champ est obligatoire."))


def at_most(count: int) -> Length:
    return Length(max=count, message=_l("%(max)d caractères au plus."))


class AccountCreationForm(ChosenPassword, SecretQuestion, FlaskForm):
    """« Vos informations personnelles » then « Vos identifiants »."""

    adherent = StringField(
        _l("Numéro d'adhérent"),
        validators=[REQUIRED, Regexp(r"\d{1,10}\Z", message=_l("Le numéro d'adhérent compte de 1 à 10 chiffres."))],
    )
    nom = StringField(_l("Nom"), validators=[REQUIRED, at_most(100)])
    date_naissance = DateField(
        _l("Date de naissance"),
        format=["%Y-%m-%d", "%d/%m/%Y"],
        validators=[REQUIRED],
        invalid_value_message=_l("Date invalide : saisissez-la sous la forme jj/mm/aaaa."),
    )
    email = StringField(
        _l("Adresse e-mail"), validators=[REQUIRED, Email(message=_l("Adresse e-mail invalide.")), at_most(254)]
    )
    secret_question = SelectField(
        _l("Question secrète"),
        choices=[SelectChoice(q, q) for q in QUESTIONS],
        invalid_choice_message=_l("Choisissez une des questions proposées."),
    )


def check_member(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Number, name and birth date must match one member of the registry."""
    member = MEMBERS.get(str(values.get("adherent")))
    name = str(values.get("nom") or "").strip().lower()
    if member is None or member[0].lower() != name or member[1] != values.get("date_naissance"):
        return [("adherent", "Ces informations ne correspondent à aucun adhérent de la Mutuelle Exemple.")]
    return []


def member_account(values: Mapping[str, Any]) -> list[Account]:
    """One account per member, its login the member number."""
    return [
        Account(
            login=values["adherent"],
            tenant_ref=values["adherent"],
            display_name=values["nom"],
            email=values["email"],
            profiles=["CONSULT", "PAIE"],
        )
    ]


ENROLLMENT = EnrollmentFlow(
    kind="self_service",
    title="Création de compte",
    steps=(
        EnrollmentStep(
            AccountCreationForm,
            sections=(
                EnrollmentSection("Vos informations personnelles", ("adherent", "nom", "date_naissance")),
                EnrollmentSection(
                    "Vos identifiants", ("email", "new_password", "confirmation", "secret_question", "secret_answer")
                ),
            ),
        ),
    ),
    identifier="adherent",
    check=check_member,
    handler=member_account,
)
