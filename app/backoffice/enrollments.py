"""« Demandes d'adhésion » and « Demandes de réinitialisation » of the back
office (CORE-7, CORE-11): the queue of the insurer's enrollment requests and
the queue of its account reset requests (one list, by ``kind``), one request
with its values and history, and the agent's decisions — « Formulaire reçu »,
« Approuver », « Rejeter ». Every query goes through ``scoped_requests()``:
the requests of the agent's insurer only; another insurer's request does not
exist here (404)."""
from __future__ import annotations

from flask import abort, current_app, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from app.backoffice import AGENT_PROFILE, backoffice_bp, current_insurer
from app.backoffice.accounts import status_labels
from app.enrollment import reset, service
from app.enrollment.forms import labelled
from app.enrollment.models import STATES, EnrollmentRequest, event_labels, state_labels
from app.extensions import db
from app.forms import ConfirmForm
from app.htmx import redirect_to, render
from app.lists import Column, Criteria, SearchList, between, choice_criterion, period_criterion, render_list, text_criterion
from app.plugins.manager import registry_of
from app.plugins.types import Space
from app.spaces import requires_profile

#: the two queues: the request kind, its list's name, title and endpoint
QUEUES = {
    "enrollment": ("enrollments", "Demandes d'adhésion", "backoffice.enrollments"),
    "reset": ("reset-requests", "Demandes de réinitialisation", "backoffice.reset_requests"),
}

#: the states as the queue's filter offers them (labels translated when shown)
STATE_CHOICES = (
    ("submitted", "Soumise"),
    ("received", "Formulaire reçu"),
    ("approved", "Approuvée"),
    ("rejected", "Rejetée"),
)


class RejectForm(FlaskForm):
    """« Rejeter »: the reason is required; it is e-mailed to the applicant."""

    reason = TextAreaField(
        _l("Motif du rejet"),
        validators=[
            DataRequired(message=_l("Le motif du rejet est obligatoire.")),
            Length(max=2000, message=_l("%(max)d caractères au plus.")),
        ],
    )


# --------------------------------------------------------------------------
# Scoping: every request query of the back office goes through here
# --------------------------------------------------------------------------


def in_insurer() -> ColumnElement[bool]:
    """The condition that keeps the agent's insurer's requests only."""
    return EnrollmentRequest.insurer == current_insurer()


def scoped_requests() -> Select:
    """The requests of the agent's insurer."""
    return select(EnrollmentRequest).where(in_insurer())


def scoped_request(reference: str, *, lock: bool = False) -> EnrollmentRequest:
    """One request of the agent's insurer, or 404; ``lock`` holds its row until
    the commit, so that two agents deciding at once decide one after the other."""
    statement = scoped_requests().where(EnrollmentRequest.reference == reference)
    found = db.session.scalar(statement.with_for_update() if lock else statement)
    if found is None:
        abort(404)
    return found


def reviewed_spaces(kind: str = "enrollment") -> list[Space]:
    """The insurer's spaces whose enrollment (or, for « reset », whose reset requests) an agent reviews."""
    insurer = current_insurer()
    spaces = [s for s in registry_of(current_app).spaces.values() if s.insurer == insurer]
    if kind == "reset":
        return [s for s in spaces if s.reset_request is not None]
    return [s for s in spaces if s.enrollment is not None and s.enrollment.reviewed]


# --------------------------------------------------------------------------
# The queue
# --------------------------------------------------------------------------


def _matches(text: str) -> ColumnElement[bool]:
    """The reference, the identifier or the e-mail contains ``text`` (case ignored)."""
    return or_(
        EnrollmentRequest.reference.icontains(text, autoescape=True),
        EnrollmentRequest.identifier.icontains(text, autoescape=True),
        EnrollmentRequest.email.icontains(text, autoescape=True),
    )


def queue(kind: str = "enrollment") -> SearchList:
    """The queue of one kind of request as a list: its criteria depend on the
    insurer's spaces, so it is built per request."""
    name, title, endpoint = QUEUES[kind]
    spaces = {s.key: s for s in reviewed_spaces(kind)}
    labels = state_labels()
    criteria = type(
        "EnrollmentCriteria",
        (Criteria,),
        {
            "q": text_criterion("Référence, identifiant ou e-mail"),
            "state": choice_criterion("État", STATE_CHOICES, all_label="Tous"),
            "space": choice_criterion("Espace", tuple((k, s.title) for k, s in spaces.items()), all_label="Tous"),
            "submitted": period_criterion("Date de la demande"),
        },
    )
    return SearchList(
        name=name,
        title=title,
        endpoint=endpoint,
        query=select(EnrollmentRequest),
        scope=lambda: and_(in_insurer(), EnrollmentRequest.kind == kind),
        columns=(
            Column(
                "reference", "Référence", sort=EnrollmentRequest.reference,
                link=lambda r: url_for("backoffice.enrollment_detail", reference=r.reference),
            ),
            Column("space", "Espace", value=lambda r: _(spaces[r.space_key].title) if r.space_key in spaces else r.space_key),
            Column("identifier", "Identifiant", sort=EnrollmentRequest.identifier),
            Column("email", "Email"),
            Column("created_at", "Date de la demande", type="date", sort=EnrollmentRequest.created_at),
            Column("state", "État", value=lambda r: labels.get(r.state, r.state), sort=EnrollmentRequest.state),
        ),
        criteria=criteria,
        filters={
            "q": _matches,
            "state": lambda value: EnrollmentRequest.state == value,
            "space": lambda value: EnrollmentRequest.space_key == value,
            "submitted": between(EnrollmentRequest.created_at),
        },
        default_sort="created_at",
        default_dir="desc",
        page_size=25,
        count_label="Nombre de demandes : %(count)s",
        empty_label="Aucune demande ne correspond à ces critères.",
    )


