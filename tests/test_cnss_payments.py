"""The screens of the CNSS profile « Consultation des paiements » (CNSS-11 to CNSS-14):
the billing staff of an establishment follows its reimbursement files (DR), the files
paid, the bank transfers that paid them and the summary by situation — and never sees
another establishment's, whatever they type."""
from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.exports import XLSX_MIMETYPE
from app.extensions import db
from app.lists import local_today
from app.models import AuditEvent
from plugins.cnss.models import BankTransfer, Establishment, Payment, ReimbursementFile
from tests.conftest import make_account

URL = "/cnss/ps"
DR_URL = f"{URL}/dossiers-remboursement"
DR_EXPORT = f"{DR_URL}/export"
SUMMARY_URL = f"{DR_URL}/recapitulatif"
PAYMENTS_HOME = f"{URL}/paiements"
PAYMENTS_URL = f"{URL}/paiements/detail"
PAYMENTS_EXPORT = f"{PAYMENTS_URL}/export"
EMISSIONS_URL = f"{URL}/paiements/emissions"
PASSWORD = "Kx7#pm2Q"
A, B = "101234567", "102345678"
HTMX = {"HX-Request": "true"}
#: no period: every deposit date
ALL_DATES = {"depot_du": "", "depot_au": ""}

DR_COLUMNS = ["N° CNSS", "Bénéficiaire", "N° du DR", "Date de dépôt", "N° de la PEC", "Montant facturé (DH)",
              "Date de soins", "Situation du dossier", "Date de situation", "Motifs retour"]
PAYMENT_COLUMNS = ["N° CNSS", "Bénéficiaire", "N° de DR", "N° de la PEC", "Date de dépôt", "Montant payé (DH)",
                   "Date de soins", "Date de paiement", "Réf facture", "Observation"]
SITUATIONS = ["Dossier payé", "Dossier annulé", "Dossier en cours de traitement", "Dossier retourné"]


# --------------------------------------------------------------------------
# Data: two establishments with known files, payments and transfers
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class File:
    inpe: str
    number: str
    cnss: str
    filed_on: date
    amount: Decimal
    situation: str
    pec: str | None = None
    reasons: str | None = None


@dataclass(frozen=True)
class Data:
    year: int
    files: list[File]
    #: emission number → its id, for the URLs
    emissions: dict[str, int]

    def of(self, inpe: str, keep=lambda f: True, period: tuple[date, date] | None = None) -> list[File]:
        start, end = period or (date(self.year - 1, 1, 1), date(self.year, 12, 31))
        return [f for f in self.files if f.inpe == inpe and start <= f.filed_on <= end and keep(f)]


@pytest.fixture
def app_config(app_config):
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "plugins.cnss"]
    app_config["PLUGINS"] = ["exemple", "cnss"]
    return app_config


def _files(year: int) -> list[File]:
    y, last = year, year - 1
    files = [
        File(A, "DA0001", "111111111", date(y, 1, 10), Decimal("1000.00"), "Dossier payé", "PA0001"),
        File(A, "DA0002", "111111111", date(y, 2, 10), Decimal("250.50"), "Dossier payé"),
        File(A, "DA0003", "222222222", date(last, 6, 15), Decimal("300.25"), "Dossier en cours de traitement", "PA0003"),
        File(A, "DA0004", "222222222", date(last, 11, 20), Decimal("120.00"), "Dossier retourné", reasons="Pièce manquante"),
        File(A, "DA0005", "333333333", date(y, 3, 1), Decimal("75.75"), "Dossier annulé"),
        File(A, "DA0006", "333333333", date(y - 3, 5, 5), Decimal("999.99"), "Dossier payé"),
        File(A, "DA0007", "555555555", date(last, 5, 1), Decimal("50.00"), "Dossier payé"),
    ]
    files += [File(A, f"DA1{i:03d}", "444444444", date(y, 4, i % 28 + 1), Decimal("10.00") + i, "Dossier en cours de traitement")
              for i in range(25)]
    files += [
        # the same insured as A's first files, and numbers A will type
        File(B, "DB0001", "111111111", date(y, 1, 10), Decimal("5000.00"), "Dossier payé", "PB0001"),
        File(B, "DB0002", "111111111", date(y, 2, 1), Decimal("700.00"), "Dossier retourné", reasons="Secret de B"),
    ]
    return files


