"""Printable documents (CORE-16): a Jinja template rendered to an A4 PDF with
WeasyPrint, French and Arabic, that fetches nothing but the portal's static files."""
from __future__ import annotations

import mimetypes
import os
from contextlib import nullcontext
from datetime import date, datetime, timezone
from io import BytesIO
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, current_app, has_request_context, render_template, request, send_file
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.security import safe_join

from app.templating import format_date


class StaticOnlyFetcher(URLFetcher):
    """WeasyPrint's resource fetcher for the portal: the application's static files
    (``url_for('static', …)`` and the blueprints' ``….static``) and ``data:`` URLs;
    every other URL is refused, so rendering a document never touches the network."""

    def __init__(self, app: Flask, base_url: str) -> None:
        # the parent only ever serves data: URLs (a second lock if fetch() were bypassed)
        super().__init__(allowed_protocols=("data",), fail_on_errors=False)
        self._app = app
        parts = urlsplit(base_url)
        self._origin = (parts.scheme, parts.netloc)
        self._root = parts.path.rstrip("/")

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        """The static file or data: URL at ``url``; ``ValueError`` (WeasyPrint logs and skips it) otherwise."""
        if url.lower().startswith("data:"):
            return super().fetch(url, headers)
        path = self.static_path(url)
        if path is None:
            raise ValueError(f"refused to fetch {url!r}: only the portal's static files are used in documents")
        with open(path, "rb") as file:
            body = file.read()
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": mimetype})

    def static_path(self, url: str) -> str | None:
        """The file of the static folder that ``url`` names on the portal's own origin, or None."""
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin:
            return None
        path = unquote(parts.path)
        if self._root:
            if not path.startswith(self._root + "/"):
                return None
            path = path[len(self._root):]
        try:
            endpoint, values = self._app.url_map.bind(parts.netloc).match(path, method="GET")
        except (HTTPException, RequestRedirect):
            return None
        if endpoint == "static":
            folder = self._app.static_folder
        elif endpoint.endswith(".static") and endpoint[: -len(".static")] in self._app.blueprints:
            folder = self._app.blueprints[endpoint[: -len(".static")]].static_folder
        else:
            return None
        found = safe_join(folder, values.get("filename", "")) if folder else None
        return found if found and os.path.isfile(found) else None


def _printed_on(value: date | datetime | str | None) -> str:
    """The document's date as dd/mm/yyyy: today in the portal's time zone unless given."""
    if isinstance(value, str):
        return value
    return format_date(value or datetime.now(timezone.utc))


def render_pdf(template: str, *, reference: str | None = None, **context: Any) -> bytes:
    """Render ``template`` (which extends ``pdf/base.html``) to a tagged A4 PDF.

    ``reference`` is printed on every page with the date (``printed_on``: today
    unless the context gives a date). Outside a request (a CLI command) the
    document is built as if requested at ``PUBLIC_URL``."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scope = nullcontext() if has_request_context() else app.test_request_context(base_url=app.config["PUBLIC_URL"])
    with scope:
        context["printed_on"] = _printed_on(context.get("printed_on"))
        html = render_template(template, reference=reference, **context)
        base_url = request.url_root
        document = HTML(string=html, base_url=base_url, url_fetcher=StaticOnlyFetcher(app, base_url))
        return document.write_pdf(pdf_tags=True)


def pdf_response(template: str, filename: str, *, reference: str | None = None, **context: Any) -> Response:
    """The rendered document as a download (``attachment``, ``application/pdf``);
    the security headers (CSP, no-store) are added like on every response."""
    pdf = render_pdf(template, reference=reference, **context)
    return send_file(
        BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=filename,
        conditional=False,
        etag=False,
        max_age=0,
    )
