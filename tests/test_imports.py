"""Imports (CORE-13): an agent uploads the insurer's file, reads the preview with
its per-row errors, then commits; a bad row never half-imports a file; the same
importers run from ``flask portal import``."""
from __future__ import annotations

import csv
import html
import io
import os
import re
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, update

from app import imports
from app.backoffice import create_agent
from app.backoffice.import_jobs import ImportJob
from app.extensions import db
from app.imports import ImportColumn, ImportRefused, Importer, RowError, upsert
from app.models import AuditEvent, utcnow
from tests.conftest import csrf_of, login, make_account
from tests.plugin_exemple.importers import STATEMENTS, write_statement
from tests.plugin_exemple.models import Statement

AGENT_PASSWORD = "Gestion-Solide-2026"
BACK_OFFICE = "/exemple/gestion"
HEADER = ["Numéro d'adhérent", "N° de relevé", "Date de paiement", "Libellé", "Montant (DH)", "Situation"]
ROWS = [
    ["1001", "R-0001", date(2025, 1, 15), "Consultation", Decimal("150.50"), "Payé"],
    ["1002", "R-0002", date(2025, 2, 3), "Radiologie", Decimal("1250.00"), "En cours"],
    ["1001", "R-0003", date(2025, 3, 28), "", Decimal("80.00"), ""],
]
#: what the statements table holds once ROWS are imported
EXPECTED = [
    ("1001", "R-0001", date(2025, 1, 15), "Consultation", Decimal("150.50"), "Payé"),
    ("1002", "R-0002", date(2025, 2, 3), "Radiologie", Decimal("1250.00"), "En cours"),
    ("1001", "R-0003", date(2025, 3, 28), "", Decimal("80.00"), "Payé"),
]


# --------------------------------------------------------------------------
# Files, agents and pages
# --------------------------------------------------------------------------


def xlsx(path: Path, rows, header=HEADER) -> Path:
    """A workbook as Excel writes it: real dates and numbers in the cells."""
    workbook = Workbook()
    sheet = workbook.active
    if header:
        sheet.append(header)
    for row in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    workbook.save(path)
    return path


