"""Login and logout (CORE-1, CORE-2), the recovery methods (CORE-5) and reset links."""
from __future__ import annotations

import hmac

from flask import abort, current_app, flash, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app import audit
from app.branding import theme_css
from app.extensions import db, limiter
from app.forms import (
    SUBACCOUNT_FIELD,
    ConfirmForm,
    IdentifiersForm,
    IdentityMatchForm,
    NewPasswordForm,
    SecretAnswerForm,
    identifiers_form,
)
from app.htmx import is_htmx, redirect_to, render
from app.models import Account, SecretAnswer, utcnow
from app.passwords import (
    context_words_for,
    effective_policy,
    hash_password,
    needs_rehash,
    previous_hashes_for,
    problems,
    rules_for,
    set_password,
    verify_answer,
    verify_password,
)
from app.plugins.types import Space
from app.sessions import EXPIRED_KEY, end_other_sessions, end_session, start_session
from app.spaces import before_password_change, current_space, public, space_bp
from app.throttling import identifiers_key, recovery_limits
from app.resets import send_reset
from app.tokens import find_link_token, revoke, use_temporary_password

# A fixed argon2 hash, verified when the login is unknown so that both cases cost the same.
_DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    return _DUMMY_HASH


def find_account(space_key: str, login: str) -> Account | None:
    """The account of a space by its login, or None."""
    return db.session.scalar(select(Account).where(Account.space_key == space_key, Account.login == login))


def typed_account(space: Space, form: IdentifiersForm) -> Account | None:
    """The account a login or recovery form names, or None. With ``Space.profile_field``
    a sub-account's login leaves the profile out, and the profile chosen must be one
    of the sub-account's: any other choice is the same as an unknown login (CORE-1)."""
    account = find_account(space.key, form.login())
    if account is not None and not account.is_main and space.profile_field:
        if form.chosen_profile() not in account.effective_profiles:
            return None
    return account


# --------------------------------------------------------------------------
# Throttling keys (SAFE-3): per account and per client address
# --------------------------------------------------------------------------


def _account_key() -> str:
    return identifiers_key("login")


def _recovery_account_key() -> str:
    """SAFE-2: attempts at one account's recovery are throttled, from any address."""
    return identifiers_key("recovery")


def _only_failures(response) -> bool:
    """A successful login (a redirect) costs nothing against the limits."""
    return response.status_code not in (302, 303) and "HX-Redirect" not in response.headers


def _login_limits_account() -> str:
    return current_app.config["LOGIN_LIMITS_PER_ACCOUNT"]


def _login_limits_address() -> str:
    return current_app.config["LOGIN_LIMITS_PER_ADDRESS"]


# --------------------------------------------------------------------------
# Login, logout
# --------------------------------------------------------------------------


@space_bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limits_account, key_func=_account_key, methods=["POST"], deduct_when=_only_failures)
@limiter.limit(_login_limits_address, methods=["POST"], deduct_when=_only_failures)
def login():
    """The space's login form; one generic message whatever was wrong (CORE-1)."""
    space = current_space()
    form = identifiers_form(space, with_password=True)()
    if form.validate_on_submit():
        account = typed_account(space, form)
        if account is None or not account.is_active:
            # the same argon2 cost as a wrong password: the timing tells nothing either
            verify_password(_dummy_hash(), form.password.data)
        elif verify_password(account.password_hash, form.password.data):
            if needs_rehash(account.password_hash):
                account.password_hash = hash_password(form.password.data)
            return _logged_in(account, profile=form.chosen_profile())
        elif use_temporary_password(account, form.password.data):
            return _logged_in(account, temporary=True, profile=form.chosen_profile())
        audit.record("login_failed", account=account, actor=form.login())
        db.session.commit()
        form.form_errors.append(_("Identifiant ou mot de passe incorrect."))
    expired = session.pop(EXPIRED_KEY, False)
    # after a post the whole form is shown again, values kept (CORE-15: also without JavaScript)
    return render("auth/login.html", form=form, expired=expired, revealed=request.method == "POST")


