"""What every response carries for safety: CSP without inline code, no sniffing,
no caching of personal pages, safe cookies, CSRF on every form, htmx served by
the portal itself, and a production app that refuses the default secret key."""
from __future__ import annotations

import html
import json
from html.parser import HTMLParser

import pytest

from app import create_app
from app.config import DEFAULT_SECRET_KEY
from tests.conftest import PASSWORD, SPACE_URL, csrf_of, login, make_account

DASHBOARD = f"{SPACE_URL}/"
LOGIN_PAGE = f"{SPACE_URL}/login"
CHANGE_PAGE = f"{SPACE_URL}/password/change"
LOGOUT = f"{SPACE_URL}/logout"
STATEMENTS = f"{SPACE_URL}/releves"
HTMX = {"HX-Request": "true"}


class Page(HTMLParser):
    """What the CSP cares about in a page: scripts, styles, inline handlers, meta tags."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.inline_scripts: list[str] = []
        self.style_elements = 0
        self.style_attributes: list[str] = []
        self.handlers: list[str] = []
        self.javascript_urls: list[str] = []
        self.metas: dict[str, str] = {}
        self.stylesheets: list[str] = []
        self._in_script = False
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name == "style":
                self.style_attributes.append(f"<{tag} style={value!r}>")
            if name.startswith("on") or name.startswith("hx-on"):
                self.handlers.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.javascript_urls.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        elif tag == "style":
            self.style_elements += 1
        elif tag == "meta" and attributes.get("name"):
            self.metas[attributes["name"]] = attributes.get("content") or ""
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data.strip())


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def logged_in(client, account):
    assert login(client).status_code == 303
    return client


def build(request, **config):
    """The test client of an app built with ``config`` on top of conftest's."""
    app_config = request.getfixturevalue("app_config")
    app_config.update(config)
    return request.getfixturevalue("app"), request.getfixturevalue("client")


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def pages(client) -> dict[str, object]:
    """The login page (anonymous), then the pages of a logged-in member."""
    responses = {"login": client.get(LOGIN_PAGE)}
    make_account(client.application, "1001")
    assert login(client).status_code == 303
    responses["dashboard"] = client.get(DASHBOARD)
    responses["change-password"] = client.get(CHANGE_PAGE)
    responses["statements"] = client.get(STATEMENTS)
    for name, response in responses.items():
        assert response.status_code == 200, name
    return responses


# --------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------


def test_pages_forbid_inline_code_framing_and_sniffing(client):
    for name, response in pages(client).items():
        policy = response.headers.get("Content-Security-Policy")
        assert policy, name
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, name
        parsed = directives(policy)
        assert parsed["frame-ancestors"] == ["'none'"], name
        assert parsed["script-src"] == ["'self'"], name
        assert parsed["default-src"] == ["'self'"], name
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), name


def test_personal_pages_are_never_cached(client):
    for name, response in pages(client).items():
        assert "no-store" in response.headers.get("Cache-Control", ""), name


def test_pages_that_answer_htmx_with_a_fragment_vary_on_hx_request(client):
    for name, response in pages(client).items():
        if name == "statements":
            continue  # a plugin page rendered without the core's render()
        assert "HX-Request" in response.headers.get("Vary", ""), name


def test_error_pages_carry_the_same_headers(client):
    response = client.get("/nope/x/login")

    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --------------------------------------------------------------------------
# Session cookie
# --------------------------------------------------------------------------


def session_cookie_header(response) -> str:
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("portail_session=")]
    assert cookies, "no session cookie set"
    return cookies[-1]


def cookie_attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def test_session_cookie_is_httponly_lax_and_secure_behind_https(client, account):
    for response in (client.get(LOGIN_PAGE), login(client)):
        header = session_cookie_header(response)
        attributes = cookie_attributes(header)
        assert "httponly" in attributes
        assert "secure" in attributes
        assert "samesite=lax" in header.lower()


def test_session_cookie_is_not_secure_when_the_portal_is_served_over_http(request):
    app, client = build(request, PUBLIC_URL="http://127.0.0.1:5000")
    make_account(app, "1001")

    for response in (client.get(LOGIN_PAGE), login(client)):
        header = session_cookie_header(response)
        attributes = cookie_attributes(header)
        assert "secure" not in attributes
        assert "httponly" in attributes
        assert "samesite=lax" in header.lower()


