"""What happens to an enrollment, whichever screen starts it: the checks every
flow gets, the creation of the accounts, the decisions on a request and the
e-mails that tell the applicant (CORE-7, SAFE-1, SAFE-4). The decisions serve
account reset requests too (``kind`` « reset »), whose own parts are in
``app.enrollment.reset``."""
from __future__ import annotations

import secrets
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.enrollment.models import APPLICANT, PENDING_STATES, EnrollmentEvent, EnrollmentRequest
from app.extensions import db
from app.mail import queue_mail
from app.models import Account, SecretAnswer, Token, utcnow
from app.passwords import context_words_for, effective_policy, hash_answer, hash_password, problems, set_password
from app.plugins.manager import registry_of
from app.plugins.types import EnrollmentFlow, ResetRequestFlow, Space
from app.tokens import issue_link_token, mail_temporary_password, public_url

#: letters and digits easy to read aloud and copy: no 0/O, 1/I/L
_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class EnrollmentRefused(Exception):
    """An enrollment or a decision that cannot go on; ``message`` is shown as is (French).
    ``field`` names the form field the message belongs next to, when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --------------------------------------------------------------------------
# Checks shared by every flow
# --------------------------------------------------------------------------


def existing_accounts(space: Space, identifier: str) -> list[Account]:
    """The main accounts of the space that act for ``identifier`` (their tenant reference)."""
    return list(
        db.session.scalars(
            select(Account).where(
                Account.space_key == space.key, Account.tenant_ref == identifier, Account.parent_id.is_(None)
            )
        )
    )


def _awaits_activation(account: Account) -> bool:
    """True for a self-service account whose activation link still works."""
    if account.status != "inactive":
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Token.account_id == account.id,
                    Token.purpose == "activation",
                    Token.used_at.is_(None),
                    Token.revoked_at.is_(None),
                    Token.expires_at > utcnow(),
                )
            )
        )
    )


def _stale(account: Account) -> bool:
    """A self-service account never activated whose link has expired: a new enrollment replaces it."""
    return account.status == "inactive" and not _awaits_activation(account)


def pending_request(space: Space, identifier: str, kind: str = "enrollment") -> EnrollmentRequest | None:
    """The request of ``identifier`` (of this ``kind``) that an agent has not decided yet, if any."""
    return db.session.scalar(
        select(EnrollmentRequest).where(
            EnrollmentRequest.space_key == space.key,
            EnrollmentRequest.identifier == identifier,
            EnrollmentRequest.kind == kind,
            EnrollmentRequest.state.in_(PENDING_STATES),
        )
    )


def pending_message(kind: str = "enrollment") -> str:
    """What an applicant reads when a request of this kind is already pending for the identifier."""
    if kind == "reset":
        return _("Une demande de réinitialisation est déjà en cours de traitement pour cet identifiant : vous serez informé par e-mail de la décision.")
    return _("Une demande est déjà en cours de traitement pour cet identifiant : vous serez informé par e-mail de la décision.")


def store_request(enrollment: EnrollmentRequest, field: str) -> None:
    """Add a new request to the session and write it now, so that the partial
    unique index refuses a second pending request for the identifier even when
    two submissions race; the refusal is the same clear message, next to
    ``field``. On refusal the session is rolled back."""
    kind = enrollment.kind or "enrollment"
    db.session.add(enrollment)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise EnrollmentRefused(pending_message(kind), field=field) from None


def refusals(space: Space, flow: EnrollmentFlow, values: dict[str, Any]) -> list[tuple[str, str]]:
    """Why these values cannot be enrolled: the plugin's check against the
    insurer's data first, then the core's rules (one pending request per
    identifier, none once the identifier has an account)."""
    found = [(name or "", str(message)) for name, message in (flow.check(values) if flow.check else []) or []]
    identifier = str(values.get(flow.identifier) or "")
    if found or not identifier:
        return found
    accounts = [a for a in existing_accounts(space, identifier) if not _stale(a)]
    if any(_awaits_activation(a) for a in accounts):
        return [(flow.identifier, _("Un compte a déjà été créé pour cet identifiant et attend son activation : ouvrez le lien reçu par e-mail."))]
    if accounts:
        return [(flow.identifier, _("Un compte existe déjà pour cet identifiant. Connectez-vous, ou utilisez « Mot de passe oublié ? »."))]
    if flow.reviewed and pending_request(space, identifier) is not None:
        return [(flow.identifier, pending_message())]
    return []


def new_accounts(space: Space, flow: EnrollmentFlow, values: dict[str, Any], email: str) -> list[Account]:
    """The accounts the plugin's handler makes of the values, completed by the
    core: the space, the identifier as tenant reference and the applicant's
    e-mail when the handler left them empty. Not added to the session."""
    accounts = list(flow.handler(values) or [])
    if not accounts:
        raise EnrollmentRefused(_("Cette demande ne permet de créer aucun compte."))
    for account in accounts:
        if account in db.session:
            db.session.expunge(account)
        account.space_key = space.key
        account.tenant_ref = account.tenant_ref or str(values.get(flow.identifier) or "")
        account.email = account.email or email
        account.display_name = account.display_name or ""
        account.profiles = list(account.profiles or [])
    return accounts


def _check_logins_free(space: Space, accounts: list[Account]) -> None:
    logins = [a.login for a in accounts]
    taken = db.session.scalars(select(Account.login).where(Account.space_key == space.key, Account.login.in_(logins))).all()
    if taken or len(set(logins)) != len(logins):
        raise EnrollmentRefused(_("L'identifiant de connexion %(login)s est déjà utilisé.", login=(taken or logins)[0]))


def password_problems(space: Space, flow: EnrollmentFlow, values: dict[str, Any], email: str, password: str) -> list[str]:
    """The policy rules a chosen password fails, with the context words of every account it will open."""
    policy = effective_policy(space)
    found: list[str] = []
    for account in new_accounts(space, flow, values, email):
        found += [p for p in problems(policy, password, context_words=context_words_for(space, account)) if p not in found]
    return found


def _add_secret_answer(accounts: list[Account], question: str | None, answer_hash: str | None) -> None:
    if question and answer_hash:
        for account in accounts:
            db.session.add(SecretAnswer(account_id=account.id, question=question, answer_hash=answer_hash))


# --------------------------------------------------------------------------
# (a) self-service: inactive account, activation link
# --------------------------------------------------------------------------


def enroll_self_service(
    space: Space, flow: EnrollmentFlow, values: dict[str, Any], email: str, password: str,
    question: str | None = None, answer: str | None = None,
) -> list[Account]:
    """Create the inactive account(s) with the chosen password and e-mail an
    activation link to each (single use, expiring, built from ``PUBLIC_URL``).
    The caller commits."""
    identifier = str(values.get(flow.identifier) or "")
    for account in existing_accounts(space, identifier):
        if _stale(account):
            db.session.delete(account)
    db.session.flush()
    accounts = new_accounts(space, flow, values, email)
    _check_logins_free(space, accounts)
    for account in accounts:
        account.status = "inactive"
        set_password(account, password)
        db.session.add(account)
    db.session.flush()
    _add_secret_answer(accounts, question, hash_answer(answer) if answer else None)
    for account in accounts:
        raw = issue_link_token(account, "activation")
        queue_mail(
            account.email,
            _("%(name)s : activez votre compte", name=space.insurer_name),
            "activation",
            insurer=space.insurer,
            sensitive=True,
            space=space,
            account=account,
            link=public_url("space.activate", token=raw, insurer=space.insurer, space=space.code),
            hours=current_app.config["ACTIVATION_LINK_HOURS"],
        )
        audit.record("account_enrolled", account=account, actor=APPLICANT)
    return accounts


def activate(space: Space, account: Account, token: Token) -> None:
    """Activate a self-service account from its link, once, and confirm it by e-mail. The caller commits."""
    account.status = "active"
    token.used_at = utcnow()
    audit.record("account_activated", account=account, actor=account.login)
    queue_mail(
        account.email,
        _("%(name)s : votre compte est activé", name=space.insurer_name),
        "activation_done",
        insurer=space.insurer,
        space=space,
        account=account,
        login_url=public_url("space.login", insurer=space.insurer, space=space.code),
    )


# --------------------------------------------------------------------------
# (b), (c) requests reviewed by an agent
# --------------------------------------------------------------------------


def new_reference() -> str:
    """« 7KQ2-M9XP »: 40 random bits, unique among the requests."""
    while True:
        raw = "".join(secrets.choice(_REFERENCE_ALPHABET) for _i in range(8))
        reference = f"{raw[:4]}-{raw[4:]}"
        if db.session.scalar(select(EnrollmentRequest.id).where(EnrollmentRequest.reference == reference)) is None:
            return reference


def event(enrollment: EnrollmentRequest, actor: str, action: str, reason: str | None = None) -> None:
    """Add a step to the request's history and move it to that state."""
    enrollment.events.append(EnrollmentEvent(actor=actor, action=action, reason=reason, at=utcnow()))
    enrollment.state = action
    enrollment.updated_at = utcnow()


