"""Printable documents (CORE-16): French and Arabic on A4, the reference and the
date on every page, nothing fetched from the network, served as a download.
PDFs are read back with poppler-utils (``make system-packages`` installs it)."""
from __future__ import annotations

import re
import shutil
import subprocess
import threading
import unicodedata
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import Blueprint, Flask, g

from app.pdf import StaticOnlyFetcher, pdf_response, render_pdf
from app.plugins.manager import registry_of
from app.security import CONTENT_SECURITY_POLICY
from app.templating import format_date

FRENCH_TITLE = "Demande d'adhésion"
ARABIC_TITLE = "طلب الانخراط في بوابة"
ARABIC_COMMITMENT = "أشهد بصحة المعلومات المدلى بها أعلاه"
REFERENCE = "ADH-2026-000042"
#: a 1×1 PNG, the kind of small image a document may carry inline
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

APPLICATION_FORM = """{% extends "pdf/base.html" %}
{% block title %}Demande d'adhésion{% endblock %}
{% block content %}
<h1>Demande d'adhésion</h1>
<p dir="rtl" lang="ar">طلب الانخراط في بوابة</p>
<div class="pdf-field"><span class="pdf-field-label">Nom :</span><span class="pdf-field-value">{{ name }}</span></div>
<p class="pdf-page-break">Engagement du directeur</p>
<p dir="rtl" lang="ar">أشهد بصحة المعلومات المدلى بها أعلاه</p>
{% endblock %}
"""

EXTERNAL_RESOURCES = """{% extends "pdf/base.html" %}
{% block stylesheets %}<link rel="stylesheet" href="{{ outside }}/style.css">{% endblock %}
{% block content %}
<h1>Relevé</h1>
<img src="{{ outside }}/logo.png" alt="">
<img src="file:///etc/hostname" alt="">
<img src="{{ pixel }}" alt="Tampon">
<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><image href="{{ outside }}/image.png" width="20" height="20"/></svg>
{% endblock %}
"""

WITH_CHART = """{% extends "pdf/base.html" %}
{% block content %}
{{ bar_chart([("Dossier payé", 1234), ("Dossier retourné", 567)], title="Récapitulatif des dossiers") }}
{% endblock %}
"""


@pytest.fixture
def app_config(app_config, tmp_path):
    """The test documents live in a deployment's template folder, as a plugin's would."""
    folder = tmp_path / "templates" / "documents"
    folder.mkdir(parents=True)
    (folder / "demande.html").write_text(APPLICATION_FORM, encoding="utf-8")
    (folder / "externe.html").write_text(EXTERNAL_RESOURCES, encoding="utf-8")
    (folder / "graphique.html").write_text(WITH_CHART, encoding="utf-8")
    app_config["TEMPLATE_OVERRIDES"] = str(tmp_path / "templates")
    return app_config


@pytest.fixture
def poppler() -> None:
    if not shutil.which("pdftotext") or not shutil.which("pdfinfo"):
        pytest.fail("poppler-utils is missing (pdftotext, pdfinfo): run make system-packages")


