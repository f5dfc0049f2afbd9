"""Fixtures of the browser tests: the portal served for real on 127.0.0.1 in a
background thread, and a headless Debian chromium driven by Playwright.

Playwright cannot download its own browsers here: ``/usr/bin/chromium`` is used
(``PORTAL_TEST_CHROMIUM`` names another binary). Tests that need it are marked
``@pytest.mark.browser`` (``-m "not browser"`` leaves them out); without
chromium they fail and say how to install it, rather than pass unseen.
"""
from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask, got_request_exception
from werkzeug.serving import BaseWSGIServer, make_server

CHROMIUM = os.environ.get("PORTAL_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: where the tests put their screenshots (to look at the stylesheet)
SCREENSHOTS = Path(os.environ.get("PORTAL_TEST_SCREENSHOTS", "/tmp/shots"))


class LiveServer:
    """The portal served by werkzeug in a thread: ``url`` is its base URL
    (``http://127.0.0.1:<port>``, no trailing slash), ``app`` the Flask app."""

    def __init__(self, server: BaseWSGIServer, app: Flask) -> None:
        self.server = server
        self.app = app
        self.url = f"http://{server.host}:{server.port}"
        #: "METHOD /path: exception" of every request that raised (a 500 in the browser)
        self.errors: list[str] = []

    def __call__(self, path: str = "/") -> str:
        """The absolute URL of ``path``."""
        return self.url + path

    def __str__(self) -> str:
        return self.url


@pytest.fixture
def live_server(request: pytest.FixtureRequest, app_config: dict) -> Iterator[LiveServer]:
    """Serve the ``app`` fixture on a free port of 127.0.0.1 in a background thread.

    The socket is bound before the app is built, so that ``PUBLIC_URL`` (links
    in e-mails; it also decides ``SESSION_COOKIE_SECURE``) is the live URL.
    ``live_server.app`` is the app it serves (the same object as ``app``).
    """
    target: dict[str, Callable] = {}

    def wsgi(environ, start_response):
        return target["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    url = f"http://127.0.0.1:{server.port}"
    app_config["PUBLIC_URL"] = url
    app: Flask = request.getfixturevalue("app")
    if app.config["PUBLIC_URL"] != url:
        # the test asked for ``app`` before ``live_server``: the app was built
        # with the default PUBLIC_URL (https), so fix what it decided from it
        app.config["PUBLIC_URL"] = url
        if "SESSION_COOKIE_SECURE" not in app_config:
            app.config["SESSION_COOKIE_SECURE"] = False
    target["app"] = app
    live = LiveServer(server, app)

    def record(sender, exception, **extra) -> None:
        from flask import request as current

        live.errors.append(f"{current.method} {current.path}: {exception!r}")

    got_request_exception.connect(record, app)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        got_request_exception.disconnect(record, app)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def chromium() -> Iterator:
    """A headless Debian chromium, launched for the test and closed after it
    (Playwright's sync API keeps an event loop on the main thread while it
    runs: not held across tests, so that other tests never see it)."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(f"no chromium at {CHROMIUM}: run `make system-packages` (Debian's chromium) or -m 'not browser'")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


#: options of every browser context the fixtures open
CONTEXT_OPTIONS = {"locale": "fr-FR", "viewport": {"width": 1280, "height": 800}}


def new_page(browser, **options):
    """A page in a new browser context of ``browser`` (``options`` for the
    context, e.g. ``java_script_enabled=False``); ``page.console_log``
    collects its console messages and uncaught errors. Closing the page's
    context is the caller's business (``page.context.close()``)."""
    context = browser.new_context(**{**CONTEXT_OPTIONS, **options})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log = ConsoleLog()
    page.on("console", log.add)
    page.on("pageerror", lambda error: log.errors.append(str(error)))
    page.console_log = log  # type: ignore[attr-defined]
    return page


class ConsoleLog:
    """What the page said on its console and the errors it threw."""

    def __init__(self) -> None:
        #: (type, text, URL of the resource or script) of each console message
        self.messages: list[tuple[str, str, str]] = []
        self.errors: list[str] = []

    def add(self, message) -> None:
        self.messages.append((message.type, message.text, (message.location or {}).get("url", "")))

    def csp_violations(self) -> list[str]:
        return [text for _, text, _ in self.messages if "Content Security Policy" in text] + [
            e for e in self.errors if "Content Security Policy" in e
        ]

    def problems(self) -> list[str]:
        """Console errors and uncaught exceptions, but the browser's own
        request for /favicon.ico (the portal has none)."""
        return [
            f"console.{kind}: {text} ({url})"
            for kind, text, url in self.messages
            if kind == "error" and not url.endswith("/favicon.ico")
        ] + [f"pageerror: {e}" for e in self.errors]


@pytest.fixture
def browser_page(chromium) -> Iterator:
    """A fresh page of headless chromium (see :func:`new_page`)."""
    page = new_page(chromium)
    try:
        yield page
    finally:
        page.context.close()


def save_screenshot(page, name: str) -> Path:
    """Save the whole page to /tmp/shots/<name>.png (``PORTAL_TEST_SCREENSHOTS``
    names another folder), to look at the stylesheet."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