def french_csv(path: Path, rows, header=HEADER, *, delimiter=";", encoding="utf-8-sig") -> Path:
    """A CSV as French Excel writes it: « ; », dd/mm/yyyy, « 1 250,50 »."""

    def cell(value):
        if isinstance(value, date):
            return value.strftime("%d/%m/%Y")
        if isinstance(value, Decimal):
            return f"{value:,.2f}".replace(",", " ").replace(".", ",") if delimiter == ";" else str(value)
        return value

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[cell(v) for v in row] for row in rows])
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def agent_client(app, client, insurer: str = "exemple", login_name: str = "karima"):
    """Create an agent of ``insurer``'s back office and log the client in as that agent."""
    with app.app_context():
        create_agent(insurer, login_name, AGENT_PASSWORD, must_change=False)
        db.session.commit()
    page = client.get(f"/{insurer}/gestion/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "identifiant": login_name, "password": AGENT_PASSWORD}
    response = client.post(f"/{insurer}/gestion/login", data=data)
    assert response.status_code == 303, text_of(response)
    return client


@pytest.fixture(autouse=True)
def import_folder(app_config, tmp_path) -> Path:
    """Uploads wait in the test's own folder, not in the project's instance folder."""
    app_config["IMPORT_FOLDER"] = str(tmp_path / "imports")
    return tmp_path / "imports"


@pytest.fixture
def agent(app, client):
    return agent_client(app, client)


def upload(client, path: Path, *, name: str | None = None, code: str = "releves"):
    """Post the upload form like a browser."""
    page = client.get(f"{BACK_OFFICE}/imports/{code}")
    assert page.status_code == 200
    with path.open("rb") as file:
        return client.post(
            f"{BACK_OFFICE}/imports/{code}",
            data={"csrf_token": csrf_of(page.get_data(as_text=True)), "file": (file, name or path.name)},
            content_type="multipart/form-data",
        )


def settled(client, url: str, timeout: float = 60.0):
    """The job's page once it no longer polls (checked, or committed)."""
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(url)
        assert page.status_code == 200, text_of(page)
        if 'hx-trigger="every 1s"' not in page.get_data(as_text=True):
            return page
        assert time.monotonic() < deadline, "the import did not finish in time"
        time.sleep(0.05)


def upload_and_check(client, path: Path, **kwargs):
    """Upload a file and return the job's URL and its preview page."""
    response = upload(client, path, **kwargs)
    assert response.status_code == 303, text_of(response)
    url = response.headers["Location"]
    return url, settled(client, url)


def validate(client, url: str):
    """Click « Valider l'import » and wait for the outcome."""
    page = client.get(url).get_data(as_text=True)
    response = client.post(f"{url}/valider", data={"csrf_token": csrf_of(page), "confirm": "y"})
    assert response.status_code == 303 and response.headers["Location"] == url
    return settled(client, url)


def statements(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            select(Statement.member_number, Statement.number, Statement.paid_on, Statement.label, Statement.amount, Statement.status).order_by(Statement.number)
        ).all()
    return [(m, n, d, label, Decimal(str(a)).quantize(Decimal("0.01")), s) for m, n, d, label, a, s in rows]


def error_rows(page) -> list[tuple[str, str, str]]:
    """The errors table of the preview: (line, column, message)."""
    table = re.search(r'<table class="list import-errors">(.*?)</table>', page.get_data(as_text=True), re.S)
    assert table, "no errors table on the page"
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td><td>(.*?)</td><td>(.*?)</td></tr>", table.group(1), re.S)
    return [(line, html.unescape(column), html.unescape(message)) for line, column, message in rows]


def field_errors(response) -> str:
    """The errors shown next to the file field."""
    found = re.search(r'<ul class="errors" id="file-errors">(.*?)</ul>', response.get_data(as_text=True), re.S)
    assert found, "no error next to the file field"
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def nothing_changed(app) -> None:
    """No statement, no job, no kept file."""
    assert statements(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0
    folder = Path(app.config["IMPORT_FOLDER"])
    assert not folder.exists() or not any(folder.iterdir())


def run_cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["portal", "import", *args])


# --------------------------------------------------------------------------
# Upload, preview, commit
# --------------------------------------------------------------------------


def test_agent_uploads_a_workbook_reads_the_preview_and_commits_every_row(app, agent, tmp_path):
    imports_page = text_of(agent.get(f"{BACK_OFFICE}/imports"))
    assert "Relevés" in imports_page and "Télécharger le modèle" in imports_page

    url, preview = upload_and_check(agent, xlsx(tmp_path / "releves.xlsx", ROWS))

    page = text_of(preview)
    assert "Prêt à importer" in page and "Valider l'import" in page
    assert re.search(r"Lignes lues</dt><dd>3<", page) and re.search(r"Erreurs</dt><dd>0<", page)
    assert "R-0002" in page and "03/02/2025" in page and "1\u202f250,00" in page
    assert statements(app) == []  # the preview writes nothing

    done = text_of(validate(agent, url))

    assert "Import terminé : 3 lignes enregistrées." in done
    assert statements(app) == EXPECTED
    assert not any(Path(app.config["IMPORT_FOLDER"]).iterdir()), "the upload is deleted after the commit"


def test_one_bad_row_commits_nothing_and_the_preview_gives_its_line_column_and_message(app, agent, tmp_path):
    rows = ROWS + [["1003", "R-0004", "2025-02-30", "Pharmacie", Decimal("12.00"), "Payé"]]

    url, preview = upload_and_check(agent, xlsx(tmp_path / "releves.xlsx", rows))

    assert error_rows(preview) == [("5", "Date de paiement", "Cette date n'existe pas : 2025-02-30.")]
    page = text_of(preview)
    assert "Aucune ligne n'a été enregistrée." in page and "Valider l'import" not in page
    assert re.search(r"Lignes valides</dt><dd>3<", page)
    # « Valider » cannot be forced on a refused file
    response = agent.post(f"{url}/valider", data={"csrf_token": csrf_of(agent.get(url).get_data(as_text=True))})
    assert response.status_code == 303
    assert statements(app) == []


def test_a_row_refused_while_writing_rolls_back_the_rows_already_flushed(app, tmp_path):
    """2,500 rows, the plugin refuses the 2,400th after two batches went to the database."""

    def picky(row):
        if row["number"] == "R-2400":
            raise ValueError("Adhérent inconnu.")
        write_statement(row)

    importer = Importer("exemple", "picky", "Relevés", STATEMENTS.columns, ("number",), picky)
    rows = [["1001", f"R-{i:04d}", date(2025, 1, 1), "", Decimal("1.00"), ""] for i in range(1, 2501)]
    path = french_csv(tmp_path / "gros.csv", rows)

    with app.app_context():
        result = imports.commit(importer, path, "test")

    assert not result.committed and result.written == 0
    assert result.errors == [RowError(2401, "", "Adhérent inconnu.")]
    assert statements(app) == []


def test_a_batch_the_database_refuses_rolls_back_the_whole_file_and_says_which_lines(app, tmp_path):
    def careless(row):  # forgets the defaults: an empty « Situation » is NULL, which the table refuses
        upsert(Statement, row, key=("number",))

    importer = Importer("exemple", "careless", "Relevés", STATEMENTS.columns, ("number",), careless)

    with app.app_context():
        result = imports.commit(importer, xlsx(tmp_path / "releves.xlsx", ROWS), "test")
        failed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import_failed"))

    assert not result.committed and result.written == 0
    assert [(e.line, e.column) for e in result.errors] == [(2, "")]
    assert result.errors[0].message.startswith("La base de données a refusé une des lignes 2 à 4 : ")
    assert failed.detail == {"importer": "exemple/careless", "file": "releves.xlsx", "rows": 3, "errors": 1}
    assert statements(app) == []


def test_the_same_rows_as_csv_and_as_xlsx_give_the_same_statements(app, tmp_path):
    files = [
        xlsx(tmp_path / "releves.xlsx", ROWS),
        french_csv(tmp_path / "releves-excel.csv", ROWS),  # « ; », UTF-8 with BOM, « 1 250,00 »
        french_csv(tmp_path / "releves-ancien.csv", ROWS, encoding="cp1252"),  # an old Excel's encoding
        french_csv(tmp_path / "releves-virgules.csv", ROWS, delimiter=",", encoding="utf-8"),  # « , » and 1250.00
    ]
    for path in files:
        result = run_cli(app, "exemple", "releves", str(path))
        assert result.exit_code == 0, result.output
        assert statements(app) == EXPECTED, path.name
        with app.app_context():
            db.session.execute(Statement.__table__.delete())
            db.session.commit()


def test_the_command_line_and_the_upload_report_the_same_errors_and_write_the_same_rows(app, agent, tmp_path):
    bad = xlsx(tmp_path / "faux.xlsx", ROWS + [["10x2", "R-0009", "15.01.2025", "", "douze", ""]])

    cli = run_cli(app, "exemple", "releves", str(bad))
    _url, preview = upload_and_check(agent, bad)

    assert cli.exit_code == 1
    assert "Aucune ligne n'a été enregistrée." in cli.output
    expected = [
        ("5", "Numéro d'adhérent", "Le numéro d'adhérent compte de 1 à 10 chiffres."),
        ("5", "Date de paiement", "Date attendue au format jj/mm/aaaa (par exemple 31/01/2025)."),
        ("5", "Montant (DH)", "Montant attendu (par exemple 1 250,50)."),
    ]
    assert error_rows(preview) == expected
    assert [f"Ligne {line}, colonne « {column} » : {message}" for line, column, message in expected] == [
        line for line in cli.output.splitlines() if line.startswith("Ligne ")
    ]
    assert statements(app) == []

    good = xlsx(tmp_path / "bon.xlsx", ROWS)
    assert run_cli(app, "exemple", "releves", str(good)).exit_code == 0
    by_cli = statements(app)
    with app.app_context():
        db.session.execute(Statement.__table__.delete())
        db.session.commit()
    url, _preview = upload_and_check(agent, good)
    validate(agent, url)
    assert statements(app) == by_cli == EXPECTED


def test_cli_dry_run_prints_the_counts_and_writes_nothing(app, tmp_path):
    result = run_cli(app, "exemple", "releves", str(xlsx(tmp_path / "releves.xlsx", ROWS)), "--dry-run")

    assert result.exit_code == 0, result.output
    assert "3 ligne(s) lue(s), 0 erreur(s)." in result.output
    assert "Vérification seule : rien n'a été enregistré." in result.output
    assert statements(app) == []


def test_cli_refuses_an_unknown_importer_or_a_missing_file(app, tmp_path):
    unknown = run_cli(app, "exemple", "inconnu", str(tmp_path / "x.xlsx"))
    missing = run_cli(app, "exemple", "releves", str(tmp_path / "absent.xlsx"))

    assert unknown.exit_code == 1 and "Aucun import « inconnu »" in unknown.output and "releves" in unknown.output
    assert missing.exit_code == 1 and "Fichier introuvable" in missing.output


def test_a_statement_imported_again_is_updated_not_duplicated(app, agent, tmp_path):
    assert run_cli(app, "exemple", "releves", str(xlsx(tmp_path / "janvier.xlsx", ROWS))).exit_code == 0
    corrected = [["1002", "R-0002", date(2025, 2, 4), "Radiologie", Decimal("1300.00"), "Payé"]]

    url, _preview = upload_and_check(agent, xlsx(tmp_path / "correction.xlsx", corrected))
    validate(agent, url)

    assert statements(app) == [
        EXPECTED[0],
        ("1002", "R-0002", date(2025, 2, 4), "Radiologie", Decimal("1300.00"), "Payé"),
        EXPECTED[2],
    ]


def test_a_key_twice_in_one_file_is_an_error(app, tmp_path):
    rows = ROWS + [["1009", "R-0001", date(2025, 4, 1), "", Decimal("5.00"), ""]]

    result = run_cli(app, "exemple", "releves", str(xlsx(tmp_path / "doublon.xlsx", rows)))

    assert result.exit_code == 1
    assert "Ligne 5, colonne « N° de relevé » : Déjà présent ligne 2" in result.output
    assert statements(app) == []


def test_the_import_is_audited_with_the_agent_and_the_file(app, agent, tmp_path):
    url, _preview = upload_and_check(agent, xlsx(tmp_path / "releves.xlsx", ROWS))
    validate(agent, url)

    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import"))
        assert (event.actor, event.insurer, event.space_key) == ("karima", "exemple", "exemple/gestion")
        assert event.detail == {"importer": "exemple/releves", "file": "releves.xlsx", "rows": 3}
        assert event.address == "127.0.0.1"


def test_validating_twice_imports_once(app, agent, tmp_path):
    url, _preview = upload_and_check(agent, xlsx(tmp_path / "releves.xlsx", ROWS))
    token = csrf_of(agent.get(url).get_data(as_text=True))

    agent.post(f"{url}/valider", data={"csrf_token": token})
    agent.post(f"{url}/valider", data={"csrf_token": token})
    settled(agent, url)

    assert statements(app) == EXPECTED
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "import")) == 1


