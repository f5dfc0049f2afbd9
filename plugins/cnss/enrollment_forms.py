"""The two pages of « Nouvelle adhésion » (seed 003, I-1.1): the establishment's INPE,
then « Veuillez remplir ce formulaire » (the establishment and its director)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from app.enrollment.reset import normalise_gsm
from app.extensions import db
from plugins.cnss.models import Establishment
from plugins.cnss.validators import cnie_or_residence_card_error, field_check, ice_error, inpe_error

REQUIRED = DataRequired(message=_l("Ce champ est obligatoire."))
GSM_MESSAGE = "Le N° GSM commence par 06 ou 07 (ou +212 6, +212 7) suivi de 8 chiffres."
#: the footer paragraph of every page (templates/base.html) that holds the legal mentions
LEGAL_MENTIONS_ANCHOR = "#mentions-legales"


def registered(inpe: Any) -> Establishment | None:
    """The establishment the CNSS knows under this INPE, if any."""
    if not isinstance(inpe, str) or not inpe:
        return None
    return db.session.scalar(select(Establishment).where(Establishment.inpe == inpe))


def known_ice(establishment: Establishment) -> bool:
    """True when the CNSS knows the establishment's ICE and it checks: it is shown, not typed."""
    return bool(establishment.ice) and ice_error(establishment.ice) is None


def at_most(count: int) -> Length:
    return Length(max=count, message=_l("%(max)d caractères au plus."))


def _trimmed(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _email(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def gsm_check(form: FlaskForm, field: StringField) -> None:
    """« N° GSM »: 06/07 then 8 digits, or +212 6/7 then 8 digits; stored as +2126…/+2127…"""
    if field.data:
        normalised = normalise_gsm(field.data)
        if normalised is None:
            raise ValidationError(_(GSM_MESSAGE))
        field.data = normalised


class LegalMentionsLink:
    """The checkbox's hint: a link to the legal mentions, as HTML on the page and as text elsewhere."""

    def __str__(self) -> str:
        return _("Lire les mentions légales")

    def __html__(self) -> str:
        return Markup('<a href="{}">{}</a>').format(LEGAL_MENTIONS_ANCHOR, str(self))


def inpe_field(**kwargs: Any) -> StringField:
    """« Identifiant National »: 9 digits, spaces ignored."""
    return StringField(_l("Identifiant National"), validators=[REQUIRED, field_check(inpe_error)], **kwargs)


class InpeForm(FlaskForm):
    """Step 1: « Identifiant National » of the establishment."""

    inpe = inpe_field(render_kw={"inputmode": "numeric", "autocomplete": "off"})


class AdhesionForm(FlaskForm):
    """Step 2: « Identification de l'établissement de soins » and « Identification du
    directeur de l'établissement de soins », every field mandatory."""

    # shown again, read-only; checked again like at step 1 (a tampered value is refused)
    inpe = inpe_field(render_kw={"readonly": True})
    nom_etablissement = StringField(_l("Nom de l'établissement"), validators=[REQUIRED, at_most(200)], filters=[_trimmed])
    ice = StringField(
        _l("Identifiant Commun de l'Entreprise"),
        validators=[REQUIRED, field_check(ice_error)],
        description=_l("Renseigner l'ICE s'il n'est pas affiché."),
        render_kw={"inputmode": "numeric"},
    )
    adresse = StringField(_l("Adresse"), validators=[REQUIRED, at_most(300)], filters=[_trimmed])
    ville = StringField(_l("Ville"), validators=[REQUIRED, at_most(100)], filters=[_trimmed])
    nom = StringField(_l("Nom"), validators=[REQUIRED, at_most(100)], filters=[_trimmed])
    prenom = StringField(_l("Prénom"), validators=[REQUIRED, at_most(100)], filters=[_trimmed])
    inpe_directeur = StringField(
        _l("Identifiant National"), validators=[REQUIRED, field_check(inpe_error)], render_kw={"inputmode": "numeric"}
    )
    cnie = StringField(_l("CNIE / carte séjour"), validators=[REQUIRED, at_most(20), field_check(cnie_or_residence_card_error)])
    email = StringField(
        _l("Email"),
        validators=[REQUIRED, Email(message=_l("Adresse e-mail invalide.")), at_most(254)],
        filters=[_email],
        description=_l("L'adresse servira pour la communication du mot de passe"),
        render_kw={"type": "email", "autocomplete": "email"},
    )
    gsm = StringField(_l("N° GSM"), validators=[REQUIRED, at_most(20), gsm_check], render_kw={"type": "tel", "autocomplete": "tel"})
    mentions = BooleanField(
        _l("J'ai lu et j'accepte les mentions légales"),
        validators=[DataRequired(message=_l("Vous devez accepter les mentions légales."))],
        description=LegalMentionsLink(),
    )

    def adapt(self, values: dict[str, Any]) -> None:
        """The ICE is the private sector's (« Hors secteur Public »): absent for a public
        establishment, shown read-only when the CNSS knows it, entered otherwise."""
        establishment = registered(values.get("inpe"))
        if establishment is None:
            return
        if establishment.is_public:
            del self["ice"]
        elif known_ice(establishment):  # a wrong one on record stays editable
            self.ice.render_kw = {"readonly": True, "inputmode": "numeric"}
            self.ice.description = _l("Vérifier l'ICE communiqué.")