def audit_action(enrollment: EnrollmentRequest, step: str) -> str:
    """The audit action of a step: ``enrollment_<step>`` or ``reset_request_<step>``."""
    return f"reset_request_{step}" if enrollment.is_reset else f"enrollment_{step}"


def tell_applicant(space: Space, enrollment: EnrollmentRequest, template: str, subject: str, **context: Any) -> None:
    """E-mail the applicant at the request's address (an acknowledgement, a decision: never a secret)."""
    queue_mail(
        enrollment.email, subject, template, insurer=space.insurer, space=space, enrollment=enrollment,
        flow=flow_of(space, enrollment), **context,
    )


def submit_request(
    space: Space, flow: EnrollmentFlow, values: dict[str, Any], email: str,
    password: str | None = None, question: str | None = None, answer: str | None = None,
) -> EnrollmentRequest:
    """Store a request for an agent, acknowledged by e-mail with its reference. The caller commits."""
    enrollment = EnrollmentRequest(
        reference=new_reference(),
        insurer=space.insurer,
        space_key=space.key,
        identifier=str(values.get(flow.identifier) or ""),
        email=email,
        values=values,
        password_hash=hash_password(password) if password else None,
        secret_question=question if answer else None,
        secret_answer_hash=hash_answer(answer) if answer else None,
        created_at=utcnow(),
    )
    event(enrollment, APPLICANT, "submitted")
    store_request(enrollment, flow.identifier)
    audit.record("enrollment_submitted", actor=APPLICANT, reference=enrollment.reference, space=space.key)
    tell_applicant(
        space, enrollment, "enrollment_submitted",
        _("%(name)s : votre demande %(reference)s est enregistrée", name=space.insurer_name, reference=enrollment.reference),
    )
    return enrollment


