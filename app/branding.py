"""Branding per deployment (CORE-14): the plugin's defaults, overridden by
``PORTAL_BRANDING`` ({"insurer/space": {"name": …, "contact": {"email": …}}})."""
from __future__ import annotations

import json
import re
from dataclasses import fields, replace
from typing import Any

from flask import Flask, Response, current_app, g

from app.plugins.types import Branding, Contact, Document, Space

COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}")


def _overrides(space: Space) -> dict[str, Any]:
    config = current_app.config.get("BRANDING") or {}
    if isinstance(config, str):
        config = json.loads(config)
    return dict(config.get(space.key) or config.get(space.insurer) or {})


def branding_for(space: Space) -> Branding:
    """The space's branding: plugin defaults, then the deployment's configuration."""
    base = space.branding or Branding(name=space.insurer_name)
    if not base.documents and space.documents:
        base = replace(base, documents=space.documents)
    changes = _overrides(space)
    if "contact" in changes:
        changes["contact"] = replace(base.contact, **changes["contact"])
    if "faq" in changes:
        changes["faq"] = tuple(tuple(item) for item in changes["faq"])
    if "documents" in changes:
        changes["documents"] = tuple(Document(**d) for d in changes["documents"])
    known = {f.name for f in fields(Branding)}
    branding = replace(base, **{k: v for k, v in changes.items() if k in known})
    for colour in (branding.primary_colour, branding.accent_colour):
        if not COLOUR.fullmatch(colour):
            raise ValueError(f"invalid colour in branding of {space.key}: {colour!r}")
    return branding


def theme_css(space: Space) -> Response:
    """The space's colours as CSS variables: a stylesheet, since CSP forbids inline styles."""
    b = branding_for(space)
    css = f":root {{ --primary: {b.primary_colour}; --accent: {b.accent_colour}; }}\n"
    response = Response(css, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def init_app(app: Flask) -> None:
    @app.context_processor
    def inject_branding() -> dict[str, Any]:
        space = g.get("space")
        return {"branding": branding_for(space) if space is not None else None, "Contact": Contact}
