"""« Modification du mot de passe » (CORE-4, CORE-6), sub-accounts (CORE-8) and
the user's own history (CORE-10)."""
from __future__ import annotations

from dataclasses import replace

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, select

from app import audit
from app.extensions import db
from app.forms import ChangePasswordForm, ConfirmForm, NewPasswordForm, ProfilesForm, SubAccountForm
from app.htmx import redirect_to, render
from app.models import Account, AuditEvent, tenant_main_accounts
from app.passwords import (
    context_words_for,
    effective_policy,
    evaluate,
    previous_hashes_for,
    problems,
    rules_for,
    set_password,
    verify_password,
)
from app.resets import send_reset
from app.sessions import end_other_sessions
from app.spaces import before_password_change, current_space, public, space_bp
from app.tokens import mail_temporary_password, revoke

HISTORY_PAGE_SIZE = 25


def _account() -> Account:
    return current_user._get_current_object()  # type: ignore[no-any-return]


# --------------------------------------------------------------------------
# Password change
# --------------------------------------------------------------------------


@space_bp.route("/password/change", methods=["GET", "POST"])
@before_password_change
def change_password():
    """Change the password; when a change is forced (first login, after a reset)
    the current password was just typed at login and is not asked again."""
    space = current_space()
    account = _account()
    forced = account.must_change_password
    form = NewPasswordForm() if forced else ChangePasswordForm()
    policy = effective_policy(space)
    if form.validate_on_submit():
        if not forced and not verify_password(account.password_hash, form.current_password.data):
            form.current_password.errors = list(form.current_password.errors) + [_("Mot de passe actuel incorrect.")]
        else:
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
                revoke(account)
                ended = end_other_sessions(account)
                audit.record("password_changed", account=account, forced=forced, other_sessions_ended=ended)
                db.session.commit()
                flash(_("Votre mot de passe a été modifié."), "success")
                return redirect_to(url_for("space.dashboard"))
    return render("accounts/change_password.html", form=form, policy=policy, forced=forced, rules=rules_for(policy))


@space_bp.post("/password/check")
@public
@before_password_change
def check_password():
    """Live policy check as the user types (HTMX): the rules, each marked met or not.
    The previous-password rule is only checked on submit (it would be an oracle)."""
    space = current_space()
    policy = effective_policy(space)
    password = request.form.get("new_password", "")[:256]
    account = _account() if current_user.is_authenticated and current_user.space_key == space.key else None
    words = context_words_for(space, account)  # on the reset page: the space's words only
    rules = evaluate(policy, password, context_words=words) if password else rules_for(policy)
    rules = [replace(r, ok=None) if r.code == "previous" else r for r in rules]
    return render("accounts/_policy.html", rules=rules)


# --------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------