#: the hidden field that the revealed rest of a progressive login carries: it tells
#: ``login/next`` that the rest is already on the page (so the user's choices stay)
REST_SHOWN = "login_rest"


@space_bp.get("/login/next")
@public
def login_next():
    """The rest of a progressive login form (``Space.login_reveal``), once the first
    identifier field has a valid format; with ``part=sous_compte``, the sub-account
    field that « Secondaire » reveals. Checks the format only and never looks an
    account up: the answer is the same whether the account exists or not (CORE-5)."""
    space = current_space()
    if not space.login_reveal:
        abort(404)
    if not is_htmx():  # a fragment makes no page: opened in a tab, it leads to the login
        return redirect_to(url_for("space.login"))
    form = identifiers_form(space, with_password=True)(formdata=request.args, meta={"csrf": False})
    if request.args.get("part") == SUBACCOUNT_FIELD.name and hasattr(form, "nature"):
        return render("auth/_login_subaccount.html", form=form)
    first = form[space.identifier_fields[0].name]
    typed = bool((first.data or "").strip())
    valid = typed and first.validate(form)
    if not typed:
        first.errors = []  # an empty field is not an error until the form is posted
    response = render("auth/_login_next.html", form=form, first=first, valid=valid)
    if valid and request.args.get(REST_SHOWN):
        response.headers["HX-Reswap"] = "none"  # already shown: keep what the user chose
    return response


def _logged_in(account: Account, temporary: bool = False, profile: str | None = None):
    start_session(account, profile)
    audit.record("login", account=account, temporary=temporary)
    db.session.commit()
    space = current_space()
    if account.must_change_password:
        return redirect_to(url_for("space.change_password"))
    target = request.args.get("next", "")
    prefix = f"/{space.insurer}/{space.code}/"
    # control characters: a newline would break the Location header (500), a tab hides a "//"
    if not (target.startswith(prefix) and "//" not in target and "\\" not in target and target.isprintable()):
        target = url_for("space.dashboard")
    return redirect_to(target)


@space_bp.post("/logout")
@public
@before_password_change
def logout():
    """End the session for real and go back to the login page (CORE-2, SAFE-5)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        audit.record("logout", account=current_user._get_current_object())
        end_session()
        db.session.commit()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect_to(url_for("space.login"))


@space_bp.get("/theme.css")
@public
def theme():
    """The space's colours (a stylesheet, since the CSP forbids inline styles)."""
    return theme_css(current_space())


# --------------------------------------------------------------------------
# « Mot de passe oublié ? »: dispatched to the space's recovery method (CORE-5)
# --------------------------------------------------------------------------

GENERIC_SENT = _l("Si ces informations correspondent à un compte, un e-mail vient d'être envoyé à l'adresse enregistrée.")


@space_bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit(recovery_limits, methods=["POST"])
@limiter.limit(recovery_limits, key_func=_recovery_account_key, methods=["POST"])
def forgot_password():
    space = current_space()
    method = space.recovery.kind
    if method == "admin_reset":
        return render("auth/forgot_admin.html", instructions=space.recovery.instructions)
    if method == "identity_match":
        return _identity_match(space)
    form = identifiers_form(space)()
    if form.validate_on_submit():
        account = typed_account(space, form)
        if method == "secret_question":
            return _ask_secret_question(space, form, account)
        sent = account is not None and account.is_active and send_reset(space, account, "email_link", by="user")
        if not sent:
            audit.record("password_reset_requested", account=account, actor=form.login())
        db.session.commit()
        return render("auth/forgot_sent.html", message=GENERIC_SENT)
    return render("auth/forgot.html", form=form)


