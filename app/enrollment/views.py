"""The enrollment screens of every space that declares a flow (CORE-7):
``enroll`` (one page per step, the values so far kept in the signed session),
``enroll/done``, ``enroll/<reference>/form.pdf`` (flow c, for the browser that
sent the request) and ``enroll/activate/<token>`` (flow a); and those of
« Réinitialisation de compte » (CORE-11): ``reset-request``,
``reset-request/done``, ``reset-request/<reference>/form.pdf``."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, request, session, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import Field
from sqlalchemy import select

from app.enrollment import reset, service
from app.enrollment.forms import (
    ANSWER_FIELD,
    CORE_FIELDS,
    PASSWORD_FIELD,
    QUESTION_FIELD,
    build_form,
    fill,
    is_stored,
    labelled,
    values_of,
)
from app.enrollment.models import EnrollmentRequest
from app.extensions import db, limiter
from app.htmx import redirect_to, render
from app.models import Account
from app.passwords import effective_policy, rules_for
from app.plugins.types import EnrollmentFlow, EnrollmentStep, Space
from app.spaces import current_space, public, space_bp
from app.throttling import identifiers_key, recovery_limits
from app.tokens import find_link_token

#: session key: per space key, the step reached and the values typed so far
STATE_KEY = "enrollment"
#: session key: per space key, what the done page tells (kind, reference)
DONE_KEY = "enrollment_done"
#: session key: per space key, the reference of the reset request this browser sent
RESET_DONE_KEY = "reset_request_done"
#: session key: the references this browser submitted (their PDF is theirs to download)
REFERENCES_KEY = "enrollment_references"
#: the hidden input naming the step a page posts (which form to read, never a value)
STEP_FIELD = "enrollment_step"
#: how many references a browser keeps
_KEPT_REFERENCES = 10


def _flow() -> tuple[Space, EnrollmentFlow]:
    """The current space and its enrollment (404 when the space has none)."""
    space = current_space()
    if space.enrollment is None:
        abort(404)
    return space, space.enrollment


# --------------------------------------------------------------------------
# The steps' state, in the session (signed: the client cannot change it)
# --------------------------------------------------------------------------


def _state(space: Space) -> dict[str, Any]:
    saved = (session.get(STATE_KEY) or {}).get(space.key) or {}
    return {"step": int(saved.get("step") or 0), "values": dict(saved.get("values") or {})}


def _save_state(space: Space, state: dict[str, Any] | None) -> None:
    states = dict(session.get(STATE_KEY) or {})
    if state is None:
        states.pop(space.key, None)
    else:
        states[space.key] = state
    session[STATE_KEY] = states


def _applicant_key() -> str:
    """Throttling per applicant: the identifier typed now, or at an earlier step."""
    space = g.get("space")
    flow = space.enrollment if space else None
    if flow is None:
        return identifiers_key("enrollment", [])
    typed = {**_state(space)["values"], **request.form.to_dict()}
    return identifiers_key("enrollment", [flow.identifier], typed)


def _fields_of(step: EnrollmentStep, questions: tuple[str, ...]) -> set[str]:
    return {f.name for f in build_form(step, questions, formdata=None, meta={"csrf": False}) if is_stored(f)}


def _layout(step: EnrollmentStep, form: FlaskForm) -> list[tuple[str, list[Field]]]:
    """The form's fields in the step's sections, then the others (the CSRF token apart)."""
    groups: list[tuple[str, list[Field]]] = []
    placed: set[str] = {"csrf_token"}
    for section in step.sections:
        fields = [form[name] for name in section.fields if name in form and name not in placed]
        placed.update(f.name for f in fields)
        groups.append((section.title, fields))
    # the core's own fields (password, secret question) come after the plugin's
    rest = sorted((f for f in form if f.name not in placed), key=lambda f: f.name in CORE_FIELDS)
    if rest:
        groups.append(("", rest))
    return groups


def _show_refusals(form: FlaskForm, refusals: list[tuple[str, str]]) -> None:
    """Each message next to its field when the step shows it, above the form otherwise."""
    for name, message in refusals:
        if name and name in form:
            form[name].errors = list(form[name].errors) + [message]
        else:
            form.form_errors.append(message)


# --------------------------------------------------------------------------
# The form, step by step
# --------------------------------------------------------------------------


@space_bp.route("/enroll", methods=["GET", "POST"])
@public
@limiter.limit(recovery_limits, methods=["POST"])
@limiter.limit(recovery_limits, key_func=_applicant_key, methods=["POST"])
def enroll():
    """The space's enrollment form: each step posts, then 303 to the next one."""
    space, flow = _flow()
    questions = space.recovery.questions
    state = _state(space)
    last = len(flow.steps) - 1
    reached = min(state["step"], last)
    wanted = request.form.get(STEP_FIELD, type=int) if request.method == "POST" else request.args.get("step", type=int)
    if request.method == "POST" and (wanted is None or not 0 <= wanted <= reached):
        # a page left open while another tab went on or started again
        flash(_("Ce formulaire n'était plus à jour : reprenez à cette étape."), "warning")
        return redirect_to(url_for("space.enroll"))
    index = wanted if wanted is not None and 0 <= wanted <= reached else reached
    step = flow.steps[index]
    form = build_form(step, questions, values=state["values"])
    if form.validate_on_submit():
        earlier = set().union(*(_fields_of(s, questions) for s in flow.steps[:index]))
        values = {k: v for k, v in state["values"].items() if k in earlier} | values_of(form)
        refusals = service.refusals(space, flow, values)
        if not refusals and index < last:
            _save_state(space, {"step": index + 1, "values": values})
            return redirect_to(url_for("space.enroll"))
        if not refusals and _finish(space, flow, form, values):
            return redirect_to(url_for("space.enroll_done"))
        _show_refusals(form, refusals)
    elif not form.is_submitted():
        known = state["values"]
        defaults = dict(flow.prefill(known) or {}) if flow.prefill and index > 0 else {}
        fill(form, defaults | known)
    policy = effective_policy(space)
    return render(
        "enrollment/enroll.html",
        flow=flow,
        step=step,
        index=index,
        count=len(flow.steps),
        form=form,
        layout=_layout(step, form),
        rules=rules_for(policy) if PASSWORD_FIELD in form else [],
    )