#: (emission, inpe, issued, [(DR, amount paid, paid on, invoice, observation)])
def _transfers(year: int) -> list[tuple]:
    return [
        ("EA0001", A, date(year, 3, 1), [("DA0001", Decimal("1000.00"), "FAC-1", None), ("DA0002", Decimal("250.50"), "FAC-2", "Paiement partiel")]),
        ("EA0002", A, date(year - 3, 6, 1), [("DA0006", Decimal("999.99"), "FAC-6", None)]),
        ("EA0003", A, date(year - 1, 7, 1), [("DA0007", Decimal("50.00"), "FAC-7", None)]),
        ("EB0001", B, date(year, 3, 1), [("DB0001", Decimal("5000.00"), "FAC-B1", "Secret de B")]),
    ]


@pytest.fixture
def data(app) -> Data:
    with app.app_context():
        year = local_today().year
        files = _files(year)
        for inpe in (A, B):
            db.session.add(Establishment(inpe=inpe, name=f"Clinique {inpe}", sector="prive"))
        db.session.flush()
        for f in files:
            db.session.add(ReimbursementFile(
                number=f.number, inpe=f.inpe, cnss_number=f.cnss, beneficiary=f"Patient {f.number}", filed_on=f.filed_on,
                pec_number=f.pec, amount_billed=f.amount, care_on=f.filed_on.replace(day=1), situation=f.situation,
                situation_on=f.filed_on, return_reasons=f.reasons,
            ))
        db.session.flush()
        emissions = {}
        for number, inpe, issued, paid in _transfers(year):
            transfer = BankTransfer(number=number, inpe=inpe, amount=sum(p[1] for p in paid), issued_on=issued)
            db.session.add(transfer)
            db.session.flush()
            emissions[number] = transfer.id
            for dr, amount, invoice, observation in paid:
                db.session.add(Payment(inpe=inpe, dr_number=dr, emission_number=number, amount_paid=amount, paid_on=issued,
                                       invoice_ref=invoice, observation=observation))
        db.session.commit()
    return Data(year, files, emissions)


def cnss_account(app, inpe: str, profile: str) -> int:
    return make_account(app, f"{inpe}/{profile}", space_key="cnss/ps", tenant_ref=inpe, profiles=[profile], password=PASSWORD,
                        email=f"facturation.{inpe}@clinique.test")


