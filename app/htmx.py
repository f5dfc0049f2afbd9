"""HTMX helpers: one way to answer with a partial or a full page, and typed
helpers for HTMX response headers."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, make_response, redirect, render_template, request
from jinja2 import TemplateNotFound


def is_htmx() -> bool:
    """True for an HTMX request that expects a fragment (not a history restore)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def partial_name(template: str) -> str:
    """``space/dashboard.html`` → ``space/_dashboard.html``: the partial the page includes.
    A template that is already a partial (``accounts/_policy.html``) is its own partial."""
    folder, _, name = template.rpartition("/")
    if name.startswith("_"):
        return template
    return f"{folder}/_{name}" if folder else f"_{name}"


def render(template: str, status: int = 200, **context: Any) -> Response:
    """Render the full page, or for an HTMX request its partial (``_``-prefixed
    template that the page includes; a page without one gives its ``content``
    block). Always sends ``Vary: HX-Request``."""
    html = _fragment(template, context) if is_htmx() else render_template(template, **context)
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


def _fragment(template: str, context: dict[str, Any]) -> str:
    """The partial of ``template``, or, when the page has none, its ``content`` block:
    an HTMX request to any page gets a fragment, never a 500 nor a page in a page."""
    partial = partial_name(template)
    try:
        current_app.jinja_env.get_template(partial)
    except TemplateNotFound as missing:
        if missing.name != partial:
            raise
    else:
        return render_template(partial, **context)
    return render_template(template, content_only=True, **context)


def redirect_to(location: str) -> Response:
    """A redirect that works for both kinds of requests: ``HX-Redirect`` for HTMX
    (so the whole page changes, not a fragment), 303 otherwise."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 200)
        response.headers["HX-Redirect"] = location
    else:
        response = redirect(location, code=303)
    response.vary.add("HX-Request")
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["is_htmx"] = is_htmx