# --------------------------------------------------------------------------
# Files refused as a whole: a clear message next to the field, nothing changed
# --------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("releves.xlsx", PNG, "Ce fichier n'est pas un classeur Excel (.xlsx) valide."),
        ("releves.csv", PNG, "Ce fichier n'est pas un fichier texte CSV."),
        ("releves.csv", b"Num\x00ero;\x01\x02\x03\xff\xfe", "Ce fichier n'est pas un fichier texte CSV : il contient des données binaires."),
        ("releves.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "Excel 97-2003 (.xls)"),
        ("releves.xlsx", b"", "Le fichier est vide."),
        ("releves.csv", b"", "Le fichier est vide."),
        ("releves.csv", b"\r\n\r\n", "Le fichier est vide."),
        ("releves.csv", "Numéro d'adhérent;N° de relevé;Date de paiement;Libellé;Montant (DH);Situation\r\n".encode(), "aucune ligne de données"),
        ("releves.csv", b"Adherent;Releve;Montant\r\n1001;R-1;12,00\r\n", "Colonnes obligatoires absentes de la première ligne : « Numéro d'adhérent », « N° de relevé », « Date de paiement », « Montant (DH) »."),
        ("releves.pdf", b"%PDF-1.4\n", "Seuls les fichiers Excel (.xlsx) et CSV (.csv) sont acceptés."),
    ],
    ids=["png-named-xlsx", "png-named-csv", "binary-csv", "xls-named-xlsx", "empty-xlsx", "empty-csv", "blank-csv", "headers-only", "missing-headers", "pdf"],
)
def test_a_refused_file_gets_a_clear_message_next_to_the_field_and_changes_nothing(app, agent, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)

    response = upload(agent, path)

    assert response.status_code == 422
    assert message in field_errors(response)
    nothing_changed(app)