class _LoginForm(HTMLParser):
    """The fields of the login page: inputs with their type and value, the choices of radios and selects."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, dict] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            f = self.fields.setdefault(a["name"], {"type": a.get("type", "text"), "values": []})
            f["values"].append(a.get("value") or "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self.fields.setdefault(a["name"], {"type": "select", "values": []})
        elif tag == "option" and self._select:
            self.fields[self._select]["values"].append(a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def log_in(client, inpe: str, profile: str):
    """Post the space's login form with the fields its page shows (names read from the page, so
    that the test holds whatever the form asks besides the INPE, the profile and the password)."""
    form = _LoginForm()
    form.feed(client.get(f"{URL}/login").get_data(as_text=True))
    data = {}
    for name, f in form.fields.items():
        if f["type"] == "password":
            data[name] = PASSWORD
        elif f["type"] in ("radio", "select"):
            choices = [v for v in f["values"] if v]
            data[name] = profile if profile in choices else (choices[0] if choices else "")
        elif f["type"] == "hidden":
            data[name] = f["values"][0]
        elif name == "inpe":
            data[name] = inpe
        else:
            data[name] = ""
    return client.post(f"{URL}/login", data=data)


@pytest.fixture
def billing(app, client, data) -> Data:
    """Establishment A's « Paiements » account logged in; B's files are in the database too."""
    cnss_account(app, A, "PAIEMENTS")
    cnss_account(app, B, "PAIEMENTS")
    response = log_in(client, A, "PAIEMENTS")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return data


# --------------------------------------------------------------------------
# Reading the pages
# --------------------------------------------------------------------------


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\u202f", " ").replace("\xa0", " ").split())


def page_of(client, url: str, **params) -> str:
    response = client.get(url, query_string=params)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def headers_of(page: str) -> list[str]:
    return [text_of(th) for th in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', page, re.S)]


def rows_of(page: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    if body is None:
        return []
    return [[text_of(td) for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)] for tr in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


def count_of(page: str, label: str = "Nombre de dossiers") -> int:
    match = re.search(re.escape(label) + r"\s*:\s*(\d+)", text_of(page))
    assert match, f"no « {label} » on the page"
    return int(match.group(1))


def error_next_to(page: str, field_id: str) -> str:
    """The messages in the error box of a field (``<id>-errors``, which the field's aria-describedby names)."""
    match = re.search(rf'<div class="criterion-errors" id="{field_id}-errors"[^>]*>(.*?)</div>', page, re.S)
    assert match, f"no error box for {field_id}"
    assert f'aria-describedby="{field_id}-errors"' in page
    return text_of(match.group(1))


def sheet_of(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype == XLSX_MIMETYPE
    return load_workbook(io.BytesIO(response.get_data())).active


def sheet_rows(sheet) -> list[tuple]:
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows(min_row=2)]


def numbers(page: str, column: int = 2) -> list[str]:
    return [row[column] for row in rows_of(page)]


def dh(amount: Decimal) -> str:
    whole, cents = f"{amount:,.2f}".split(".")
    return f"{whole.replace(',', ' ')},{cents}"


# --------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------


def test_a_pec_account_is_refused_every_payments_screen(app, client, data):
    cnss_account(app, A, "PEC")
    assert log_in(client, A, "PEC").status_code == 303
    emission = data.emissions["EA0001"]
    for url in (DR_URL, DR_EXPORT, SUMMARY_URL, PAYMENTS_HOME, PAYMENTS_URL, PAYMENTS_EXPORT, EMISSIONS_URL,
                f"{EMISSIONS_URL}/{emission}", f"{EMISSIONS_URL}/{emission}/export"):
        assert client.get(url).status_code == 403, url
    menu = page_of(client, f"{URL}/")
    assert "Suivi des dossiers de remboursement" not in menu


def test_someone_not_logged_in_is_sent_to_the_login(client, data):
    response = client.get(DR_URL)
    assert response.status_code in (302, 303) and "/cnss/ps/login" in response.headers["Location"]


def test_the_menu_of_the_paiements_profile_offers_the_seeds_rubrics(client, billing):
    menu = text_of(page_of(client, f"{URL}/"))
    for label in ("Suivi des dossiers de remboursement", "Suivi des paiements",
                  "Récapitulatif du suivi des dossiers de remboursement", "Modification du mot de passe"):
        assert label in menu


# --------------------------------------------------------------------------
# « Suivi des dossiers de remboursement (DR) » (CNSS-11)
# --------------------------------------------------------------------------


def test_dr_page_has_the_seeds_criteria_buttons_and_columns_in_order(client, billing):
    page = page_of(client, DR_URL)
    text = text_of(page)
    assert "Suivi des dossiers de remboursement (DR)" in text and "Liste des DR" in text
    labels = [text_of(label) for label in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)]
    assert labels == ["N°CNSS", "N° du PEC", "N° du DR", "du", "au", "Situation du dossier"]
    assert "<legend>Date de dépôt</legend>" in page
    options = [text_of(o) for o in re.findall(r"<option[^>]*>(.*?)</option>", page, re.S)]
    assert options == ["Toutes"] + SITUATIONS
    for button in ("Rechercher", "Réinitialiser", "Exporter"):
        assert button in text
    assert headers_of(page) == DR_COLUMNS


def test_dr_list_opens_on_this_year_and_the_last_with_the_number_of_files(client, billing):
    page = page_of(client, DR_URL)
    expected = billing.of(A)
    assert count_of(page) == len(expected) == 31
    assert f'value="{billing.year - 1}-01-01"' in page or f'value="01/01/{billing.year - 1}"' in page
    assert "DA0006" not in page  # filed three years ago


