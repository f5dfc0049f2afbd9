"""The CNSS space's dashboard (« Accueil »): each profile gets its own widgets, loaded by
HTMX, whose figures are those of the full pages for the same period (this year), counted
for the logged-in establishment only — B's rows never count on A's dashboard."""
from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from app.extensions import db
from app.lists import local_today
from plugins.cnss.models import (
    BankTransfer,
    CareAuthorisation,
    Establishment,
    InsuredPerson,
    ReimbursementFile,
    RightsPeriod,
)
from tests.conftest import csrf_of, make_account

URL = "/cnss/ps"
PASSWORD = "Kx7#pm2Q"
A, B, C = "101234567", "102345678", "103456789"  # C: an establishment without any row
HTMX = {"HX-Request": "true"}

RIGHTS_WIDGET = f"{URL}/widgets/droits"
PEC_WIDGET = f"{URL}/widgets/prises-en-charge"
DR_WIDGET = f"{URL}/widgets/dossiers-remboursement"
TRANSFERS_WIDGET = f"{URL}/widgets/virements"
PEC_WIDGETS = (RIGHTS_WIDGET, PEC_WIDGET)
PAYMENTS_WIDGETS = (DR_WIDGET, TRANSFERS_WIDGET)

PEC_SITUATIONS = ["PEC accordée", "PEC refusée", "PEC en cours de traitement", "PEC retournée", "PEC annulée"]
DR_SITUATIONS = ["Dossier payé", "Dossier annulé", "Dossier en cours de traitement", "Dossier retourné"]


@pytest.fixture
def app_config(app_config):
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "plugins.cnss"]
    app_config["PLUGINS"] = ["exemple", "cnss"]
    return app_config


# --------------------------------------------------------------------------
# Known rows: A's this year, last year and on the period's edges; B's, which must never count
# --------------------------------------------------------------------------


def _pec(number: str, inpe: str, received: date, situation: str, decided_after: int = 3) -> CareAuthorisation:
    return CareAuthorisation(
        number=number, inpe=inpe, cnss_number="111111111", beneficiary=f"Patient {number}", received_on=received,
        amount_requested=Decimal("100.00"), amount_granted=Decimal("100.00") if situation == "PEC accordée" else None,
        situation=situation, situation_on=date.fromordinal(received.toordinal() + decided_after),
    )


def _dr(number: str, inpe: str, filed: date, situation: str) -> ReimbursementFile:
    return ReimbursementFile(
        number=number, inpe=inpe, cnss_number="111111111", beneficiary=f"Patient {number}", filed_on=filed,
        amount_billed=Decimal("250.50"), care_on=filed, situation=situation, situation_on=filed,
    )


#: (emission, inpe, issued, amount), in the order they are recorded (ids ascending)
def _transfers(y: int) -> list[tuple[str, str, date, Decimal]]:
    return [
        ("EA0001", A, date(y - 3, 1, 1), Decimal("100.00")),
        ("EA0002", A, date(y - 1, 6, 1), Decimal("200.00")),
        ("EA0003", A, date(y, 1, 15), Decimal("300.00")),
        ("EA0004", A, date(y, 2, 15), Decimal("400.00")),
        ("EA0005", A, date(y, 2, 15), Decimal("1250.50")),  # same day as EA0004, recorded after it
        ("EA0006", A, date(y, 3, 1), Decimal("600.00")),
        ("EA0007", A, date(y - 2, 9, 9), Decimal("700.00")),
        ("EB0001", B, date(y, 12, 31), Decimal("9999.99")),  # B's, the newest of all
    ]


