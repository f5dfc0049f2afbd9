"""Flask-WTF forms of the core's screens. Labels are the seeds' French labels."""
from __future__ import annotations

from functools import lru_cache

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import AnyOf, DataRequired, Email, EqualTo, Length, Optional, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.plugins.types import IdentifierField, Space

SUBACCOUNT_FIELD = IdentifierField(
    name="sous_compte",
    label="Identifiant du sous-compte",
    pattern=r"[a-z0-9._-]{3,30}",
    message="L'identifiant du sous-compte compte de 3 à 30 caractères : lettres minuscules, chiffres, point, tiret.",
    transform="lower",
)

#: « Nature de compte » of a login form (``Space.account_nature``): a main account or a sub-account
NATURE_MAIN = "principal"
NATURE_SUB = "secondaire"


def _format_check(spec: IdentifierField):
    def check(form, field) -> None:
        value = spec.normalise(field.data)
        field.data = value
        if value and not spec.is_valid(value):
            raise ValidationError(_l(spec.message) if spec.message else _l("Format invalide."))

    return check


def identifier_field(spec: IdentifierField, *, required: bool = True):
    """A WTForms field for one identifier of a space's login form."""
    validators = [DataRequired(message=_l("Ce champ est obligatoire.")) if required else Optional(), _format_check(spec)]
    label = _l(spec.label)
    if spec.choices and spec.widget == "radio":
        # the format check refuses a value outside the choices, in French: no wtforms pre-check
        return RadioField(label, choices=[SelectChoice(c, _l(t)) for c, t in spec.choices], validators=validators, validate_choice=False)
    if spec.choices:
        return SelectField(label, choices=[SelectChoice("", "—")] + [SelectChoice(c, _l(t)) for c, t in spec.choices], validators=validators)
    return StringField(label, validators=validators, render_kw={"autocomplete": spec.autocomplete, "type": spec.input_type})


def _nature_check(form, field) -> None:
    """« Identifiant du sous-compte »: required for « Secondaire », refused for « Principal »."""
    secondary = getattr(form, "nature", None) is not None and form.nature.data == NATURE_SUB
    typed = (field.data or "").strip()
    if secondary and not typed:
        raise StopValidation(_l("Indiquez l'identifiant du sous-compte pour un compte secondaire."))
    if not secondary and typed:
        raise StopValidation(_l("Laissez ce champ vide pour un compte principal, ou choisissez « Secondaire »."))
    if not typed:
        field.data = ""
        raise StopValidation()  # nothing to check further


def _nature_fields() -> dict:
    """« Nature de compte » and the sub-account's identifier that goes with it."""
    return {
        "nature": RadioField(
            _l("Nature de compte"),
            choices=[SelectChoice(NATURE_MAIN, _l("Principal")), SelectChoice(NATURE_SUB, _l("Secondaire"))],
            default=NATURE_MAIN,
            validators=[
                DataRequired(message=_l("Choisissez la nature de compte.")),
                AnyOf([NATURE_MAIN, NATURE_SUB], message=_l("Choisissez la nature de compte.")),
            ],
            validate_choice=False,
        ),
        SUBACCOUNT_FIELD.name: StringField(
            _l(SUBACCOUNT_FIELD.label),
            validators=[_nature_check, _format_check(SUBACCOUNT_FIELD)],
            render_kw={"autocomplete": SUBACCOUNT_FIELD.autocomplete},
        ),
    }


class IdentifiersForm(FlaskForm):
    """Base of the forms that ask for a space's identifier fields."""

    space: Space

    def identifier_values(self) -> dict[str, str]:
        names = [f.name for f in self.space.identifier_fields] + [SUBACCOUNT_FIELD.name]
        return {name: getattr(self, name).data or "" for name in names if hasattr(self, name)}

    def login(self) -> str:
        """The login typed: the identifier fields' values, then the sub-account's
        identifier; with ``Space.profile_field`` a sub-account's login leaves the
        profile out (« 123456789/accueil »), the profile is checked on the account."""
        values = self.identifier_values()
        sub = values.get(SUBACCOUNT_FIELD.name)
        if hasattr(self, "nature") and self.nature.data != NATURE_SUB:
            sub = ""  # « Principal »: the main account, whatever else was posted
        if sub and self.space.profile_field:
            values.pop(self.space.profile_field, None)
        main = self.space.login_of(values)
        return f"{main}/{sub}" if sub else main

    def chosen_profile(self) -> str | None:
        """The profile code typed in the ``Space.profile_field`` field, if the space has one."""
        name = self.space.profile_field
        return (getattr(self, name).data or "") if name and hasattr(self, name) else None


