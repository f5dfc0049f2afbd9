"""The enrollment forms' common parts: the fields the core reads (a chosen
password, a secret question), and the conversion of a submitted form to the
values stored with a request and back, with the form's labels."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeField, DecimalField, Field, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.plugins.types import EnrollmentFlow, EnrollmentStep

#: fields the core reads and never stores in clear, besides any PasswordField
PASSWORD_FIELD = "new_password"
QUESTION_FIELD = "secret_question"
ANSWER_FIELD = "secret_answer"
SECRET_FIELDS = frozenset({PASSWORD_FIELD, "confirmation", ANSWER_FIELD})
#: every field the core reads (shown after the plugin's own fields when no section places them)
CORE_FIELDS = SECRET_FIELDS | {QUESTION_FIELD}
REQUIRED = _l("Ce champ est obligatoire.")
TOO_LONG = _l("%(max)d caractères au plus.")
#: fields of the form machinery, not of the applicant
_SKIPPED_TYPES = ("CSRFTokenField", "SubmitField")


class ChosenPassword:
    """Mixin: « Mot de passe » and its confirmation. The core checks the space's
    policy, sets it on the account(s) and never stores it in clear."""

    new_password = PasswordField(
        _l("Mot de passe"),
        validators=[DataRequired(message=REQUIRED), Length(max=256, message=TOO_LONG)],
        render_kw={"autocomplete": "new-password"},
    )
    confirmation = PasswordField(
        _l("Confirmation du mot de passe"),
        validators=[
            DataRequired(message=REQUIRED),
            EqualTo(PASSWORD_FIELD, message=_l("La confirmation ne correspond pas au mot de passe.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class SecretQuestion:
    """Mixin: a question chosen from the space's ``RecoveryMethod.questions``
    (or the field's own choices) and its « Réponse », stored hashed (SAFE-2)."""

    secret_question = SelectField(
        _l("Question secrète"), choices=[], validate_choice=True, invalid_choice_message=_l("Choisissez une des questions proposées.")
    )
    secret_answer = StringField(_l("Réponse"), validators=[DataRequired(message=REQUIRED), Length(max=200, message=TOO_LONG)])


def build_form(
    step: EnrollmentStep, questions: tuple[str, ...] = (), values: dict[str, Any] | None = None, **kwargs: Any
) -> FlaskForm:
    """An instance of the step's form; a secret question without choices gets the space's questions.
    With ``values`` (those of the earlier steps), a form that defines ``adapt(values)`` adjusts
    itself to them before it is validated or shown (a field that does not apply removed)."""
    form = step.form(**kwargs)
    if QUESTION_FIELD in form and not form[QUESTION_FIELD].choices:
        form[QUESTION_FIELD].choices = [SelectChoice(q, _(q)) for q in questions]
    adapt = getattr(form, "adapt", None)
    if values is not None and callable(adapt):
        adapt(values)
    return form


def is_stored(field: Field) -> bool:
    """True for a field whose value is kept with the request (not a secret, not the form's machinery)."""
    return (
        field.name not in SECRET_FIELDS
        and field.type not in _SKIPPED_TYPES
        and not isinstance(field, PasswordField)
    )


def _to_json(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    if value is None or isinstance(value, (bool, int, float, list)):
        return value
    return str(value)


def values_of(form: FlaskForm) -> dict[str, Any]:
    """The validated form's values as stored: JSON types, dates as ISO strings, no secret."""
    return {field.name: _to_json(field.data) for field in form if is_stored(field)}


def _from_json(field: Field, value: Any) -> Any:
    if value is None or value == "":
        return None
    try:
        if isinstance(field, DateTimeField):
            return datetime.fromisoformat(value)
        if isinstance(field, DateField):
            return date.fromisoformat(value)
        if isinstance(field, DecimalField):
            return Decimal(str(value))
    except (TypeError, ValueError, InvalidOperation):
        return None
    return value


def fill(form: FlaskForm, values: dict[str, Any]) -> None:
    """Show stored ``values`` in a form that was not posted (going back a step, prefilled fields)."""
    for field in form:
        if field.name in values and is_stored(field):
            field.data = _from_json(field, values[field.name])


# --------------------------------------------------------------------------
# The values with the form's labels: back office detail, printable form
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One submitted value with its label, as shown to an agent or printed."""

    name: str
    label: str
    value: str


@dataclass(frozen=True)
class Group:
    """A titled group of rows: a section of a step, or a whole step."""

    title: str
    rows: tuple[Row, ...]


def _choice_labels(choices: Any) -> dict[str, str]:
    """A select's labels by value, whatever form its choices were given in (pairs, SelectChoice, groups)."""
    items = [c for group in choices.values() for c in group] if isinstance(choices, dict) else list(choices)
    labels: dict[str, str] = {}
    for item in items:
        try:
            choice = SelectChoice.from_input(item)
        except (TypeError, ValueError):
            continue
        labels[str(choice.value)] = str(choice.label)
    return labels


def _shown(field: Field | None, value: Any) -> str:
    """A stored value as a person reads it: Oui/Non, dd/mm/yyyy, a choice's label."""
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if value is None or value == "":
        return ""
    if isinstance(field, DateField) and isinstance(value, str):
        parsed = _from_json(field, value)
        return parsed.strftime("%d/%m/%Y") if parsed else value
    choices = getattr(field, "choices", None)
    if choices and not callable(choices):
        labels = _choice_labels(choices)
        if isinstance(value, list):
            return ", ".join(labels.get(str(v), str(v)) for v in value)
        return labels.get(str(value), str(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def labelled(flow: EnrollmentFlow, values: dict[str, Any], questions: tuple[str, ...] = ()) -> list[Group]:
    """The stored values grouped as the applicant saw them (steps, sections), with
    the forms' labels; values no form knows any more come last, under their name."""
    groups: list[Group] = []
    seen: set[str] = set()
    for step in flow.steps:
        form = build_form(step, questions, formdata=None, meta={"csrf": False})
        fields = {f.name: f for f in form if is_stored(f)}

        def rows(names) -> tuple[Row, ...]:
            found = [n for n in names if n in fields and n in values and n not in seen]
            seen.update(found)
            return tuple(Row(n, str(fields[n].label.text), _shown(fields[n], values[n])) for n in found)

        for section in step.sections:
            groups.append(Group(_(section.title), rows(section.fields)))
        rest = rows(list(fields))
        if rest:
            groups.append(Group(_(step.title) if step.title else "", rest))
    others = tuple(Row(n, n, _shown(None, v)) for n, v in values.items() if n not in seen)
    if others:
        groups.append(Group(_("Autres informations"), others))
    return [g for g in groups if g.rows]