def flow_of(space: Space | None, enrollment: EnrollmentRequest) -> EnrollmentFlow | ResetRequestFlow | None:
    """The space's flow a request went through: its enrollment, or its reset requests."""
    if space is None:
        return None
    return space.reset_request if enrollment.is_reset else space.enrollment


def space_of(enrollment: EnrollmentRequest) -> Space:
    """The space a request was made in (it must still be enabled, with its flow)."""
    space = registry_of(current_app).spaces.get(enrollment.space_key)
    if flow_of(space, enrollment) is None:
        raise EnrollmentRefused(_("L'espace de cette demande n'est plus proposé : aucune décision n'est possible."))
    return space


def must_be_pending(enrollment: EnrollmentRequest) -> None:
    """Refuse a decision on a request an agent already decided."""
    if not enrollment.is_pending:
        raise EnrollmentRefused(_("Cette demande a déjà été traitée."))


def record_reception(enrollment: EnrollmentRequest, agent: Account) -> None:
    """« Formulaire reçu »: the signed form was deposited (flow c). The caller commits."""
    actor = agent.login
    space = space_of(enrollment)
    must_be_pending(enrollment)
    if not flow_of(space, enrollment).printable_form:
        raise EnrollmentRefused(_("Cette demande ne comporte pas de formulaire à déposer."))
    if enrollment.state == "received":
        raise EnrollmentRefused(_("La réception du formulaire est déjà enregistrée."))
    event(enrollment, actor, "received")
    audit.record(audit_action(enrollment, "received"), account=agent, reference=enrollment.reference, space=enrollment.space_key)
    tell_applicant(
        space, enrollment, "enrollment_received",
        _("%(name)s : votre formulaire signé a été reçu", name=space.insurer_name),
    )