@lru_cache(maxsize=None)
def identifiers_form(
    space: Space, *, with_password: bool = False, with_subaccount: bool = True, base: type | None = None
) -> type[IdentifiersForm]:
    """The form class asking for a space's identifiers (and the password for login),
    built on ``base`` when a screen asks for more (identity match). The login form of
    a space with ``account_nature`` asks « Nature de compte » before the sub-account."""
    attrs: dict = {"space": space}
    for spec in space.identifier_fields:
        attrs[spec.name] = identifier_field(spec)
    if space.subaccounts and with_subaccount and with_password and space.account_nature:
        attrs.update(_nature_fields())
    elif space.subaccounts and with_subaccount:
        attrs[SUBACCOUNT_FIELD.name] = identifier_field(SUBACCOUNT_FIELD, required=False)
    if with_password:
        attrs["password"] = PasswordField(
            _l("Mot de passe"),
            validators=[DataRequired(message=_l("Ce champ est obligatoire.")), Length(max=256)],
            render_kw={"autocomplete": "current-password"},
        )
    base = base or IdentifiersForm
    return type(f"{base.__name__}_{space.insurer}_{space.code}", (base,), attrs)


class NewPasswordForm(FlaskForm):
    """A new password and its confirmation (forced change, reset link, sub-account)."""

    new_password = PasswordField(
        _l("Nouveau mot de passe"),
        validators=[DataRequired(message=_l("Ce champ est obligatoire.")), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )
    confirmation = PasswordField(
        _l("Confirmation du mot de passe"),
        validators=[
            DataRequired(message=_l("Ce champ est obligatoire.")),
            EqualTo("new_password", message=_l("La confirmation ne correspond pas au nouveau mot de passe.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(NewPasswordForm):
    """« Modification du mot de passe »: current, new, confirmation."""

    current_password = PasswordField(
        _l("Mot de passe actuel"),
        validators=[DataRequired(message=_l("Ce champ est obligatoire.")), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )


class IdentityMatchForm(IdentifiersForm):
    """Identity check of « Mot de passe oublié ? » when the space compares details on record."""

    email = StringField(_l("Email"), validators=[DataRequired(message=_l("Ce champ est obligatoire.")), Length(max=254)])
    phone = StringField(_l("N° GSM"), validators=[DataRequired(message=_l("Ce champ est obligatoire.")), Length(max=20)])


class SecretAnswerForm(FlaskForm):
    answer = StringField(_l("Réponse"), validators=[DataRequired(message=_l("Ce champ est obligatoire.")), Length(max=200)])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SubAccountForm(FlaskForm):
    """A sub-account: who it is for and the profiles it gets (never more than its main account)."""

    identifier = StringField(
        _l("Identifiant du sous-compte"),
        validators=[DataRequired(message=_l("Ce champ est obligatoire.")), _format_check(SUBACCOUNT_FIELD)],
    )
    display_name = StringField(_l("Nom et prénom"), validators=[DataRequired(message=_l("Ce champ est obligatoire.")), Length(max=200)])
    email = StringField(
        _l("Email"),
        validators=[DataRequired(message=_l("Ce champ est obligatoire.")), Email(message=_l("Adresse e-mail invalide.")), Length(max=254)],
    )
    profiles = MultiCheckboxField(_l("Profils"), choices=[])


class ProfilesForm(FlaskForm):
    profiles = MultiCheckboxField(_l("Profils"), choices=[])


class ConfirmForm(FlaskForm):
    """A bare form for POST-only actions (logout, disable, delete): it carries the CSRF token."""

    confirm = BooleanField(default=True)