def _finish(space: Space, flow: EnrollmentFlow, form: FlaskForm, values: dict[str, Any]) -> bool:
    """Create the account(s) (a) or store the request (b, c); False with the
    form's errors set when something refuses it."""
    email = str(values.get(flow.email_field) or "").strip().lower()
    password = form[PASSWORD_FIELD].data if PASSWORD_FIELD in form else None
    question = form[QUESTION_FIELD].data if QUESTION_FIELD in form else None
    answer = form[ANSWER_FIELD].data if ANSWER_FIELD in form else None
    # a plugin's form may leave them optional; the core cannot go on without them
    missing = [name for name, given in ((flow.email_field, email), (PASSWORD_FIELD, password or flow.reviewed)) if not given]
    if missing:
        _show_refusals(form, [(name, _("Ce champ est obligatoire.")) for name in missing])
        return False
    try:
        if password:
            errors = service.password_problems(space, flow, values, email, password)
            if errors:
                form[PASSWORD_FIELD].errors = list(form[PASSWORD_FIELD].errors) + errors
                return False
        if flow.reviewed:
            reference = service.submit_request(space, flow, values, email, password, question, answer).reference
        else:
            service.enroll_self_service(space, flow, values, email, password, question, answer)
            reference = ""
        db.session.commit()
    except service.EnrollmentRefused as refused:
        db.session.rollback()
        _show_refusals(form, [(refused.field or "", refused.message)])
        return False
    _save_state(space, None)
    done = dict(session.get(DONE_KEY) or {})
    done[space.key] = {"kind": flow.kind, "reference": reference}
    session[DONE_KEY] = done
    if reference:
        _keep_reference(reference)
    return True


def _keep_reference(reference: str) -> None:
    """Remember that this browser sent the request: its PDF is its to download."""
    session[REFERENCES_KEY] = ([reference] + list(session.get(REFERENCES_KEY) or []))[:_KEPT_REFERENCES]


def _own_request(reference: str, space: Space, kind: str) -> EnrollmentRequest:
    """A request this browser sent in this space, or 404."""
    if reference not in (session.get(REFERENCES_KEY) or []):
        abort(404)
    found = db.session.scalar(
        select(EnrollmentRequest).where(
            EnrollmentRequest.reference == reference,
            EnrollmentRequest.space_key == space.key,
            EnrollmentRequest.kind == kind,
        )
    )
    if found is None:
        abort(404)
    return found