@space_bp.get("/history")
def history():
    """The account's own audit trail, newest first, by pages."""
    account = _account()
    base = select(AuditEvent).where(AuditEvent.account_id == account.id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max((total + HISTORY_PAGE_SIZE - 1) // HISTORY_PAGE_SIZE, 1)
    # clamped: a huge ?page= would overflow the database's OFFSET
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    events = db.session.scalars(
        base.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(HISTORY_PAGE_SIZE).offset((page - 1) * HISTORY_PAGE_SIZE)
    ).all()
    return render(
        "accounts/history.html", events=events, page=page, pages=pages, total=total, action_labels=audit.action_labels()
    )


# --------------------------------------------------------------------------
# Sub-accounts (CORE-8)
# --------------------------------------------------------------------------


def _main_account() -> Account:
    """The logged-in main account of a space that has sub-accounts (403 otherwise)."""
    space = current_space()
    account = _account()
    if not space.subaccounts or not account.is_main:
        abort(403)
    return account


def _managed(main: Account) -> Select:
    """The sub-accounts a main account manages: its own, or with ``Space.profile_field``
    every sub-account of its tenant (the establishment, whichever main account created it)."""
    space = current_space()
    query = select(Account).where(Account.space_key == space.key, Account.parent_id.is_not(None))
    if space.profile_field:
        return query.where(Account.tenant_ref == main.tenant_ref)
    return query.where(Account.parent_id == main.id)


def _own_subaccount(account_id: int) -> Account:
    """A sub-account the logged-in main account manages: every sub-account query goes through here."""
    sub = db.session.scalar(_managed(_main_account()).where(Account.id == account_id))
    if sub is None:
        abort(404)
    return sub


def _allowed_profiles(main: Account) -> list[str]:
    """The profiles a main account may give: its own, or with ``Space.profile_field``
    those of its tenant's active main accounts together, in the space's order."""
    space = current_space()
    if not space.profile_field:
        return main.effective_profiles
    mains = tenant_main_accounts(space.key, main.tenant_ref)
    held = {p for m in mains if m.status == "active" for p in m.profiles or []}
    return [p.code for p in space.profiles if p.code in held]


def _profile_choices(main: Account) -> list[tuple[str, str]]:
    space = current_space()
    return [(code, space.profile_label(code)) for code in _allowed_profiles(main)]


def _login_stem(main: Account) -> str:
    """What a new sub-account's login starts with: the main login, without the profile with ``Space.profile_field``."""
    return current_space().login_without_profile(main.login)


@space_bp.get("/accounts")
def subaccounts():
    main = _main_account()
    subs = db.session.scalars(_managed(main).order_by(Account.login)).all()
    return render("accounts/subaccounts.html", subs=subs, main=main, action_form=ConfirmForm())


@space_bp.route("/accounts/new", methods=["GET", "POST"])
def subaccount_new():
    space = current_space()
    main = _main_account()
    form = SubAccountForm()
    form.profiles.choices = _profile_choices(main)
    if form.validate_on_submit():
        login = f"{_login_stem(main)}/{form.identifier.data}"
        taken = db.session.scalar(select(Account.id).where(Account.space_key == space.key, Account.login == login))
        if taken:
            form.identifier.errors = list(form.identifier.errors) + [_("Cet identifiant est déjà utilisé.")]
        else:
            allowed = _allowed_profiles(main)
            sub = Account(
                space_key=space.key,
                login=login,
                tenant_ref=main.tenant_ref,
                parent_id=main.id,
                display_name=form.display_name.data.strip(),
                email=form.email.data.strip().lower(),
                profiles=[p for p in form.profiles.data if p in allowed],
                must_change_password=True,
            )
            db.session.add(sub)
            db.session.flush()
            # a temporary password to the sub-account's own address (SAFE-1): the main account never sees it
            subject = _("%(name)s : votre accès au portail", name=space.insurer_name)
            mail_temporary_password(space, sub, subject, "subaccount_password", created=True)
            audit.record("subaccount_created", account=main, subaccount=sub.login, profiles=sub.profiles)
            db.session.commit()
            flash(_("Le sous-compte %(login)s a été créé ; son mot de passe lui a été envoyé par e-mail.", login=sub.login), "success")
            return redirect_to(url_for("space.subaccounts"))
    return render("accounts/subaccount_form.html", form=form, sub=None, login_prefix=_login_stem(main) + "/")


@space_bp.route("/accounts/<int:account_id>", methods=["GET", "POST"])
def subaccount_edit(account_id: int):
    """Edit a sub-account's profiles (never more than the main account's, or its tenant's)."""
    main = _main_account()
    sub = _own_subaccount(account_id)
    form = ProfilesForm(data={"profiles": sub.profiles} if request.method == "GET" else None)
    form.profiles.choices = _profile_choices(main)
    if form.validate_on_submit():
        allowed = _allowed_profiles(main)
        sub.profiles = [p for p in form.profiles.data if p in allowed]
        audit.record("subaccount_profiles_changed", account=main, subaccount=sub.login, profiles=sub.profiles)
        db.session.commit()
        flash(_("Les profils de %(login)s ont été modifiés.", login=sub.login), "success")
        return redirect_to(url_for("space.subaccounts"))
    return render("accounts/subaccount_edit.html", form=form, sub=sub)


def _subaccount_action(account_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    return _main_account(), _own_subaccount(account_id)


@space_bp.post("/accounts/<int:account_id>/reset")
def subaccount_reset(account_id: int):
    """A new temporary password to the sub-account's own address; its old password,
    links and sessions end now (the reset may follow a leak)."""
    space = current_space()
    main, sub = _subaccount_action(account_id)
    if not send_reset(space, sub, "temporary_password", by="main_account"):
        flash(_("Ce sous-compte n'a pas d'adresse e-mail enregistrée : aucun mot de passe ne peut lui être envoyé."), "danger")
        return redirect_to(url_for("space.subaccounts"))
    audit.record("subaccount_reset", account=main, subaccount=sub.login)
    db.session.commit()
    flash(_("Un nouveau mot de passe temporaire a été envoyé à %(login)s.", login=sub.login), "success")
    return redirect_to(url_for("space.subaccounts"))


@space_bp.post("/accounts/<int:account_id>/disable")
def subaccount_disable(account_id: int):
    """Disable a sub-account: its sessions end and what was mailed to it stops working."""
    main, sub = _subaccount_action(account_id)
    if sub.status != "disabled":
        sub.status = "disabled"
        end_other_sessions(sub)
        revoke(sub)  # a pending temporary password or reset link must not outlive the disabling
        audit.record("subaccount_disabled", account=main, subaccount=sub.login)
        db.session.commit()
    flash(_("Le sous-compte %(login)s est désactivé.", login=sub.login), "success")
    return redirect_to(url_for("space.subaccounts"))


@space_bp.post("/accounts/<int:account_id>/enable")
def subaccount_enable(account_id: int):
    main, sub = _subaccount_action(account_id)
    if sub.status == "disabled":
        sub.status = "active"
        audit.record("subaccount_enabled", account=main, subaccount=sub.login)
        db.session.commit()
    flash(_("Le sous-compte %(login)s est réactivé.", login=sub.login), "success")
    return redirect_to(url_for("space.subaccounts"))


@space_bp.post("/accounts/<int:account_id>/delete")
def subaccount_delete(account_id: int):
    main, sub = _subaccount_action(account_id)
    login = sub.login
    end_other_sessions(sub)
    db.session.delete(sub)
    audit.record("subaccount_deleted", account=main, subaccount=login)
    db.session.commit()
    flash(_("Le sous-compte %(login)s a été supprimé.", login=login), "success")
    return redirect_to(url_for("space.subaccounts"))