def test_a_workbook_without_the_required_headers_is_refused(app, agent, tmp_path):
    path = xlsx(tmp_path / "releves.xlsx", [r[:3] for r in ROWS], header=HEADER[:2] + ["Date"])

    response = upload(agent, path)

    assert response.status_code == 422
    assert field_errors(response).startswith("Colonnes obligatoires absentes de la première ligne : « Date de paiement », « Montant (DH) ».")
    nothing_changed(app)


def test_headers_match_whatever_their_case_accents_spaces_and_order(app, tmp_path):
    header = ["MONTANT (DH)", "numero d'adherent", "  N°  de  relevé ", "date de paiement", "libelle", "Commentaire"]
    rows = [[r[4], r[0], r[1], r[2], r[3]] for r in ROWS]

    result = run_cli(app, "exemple", "releves", str(xlsx(tmp_path / "desordre.xlsx", rows, header=header)))

    assert result.exit_code == 0, result.output
    assert "Colonnes ignorées (inconnues) : Commentaire." in result.output
    assert [s[:5] for s in statements(app)] == [e[:5] for e in EXPECTED]


def test_dates_in_a_wrong_format_are_reported_row_by_row(app, agent, tmp_path):
    rows = [
        ["1001", "R-1", "15.01.2025", "", "10,00", ""],
        ["1001", "R-2", "2025/01/15", "", "10,00", ""],
        ["1001", "R-3", "15 janvier 2025", "", "10,00", ""],
        ["1001", "R-4", "31/04/2025", "", "10,00", ""],
        ["1001", "R-5", "01/01/0025", "", "10,00", ""],
        ["1001", "R-6", "", "", "10,00", ""],
        ["1001", "R-7", "5/1/2025", "", "10,00", ""],  # day and month on one digit: fine
    ]
    url, preview = upload_and_check(agent, french_csv(tmp_path / "dates.csv", rows))

    wrong_format = "Date attendue au format jj/mm/aaaa (par exemple 31/01/2025)."
    assert error_rows(preview) == [
        ("2", "Date de paiement", wrong_format),
        ("3", "Date de paiement", wrong_format),
        ("4", "Date de paiement", wrong_format),
        ("5", "Date de paiement", "Cette date n'existe pas : 31/04/2025."),
        ("6", "Date de paiement", "Année invraisemblable : 25."),
        ("7", "Date de paiement", "Valeur obligatoire manquante."),
    ]
    assert statements(app) == []