def test_dr_row_shows_each_column_formatted(client, billing):
    row = rows_of(page_of(client, DR_URL, dr="DA0004"))
    year = billing.year - 1
    assert row == [["222222222", "Patient DA0004", "DA0004", f"20/11/{year}", "", "120,00", f"01/11/{year}",
                    "Dossier retourné", f"20/11/{year}", "Pièce manquante"]]


@pytest.mark.parametrize("criteria, keep", [
    ({"cnss": "111111111"}, lambda f: f.cnss == "111111111"),
    ({"cnss": "111 111 111"}, lambda f: f.cnss == "111111111"),
    ({"pec": "PA0003"}, lambda f: f.pec == "PA0003"),
    ({"pec": "pa0003"}, lambda f: f.pec == "PA0003"),
    ({"dr": "DA0005"}, lambda f: f.number == "DA0005"),
    ({"situation": "Dossier retourné"}, lambda f: f.situation == "Dossier retourné"),
    ({"situation": "Dossier payé"}, lambda f: f.situation == "Dossier payé"),
])
def test_each_dr_criterion_alone_keeps_the_matching_files(client, billing, criteria, keep):
    page = page_of(client, DR_URL, **criteria, **ALL_DATES)
    expected = sorted((f.number for f in billing.files if f.inpe == A and keep(f)))
    assert sorted(numbers(page)) == expected and count_of(page) == len(expected)


def test_dr_deposit_period_alone_and_criteria_combined(client, billing):
    y = billing.year
    page = page_of(client, DR_URL, depot_du=f"01/01/{y}", depot_au=f"28/02/{y}")
    assert sorted(numbers(page)) == ["DA0001", "DA0002"]
    page = page_of(client, DR_URL, depot_du=f"{y - 5}-01-01", depot_au=f"{y}-12-31")  # the date picker's format
    assert count_of(page) == 32
    combined = page_of(client, DR_URL, cnss="111111111", situation="Dossier payé", depot_du=f"01/02/{y}", depot_au=f"31/12/{y}")
    assert numbers(combined) == ["DA0002"] and count_of(combined) == 1
    nothing = page_of(client, DR_URL, cnss="222222222", situation="Dossier payé")
    assert count_of(nothing) == 0 and "Aucun dossier ne correspond à ces critères." in text_of(nothing)


def test_dr_list_pages_and_sorts_in_sql(client, billing):
    first = page_of(client, DR_URL)
    second = page_of(client, DR_URL, page="2")
    assert len(rows_of(first)) == 20 and len(rows_of(second)) == 11
    assert not set(numbers(first)) & set(numbers(second))
    assert "Suivant" in text_of(first) and "Précédent" in text_of(second)
    assert numbers(page_of(client, DR_URL, page="99")) == numbers(second)
    by_amount = rows_of(page_of(client, DR_URL, sort="amount_billed", dir="desc"))
    assert by_amount[0][2] == "DA0001" and by_amount[0][5] == "1 000,00"
    ascending = numbers(page_of(client, DR_URL, sort="number", dir="asc"))
    assert ascending == sorted(f.number for f in billing.of(A))[:20]


