"""The space « Portail des professionnels de santé » (seeds 002, 003): its login
fields, password policy, recovery, profiles and branding, as plain data."""
from __future__ import annotations

from flask import Blueprint

from app.plugins import (
    Branding,
    Contact,
    IdentifierField,
    MenuItem,
    PasswordPolicy,
    Profile,
    RecoveryMethod,
    Space,
    Widget,
)
from plugins.cnss.enrollment import ENROLLMENT, RESET_REQUEST
from plugins.cnss.validators import INPE_MESSAGE, INPE_PATTERN

INSURER = "cnss"
CODE = "ps"

#: profile codes, stored on accounts (CNSS-3: one account per profile)
PEC = "PEC"
PAYMENTS = "PAIEMENTS"

#: the space's own pages; the screens (rights, PEC, DR, payments) are added to it
pages = Blueprint("cnss", __name__, template_folder="templates")

INPE_FIELD = IdentifierField(
    name="inpe",
    label="Identifiant National",
    pattern=INPE_PATTERN,
    message=INPE_MESSAGE,
    input_type="text",
)

#: the seed's login asks the profile once the INPE is known (seed 003, 2.2): the PEC
#: and the Paiements accounts of an establishment share its INPE, so the profile is
#: part of the login (« 123456789/PEC »)
PROFILE_FIELD = IdentifierField(
    name="profil",
    label="Profil",
    choices=((PEC, "PEC"), (PAYMENTS, "Paiements")),
    autocomplete="off",
    widget="radio",
)

LEGAL_MENTIONS = (
    "L'accès au portail « Professionnels de la santé » est réservé aux établissements de soins "
    "adhérents et justifié par un besoin purement professionnel. Le directeur de l'établissement "
    "de soins s'engage au respect de la confidentialité des données personnelles des assurés CNSS "
    "et au contrôle de l'accès aux services du portail. Données personnelles traitées conformément "
    "à la loi 09-08."
)

FAQ = (
    (
        "Comment obtenir mon mot de passe ?",
        "Déposez le formulaire d'adhésion, renseigné, signé et cacheté par le médecin directeur, à "
        "l'agence CNSS contre accusé de réception. Le mot de passe est déterminé et communiqué "
        "automatiquement, sans intervention humaine, sur l'adresse mail de la demande.",
    ),
    (
        "Je n'ai pas reçu mon mot de passe.",
        "Vérifiez votre corbeille des courriers indésirables.",
    ),
    (
        "Quels sont les deux comptes créés ?",
        "Le compte « Consultation des prises en charge », destiné aux entités chargées de l'admission "
        "des patients, et le compte « Consultation des paiements », alloué aux services de facturation "
        "et du recouvrement.",
    ),
    (
        "Les périodes de droits affichées sont-elles à jour ?",
        "Les périodes affichées d'ouverture de droits à l'AMO sont régulièrement mises à jour.",
    ),
)

SPACE = Space(
    insurer=INSURER,
    code=CODE,
    title="Portail des professionnels de santé",
    insurer_name="CNSS",
    identifier_fields=(INPE_FIELD, PROFILE_FIELD),
    # CNSS-5: « 6 à 8 caractères », « différent de l'ancien »
    password_policy=PasswordPolicy(min_length=6, max_length=8, history=1),
    # CNSS-6: Identifiant National, Profil, GSM, Email compared with the adhesion's
    recovery=RecoveryMethod(kind="identity_match", match_fields=("phone", "email")),
    profiles=(
        Profile(PEC, "Consultation des prises en charge"),
        Profile(PAYMENTS, "Consultation des paiements"),
    ),
    blueprint=pages,
    enrollment=ENROLLMENT,
    reset_request=RESET_REQUEST,
    menu=(
        MenuItem("Droits assurés", "cnss.rights", profiles=(PEC,)),
        MenuItem("Suivi des demandes de prise en charge", "cnss.pec_list", profiles=(PEC,)),
        MenuItem("Récapitulatif des prises en charge", "cnss.pec_summary_page", profiles=(PEC,)),
        MenuItem("Suivi des dossiers de remboursement", "cnss.dr_files", profiles=(PAYMENTS,)),
        MenuItem("Suivi des paiements", "cnss.payments_home", profiles=(PAYMENTS,)),
        MenuItem("Récapitulatif du suivi des dossiers de remboursement", "cnss.dr_summary", profiles=(PAYMENTS,)),
    ),
    # served by plugins/cnss/widgets.py, each endpoint closed to the other profile
    widgets=(
        Widget("Droits assurés", "cnss.rights_widget", profiles=(PEC,), size="small"),
        Widget("Prises en charge", "cnss.pec_widget", profiles=(PEC,)),
        Widget("Dossiers de remboursement", "cnss.dr_widget", profiles=(PAYMENTS,), size="large"),
        Widget("Derniers virements", "cnss.transfers_widget", profiles=(PAYMENTS,)),
    ),
    subaccounts=True,
    # CNSS-15: the establishment's staff accounts hold PEC and/or Paiements (« 101234567/accueil »)
    profile_field="profil",
    # CNSS-4: « Dès que l'INPE est valide », « Profil » and « Nature de compte » appear
    login_reveal=True,
    account_nature=True,
    branding=Branding(
        name="CNSS — Portail des professionnels de santé",
        primary_colour="#003366",
        accent_colour="#f39200",
        contact=Contact(address="Votre agence CNSS — www.cnss.ma"),
        legal_mentions=LEGAL_MENTIONS,
        faq=FAQ,
    ),
    context_words=("cnss", "sante"),
)