@pytest.fixture
def year(app) -> int:
    with app.app_context():
        y = local_today().year
        db.session.add_all([Establishment(inpe=inpe, name=f"Clinique {inpe}", sector="prive") for inpe in (A, B)])
        db.session.add(InsuredPerson(cnss_number="123456789", cni="BE123456", last_name="Alami", first_name="Fatima",
                                     birth_date=date(1980, 4, 12)))
        db.session.flush()
        db.session.add(RightsPeriod(cnss_number="123456789", rank=0, starts_on=date(2020, 1, 1), ends_on=None))
        db.session.add_all([
            _pec("PA01", A, date(y, 1, 10), "PEC accordée"),
            _pec("PA02", A, date(y, 2, 10), "PEC accordée"),
            _pec("PA03", A, date(y, 1, 1), "PEC accordée"),  # the first day counts
            _pec("PA04", A, date(y, 1, 20), "PEC refusée"),
            _pec("PA05", A, date(y, 4, 1), "PEC en cours de traitement"),
            _pec("PA06", A, date(y, 5, 5), "PEC retournée"),
            _pec("PA07", A, date(y, 12, 31), "PEC annulée"),  # the last day counts
            _pec("PA10", A, date(y - 1, 12, 31), "PEC refusée"),  # last year: not this year's
            _pec("PA11", A, date(y - 1, 6, 1), "PEC accordée"),
            _pec("PB01", B, date(y, 2, 2), "PEC refusée"),
            _pec("PB02", B, date(y, 3, 3), "PEC refusée"),
            _pec("PB03", B, date(y, 3, 4), "PEC accordée"),
        ])
        db.session.add_all([
            _dr("DA01", A, date(y, 1, 1), "Dossier payé"),
            _dr("DA02", A, date(y, 2, 10), "Dossier payé"),
            _dr("DA03", A, date(y, 3, 10), "Dossier en cours de traitement"),
            _dr("DA04", A, date(y, 4, 10), "Dossier retourné"),
            _dr("DA05", A, date(y, 5, 10), "Dossier annulé"),
            _dr("DA06", A, date(y, 12, 31), "Dossier en cours de traitement"),
            _dr("DA10", A, date(y - 1, 12, 31), "Dossier payé"),
            *[_dr(f"DB0{i}", B, date(y, 6, i), "Dossier payé") for i in range(1, 4)],
        ])
        for number, inpe, issued, amount in _transfers(y):
            db.session.add(BankTransfer(number=number, inpe=inpe, amount=amount, issued_on=issued))
            db.session.flush()  # ids in the order above
        db.session.commit()
    return y


# --------------------------------------------------------------------------
# Logging in as a browser without JavaScript, reading pages
# --------------------------------------------------------------------------


class _Inputs(HTMLParser):
    """The login page's inputs: hidden values and the first choice of each radio group."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag not in ("input", "select") or not a.get("name"):
            return
        self.names.add(a["name"])
        kind = a.get("type", "text")
        if kind == "hidden" or (kind == "radio" and ("checked" in a or a["name"] not in self.values)):
            self.values[a["name"]] = a.get("value") or ""


def log_in(app, client, inpe: str, profile: str) -> None:
    """Create the establishment's account of ``profile`` and log in with it."""
    make_account(app, f"{inpe}/{profile}", space_key="cnss/ps", tenant_ref=inpe, profiles=[profile], password=PASSWORD,
                 email=f"direction.{inpe}@clinique.test")
    page = client.get(f"{URL}/login").get_data(as_text=True)
    inputs = _Inputs()
    inputs.feed(page)
    data = dict(inputs.values, csrf_token=csrf_of(page), password=PASSWORD, inpe=inpe, profil=profile)
    assert {"inpe", "profil"} <= inputs.names
    response = client.post(f"{URL}/login", data=data)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\u202f", " ").replace("\xa0", " ").split())


def fragment(client, url: str) -> str:
    """What HTMX swaps into the widget's box: a fragment, never a whole page."""
    response = client.get(url, headers=HTMX)
    assert response.status_code == 200, (url, response.status_code)
    page = response.get_data(as_text=True)
    assert "<html" not in page and "<body" not in page and "<h1" not in page, url
    assert "HX-Request" in response.headers.get("Vary", "")
    return page