def test_an_htmx_search_answers_the_results_only(client, billing):
    response = client.get(DR_URL, query_string={"dr": "DA0001"}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and "Liste des DR" in body
    assert numbers(body) == ["DA0001"] and "HX-Request" in response.headers["Vary"]


def test_dr_export_has_the_columns_in_order_and_only_the_filtered_files_typed(app, client, billing):
    sheet = sheet_of(client.get(DR_EXPORT, query_string={"cnss": "111111111", **ALL_DATES}))
    assert [c.value for c in sheet[1]] == DR_COLUMNS
    rows = sheet_rows(sheet)
    assert sorted(r[2] for r in rows) == ["DA0001", "DA0002"]
    first = next(r for r in rows if r[2] == "DA0001")
    assert isinstance(first[3], datetime) and first[3].date() == date(billing.year, 1, 10)
    assert first[5] == 1000 and isinstance(first[5], (int, float))
    assert first[7] == "Dossier payé"
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
        assert event.detail["list"] == "dossiers-remboursement" and event.detail["rows"] == 2


def test_dr_export_follows_the_default_period(client, billing):
    rows = sheet_rows(sheet_of(client.get(DR_EXPORT)))
    assert len(rows) == 31 and "DA0006" not in {r[2] for r in rows}


# --------------------------------------------------------------------------
# « Suivi des paiements » — « Détail des paiements » (CNSS-12)
# --------------------------------------------------------------------------


def test_suivi_des_paiements_offers_its_two_rubrics(client, billing):
    page = page_of(client, PAYMENTS_HOME)
    assert f'href="{PAYMENTS_URL}"' in page and f'href="{EMISSIONS_URL}"' in page
    text = text_of(page)
    assert "Détail des paiements" in text and "Détail des paiements par date d'émission" in text


def test_payments_page_has_the_seeds_criteria_and_columns_in_order(client, billing):
    page = page_of(client, PAYMENTS_URL)
    text = text_of(page)
    assert "Suivi des paiements" in text and "Liste des paiements" in text
    labels = [text_of(label) for label in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)]
    assert labels == ["N°CNSS", "N° du DR", "N° du PEC", "du", "au", "du", "au"]
    assert "<legend>Date de dépôt</legend>" in page and "<legend>Date de paiement</legend>" in page
    assert headers_of(page) == PAYMENT_COLUMNS
    assert "Exporter" in text


def test_payments_list_joins_each_payment_to_its_file(client, billing):
    page = page_of(client, PAYMENTS_URL)
    assert count_of(page) == 3  # DA0006 was filed three years ago
    row = next(r for r in rows_of(page) if r[2] == "DA0002")
    y = billing.year
    assert row == ["111111111", "Patient DA0002", "DA0002", "", f"10/02/{y}", "250,50", f"01/02/{y}", f"01/03/{y}",
                   "FAC-2", "Paiement partiel"]


@pytest.mark.parametrize("criteria, expected", [
    ({"cnss": "111111111"}, ["DA0001", "DA0002"]),
    ({"dr": "DA0007"}, ["DA0007"]),
    ({"pec": "PA0001"}, ["DA0001"]),
    ({"paiement_du": "01/01/2000", "paiement_au": "31/12/2005"}, []),
])
def test_each_payment_criterion_alone(client, billing, criteria, expected):
    page = page_of(client, PAYMENTS_URL, **criteria, **ALL_DATES)
    assert sorted(numbers(page)) == expected and count_of(page) == len(expected)


def test_payment_periods_and_criteria_combined(client, billing):
    y = billing.year
    by_payment = page_of(client, PAYMENTS_URL, paiement_du=f"01/01/{y - 3}", paiement_au=f"31/12/{y - 3}", **ALL_DATES)
    assert numbers(by_payment) == ["DA0006"]
    by_deposit = page_of(client, PAYMENTS_URL, depot_du=f"01/01/{y - 1}", depot_au=f"31/12/{y - 1}")
    assert numbers(by_deposit) == ["DA0007"]
    combined = page_of(client, PAYMENTS_URL, cnss="111111111", depot_du=f"01/02/{y}", depot_au=f"31/12/{y}",
                       paiement_du=f"01/03/{y}", paiement_au=f"01/03/{y}")
    assert numbers(combined) == ["DA0002"]


def test_payments_export_has_the_seeds_columns_and_the_filtered_rows(client, billing):
    sheet = sheet_of(client.get(PAYMENTS_EXPORT, query_string={"cnss": "111111111"}))
    assert [c.value for c in sheet[1]] == PAYMENT_COLUMNS
    rows = sorted(sheet_rows(sheet), key=lambda r: r[2])
    assert [r[2] for r in rows] == ["DA0001", "DA0002"]
    assert rows[1][5] == 250.5 and isinstance(rows[1][7], datetime) and rows[1][8] == "FAC-2"