def approve(enrollment: EnrollmentRequest, agent: Account) -> list[Account]:
    """Create the account(s) through the plugin's handler and e-mail the
    credentials: a temporary password per account (SAFE-1) to the address on
    the request, or, when the applicant chose the password, a reminder of the
    login. A reset request resets the existing accounts instead
    (``app.enrollment.reset.apply``). The caller commits."""
    if enrollment.is_reset:
        from app.enrollment import reset

        return reset.apply(enrollment, agent)
    actor = agent.login
    space = space_of(enrollment)
    flow = space.enrollment
    must_be_pending(enrollment)
    if flow.printable_form and enrollment.state != "received":
        raise EnrollmentRefused(_("Enregistrez d'abord la réception du formulaire signé : la demande ne peut pas être approuvée avant."))
    if existing_accounts(space, enrollment.identifier):
        raise EnrollmentRefused(_("Un compte existe déjà pour cet identifiant : la demande ne peut pas être approuvée."))
    accounts = new_accounts(space, flow, dict(enrollment.values or {}), enrollment.email)
    _check_logins_free(space, accounts)
    for account in accounts:
        account.status = "active"
        account.password_hash = enrollment.password_hash
        account.password_changed_at = utcnow() if enrollment.password_hash else None
        account.must_change_password = enrollment.password_hash is None
        db.session.add(account)
    db.session.flush()
    _add_secret_answer(accounts, enrollment.secret_question, enrollment.secret_answer_hash)
    event(enrollment, actor, "approved")
    enrollment.decided_at, enrollment.decided_by = utcnow(), actor
    subject = _("%(name)s : votre demande %(reference)s est approuvée", name=space.insurer_name, reference=enrollment.reference)
    for account in accounts:
        if enrollment.password_hash:
            queue_mail(
                account.email, subject, "enrollment_approved", insurer=space.insurer, space=space, account=account,
                enrollment=enrollment, password=None,
                login_url=public_url("space.login", insurer=space.insurer, space=space.code),
            )
        else:
            mail_temporary_password(space, account, subject, "enrollment_approved", enrollment=enrollment)
    audit.record(
        "enrollment_approved", account=agent, reference=enrollment.reference, space=enrollment.space_key,
        logins=[a.login for a in accounts],
    )
    return accounts


def reject(enrollment: EnrollmentRequest, agent: Account, reason: str) -> None:
    """Reject with a reason, e-mailed to the applicant. The caller commits."""
    actor = agent.login
    space = space_of(enrollment)
    must_be_pending(enrollment)
    reason = reason.strip()
    if not reason:
        raise EnrollmentRefused(_("Le motif du rejet est obligatoire."), field="reason")
    event(enrollment, actor, "rejected", reason)
    enrollment.decided_at, enrollment.decided_by, enrollment.reason = utcnow(), actor, reason
    audit.record(audit_action(enrollment, "rejected"), account=agent, reference=enrollment.reference, space=enrollment.space_key, reason=reason)
    tell_applicant(
        space, enrollment, "enrollment_rejected",
        _("%(name)s : votre demande %(reference)s est rejetée", name=space.insurer_name, reference=enrollment.reference),
        reason=reason,
    )

