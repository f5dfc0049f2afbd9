"""« Nouvelle adhésion » (CNSS-1 to CNSS-3) and « Réinitialisation de compte » (CNSS-7)
of the CNSS space, as the core's flows: the INPE, the form, the printable forms
610-1-14 (private) and 610-1-16 (public), and the two accounts an agent's approval opens.

Imports nothing from ``plugins.cnss.space`` at module level: the space imports the flows."""
from __future__ import annotations

from typing import Any, Mapping

from flask_babel import gettext as _

from app.models import Account
from app.plugins import EnrollmentFlow, EnrollmentSection, EnrollmentStep, ResetRequestFlow
from plugins.cnss.enrollment_forms import AdhesionForm, InpeForm, known_ice, registered
from plugins.cnss.validators import cnie_or_residence_card_error, ice_error, inpe_error

UNKNOWN_INPE = "Cet Identifiant National n'est pas connu de la CNSS : vérifiez-le ou adressez-vous à votre agence CNSS."
ICE_MISMATCH = "L'Identifiant Commun de l'Entreprise ne correspond pas à celui que connaît la CNSS pour cet établissement."
#: the seed's words (003, I-1.2 and 2.4): where the signed form goes
DEPOSIT = (
    "Ce formulaire dûment renseigné, signé et cacheté par le médecin directeur, accompagné de la copie "
    "de sa CNI doivent être déposés à l'agence CNSS contre accusé de réception."
)
PRIVATE_FORM = "cnss/adhesion_prive.html"
PUBLIC_FORM = "cnss/adhesion_public.html"
RESET_FORM = "cnss/reinitialisation.html"
#: the director's fields of Establishment, from the request's (CNSS-1 « Identification du directeur »)
DIRECTOR_FIELDS = {
    "director_last_name": "nom",
    "director_first_name": "prenom",
    "director_inpe": "inpe_directeur",
    "director_cnie": "cnie",
    "director_email": "email",
    "director_gsm": "gsm",
}


def check(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the CNSS's data refutes: an unknown INPE; on the form, the ICE of a private
    establishment (its key, and the one the CNSS knows), the CNIE and the director's INPE."""
    establishment = registered(values.get("inpe"))
    if establishment is None:
        return [("inpe", _(UNKNOWN_INPE))]
    found: list[tuple[str, str]] = []
    if "nom" not in values:  # step 1: nothing else typed yet
        return found
    if not establishment.is_public:
        ice = str(values.get("ice") or "")
        message = ice_error(ice) if ice else _("Ce champ est obligatoire.")
        if message is None and known_ice(establishment) and ice != establishment.ice:
            message = ICE_MISMATCH
        if message:
            found.append(("ice", _(message)))
    for name, error_of in (("inpe_directeur", inpe_error), ("cnie", cnie_or_residence_card_error)):
        message = error_of(str(values.get(name) or ""))
        if message:
            found.append((name, _(message)))
    return found


def prefill(values: Mapping[str, Any]) -> dict[str, Any]:
    """« Identification de l'établissement de soins » as the CNSS knows it."""
    establishment = registered(values.get("inpe"))
    if establishment is None:
        return {}
    return {
        "inpe": establishment.inpe,
        "nom_etablissement": establishment.name,
        "ice": establishment.ice or "",
        "adresse": establishment.address,
        "ville": establishment.city,
    }


def accounts(values: Mapping[str, Any]) -> list[Account]:
    """On approval: the PEC and the Paiements accounts of the establishment (CNSS-3), with
    the director's e-mail and GSM; the establishment keeps the director the request declares."""
    from plugins.cnss.space import PAYMENTS, PEC  # the space imports this module

    inpe = str(values["inpe"])
    establishment = registered(inpe)
    name = establishment.name if establishment else str(values.get("nom_etablissement") or inpe)
    if establishment is not None:
        # committed with the approval (the same transaction), rolled back with a refusal
        for attribute, key in DIRECTOR_FIELDS.items():
            setattr(establishment, attribute, values.get(key) or getattr(establishment, attribute))
        if not establishment.is_public and not known_ice(establishment) and values.get("ice"):
            establishment.ice = values["ice"]
    email, gsm = str(values.get("email") or ""), values.get("gsm") or None
    return [
        Account(login=f"{inpe}/{profile}", tenant_ref=inpe, display_name=name, profiles=[profile], email=email, phone=gsm)
        for profile in (PEC, PAYMENTS)
    ]


def printable(values: Mapping[str, Any]) -> str:
    """610-1-16 for a public establishment, 610-1-14 (with ICE and CNIE) otherwise."""
    establishment = registered(values.get("inpe"))
    public = establishment.is_public if establishment is not None else "ice" not in values
    return PUBLIC_FORM if public else PRIVATE_FORM


ENROLLMENT = EnrollmentFlow(
    kind="reviewed_printable",
    title="Nouvelle adhésion",
    steps=(
        EnrollmentStep(InpeForm, title="Nouvelle Adhésion", submit_label="Valider"),
        EnrollmentStep(
            AdhesionForm,
            title="Veuillez remplir ce formulaire",
            sections=(
                EnrollmentSection(
                    "Identification de l'établissement de soins",
                    ("inpe", "nom_etablissement", "ice", "adresse", "ville"),
                ),
                EnrollmentSection(
                    "Identification du directeur de l'établissement de soins",
                    ("nom", "prenom", "inpe_directeur", "cnie", "email", "gsm", "mentions"),
                ),
            ),
            submit_label="Valider",
        ),
    ),
    identifier="inpe",
    check=check,
    prefill=prefill,
    handler=accounts,
    printable=printable,
    instructions=DEPOSIT,
)

def contact_changed(values: Mapping[str, Any], accounts: list[Account]) -> None:
    """An approved reset request also updates the director's e-mail and GSM in the CNSS's
    registry, so that « Mot de passe oublié ? » and the next forms compare with the new ones."""
    establishment = registered(accounts[0].tenant_ref) if accounts else None
    if establishment is not None:
        establishment.director_email = values.get("email") or establishment.director_email
        establishment.director_gsm = values.get("phone") or establishment.director_gsm


RESET_REQUEST = ResetRequestFlow(identifier="inpe", printable=RESET_FORM, instructions=DEPOSIT, on_approved=contact_changed)