def test_a_payment_pointing_at_another_establishments_file_shows_nothing_of_it(app, client, billing):
    with app.app_context():
        db.session.add(Payment(inpe=A, dr_number="DB0002", emission_number="EA0001", amount_paid=Decimal("1.00"),
                               paid_on=date(billing.year, 3, 1)))
        db.session.commit()
    assert "DB0002" not in page_of(client, PAYMENTS_URL, **ALL_DATES)
    assert "DB0002" not in page_of(client, f"{EMISSIONS_URL}/{billing.emissions['EA0001']}")


# --------------------------------------------------------------------------
# « Détail des paiements par date d'émission » (CNSS-13)
# --------------------------------------------------------------------------


def test_emissions_list_one_row_per_transfer_this_year_and_the_last(client, billing):
    page = page_of(client, EMISSIONS_URL)
    text = text_of(page)
    assert "Détail des paiements par date d'émission" in text and "Liste des paiements par émission" in text
    labels = [text_of(label) for label in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)]
    assert labels == ["Montant", "du", "au"] and "Date d'émission" in re.findall(r"<legend>(.*?)</legend>", html.unescape(page))
    assert headers_of(page)[:2] == ["Montant global viré", "Date d'émission"]
    assert count_of(page, "Nombre d'émissions") == 2
    rows = rows_of(page)
    assert [r[:2] for r in rows] == [["1 250,50", f"01/03/{billing.year}"], ["50,00", f"01/07/{billing.year - 1}"]]
    assert [r[2:] for r in rows] == [["détail", "Export"]] * 2
    for emission in ("EA0001", "EA0003"):
        assert f'href="{EMISSIONS_URL}/{billing.emissions[emission]}"' in page
        assert f'href="{EMISSIONS_URL}/{billing.emissions[emission]}/export"' in page


def test_emissions_by_amount_and_by_date(client, billing):
    y = billing.year
    assert [r[0] for r in rows_of(page_of(client, EMISSIONS_URL, montant="1 250,50"))] == ["1 250,50"]
    assert count_of(page_of(client, EMISSIONS_URL, montant="1250.5"), "Nombre d'émissions") == 1
    older = page_of(client, EMISSIONS_URL, emission_du=f"01/01/{y - 3}", emission_au=f"31/12/{y - 3}")
    assert [r[0] for r in rows_of(older)] == ["999,99"]
    every = page_of(client, EMISSIONS_URL, emission_du="", emission_au="", montant="50")
    assert [r[0] for r in rows_of(every)] == ["50,00"]


def test_a_transfers_detail_lists_the_files_it_paid_and_their_sum_is_the_amount(client, billing):
    page = page_of(client, f"{EMISSIONS_URL}/{billing.emissions['EA0001']}")
    assert headers_of(page) == PAYMENT_COLUMNS
    rows = rows_of(page)
    assert sorted(r[2] for r in rows) == ["DA0001", "DA0002"] and count_of(page) == 2
    paid = sum(Decimal(r[5].replace(" ", "").replace(",", ".")) for r in rows)
    listed = next(r[0] for r in rows_of(page_of(client, EMISSIONS_URL)) if r[1] == f"01/03/{billing.year}")
    assert dh(paid) == listed == "1 250,50"
    assert "Montant global viré" in text_of(page) and "1 250,50" in text_of(page)



def test_each_transfers_links_say_which_transfer_they_open(client, billing):
    page = page_of(client, EMISSIONS_URL)
    date = f"01/03/{billing.year}"
    assert f'aria-label="Détail de l&#39;émission du {date}"' in page or f"aria-label=\"Détail de l'émission du {date}\"" in page
    assert f'aria-label="Export de l&#39;émission du {date}"' in page or f"aria-label=\"Export de l'émission du {date}\"" in page


def test_a_transfers_export_is_the_xlsx_of_its_payments(client, billing):
    response = client.get(f"{EMISSIONS_URL}/{billing.emissions['EA0001']}/export")
    assert "paiements-emission-EA0001-" in response.headers["Content-Disposition"]  # names the transfer
    sheet = sheet_of(response)
    assert [c.value for c in sheet[1]] == PAYMENT_COLUMNS
    rows = sheet_rows(sheet)
    assert sorted(r[2] for r in rows) == ["DA0001", "DA0002"]
    assert sum(Decimal(str(r[5])) for r in rows) == Decimal("1250.50")
    assert all(isinstance(r[7], datetime) for r in rows)