def _identity_match(space):
    """Identity match: identifiers plus the details on record; a
    temporary password goes to the address on record; one message on any mismatch."""
    form = identifiers_form(space, base=IdentityMatchForm)()
    if form.validate_on_submit():
        account = typed_account(space, form)
        fields = space.recovery.match_fields or ("email", "phone")
        typed = {"email": (form.email.data or "").strip().lower(), "phone": _digits(form.phone.data)}
        matches = account is not None and account.is_active and all(
            _same(typed[name], (account.email or "").lower() if name == "email" else _digits(account.phone)) for name in fields
        )
        if matches and send_reset(space, account, "temporary_password", by="user", matched=True):
            db.session.commit()
            return render("auth/forgot_sent.html", message=_("Un nouveau mot de passe a été envoyé à votre adresse e-mail."))
        audit.record("password_reset_requested", account=account, actor=form.login(), matched=False)
        db.session.commit()
        form.form_errors.append(_("Les informations saisies ne correspondent pas à celles déclarées lors de votre adhésion."))
    return render("auth/forgot_identity.html", form=form, match_fields=space.recovery.match_fields or ("email", "phone"))


def _digits(value: str | None) -> str:
    digits = "".join(c for c in (value or "") if c.isdigit())
    return digits[-9:]  # 06xxxxxxxx and +2126xxxxxxxx compare alike


def _same(a: str, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def _decoy_question(space, login: str) -> str:
    """A question shown for an unknown login, stable per login, so that the
    page never reveals whether the account exists."""
    questions = space.recovery.questions or (_("Quel est le nom de votre ville de naissance ?"),)
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), f"{space.key}:{login}".encode(), "sha256").digest()
    return questions[digest[0] % len(questions)]


def _ask_secret_question(space, form: IdentifiersForm, account: Account | None):
    """Secret question (SAFE-2): never the only factor; the right answer sends a reset link."""
    answers = (
        db.session.scalars(select(SecretAnswer).where(SecretAnswer.account_id == account.id)).all() if account else []
    )
    login = form.login()
    question = answers[0].question if answers else _decoy_question(space, login)
    answer_form = SecretAnswerForm(prefix="q")
    if "q-answer" in request.form and answer_form.validate():
        right = any(verify_answer(a.answer_hash, answer_form.answer.data) for a in answers)
        if not answers:
            verify_answer(_dummy_hash(), answer_form.answer.data)  # same cost as a known login
        audit.record("secret_answer", account=account, actor=login, right=right)
        if right and account is not None and account.is_active:
            send_reset(space, account, "email_link", by="user")
        db.session.commit()
        return render("auth/forgot_sent.html", message=GENERIC_SENT)
    return render("auth/forgot_question.html", form=form, answer_form=answer_form, question=question)


# --------------------------------------------------------------------------
# Reset link
# --------------------------------------------------------------------------


@space_bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    """Set a new password from an e-mailed link: single use, expiring (SAFE-4)."""
    space = current_space()
    found = find_link_token(token, "reset")
    account = db.session.get(Account, found.account_id) if found else None
    if account is None or account.space_key != space.key or not account.is_active:
        return render("auth/link_invalid.html", status=400)
    form = NewPasswordForm()
    policy = effective_policy(space)
    if form.validate_on_submit():
        errors = problems(
            policy,
            form.new_password.data,
            context_words=context_words_for(space, account),
            previous_hashes=previous_hashes_for(account, policy),
        )
        if errors:
            form.new_password.errors = list(form.new_password.errors) + errors
        else:
            set_password(account, form.new_password.data)
            found.used_at = utcnow()
            revoke(account)
            end_other_sessions(account)
            audit.record("password_reset", account=account, actor=account.login, via="link")
            db.session.commit()
            flash(_("Votre mot de passe a été modifié. Vous pouvez vous connecter."), "success")
            return redirect_to(url_for("space.login"))
    return render("auth/reset.html", form=form, rules=rules_for(policy), token=token)