def test_cells_are_read_as_french_files_write_them():
    amount = ImportColumn("Montant", "amount", type="decimal")
    count = ImportColumn("Nombre", "count", type="int")
    paid = ImportColumn("Payé", "paid", type="bool")
    day = ImportColumn("Date", "day", type="date")

    assert [imports.parse_cell(amount, v) for v in ("1 250,50", "1.250,50", "1,250.50", "1250.5", "1\u202f250,5 DH", 1250.5, 1250)] == [Decimal("1250.50")] * 5 + [
        Decimal("1250.50"),
        Decimal("1250.00"),
    ]
    assert imports.parse_cell(amount, 0.1 + 0.2) == Decimal("0.30")  # a computed cell
    assert [imports.parse_cell(count, v) for v in ("12", " 1 200 ", 7.0)] == [12, 1200, 7]
    assert [imports.parse_cell(paid, v) for v in ("oui", "Non", "OUI", True, "vrai", 0)] == [True, False, True, True, True, False]
    assert [imports.parse_cell(day, v) for v in ("05/01/2025", "2025-01-05", datetime(2025, 1, 5, 0, 0), 45662)] == [date(2025, 1, 5)] * 4
    assert imports.parse_cell(amount, "") is None
    for column, value, message in [
        (amount, "12,345", "Deux décimales au plus."),
        (amount, "-5,00", "Montant négatif refusé."),
        (amount, "12 000 000 000", "Montant trop grand."),
        (count, "1,5", "Nombre entier attendu (par exemple 12)."),
        (paid, "peut-être", "Oui ou non attendu."),
    ]:
        with pytest.raises(imports.CellError, match=re.escape(message)):
            imports.parse_cell(column, value)