# --------------------------------------------------------------------------
# « Récapitulatif du suivi des dossiers de remboursement » (CNSS-14)
# --------------------------------------------------------------------------


def summary_of(page: str) -> dict[str, tuple[int, str]]:
    table = re.search(r'<table class="list summary-table">(.*?)</table>', page, re.S).group(1)
    lines = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [text_of(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
        if cells[0] != "Situation du dossier":
            lines[cells[0]] = (int(cells[1]), cells[2])
    return lines


def test_summary_shows_each_situation_and_the_grand_total_with_a_chart(client, billing):
    page = page_of(client, SUMMARY_URL)
    text = text_of(page)
    assert "Tableau récapitulatif du suivi des dossiers de remboursement" in text and "Période d'envoi" in re.findall(r"<legend>(.*?)</legend>", html.unescape(page))
    table = re.search(r'<table class="list summary-table">(.*?)</table>', page, re.S).group(1)
    assert headers_of(table) == ["Situation du dossier", "Nombre", "Montant déclaré"]
    lines = summary_of(page)
    assert list(lines) == SITUATIONS + ["Total général"]
    expected = {s: billing.of(A, lambda f, s=s: f.situation == s) for s in SITUATIONS}
    for situation, files in expected.items():
        assert lines[situation] == (len(files), dh(sum((f.amount for f in files), Decimal(0)))), situation
    assert lines["Total général"] == (31, dh(sum((f.amount for f in billing.of(A)), Decimal(0))))
    assert lines["Dossier payé"] == (3, "1 300,50")  # DA0006 is older; B's 5 000,00 never counts
    assert page.count("<svg") == 2 and "Nombre de dossiers par situation" in text and "Montant déclaré par situation" in text


def test_summary_equals_the_dr_list_for_the_same_period(client, billing):
    y = billing.year
    period = {"du": f"01/01/{y - 3}", "au": f"31/12/{y}"}
    lines = summary_of(page_of(client, SUMMARY_URL, envoi_du=period["du"], envoi_au=period["au"]))
    total_count, total_amount = 0, Decimal(0)
    for situation in SITUATIONS:
        criteria = {"situation": situation, "depot_du": period["du"], "depot_au": period["au"]}
        count = count_of(page_of(client, DR_URL, **criteria))
        amount = sum((Decimal(str(r[5])) for r in sheet_rows(sheet_of(client.get(DR_EXPORT, query_string=criteria)))), Decimal(0))
        assert lines[situation] == (count, dh(amount)), situation
        total_count, total_amount = total_count + count, total_amount + amount
    assert lines["Total général"] == (total_count, dh(total_amount)) == (32, dh(Decimal("2796.49") + sum(Decimal("10.00") + i for i in range(25))))


def test_summary_of_a_period_without_files_counts_zero(client, billing):
    lines = summary_of(page_of(client, SUMMARY_URL, envoi_du="01/01/2001", envoi_au="31/12/2001"))
    assert all(value == (0, "0,00") for value in lines.values())


# --------------------------------------------------------------------------
# Establishment A never sees B's
# --------------------------------------------------------------------------


def test_typing_another_establishments_numbers_finds_nothing(client, billing):
    for url, criteria in (
        (DR_URL, {"dr": "DB0001"}), (DR_URL, {"pec": "PB0001"}), (DR_URL, {"situation": "Dossier retourné"}),
        (DR_URL, {"cnss": "111111111", "sort": "amount_billed", "dir": "desc"}),
        (PAYMENTS_URL, {"dr": "DB0001"}), (PAYMENTS_URL, {"pec": "PB0001"}), (PAYMENTS_URL, {"cnss": "111111111"}),
        (EMISSIONS_URL, {"montant": "5000"}), (EMISSIONS_URL, {"sort": "amount", "dir": "desc"}),
    ):
        # the results alone (HTMX): the criteria's inputs rightly echo what was typed
        response = client.get(url, query_string={**criteria, **({} if url == EMISSIONS_URL else ALL_DATES)}, headers=HTMX)
        page = re.sub(r'(href|hx-get)="[^"]*"', "", response.get_data(as_text=True))  # links carry the criteria too
        assert response.status_code == 200 and "<html" not in page
        assert not re.search(r"DB000\d|PB0001|5 000,00|Secret de B", page), (url, criteria)
    for url, criteria in ((DR_EXPORT, {"dr": "DB0001"}), (DR_EXPORT, {"cnss": "111111111"}), (PAYMENTS_EXPORT, {"cnss": "111111111"})):
        rows = sheet_rows(sheet_of(client.get(url, query_string={**criteria, **ALL_DATES})))
        assert all(str(r[2]).startswith("DA") for r in rows), (url, criteria)
    assert "5 000,00" not in page_of(client, SUMMARY_URL)


def test_another_establishments_transfer_is_not_found(client, billing):
    other = billing.emissions["EB0001"]
    assert client.get(f"{EMISSIONS_URL}/{other}").status_code == 404
    assert client.get(f"{EMISSIONS_URL}/{other}/export").status_code == 404
    assert client.get(f"{EMISSIONS_URL}/{other}", headers=HTMX).status_code == 404
    assert client.get(f"{EMISSIONS_URL}/999999").status_code == 404


# --------------------------------------------------------------------------
# Bad input: a French message next to the field, never a 500
# --------------------------------------------------------------------------


@pytest.mark.parametrize("url, criteria, field_id, message", [
    (DR_URL, {"depot_du": "31/12/2026", "depot_au": "01/01/2026"}, "depot_au", "La date « au » doit être postérieure ou égale à la date « du »."),
    (DR_URL, {"depot_du": "32/13/2026"}, "depot_du", "Date invalide : saisissez-la sous la forme jj/mm/aaaa."),
    (DR_URL, {"cnss": "12AB"}, "cnss", "Le N° CNSS (immatriculation) compte 9 chiffres."),
    (DR_URL, {"situation": "Dossier volé"}, "situation", "Choix invalide."),
    (DR_URL, {"dr": "D" * 40}, "dr", "20 caractères au plus."),
    (PAYMENTS_URL, {"paiement_du": "01/06/2026", "paiement_au": "01/01/2026"}, "paiement_au", "La date « au » doit être postérieure ou égale à la date « du »."),
    (PAYMENTS_URL, {"cnss": "1234567890"}, "cnss", "Le N° CNSS (immatriculation) compte 9 chiffres."),
    (EMISSIONS_URL, {"montant": "mille"}, "montant", "Montant invalide"),
    (EMISSIONS_URL, {"montant": "-5"}, "montant", "Le montant ne peut pas être négatif."),
    (EMISSIONS_URL, {"emission_du": "01/02/2026", "emission_au": "01/01/2026"}, "emission_au", "La date « au » doit être postérieure ou égale à la date « du »."),
    (SUMMARY_URL, {"envoi_du": "01/02/2026", "envoi_au": "01/01/2026"}, "envoi_au", "La date « au » doit être postérieure ou égale à la date « du »."),
    (SUMMARY_URL, {"envoi_du": "hier"}, "envoi_du", "Date invalide : saisissez-la sous la forme jj/mm/aaaa."),
])
def test_bad_criteria_get_a_french_message_next_to_the_field(client, billing, url, criteria, field_id, message):
    response = client.get(url, query_string=criteria)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in error_next_to(page, field_id)
    assert "corrigez-les pour afficher les résultats" in text_of(page)
    assert "<tbody>" not in page


def test_bad_criteria_over_htmx_swap_the_message_next_to_the_field(client, billing):
    response = client.get(SUMMARY_URL, query_string={"envoi_du": "hier"}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert 'id="envoi_du-errors" hx-swap-oob="true"' in body and "Date invalide" in body


def test_an_export_of_bad_criteria_goes_back_to_the_list(client, billing):
    response = client.get(DR_EXPORT, query_string={"cnss": "abc"})
    assert response.status_code == 303 and "/dossiers-remboursement?" in response.headers["Location"]