def page_of(client, url: str, **params) -> str:
    response = client.get(url, query_string=params)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def table_lines(page: str, opening: str) -> dict[str, int]:
    """Situation → count of the table opened by ``opening`` (its header row left out)."""
    table = re.search(re.escape(opening) + r"(.*?)</table>", page, re.S).group(1)
    lines = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [text_of(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
        if cells[1] != "Nombre":
            lines[cells[0]] = int(cells[1])
    return lines


def links(page: str) -> dict[str, str]:
    """Each link's text → its address."""
    return {text_of(a): html.unescape(href) for href, a in re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', page, re.S)}


def rows_of(page: str, table_id: str | None = None) -> list[list[str]]:
    opening = f'<table class="list" id="{table_id}">' if table_id else '<table class="list">'
    scope = re.search(re.escape(opening) + r"(.*?)</table>", page, re.S).group(1)
    body = re.search(r"<tbody>(.*?)</tbody>", scope, re.S).group(1)
    return [[text_of(td) for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)] for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def dashboard_widgets(client) -> list[str]:
    """The widget addresses the dashboard loads (``hx-get``)."""
    return re.findall(r'<section class="widget[^"]*"\s+hx-get="([^"]+)"', page_of(client, f"{URL}/"))


# --------------------------------------------------------------------------
# Each profile its widgets, and only them
# --------------------------------------------------------------------------


def test_a_pec_account_sees_the_pec_widgets_and_is_refused_the_paiements_ones(app, client, year):
    log_in(app, client, A, "PEC")
    assert dashboard_widgets(client) == list(PEC_WIDGETS)
    text = text_of(page_of(client, f"{URL}/"))
    assert "Droits assurés" in text and "Prises en charge" in text
    assert "Dossiers de remboursement" not in text and "Derniers virements" not in text
    for url in PAYMENTS_WIDGETS:
        assert client.get(url).status_code == 403, url
        assert client.get(url, headers=HTMX).status_code == 403, url


def test_a_paiements_account_sees_the_paiements_widgets_and_is_refused_the_pec_ones(app, client, year):
    log_in(app, client, A, "PAIEMENTS")
    assert dashboard_widgets(client) == list(PAYMENTS_WIDGETS)
    text = text_of(page_of(client, f"{URL}/"))
    assert "Dossiers de remboursement" in text and "Derniers virements" in text
    assert "Droits assurés" not in text and "Prises en charge" not in text
    for url in PEC_WIDGETS:
        assert client.get(url).status_code == 403, url
        assert client.get(url, headers=HTMX).status_code == 403, url


def test_a_visitor_not_logged_in_is_sent_to_the_login(client, year):
    for url in PEC_WIDGETS + PAYMENTS_WIDGETS:
        response = client.get(url)
        assert response.status_code in (302, 303) and "/cnss/ps/login" in response.headers["Location"], url
        response = client.get(url, headers=HTMX)
        assert "/cnss/ps/login" in response.headers.get("HX-Redirect", ""), url


@pytest.mark.parametrize("profile, url, title", [
    ("PEC", RIGHTS_WIDGET, "Droits assurés"),
    ("PEC", PEC_WIDGET, "Prises en charge"),
    ("PAIEMENTS", DR_WIDGET, "Dossiers de remboursement"),
    ("PAIEMENTS", TRANSFERS_WIDGET, "Derniers virements"),
])
def test_a_widget_opened_without_htmx_is_a_page_of_the_space(app, client, year, profile, url, title):
    log_in(app, client, A, profile)
    page = page_of(client, url)
    assert "<html" in page and f"<h1>{title}</h1>" in page
    assert 'aria-label="Menu principal"' in page and "Accueil" in text_of(page)
    assert text_of(fragment(client, url)) in text_of(page)  # the same content, in its page


# --------------------------------------------------------------------------
# Profile PEC
# --------------------------------------------------------------------------


def test_the_rights_widget_posts_to_the_rights_page(app, client, year):
    log_in(app, client, A, "PEC")
    widget = fragment(client, RIGHTS_WIDGET)
    assert re.search(r'<form method="post" action="/cnss/ps/droits"', widget)
    assert 'name="cnss"' in widget and 'name="cni"' in widget and "N°CNSS" in text_of(widget) and "CNI" in text_of(widget)
    response = client.post(f"{URL}/droits", data={"csrf_token": csrf_of(widget), "cnss": "123456789", "par": "cnss"})
    assert response.status_code == 200
    assert "Alami Fatima" in text_of(response.get_data(as_text=True))


def test_the_pec_widget_counts_this_years_pec_of_the_establishment_only(app, client, year):
    log_in(app, client, A, "PEC")
    widget = fragment(client, PEC_WIDGET)
    lines = table_lines(widget, '<table class="list summary-table" id="widget-pec-situations">')
    assert lines == {"PEC accordée": 3, "PEC refusée": 1, "PEC en cours de traitement": 1, "PEC retournée": 1,
                     "PEC annulée": 1, "Total général": 7}  # B's 2 refused and 1 granted never count
    assert list(lines) == PEC_SITUATIONS + ["Total général"]
    rate = re.search(r'id="widget-pec-approval-rate">(.*?)</dd>', widget, re.S).group(1)
    assert text_of(rate) == "75,0 %"  # 3 ÷ (3 + 1); with B's it would be 66,7
    assert f"Reçues du 01/01/{year} au 31/12/{year}" in text_of(widget)


def test_the_pec_widget_equals_the_summary_and_the_list_of_the_same_period(app, client, year):
    log_in(app, client, A, "PEC")
    widget = fragment(client, PEC_WIDGET)
    to = links(widget)
    summary_url = urlsplit(to["Récapitulatif des prises en charge"])
    assert summary_url.path == f"{URL}/pec/recapitulatif"
    assert parse_qs(summary_url.query) == {"periode_du": [f"01/01/{year}"], "periode_au": [f"31/12/{year}"]}
    summary = client.get(to["Récapitulatif des prises en charge"]).get_data(as_text=True)
    assert table_lines(summary, '<table class="list summary-table">') == table_lines(widget, '<table class="list summary-table" id="widget-pec-situations">')
    assert text_of(re.search(r'id="pec-approval-rate">(.*?)</dd>', summary, re.S).group(1)) == "75,0 %"
    # the list of the same link counts the same PEC
    listing = text_of(client.get(to["Liste des PEC de l'année"]).get_data(as_text=True))
    assert "Nombre de dossiers : 7" in listing and "PB0" not in listing
    # the summary's default period (this year and the last) counts more: the widget's is this year only
    assert table_lines(page_of(client, f"{URL}/pec/recapitulatif"), '<table class="list summary-table">')["Total général"] == 9


def test_the_pec_widget_of_an_establishment_without_pec_says_so(app, client, year):
    log_in(app, client, C, "PEC")
    widget = fragment(client, PEC_WIDGET)
    assert table_lines(widget, '<table class="list summary-table" id="widget-pec-situations">')["Total général"] == 0
    assert "Aucune PEC décidée sur la période" in text_of(widget)


# --------------------------------------------------------------------------
# Profile Paiements
# --------------------------------------------------------------------------


def test_the_dr_widget_counts_this_years_files_of_the_establishment_with_a_chart(app, client, year):
    log_in(app, client, A, "PAIEMENTS")
    widget = fragment(client, DR_WIDGET)
    lines = table_lines(widget, '<table class="list summary-table" id="widget-dr-situations">')
    assert lines == {"Dossier payé": 2, "Dossier annulé": 1, "Dossier en cours de traitement": 2, "Dossier retourné": 1,
                     "Total général": 6}  # B's 3 paid files never count, nor A's of last year
    assert list(lines) == DR_SITUATIONS + ["Total général"]
    assert widget.count("<svg") == 1 and "Nombre de dossiers par situation" in text_of(widget)
    chart = re.search(r'<table class="sr-only">(.*?)</table>', widget, re.S).group(1)
    assert [text_of(td) for td in re.findall(r"<td>(.*?)</td>", chart)] == ["2", "1", "2", "1"]
    assert f"Déposés du 01/01/{year} au 31/12/{year}" in text_of(widget)


def test_the_dr_widget_equals_the_summary_and_the_list_of_the_same_period(app, client, year):
    log_in(app, client, A, "PAIEMENTS")
    widget = fragment(client, DR_WIDGET)
    to = links(widget)
    summary_url = urlsplit(to["Récapitulatif du suivi des dossiers de remboursement"])
    assert summary_url.path == f"{URL}/dossiers-remboursement/recapitulatif"
    assert parse_qs(summary_url.query) == {"envoi_du": [f"01/01/{year}"], "envoi_au": [f"31/12/{year}"]}
    summary = client.get(to["Récapitulatif du suivi des dossiers de remboursement"]).get_data(as_text=True)
    assert table_lines(summary, '<table class="list summary-table">') == table_lines(widget, '<table class="list summary-table" id="widget-dr-situations">')
    listing = text_of(client.get(to["Liste des dossiers de l'année"]).get_data(as_text=True))
    assert "Nombre de dossiers : 6" in listing and "DB0" not in listing


def test_the_transfers_widget_lists_the_five_latest_of_the_establishment(app, client, year):
    log_in(app, client, A, "PAIEMENTS")
    widget = fragment(client, TRANSFERS_WIDGET)
    headers = [text_of(th) for th in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', widget, re.S)]
    assert headers == ["Date d'émission", "Montant global viré", "Détail"]
    assert rows_of(widget, "widget-transfers") == [
        [f"01/03/{year}", "600,00", "détail"],
        [f"15/02/{year}", "1 250,50", "détail"],  # recorded after EA0004, the same day
        [f"15/02/{year}", "400,00", "détail"],
        [f"15/01/{year}", "300,00", "détail"],
        [f"01/06/{year - 1}", "200,00", "détail"],
    ]  # B's transfer of 31/12, the newest, never shows
    assert "9 999,99" not in text_of(widget)
    # the same transfers, in the same order, as the full list over every date
    full = rows_of(page_of(client, f"{URL}/paiements/emissions", emission_du="", emission_au=""))
    assert [[r[1], r[0], r[2]] for r in full[:5]] == rows_of(widget, "widget-transfers")
    details = re.findall(r'<a href="(/cnss/ps/paiements/emissions/\d+)">détail</a>', widget)
    assert len(details) == 5
    for url in details:
        assert client.get(url).status_code == 200, url
    assert links(widget)["Détail des paiements par date d'émission"] == f"{URL}/paiements/emissions"


def test_the_paiements_widgets_of_an_establishment_without_files_say_so(app, client, year):
    log_in(app, client, C, "PAIEMENTS")
    dr = fragment(client, DR_WIDGET)
    assert table_lines(dr, '<table class="list summary-table" id="widget-dr-situations">')["Total général"] == 0
    assert "<svg" not in dr
    assert "Aucun virement reçu." in text_of(fragment(client, TRANSFERS_WIDGET))