def test_a_50_mb_upload_gets_the_french_too_large_page_and_the_form_states_the_limit(app, agent):
    form = agent.get(f"{BACK_OFFICE}/imports/releves")
    assert "20 Mo au plus" in text_of(form)

    response = agent.post(
        f"{BACK_OFFICE}/imports/releves",
        data={"csrf_token": csrf_of(form.get_data(as_text=True)), "file": (io.BytesIO(b"0" * (50 * 1024 * 1024)), "gros.csv")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 413
    assert "Fichier trop volumineux" in text_of(response)
    nothing_changed(app)


def test_a_file_over_import_max_bytes_is_refused_next_to_the_field(app, agent, tmp_path):
    app.config["IMPORT_MAX_BYTES"] = 2048
    path = french_csv(tmp_path / "releves.csv", ROWS * 30)

    assert "2 Ko au plus" in text_of(agent.get(f"{BACK_OFFICE}/imports/releves"))
    response = upload(agent, path)

    assert response.status_code == 422
    assert field_errors(response) == "Le fichier dépasse la taille permise (2 Ko)."
    nothing_changed(app)


# --------------------------------------------------------------------------
# Who sees what
# --------------------------------------------------------------------------


@pytest.fixture
def two_insurers(app_config):
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "tests.plugin_variants"]
    return app_config


def test_an_agent_of_another_insurer_does_not_see_exemples_importers_and_gets_404(two_insurers, app, client, tmp_path):
    # an exemple agent uploads a file: its job exists
    exemple = agent_client(app, app.test_client())
    url, _preview = upload_and_check(exemple, xlsx(tmp_path / "releves.xlsx", ROWS))
    token = url.rsplit("/", 1)[1]
    other = agent_client(app, client, insurer="variantes", login_name="youssef")

    page = text_of(other.get("/variantes/gestion/imports"))

    assert "Aucun import n'est proposé pour cet organisme." in page and "Relevés" not in page
    for path in ("imports/releves", "imports/releves/modele.xlsx", f"imports/jobs/{token}"):
        assert other.get(f"/variantes/gestion/{path}").status_code == 404, path
    assert other.post(f"/variantes/gestion/imports/jobs/{token}/valider", data={"csrf_token": csrf_of(page)}).status_code == 404
    # and the exemple back office is not theirs: « Accès refusé »
    assert other.get(f"{BACK_OFFICE}/imports").status_code == 403
    assert statements(app) == []


def test_a_member_cannot_reach_the_back_office_imports(app, client):
    make_account(app, "1001")
    assert login(client, "1001").status_code == 303

    response = client.get(f"{BACK_OFFICE}/imports")

    assert response.status_code == 303 and response.headers["Location"].startswith(f"{BACK_OFFICE}/login")
    assert client.get(f"{BACK_OFFICE}/imports/releves/modele.xlsx").status_code == 303


def test_a_back_office_account_without_the_agent_profile_gets_403(app, client):
    make_account(app, "stagiaire", space_key="exemple/gestion", tenant_ref="exemple", profiles=[])
    page = client.get(f"{BACK_OFFICE}/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "identifiant": "stagiaire", "password": "Ancien2026x"}
    assert client.post(f"{BACK_OFFICE}/login", data=data).status_code == 303

    assert client.get(f"{BACK_OFFICE}/imports").status_code == 403
    assert client.get(f"{BACK_OFFICE}/imports/releves").status_code == 403


def test_the_back_office_menu_offers_imports(agent):
    page = text_of(agent.get(f"{BACK_OFFICE}/"))

    assert f'href="{BACK_OFFICE}/imports"' in page and ">Imports<" in page


# --------------------------------------------------------------------------
# The template, the kept file, HTMX
# --------------------------------------------------------------------------


def test_the_template_downloads_as_xlsx_with_the_headers_and_a_sheet_explaining_the_columns(agent, tmp_path):
    response = agent.get(f"{BACK_OFFICE}/imports/releves/modele.xlsx")

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="modele-releves.xlsx"' in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    data, explained = workbook.worksheets
    assert [c.value for c in data[1]] == HEADER
    assert all(c.font.bold for c in data[1])
    columns = {row[0]: row[1:3] for row in explained.iter_rows(min_row=2, values_only=True) if row[0] in HEADER}
    assert columns["Date de paiement"] == ("Date (jj/mm/aaaa)", "Oui")
    assert columns["Libellé"] == ("Texte", "Non")
    assert columns["Montant (DH)"] == ("Montant (2 décimales au plus)", "Oui")
    # and the template itself is accepted (headers only: no data yet)
    path = tmp_path / "modele.xlsx"
    path.write_bytes(response.data)
    with pytest.raises(ImportRefused, match="aucune ligne de données"):
        with agent.application.app_context():
            imports.preview(STATEMENTS, path)


def test_a_file_left_waiting_expires_after_an_hour(app, agent, tmp_path):
    url, _preview = upload_and_check(agent, xlsx(tmp_path / "releves.xlsx", ROWS))
    folder = Path(app.config["IMPORT_FOLDER"])
    assert len(list(folder.iterdir())) == 1
    with app.app_context():
        db.session.execute(update(ImportJob).values(created_at=utcnow() - timedelta(minutes=61)))
        db.session.commit()

    page = text_of(agent.get(url))

    assert "Ce fichier a expiré sans être importé" in page and "Valider l'import" not in page
    assert not any(folder.iterdir())
    agent.post(f"{url}/valider", data={"csrf_token": csrf_of(agent.get(url).get_data(as_text=True))})
    assert statements(app) == []


def test_with_htmx_a_refused_file_swaps_the_form_and_a_good_one_changes_the_page(app, agent, tmp_path):
    page = agent.get(f"{BACK_OFFICE}/imports/releves").get_data(as_text=True)
    empty = tmp_path / "vide.csv"
    empty.write_bytes(b"")

    def post(path):
        with path.open("rb") as file:
            return agent.post(
                f"{BACK_OFFICE}/imports/releves",
                data={"csrf_token": csrf_of(page), "file": (file, path.name)},
                content_type="multipart/form-data",
                headers={"HX-Request": "true"},
            )

    refused = post(empty)
    accepted = post(xlsx(tmp_path / "releves.xlsx", ROWS))

    assert refused.status_code == 422
    assert refused.get_data(as_text=True).lstrip().startswith('<form id="import-upload"')
    assert "Le fichier est vide." in field_errors(refused)
    assert accepted.status_code == 200
    assert accepted.headers["HX-Redirect"].startswith(f"{BACK_OFFICE}/imports/jobs/")
    settled(agent, accepted.headers["HX-Redirect"])


def test_the_job_page_is_polled_as_a_fragment_while_it_runs(app, agent, tmp_path):
    url, _preview = upload_and_check(agent, xlsx(tmp_path / "releves.xlsx", ROWS))
    with app.app_context():
        db.session.execute(update(ImportJob).values(status="running", total=3))
        db.session.commit()

    fragment = agent.get(url, headers={"HX-Request": "true"})

    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="import-job"') and "<html" not in body
    assert 'hx-trigger="every 1s"' in body and "0 lignes traitées sur 3." in html.unescape(body)
    assert "Actualiser" in body  # without JavaScript, a link reloads the page


def test_the_benchmark_runs_end_to_end_on_a_few_rows():
    """``make bench`` is not a timed test; this only keeps it working (200 rows)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--rows", "200"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        env=os.environ.copy(),
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "SQLite" in done.stdout and "200 lignes" in done.stdout and "export / référence" in done.stdout
    if os.environ.get("TEST_DATABASE_URL"):
        assert "PostgreSQL" in done.stdout


def test_a_column_with_choices_takes_any_case_and_accents_and_stores_the_choice(app):
    from app.imports import CellError, _text
    from app.plugins.types import ImportColumn

    column = ImportColumn("Situation", "situation", choices=("Dossier payé", "Dossier annulé"))
    with app.test_request_context("/"):
        assert _text("  dossier PAYE ", column) == "Dossier payé"
        with pytest.raises(CellError, match="Valeur inconnue : « Payé » \\(valeurs admises : Dossier payé, Dossier annulé\\)"):
            _text("Payé", column)