def state_counts(kind: str = "enrollment") -> dict[str, int]:
    """How many of the insurer's requests of this kind are in each state."""
    rows = db.session.execute(
        select(EnrollmentRequest.state, func.count())
        .where(in_insurer(), EnrollmentRequest.kind == kind)
        .group_by(EnrollmentRequest.state)
    ).all()
    found = dict(rows)
    return {state: int(found.get(state, 0)) for state in STATES}


@backoffice_bp.get("/enrollments")
@requires_profile(AGENT_PROFILE)
def enrollments():
    """« Demandes d'adhésion »: the queue, filtered in the address bar, with the count per state."""
    return _queue_page("enrollment")


@backoffice_bp.get("/reset-requests")
@requires_profile(AGENT_PROFILE)
def reset_requests():
    """« Demandes de réinitialisation »: the same queue, for account reset requests."""
    return _queue_page("reset")


def _queue_page(kind: str):
    return render_list(
        queue(kind), "backoffice/enrollments.html", layout="space/layout.html",
        counts=state_counts(kind), state_labels=state_labels(),
    )


# --------------------------------------------------------------------------
# One request and the decisions on it
# --------------------------------------------------------------------------


def _detail(enrollment: EnrollmentRequest, reject_form: RejectForm | None = None, status: int = 200):
    space = registry_of(current_app).spaces.get(enrollment.space_key)
    flow = service.flow_of(space, enrollment)
    values = dict(enrollment.values or {})
    accounts = []
    if flow is None:
        groups = []
    elif enrollment.is_reset:
        groups = reset.labelled(space, values)
        accounts = reset.target_accounts(space, flow, enrollment.identifier)
    else:
        groups = labelled(flow, values, space.recovery.questions)
    name, title, endpoint = QUEUES["reset" if enrollment.is_reset else "enrollment"]
    return render(
        "backoffice/enrollment.html",
        status=status,
        enrollment=enrollment,
        request_space=space,
        flow=flow,
        groups=groups,
        accounts=accounts,
        account_status_labels=status_labels(),
        queue_title=title,
        queue_endpoint=endpoint,
        state_labels=state_labels(),
        event_labels=event_labels(),
        action_form=ConfirmForm(),
        reject_form=reject_form or RejectForm(formdata=None),
    )


@backoffice_bp.get("/enrollments/<reference>")
@requires_profile(AGENT_PROFILE)
def enrollment_detail(reference: str):
    """A request: the values with the form's labels, its history, the decisions still open."""
    return _detail(scoped_request(reference))


def _decided(enrollment: EnrollmentRequest):
    return redirect_to(url_for("backoffice.enrollment_detail", reference=enrollment.reference))


def _checked(reference: str) -> EnrollmentRequest:
    """The request an action is about, once the form's CSRF token is checked."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return scoped_request(reference, lock=True)


@backoffice_bp.post("/enrollments/<reference>/receive")
@requires_profile(AGENT_PROFILE)
def enrollment_receive(reference: str):
    """« Formulaire reçu »: the signed form was deposited (flow c)."""
    enrollment = _checked(reference)
    try:
        service.record_reception(enrollment, current_user._get_current_object())
    except service.EnrollmentRefused as refused:
        db.session.rollback()
        flash(refused.message, "danger")
        return _decided(enrollment)
    db.session.commit()
    flash(_("La réception du formulaire de la demande %(reference)s est enregistrée.", reference=reference), "success")
    return _decided(enrollment)


@backoffice_bp.post("/enrollments/<reference>/approve")
@requires_profile(AGENT_PROFILE)
def enrollment_approve(reference: str):
    """« Approuver »: the plugin creates the account(s), or a reset request resets
    them; the credentials go to the applicant by e-mail."""
    enrollment = _checked(reference)
    try:
        accounts = service.approve(enrollment, current_user._get_current_object())
    except service.EnrollmentRefused as refused:
        db.session.rollback()
        flash(refused.message, "danger")
        return _decided(enrollment)
    logins = ", ".join(a.login for a in accounts)
    db.session.commit()
    if enrollment.is_reset:
        flash(
            _("La demande %(reference)s est approuvée : compte(s) %(logins)s réinitialisé(s) ; un mot de passe temporaire est envoyé à la nouvelle adresse.",
              reference=reference, logins=logins),
            "success",
        )
    else:
        flash(_("La demande %(reference)s est approuvée : compte(s) %(logins)s créé(s).", reference=reference, logins=logins), "success")
    return _decided(enrollment)


@backoffice_bp.post("/enrollments/<reference>/reject")
@requires_profile(AGENT_PROFILE)
def enrollment_reject(reference: str):
    """« Rejeter »: the reason is required and e-mailed to the applicant."""
    enrollment = scoped_request(reference, lock=True)
    form = RejectForm()
    if not form.validate_on_submit():
        return _detail(enrollment, reject_form=form)
    try:
        service.reject(enrollment, current_user._get_current_object(), form.reason.data)
    except service.EnrollmentRefused as refused:
        db.session.rollback()
        flash(refused.message, "danger")
        return _decided(enrollment)
    db.session.commit()
    flash(_("La demande %(reference)s est rejetée ; le motif est envoyé au demandeur.", reference=reference), "success")
    return _decided(enrollment)
