"""« Réinitialisation de compte » (CORE-11): the form a main account's
holder fills, the request it stores (an ``EnrollmentRequest`` of kind
« reset », processed by an agent like a printable enrollment) and what its
approval does to the accounts: the new e-mail and GSM on record, a temporary
password (SAFE-1) at that address, the other sessions ended (SAFE-5)."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from app import audit
from app.enrollment.forms import Group, Row
from app.enrollment.models import APPLICANT, EnrollmentRequest
from app.enrollment.service import (
    EnrollmentRefused,
    new_reference,
    event,
    must_be_pending,
    pending_message,
    pending_request,
    space_of,
    store_request,
    tell_applicant,
)
from app.extensions import db
from app.forms import identifier_field
from app.models import Account, utcnow
from app.plugins.types import IdentifierField, ResetRequestFlow, Space
from app.sessions import end_other_sessions
from app.tokens import mail_temporary_password, revoke

PHONE_FIELD = "phone"
EMAIL_FIELD = "email"
REQUIRED = _l("Ce champ est obligatoire.")
#: « 06 12 34 56 78 », « 0712345678 », « +212 6 12 34 56 78 » (FORMATS: GSM)
_GSM = re.compile(r"(?:0|\+212)([67]\d{8})", re.ASCII)


def normalise_gsm(value: str | None) -> str | None:
    """A Moroccan mobile number as stored, ``+2126…`` or ``+2127…``; None when it is not one.
    Spaces, dots and dashes between the digits are ignored."""
    compact = re.sub(r"[\s.\-]", "", value or "")
    found = _GSM.fullmatch(compact)
    return f"+212{found.group(1)}" if found else None


def _gsm_check(form: FlaskForm, field: StringField) -> None:
    if field.data and normalise_gsm(field.data) is None:
        raise ValidationError(_("Le N° GSM commence par 06 ou 07 (ou +212 6, +212 7) suivi de 8 chiffres."))


def identifier_spec(space: Space) -> IdentifierField:
    """The identifier field a reset request asks: the flow's ``identifier``, or the space's first field."""
    flow = space.reset_request
    wanted = flow.identifier if flow else None
    for spec in space.identifier_fields:
        if wanted is None or spec.name == wanted:
            return spec
    raise ValueError(f"{space.key}: the reset request's identifier {wanted!r} is none of the space's identifier fields")


@lru_cache(maxsize=None)
def reset_form(space: Space) -> type[FlaskForm]:
    """The form class of the space's reset request: its identifier, « N° GSM », « Email »."""
    spec = identifier_spec(space)
    attrs: dict[str, Any] = {
        spec.name: identifier_field(spec),
        PHONE_FIELD: StringField(
            _l("N° GSM"),
            validators=[DataRequired(message=REQUIRED), Length(max=20, message=_l("%(max)d caractères au plus.")), _gsm_check],
            render_kw={"autocomplete": "tel", "type": "tel"},
        ),
        EMAIL_FIELD: StringField(
            _l("Email"),
            validators=[
                DataRequired(message=REQUIRED),
                Email(message=_l("Adresse e-mail invalide.")),
                Length(max=254, message=_l("%(max)d caractères au plus.")),
            ],
            render_kw={"autocomplete": "email", "type": "email"},
        ),
    }
    return type(f"ResetRequestForm_{space.insurer}_{space.code}", (FlaskForm,), attrs)


def values_of(space: Space, form: FlaskForm) -> dict[str, str]:
    """The validated form's values as stored: the identifier, the GSM as ``+212…``, the e-mail in lower case."""
    spec = identifier_spec(space)
    return {
        spec.name: spec.normalise(form[spec.name].data),
        PHONE_FIELD: normalise_gsm(form[PHONE_FIELD].data) or "",
        EMAIL_FIELD: (form[EMAIL_FIELD].data or "").strip().lower(),
    }


def labelled(space: Space, values: dict[str, Any]) -> list[Group]:
    """The request's values under the form's labels (the agent's page, the printable form)."""
    spec = identifier_spec(space)
    rows = (
        Row(spec.name, _(spec.label), str(values.get(spec.name) or "")),
        Row(PHONE_FIELD, _("N° GSM"), str(values.get(PHONE_FIELD) or "")),
        Row(EMAIL_FIELD, _("Email"), str(values.get(EMAIL_FIELD) or "")),
    )
    return [Group(_("Identification"), rows)]


