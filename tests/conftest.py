"""Fixtures: the application on SQLite (default) or PostgreSQL (``TEST_DATABASE_URL``),
a real SMTP server, the test client and helpers to log in."""
from __future__ import annotations

import importlib
import os
import re
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.models import Account
from app.passwords import hash_password

pytest_plugins = ["tests.smtp"]

PASSWORD = "Ancien2026x"
SPACE_URL = "/exemple/membres"


def _database_uri(tmp_path) -> tuple[str, str | None]:
    """A fresh database for the test: a SQLite file, or a PostgreSQL schema."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return "sqlite:///" + str(tmp_path / "portal.sqlite"), None
    schema = "t_" + uuid.uuid4().hex[:12]
    return url, schema


@pytest.fixture
def app_config(tmp_path, smtp_server) -> dict:
    """The configuration every test app gets; a test may change it before ``app`` is built."""
    uri, schema = _database_uri(tmp_path)
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": uri,
        "PLUGIN_MODULES": ["tests.plugin_exemple"],
        "PLUGINS": None,
        "PUBLIC_URL": "https://portail.example.test",
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": smtp_server.port,
        "MAIL_SUPPRESS_SEND": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_LIMITS_PER_ACCOUNT": "1000 per minute",
        "LOGIN_LIMITS_PER_ADDRESS": "1000 per minute",
        "RECOVERY_LIMITS": "1000 per minute",
        # cheap argon2 for speed; production keeps the library's defaults
        "ARGON2_PARAMETERS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
    }
    if schema:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}}
        config["_TEST_SCHEMA"] = schema
    return config


def only_test_plugins(config: dict) -> dict:
    """``PLUGINS`` None (every available plugin) becomes the test plugins of ``PLUGIN_MODULES``:
    an installed insurer plugin (cnss …) is enabled by its own tests, not by every core test."""
    if config.get("PLUGINS") is not None:
        return config
    names = [getattr(importlib.import_module(m), "PLUGIN_NAME", m.rsplit(".", 1)[-1]) for m in config.get("PLUGIN_MODULES") or ()]
    return dict(config, PLUGINS=names)


@pytest.fixture
def app(app_config) -> Iterator[Flask]:
    app_config = only_test_plugins(app_config)
    schema = app_config.get("_TEST_SCHEMA")
    if schema:
        from sqlalchemy import create_engine

        engine = create_engine(app_config["SQLALCHEMY_DATABASE_URI"].replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    application = create_app(app_config)
    with application.app_context():
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        if schema:
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        db.engine.dispose()
    if schema:
        engine.dispose()


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


def make_account(app: Flask, login: str = "1001", *, password: str = PASSWORD, must_change: bool = False, **fields) -> int:
    """Create an account of the test space and return its id."""
    with app.app_context():
        account = Account(
            space_key=fields.pop("space_key", "exemple/membres"),
            login=login,
            tenant_ref=fields.pop("tenant_ref", login.split("/")[0]),
            display_name=fields.pop("display_name", "Amina Test"),
            email=fields.pop("email", f"{login.replace('/', '.')}@exemple.test"),
            profiles=fields.pop("profiles", ["CONSULT", "PAIE"]),
            password_hash=hash_password(password) if password else None,
            must_change_password=must_change,
            **fields,
        )
        db.session.add(account)
        db.session.commit()
        return account.id


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(r'"X-CSRFToken": "([^"]+)"', html.replace("&#34;", '"'))
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: FlaskClient, login: str = "1001", password: str = PASSWORD, sub: str = "", **headers):
    """Post the test space's login form like a browser would."""
    page = client.get(f"{SPACE_URL}/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "adherent": login, "password": password}
    if sub:
        data["sous_compte"] = sub
    return client.post(f"{SPACE_URL}/login", data=data, headers=headers)


@pytest.fixture
def account(app) -> int:
    return make_account(app)
