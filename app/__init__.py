"""Portail: the Flask core. ``create_app`` is a readable list of ``configure_*`` steps."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader

from app.config import DEFAULT_SECRET_KEY, Defaults

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the portal: defaults, then ``PORTAL_*`` variables, then ``config``."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    configure_settings(app, config)
    configure_proxy(app)
    configure_extensions(app)
    configure_plugins(app)
    configure_templates(app)
    configure_blueprints(app)
    configure_cli(app)
    return app


def configure_settings(app: Flask, config: Mapping[str, Any] | None) -> None:
    app.config.from_object(Defaults)
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config.from_prefixed_env("PORTAL")
    if config:
        app.config.update(config)
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "portal.sqlite")
    elif uri.startswith("postgresql://") or uri.startswith("postgres://"):
        # psycopg 3 is the driver we ship
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = str(app.config["PUBLIC_URL"]).startswith("https://")
    if app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY and not (app.debug or app.testing):
        raise RuntimeError(
            "Refusing to start with the default secret key: set PORTAL_SECRET_KEY "
            "(or run in debug or testing mode)."
        )


def configure_proxy(app: Flask) -> None:
    """Behind ``PROXY_COUNT`` reverse proxies, take the client's address and scheme
    from their X-Forwarded-* headers (throttling and audit need the real address)."""
    hops = int(app.config.get("PROXY_COUNT") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)  # type: ignore[method-assign]


def configure_extensions(app: Flask) -> None:
    from app.extensions import babel, csrf, db, limiter, login_manager, mail, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    babel.init_app(app, default_translation_directories=str(ROOT / "app" / "translations"))
    limiter.init_app(app)
    login_manager.init_app(app)

    from app import htmx, mail as outbox, security, sessions

    sessions.init_app(app)
    security.init_app(app)
    outbox.init_app(app)
    htmx.init_app(app)


def configure_plugins(app: Flask) -> None:
    from app.plugins.manager import build_registry

    registry = build_registry(app)
    app.extensions["portal"] = registry
    registry.pm.hook.portal_init_app(app=app)


def configure_templates(app: Flask) -> None:
    """Deployment overrides first, then the core's templates, then the blueprints'."""
    override = app.config.get("TEMPLATE_OVERRIDES")
    if override:
        app.jinja_loader = ChoiceLoader([FileSystemLoader(override), app.jinja_loader])  # type: ignore[list-item]
    from app import branding, charts, templating

    templating.init_app(app)
    branding.init_app(app)
    charts.init_app(app)


def configure_blueprints(app: Flask) -> None:
    from app import backoffice, spaces
    from app.accounts import views as account_views  # noqa: F401  (routes on the space blueprint)
    from app.auth import views as auth_views  # noqa: F401
    from app.enrollment import views as enrollment_views  # noqa: F401

    backoffice.init_app(app)
    spaces.init_app(app)


def configure_cli(app: Flask) -> None:
    from app.cli import portal_cli

    app.cli.add_command(portal_cli)
