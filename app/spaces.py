"""Mounting spaces at ``/<insurer>/<space>/``: the core's space blueprint, the
plugins' blueprints, the home page and the space's dashboard."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable, TypeVar

from flask import Blueprint, Flask, abort, current_app, g, redirect, request, session, url_for
from flask_login import current_user

from app.htmx import render
from app.plugins.manager import registry_of
from app.plugins.types import MenuItem, Space, Widget

space_bp = Blueprint("space", __name__, url_prefix="/<insurer>/<space>")
home_bp = Blueprint("home", __name__)

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Mark a view of a space as reachable without logging in (login, recovery, enrollment)."""
    view.portal_public = True  # type: ignore[attr-defined]
    return view


def before_password_change(view: F) -> F:
    """Mark a view as reachable by a logged-in account that must still change its password."""
    view.portal_before_change = True  # type: ignore[attr-defined]
    return view


def requires_profile(*codes: str) -> Callable[[F], F]:
    """Let a plugin page answer only accounts holding one of ``codes`` (403 otherwise);
    a sub-account's profiles are bounded by its main account's."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated or not may_use(current_user, *codes):
                abort(403)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def current_space() -> Space:
    """The space of the current request (404 outside a space)."""
    space = g.get("space")
    if space is None:
        abort(404)
    return space


#: session key: the profile chosen at login (``Space.profile_field``), the only one the session uses
ACTIVE_PROFILE_KEY = "active_profile"


def may_use(account: Any, *codes: str) -> bool:
    """True when the account may use a page of ``codes`` (any, when none) in this session:
    it holds one of them, and when a profile was chosen at login (``Space.profile_field``),
    that one — a sub-account holding several works in one at a time, as the seed's login says."""
    if not account.has_profile(*codes):
        return False
    own_session = current_user.is_authenticated and getattr(account, "id", None) == current_user.id
    active = session.get(ACTIVE_PROFILE_KEY) if own_session else None
    return not codes or not active or active in codes


def menu_for(space: Space, account: Any) -> list[MenuItem]:
    """The menu entries the account may use in this session."""
    return [m for m in space.menu if may_use(account, *m.profiles)]


def widgets_for(space: Space, account: Any) -> list[Widget]:
    """The dashboard widgets the account may use in this session."""
    return [w for w in space.widgets if may_use(account, *w.profiles)]


def _resolve_space(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Find the space of the request from the URL (core screens) or the blueprint (plugin pages)."""
    registry = registry_of(current_app)
    if endpoint and endpoint.startswith("space.") and values is not None:
        space = registry.space(values.pop("insurer", ""), values.pop("space", ""))
        if space is None:
            abort(404)
        g.space = space
    elif endpoint and endpoint.startswith("backoffice.") and values is not None:
        space = registry.space(values.pop("insurer", ""), "gestion")
        if space is None:
            abort(404)
        g.space = space
    elif request.blueprint and request.blueprint in registry.blueprint_spaces:
        g.space = registry.blueprint_spaces[request.blueprint]


def _fill_space_values(endpoint: str, values: dict[str, Any]) -> None:
    """Let ``url_for('space.login')`` inside a space name the current space
    (and ``url_for('backoffice.…')`` the current insurer)."""
    if "insurer" in values or g.get("space") is None:
        return
    if endpoint.startswith("space."):
        values["insurer"] = g.space.insurer
        values["space"] = g.space.code
    elif endpoint.startswith("backoffice."):
        values["insurer"] = g.space.insurer


@space_bp.get("/")
def dashboard():
    """The space's home after login: its menu and its widgets, loaded lazily."""
    space = current_space()
    return render(
        "space/dashboard.html",
        menu=menu_for(space, current_user),
        widgets=widgets_for(space, current_user),
    )


@home_bp.get("/")
def index():
    """The list of enabled spaces, or a redirect when there is only one."""
    registry = registry_of(current_app)
    if current_app.config.get("HOME"):
        return redirect(current_app.config["HOME"])
    spaces = [s for s in registry.spaces.values() if s.code != "gestion"]  # agents know their address
    if len(spaces) == 1:
        return redirect(url_for("space.login", insurer=spaces[0].insurer, space=spaces[0].code))
    return render("home.html", spaces=spaces)


def init_app(app: Flask) -> None:
    """Mount the core's screens once for all spaces and each space's own blueprint."""
    registry = registry_of(app)
    app.jinja_env.globals["may_use"] = may_use
    app.url_value_preprocessor(_resolve_space)
    app.url_defaults(_fill_space_values)
    app.register_blueprint(home_bp)
    app.register_blueprint(space_bp)
    for space in registry.spaces.values():
        if space.blueprint is not None:
            app.register_blueprint(space.blueprint, url_prefix=f"/{space.insurer}/{space.code}")
            registry.blueprint_spaces[space.blueprint.name] = space
