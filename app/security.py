"""Security headers on every response and friendly error pages in French."""
from __future__ import annotations

from flask import Flask, Response, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.htmx import render

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def add_security_headers(response: Response) -> Response:
    """CSP without inline code, no framing, no sniffing, and no caching of
    anything but static files (authenticated pages must not be kept)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers.setdefault("Pragma", "no-cache")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _error_page(status: int, title: str, message: str) -> Response:
    """The error in French: a full page, or for HTMX the fragment swapped where the answer was expected."""
    return render("error.html", status=status, title=title, message=message)


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _error_page(
            400,
            _("Formulaire expiré"),
            _("Le formulaire a expiré ou n'a pas été envoyé depuis le portail. Rechargez la page et recommencez."),
        )

    @app.errorhandler(404)
    def not_found(error: HTTPException):
        return _error_page(404, _("Page introuvable"), _("La page demandée n'existe pas."))

    @app.errorhandler(403)
    def forbidden(error: HTTPException):
        return _error_page(403, _("Accès refusé"), _("Vous n'avez pas accès à cette page."))

    @app.errorhandler(405)
    def not_allowed(error: HTTPException):
        return _error_page(405, _("Action impossible"), _("Cette action n'est pas permise sur cette page."))

    @app.errorhandler(413)
    def too_large(error: HTTPException):
        return _error_page(413, _("Fichier trop volumineux"), _("Le fichier envoyé dépasse la taille permise."))

    @app.errorhandler(429)
    def too_many(error: HTTPException):
        return _error_page(
            429,
            _("Trop de tentatives"),
            _("Trop de tentatives en peu de temps. Patientez quelques minutes avant de réessayer."),
        )

    @app.errorhandler(500)
    def server_error(error: Exception):
        return _error_page(500, _("Erreur du portail"), _("Une erreur est survenue. Réessayez plus tard."))

    app.jinja_env.globals["current_user"] = current_user