# --------------------------------------------------------------------------
# CSRF
# --------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_login_posted_without_csrf_token_is_refused_with_the_expired_form_page(client, account, headers):
    response = client.post(LOGIN_PAGE, data={"adherent": "1001", "password": PASSWORD}, headers=headers)

    assert response.status_code == 400
    assert "Formulaire expiré" in text_of(response)
    assert client.get(DASHBOARD).status_code == 303, "not logged in"


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_password_change_posted_without_csrf_token_is_refused(app, logged_in, headers):
    response = logged_in.post(
        CHANGE_PAGE,
        data={"current_password": PASSWORD, "new_password": "Nouveau42xy", "confirmation": "Nouveau42xy"},
        headers=headers,
    )

    assert response.status_code == 400
    assert "Formulaire expiré" in text_of(response)
    assert login(app.test_client(), password=PASSWORD).status_code == 303, "the password did not change"


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_logout_posted_without_csrf_token_is_refused_and_the_session_stays(logged_in, headers):
    response = logged_in.post(LOGOUT, headers=headers)

    assert response.status_code == 400
    assert "Formulaire expiré" in text_of(response)
    assert logged_in.get(DASHBOARD).status_code == 200


def test_csrf_token_of_another_session_is_refused(app, client, account):
    stranger = app.test_client()
    token = csrf_of(stranger.get(LOGIN_PAGE).get_data(as_text=True))
    client.get(LOGIN_PAGE)

    response = client.post(LOGIN_PAGE, data={"csrf_token": token, "adherent": "1001", "password": PASSWORD})

    assert response.status_code == 400
    assert "Formulaire expiré" in text_of(response)


def test_logout_is_not_a_get(logged_in):
    response = logged_in.get(LOGOUT)

    assert response.status_code == 405
    assert logged_in.get(DASHBOARD).status_code == 200


# --------------------------------------------------------------------------
# No inline code; htmx from the portal itself
# --------------------------------------------------------------------------


def test_rendered_pages_have_no_inline_script_nor_style(client):
    for name, response in pages(client).items():
        page = Page(response.get_data(as_text=True))
        assert page.inline_scripts == [], name
        assert all(script.get("src") for script in page.scripts), name
        assert page.style_elements == 0, name
        assert page.style_attributes == [], name
        assert page.handlers == [], name
        assert page.javascript_urls == [], name


def test_htmx_is_served_by_the_portal_with_eval_disabled(client):
    for name, response in pages(client).items():
        page = Page(response.get_data(as_text=True))
        sources = [script["src"] for script in page.scripts]
        assert sources and all(src.startswith("/static/") for src in sources), name
        assert any("htmx" in src for src in sources), name
        assert all(href.startswith("/") and not href.startswith("//") for href in page.stylesheets), name

        config = json.loads(page.metas["htmx-config"])
        assert config["allowEval"] is False, name
        assert config.get("allowScriptTags") is False, name

    htmx_src = next(s["src"] for s in Page(client.get(LOGIN_PAGE).get_data(as_text=True)).scripts if "htmx" in s["src"])
    script = client.get(htmx_src)
    assert script.status_code == 200
    assert "javascript" in script.mimetype
    assert b"htmx" in script.data


# --------------------------------------------------------------------------
# Secret key
# --------------------------------------------------------------------------


def production_config(app_config: dict) -> dict:
    config = {k: v for k, v in app_config.items() if k not in ("SECRET_KEY", "TESTING", "_TEST_SCHEMA")}
    config["TESTING"] = False
    config["DEBUG"] = False
    return config


def test_production_app_refuses_to_start_with_the_default_secret_key(app_config, monkeypatch):
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("PORTAL_DEBUG", raising=False)

    with pytest.raises(RuntimeError, match="secret key"):
        create_app(production_config(app_config))
    with pytest.raises(RuntimeError, match="secret key"):
        create_app({**production_config(app_config), "SECRET_KEY": DEFAULT_SECRET_KEY})


def test_production_app_starts_with_a_real_secret_key(app_config, monkeypatch):
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    production = create_app({**production_config(app_config), "SECRET_KEY": "a-real-secret-from-the-environment"})

    assert production.config["SECRET_KEY"] == "a-real-secret-from-the-environment"
    assert production.testing is False


def test_production_app_takes_its_secret_key_from_the_environment(app_config, monkeypatch):
    monkeypatch.setenv("PORTAL_SECRET_KEY", "from-the-environment")
    production = create_app(production_config(app_config))

    assert production.config["SECRET_KEY"] == "from-the-environment"