def target_accounts(space: Space, flow: ResetRequestFlow, identifier: str) -> list[Account]:
    """The accounts a request resets: the flow's ``accounts(identifier)``, or the
    space's main accounts acting for ``identifier``."""
    if flow.accounts is not None:
        return [a for a in flow.accounts(identifier) or [] if a.space_key == space.key]
    return list(
        db.session.scalars(
            select(Account)
            .where(Account.space_key == space.key, Account.tenant_ref == identifier, Account.parent_id.is_(None))
            .order_by(Account.id)
        )
    )


# --------------------------------------------------------------------------
# Submission, then approval (reception and rejection are the enrollment's)
# --------------------------------------------------------------------------


def submit(space: Space, values: dict[str, str]) -> EnrollmentRequest:
    """Store a reset request for an agent, acknowledged by e-mail with its reference.
    Refused, next to the identifier, when no main account of the space has it
    or when a reset request of it is pending. The caller commits."""
    flow = space.reset_request
    spec = identifier_spec(space)
    identifier = values[spec.name]
    if not target_accounts(space, flow, identifier):
        raise EnrollmentRefused(_("Aucun compte de cet espace n'existe pour cet identifiant."), field=spec.name)
    if pending_request(space, identifier, "reset") is not None:
        raise EnrollmentRefused(pending_message("reset"), field=spec.name)
    enrollment = EnrollmentRequest(
        kind="reset",
        reference=new_reference(),
        insurer=space.insurer,
        space_key=space.key,
        identifier=identifier,
        email=values[EMAIL_FIELD],
        values=dict(values),
        created_at=utcnow(),
    )
    event(enrollment, APPLICANT, "submitted")
    store_request(enrollment, spec.name)
    audit.record("reset_request_submitted", actor=APPLICANT, reference=enrollment.reference, space=space.key)
    tell_applicant(
        space, enrollment, "enrollment_submitted",
        _("%(name)s : votre demande %(reference)s est enregistrée", name=space.insurer_name, reference=enrollment.reference),
    )
    return enrollment


def apply(enrollment: EnrollmentRequest, agent: Account) -> list[Account]:
    """Approve a reset request whose signed form was received: each account gets
    the request's e-mail and GSM on record, its pending links and temporary
    passwords revoked, its sessions ended, and a new temporary password (SAFE-1)
    e-mailed to that address. The current password keeps working until the
    temporary one is used, which forces the change. The caller commits."""
    space = space_of(enrollment)
    flow = space.reset_request
    must_be_pending(enrollment)
    if enrollment.state != "received":
        raise EnrollmentRefused(_("Enregistrez d'abord la réception du formulaire signé : la demande ne peut pas être approuvée avant."))
    accounts = target_accounts(space, flow, enrollment.identifier)
    if not accounts:
        raise EnrollmentRefused(_("Aucun compte n'existe plus pour cet identifiant : la demande ne peut pas être approuvée."))
    values = dict(enrollment.values or {})
    subject = _("%(name)s : votre demande %(reference)s est approuvée", name=space.insurer_name, reference=enrollment.reference)
    for account in accounts:
        account.email = enrollment.email
        account.phone = values.get(PHONE_FIELD) or account.phone
        revoke(account)  # a link or a password sent to the former address must not outlive the change
        ended = end_other_sessions(account)
        mail_temporary_password(space, account, subject, "reset_request_approved", enrollment=enrollment)
        audit.record(
            "password_reset", account=account, actor=agent.login, via="reset_request",
            reference=enrollment.reference, sessions_ended=ended,
        )
    if flow.on_approved is not None:
        flow.on_approved(values, accounts)
    event(enrollment, agent.login, "approved")
    enrollment.decided_at, enrollment.decided_by = utcnow(), agent.login
    audit.record(
        "reset_request_approved", account=agent, reference=enrollment.reference, space=enrollment.space_key,
        logins=[a.login for a in accounts],
    )
    return accounts