@space_bp.get("/enroll/done")
@public
def enroll_done():
    """What happens next: the activation e-mail (a), the reference (b), the form to print (c)."""
    space, flow = _flow()
    done = (session.get(DONE_KEY) or {}).get(space.key)
    if not done:
        return redirect_to(url_for("space.enroll"))
    return render("enrollment/done.html", flow=flow, kind=done["kind"], reference=done["reference"])


@space_bp.get("/enroll/<reference>/form.pdf")
@public
def enroll_pdf(reference: str):
    """The filled form to print, sign and deposit (flow c): only for the browser that sent it."""
    space, flow = _flow()
    if not flow.printable_form:
        abort(404)
    enrollment = _own_request(reference, space, "enrollment")
    from app.pdf import pdf_response  # WeasyPrint loads only when a form is printed

    values = dict(enrollment.values or {})
    return pdf_response(
        flow.printable_template(values),
        f"demande-{reference}.pdf",
        reference=reference,
        space=space,
        flow=flow,
        enrollment=enrollment,
        values=values,
        groups=labelled(flow, values, space.recovery.questions),
    )


# --------------------------------------------------------------------------
# « Réinitialisation de compte » (CORE-11)
# --------------------------------------------------------------------------


def _reset_flow() -> Space:
    """The current space, which must declare reset requests (404 otherwise)."""
    space = current_space()
    if space.reset_request is None:
        abort(404)
    return space


def _reset_applicant_key() -> str:
    """Throttling per account: the identifier typed, whatever the GSM and e-mail."""
    space = g.get("space")
    names = [reset.identifier_spec(space).name] if space is not None and space.reset_request else []
    return identifiers_key("reset_request", names)


@space_bp.route("/reset-request", methods=["GET", "POST"])
@public
@limiter.limit(recovery_limits, methods=["POST"])
@limiter.limit(recovery_limits, key_func=_reset_applicant_key, methods=["POST"])
def reset_request():
    """« Réinitialisation de compte »: the identifier, « N° GSM », « Email »;
    the request is stored for an agent, then 303 to its reference and form."""
    space = _reset_flow()
    form = reset.reset_form(space)()
    if form.validate_on_submit():
        try:
            enrollment = reset.submit(space, reset.values_of(space, form))
            reference = enrollment.reference
            db.session.commit()
        except service.EnrollmentRefused as refused:
            db.session.rollback()
            _show_refusals(form, [(refused.field or "", refused.message)])
        else:
            _keep_reference(reference)
            session[RESET_DONE_KEY] = {**(session.get(RESET_DONE_KEY) or {}), space.key: reference}
            return redirect_to(url_for("space.reset_request_done"))
    return render("enrollment/reset_request.html", flow=space.reset_request, form=form)


@space_bp.get("/reset-request/done")
@public
def reset_request_done():
    """The request's reference, « Télécharger le formulaire » and where to deposit it."""
    space = _reset_flow()
    reference = (session.get(RESET_DONE_KEY) or {}).get(space.key)
    if not reference:
        return redirect_to(url_for("space.reset_request"))
    return render("enrollment/reset_done.html", flow=space.reset_request, reference=reference)


@space_bp.get("/reset-request/<reference>/form.pdf")
@public
def reset_request_pdf(reference: str):
    """The filled reset form to sign, stamp and deposit: only for the browser that sent the request."""
    space = _reset_flow()
    flow = space.reset_request
    enrollment = _own_request(reference, space, "reset")
    from app.pdf import pdf_response  # WeasyPrint loads only when a form is printed
    values = dict(enrollment.values or {})
    return pdf_response(
        flow.printable_template(values),
        f"reinitialisation-{reference}.pdf",
        reference=reference,
        space=space,
        flow=flow,
        enrollment=enrollment,
        values=values,
        groups=reset.labelled(space, values),
        accounts=reset.target_accounts(space, flow, enrollment.identifier),
    )


# --------------------------------------------------------------------------
# Activation link (flow a)
# --------------------------------------------------------------------------


@space_bp.get("/enroll/activate/<token>")
@public
def activate(token: str):
    """Activate a self-service account: the link works once, until it expires (SAFE-4)."""
    space = current_space()
    found = find_link_token(token, "activation")
    account = db.session.get(Account, found.account_id) if found else None
    if account is None or account.space_key != space.key or account.status != "inactive":
        return render("enrollment/link_invalid.html", status=400)
    service.activate(space, account, found)
    db.session.commit()
    return render("enrollment/activated.html", account=account)