def poppler_run(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    """Run a poppler tool on the PDF and return what it prints."""
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    extra = ["-"] if tool == "pdftotext" else []
    return subprocess.run([tool, *args, str(path), *extra], capture_output=True, text=True, check=True).stdout


def readable(text: str) -> str:
    """Text as a reader sees it: Arabic presentation forms back to letters (NFKC),
    without the invisible bidirectional marks, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", text)
    return re.sub(r"\s+", " ", text)


def page_text(pdf: bytes, tmp_path: Path, page: int) -> str:
    return readable(poppler_run("pdftotext", pdf, tmp_path, "-f", str(page), "-l", str(page)))


def render_in_space(app, template: str, **context) -> bytes:
    """Render a document during a request of the test insurer's space (its branding)."""
    with app.test_request_context("/exemple/membres/"):
        g.space = registry_of(app).space("exemple", "membres")
        return render_pdf(template, **context)


class CountingServer:
    """A real HTTP server on 127.0.0.1 that counts the requests it receives."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.end_headers()
                self.wfile.write(b"body { color: red }")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def outside() -> CountingServer:
    server = CountingServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_system_has_a_font_for_arabic():
    fonts = subprocess.run(["fc-list", ":lang=ar", "family"], capture_output=True, text=True, check=True).stdout
    assert "Noto Naskh Arabic" in fonts or "Noto Sans Arabic" in fonts, "install fonts-noto-core (make system-packages)"


def test_application_form_prints_french_and_arabic_on_a4(app, tmp_path, poppler):
    pdf = render_in_space(app, "documents/demande.html", reference=REFERENCE, name="Clinique Exemple")

    assert pdf.startswith(b"%PDF-")
    info = poppler_run("pdfinfo", pdf, tmp_path)
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)
    assert re.search(r"Pages:\s+2\b", info)
    assert re.search(r"Tagged:\s+yes", info), "the PDF is tagged for screen readers"
    text = page_text(pdf, tmp_path, 1) + page_text(pdf, tmp_path, 2)
    assert FRENCH_TITLE in text
    assert "Clinique Exemple" in text
    assert ARABIC_TITLE in text
    assert ARABIC_COMMITMENT in text


def test_arabic_is_set_in_an_arabic_font_and_latin_in_dejavu(app, tmp_path, poppler):
    pdf = render_in_space(app, "documents/demande.html", reference=REFERENCE, name="Clinique Exemple")

    fonts = poppler_run("pdffonts", pdf, tmp_path)
    assert re.search(r"Noto-(Naskh|Sans)-Arabic", fonts)
    assert "DejaVu-Sans" in fonts


def test_every_page_carries_the_insurer_the_reference_the_date_and_its_number(app, tmp_path, poppler):
    pdf = render_in_space(app, "documents/demande.html", reference=REFERENCE, name="Clinique Exemple")
    with app.app_context():
        today = format_date(datetime.now(timezone.utc))

    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", today)
    for page in (1, 2):
        text = page_text(pdf, tmp_path, page)
        assert "Mutuelle Exemple" in text
        assert f"Référence : {REFERENCE}" in text
        assert f"Date : {today}" in text
        assert f"Page {page} / 2" in text


def test_document_date_can_be_given_and_reference_left_out(app, tmp_path, poppler):
    pdf = render_in_space(app, "documents/demande.html", name="Clinique Exemple", printed_on=date(2026, 1, 15))

    text = page_text(pdf, tmp_path, 1)
    assert "Date : 15/01/2026" in text
    assert "Référence" not in text


def test_document_renders_outside_a_request_like_a_command_would(app, tmp_path, poppler):
    with app.app_context():
        pdf = render_pdf("documents/demande.html", reference=REFERENCE, name="Clinique Exemple")

    text = page_text(pdf, tmp_path, 2)
    assert f"Référence : {REFERENCE}" in text, "the static stylesheet was found: the header repeats on page 2"
    assert ARABIC_COMMITMENT in text


def test_external_urls_in_a_document_are_never_fetched(app, tmp_path, poppler, outside):
    pdf = render_in_space(app, "documents/externe.html", outside=outside.url, pixel=PIXEL)

    assert outside.paths == []
    assert pdf.startswith(b"%PDF-")
    assert "Relevé" in page_text(pdf, tmp_path, 1)
    listing = poppler_run("pdfimages", pdf, tmp_path, "-list").splitlines()[2:]
    images = [row for row in listing if row.split()[2] == "image"]
    assert len(images) == 1, "only the inline data: image is drawn"


def test_fetcher_serves_static_files_only(app):
    fetcher = StaticOnlyFetcher(app, "https://portail.example.test/")

    stylesheet = fetcher.fetch("https://portail.example.test/static/css/pdf.css")
    assert stylesheet.content_type == "text/css"
    assert b"size: A4" in stylesheet.read()
    assert fetcher.fetch(PIXEL).read().startswith(b"\x89PNG")
    for url in (
        "https://portail.example.test/static/../app/config.py",
        "https://portail.example.test/static/%2e%2e/app/config.py",
        "https://portail.example.test/static/css/absent.css",
        "https://portail.example.test/exemple/membres/releves",
        "https://ailleurs.example.test/static/css/pdf.css",
        "http://portail.example.test/static/css/pdf.css",
        "file:///etc/passwd",
        "ftp://portail.example.test/static/css/pdf.css",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_fetcher_follows_a_portal_served_under_a_path(app):
    fetcher = StaticOnlyFetcher(app, "https://portail.example.test/portail/")

    assert b"size: A4" in fetcher.fetch("https://portail.example.test/portail/static/css/pdf.css").read()
    with pytest.raises(ValueError):
        fetcher.fetch("https://portail.example.test/static/css/pdf.css")


def test_chart_prints_in_a_document(app, tmp_path, poppler):
    pdf = render_in_space(app, "documents/graphique.html")

    text = page_text(pdf, tmp_path, 1)
    for expected in ("Récapitulatif des dossiers", "Dossier payé", "Dossier retourné", "1 234", "567"):
        assert expected in text


def test_document_downloads_as_an_attachment_under_the_portal_headers(app, client, tmp_path, poppler):
    def application_form():
        return pdf_response("documents/demande.html", "demande-adhésion.pdf", reference=REFERENCE, name="Clinique Exemple")

    app.add_url_rule("/essai/demande.pdf", "application_form", application_form)

    response = client.get("/essai/demande.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''demande-adh%C3%A9sion.pdf" in disposition
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data.startswith(b"%PDF-")
    assert f"Référence : {REFERENCE}" in page_text(response.data, tmp_path, 1)


def test_fetcher_serves_a_plugin_blueprints_static_files(tmp_path):
    (tmp_path / "static" / "mutuelle").mkdir(parents=True)
    (tmp_path / "static" / "mutuelle" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    plugin = Flask(__name__)
    pages = Blueprint("mutuelle", __name__, static_folder=str(tmp_path / "static"))
    plugin.register_blueprint(pages, url_prefix="/mutuelle/membres")
    fetcher = StaticOnlyFetcher(plugin, "https://portail.example.test/")

    logo = fetcher.fetch("https://portail.example.test/mutuelle/membres/static/mutuelle/logo.svg")

    assert logo.content_type == "image/svg+xml"
    with pytest.raises(ValueError):
        fetcher.fetch("https://portail.example.test/mutuelle/membres/static/../../etc/passwd")
