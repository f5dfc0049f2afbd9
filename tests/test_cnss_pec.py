"""Profile PEC of the CNSS space, « Consultation des prises en charge » (seed 003 II-1):
« Droits assurés » (CNSS-8), « Suivi des demandes de prise en charge (PEC) » (CNSS-9) and
« Récapitulatif des prises en charge » (CNSS-10), on known rows of two establishments."""
from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.lists import local_today
from app.models import AuditEvent
from app.templating import format_date
from plugins.cnss.models import Beneficiary, CareAuthorisation, Establishment, InsuredPerson, RightsPeriod
from plugins.cnss.validators import CNI_MESSAGE, CNSS_NUMBER_MESSAGE
from tests.conftest import csrf_of, make_account

URL = "/cnss/ps"
PASSWORD = "Kx7#pm2Q"
A = "101234567"  # the establishment logged in
B = "102345678"  # another one, whose PEC A must never see
ARABIC_TITLE = "شهادة الاطلاع على الحق في التأمين الإجباري الأساسي عن المرض"
COLUMNS = [
    "N°CNSS", "Bénéficiaire", "N° de la PEC", "Date de réception", "Montant demandé (DH)",
    "Montant accordé (DH)", "Situation de la PEC", "Date de situation", "Document",
]


@pytest.fixture
def app_config(app_config):
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "plugins.cnss"]
    return app_config


# --------------------------------------------------------------------------
# Helpers: accounts, a login that reads the form, pages as text
# --------------------------------------------------------------------------


class _Inputs(HTMLParser):
    """The inputs of a page: hidden values and the default of each radio group."""

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


def cnss_account(app, inpe: str = A, profile: str = "PEC") -> int:
    return make_account(app, f"{inpe}/{profile}", space_key="cnss/ps", tenant_ref=inpe, profiles=[profile], password=PASSWORD,
                        email=f"direction.{inpe}@clinique.test", phone="+212661234567")


def login(client, inpe: str = A, profile: str = "PEC") -> None:
    """Log in like a browser without JavaScript: every field the login page offers, ours filled in."""
    page = client.get(f"{URL}/login").get_data(as_text=True)
    inputs = _Inputs()
    inputs.feed(page)
    data = dict(inputs.values, csrf_token=csrf_of(page), password=PASSWORD)
    for name, value in (("inpe", inpe), ("profil", profile)):
        assert name in inputs.names, f"no field {name} on the login page"
        data[name] = value
    response = client.post(f"{URL}/login", data=data)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]


def text_of(response) -> str:
    """The page as text: entities decoded, number separators as plain spaces."""
    import html

    body = html.unescape(response.get_data(as_text=True))
    return body.replace("\u202f", " ").replace("\xa0", " ")


def header_cells(page: str) -> list[str]:
    head = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    return [re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]


def pec_numbers(page: str) -> list[str]:
    """The « N° de la PEC » of each row of the table, in order."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    if not body:
        return []
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[2].strip() for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


def rights_post(client, path: str = "/droits", headers=None, **fields):
    page = client.get(f"{URL}/droits").get_data(as_text=True)
    return client.post(f"{URL}{path}", data={"csrf_token": csrf_of(page), **fields}, headers=headers or {})


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# --------------------------------------------------------------------------
# Known rows
# --------------------------------------------------------------------------


def this_year(app) -> int:
    with app.app_context():
        return local_today().year


def pec(number: str, inpe: str, cnss: str, name: str, received: date, requested: str, granted: str | None,
        situation: str, decided_after: int | None, document: str | None = None) -> CareAuthorisation:
    return CareAuthorisation(
        number=number, inpe=inpe, cnss_number=cnss, beneficiary=name, received_on=received,
        amount_requested=Decimal(requested), amount_granted=Decimal(granted) if granted else None, situation=situation,
        situation_on=received + timedelta(days=decided_after) if decided_after is not None else None, document=document,
    )


@pytest.fixture
def rows(app) -> int:
    """Two establishments, two insured families, and PEC of both establishments; returns the year."""
    y = this_year(app)
    with app.app_context():
        db.session.add_all([
            Establishment(inpe=A, name="Clinique Al Amal", sector="prive", city="Casablanca"),
            Establishment(inpe=B, name="Centre hospitalier de Settat", sector="public", city="Settat"),
            InsuredPerson(cnss_number="123456789", cni="BE123456", last_name="Alami", first_name="Fatima", birth_date=date(1980, 4, 12)),
            InsuredPerson(cnss_number="987654321", cni="C98765", last_name="Benali", first_name="Omar", birth_date=date(1975, 11, 30)),
        ])
        db.session.flush()
        db.session.add_all([
            Beneficiary(cnss_number="123456789", rank=1, relationship="Conjoint", last_name="Alami", first_name="Said",
                        birth_date=date(1978, 2, 3), cni="AB12345"),
            Beneficiary(cnss_number="123456789", rank=2, relationship="Enfant", last_name="Alami", first_name="Yasmine",
                        birth_date=date(2012, 6, 1)),
            RightsPeriod(cnss_number="123456789", rank=0, starts_on=date(2020, 1, 1), ends_on=date(2023, 12, 31)),
            RightsPeriod(cnss_number="123456789", rank=0, starts_on=date(2024, 1, 1), ends_on=None),
            RightsPeriod(cnss_number="123456789", rank=1, starts_on=date(2024, 3, 1), ends_on=None),
            RightsPeriod(cnss_number="123456789", rank=2, starts_on=date(2020, 1, 1), ends_on=date(2099, 12, 31)),
            RightsPeriod(cnss_number="987654321", rank=0, starts_on=date(2019, 1, 1), ends_on=date(2022, 12, 31)),
        ])
        db.session.add_all([
            pec("PA001", A, "111111111", "Alami Fatima", date(y - 1, 3, 10), "1000.00", "800.00", "PEC accordée", 2, "DEC-A-1"),
            pec("PA002", A, "111111111", "Alami Said", date(y - 1, 9, 1), "2500.50", "2500.50", "PEC accordée", 5, "DEC-A-2"),
            pec("PA003", A, "222222222", "Benali Omar", date(y, 1, 15), "400.00", None, "PEC refusée", 9, "DEC-A-3"),
            pec("PA004", A, "222222222", "Benali Omar", date(y, 2, 20), "300.25", None, "PEC en cours de traitement", 0),
            pec("PA005", A, "333333333", "Chraibi Leila", date(y, 3, 5), "150.00", None, "PEC retournée", 3),
            pec("PA006", A, "111111111", "Alami Fatima", date(y - 2, 6, 1), "999.99", "999.99", "PEC accordée", 1),  # before the default period
            pec("PB001", B, "111111111", "Alami Fatima", date(y - 1, 5, 5), "7777.77", "7777.77", "PEC accordée", 1, "DEC-B-1"),
            pec("PB002", B, "555555555", "Patient Settat", date(y, 4, 4), "8888.88", None, "PEC refusée", 30),
        ])
        db.session.commit()
    return y


@pytest.fixture
def pec_user(app, client, rows) -> int:
    cnss_account(app, A, "PEC")
    login(client, A, "PEC")
    return rows


# --------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------

PAGES = ("/droits", "/pec", "/pec/export", "/pec/recapitulatif")


def test_a_paiements_account_gets_403_on_every_pec_screen(app, client, rows):
    cnss_account(app, A, "PAIEMENTS")
    login(client, A, "PAIEMENTS")
    for path in PAGES:
        assert client.get(f"{URL}{path}").status_code == 403, path
    token = csrf_of(client.get(f"{URL}/").get_data(as_text=True))
    for path in ("/droits", "/droits/attestation"):
        assert client.post(f"{URL}{path}", data={"csrf_token": token, "cnss": "123456789"}).status_code == 403, path
    assert events(app, "cnss_rights_check") == [] and events(app, "cnss_rights_attestation") == []


def test_the_menu_of_a_pec_account_lists_its_three_screens(client, pec_user):
    page = text_of(client.get(f"{URL}/"))
    for label in ("Droits assurés", "Suivi des demandes de prise en charge", "Récapitulatif des prises en charge"):
        assert label in page
    assert "Suivi des dossiers de remboursement" not in page


# --------------------------------------------------------------------------
# « Droits assurés »
# --------------------------------------------------------------------------


def test_rights_page_asks_the_cnss_number_or_the_cni(client, pec_user):
    page = text_of(client.get(f"{URL}/droits"))
    for label in ("Droits assurés", "Assuré", "N°CNSS", "CNI", "Ok", "Réinitialiser",
                  "P.S : Merci de noter que les périodes affichées d'ouverture de droits à l'AMO sont régulièrement mises à jour."):
        assert label in page
    assert 'method="post"' in page and 'hx-post="/cnss/ps/droits"' in page


def test_rights_by_cnss_number_show_the_insured_the_rights_and_the_beneficiaries(app, client, pec_user):
    response = rights_post(client, cnss="123456789", par="cnss")
    page = text_of(response)
    assert response.status_code == 200
    for text in ("N°CNSS", "123456789", "Nom et prénom", "Alami Fatima", "Date de naissance", "12/04/1980", "CNI", "BE123456",
                 "Date début", "Date fin", "01/01/2020", "31/12/2023", "01/01/2024", "Droits AMO ouverts à la date de la consultation.",
                 "Bénéficiaires et droit AMO", "Liste des bénéficiaires", "Lien de parenté", "N° CNI",
                 "Conjoint", "Alami Said", "03/02/1978", "AB12345", "01/03/2024", "Enfant", "Alami Yasmine", "01/06/2012", "31/12/2099",
                 "Télécharger l'attestation (PDF)"):
        assert text in page, text
    assert "Aucun bénéficiaire" not in page
    [event] = events(app, "cnss_rights_check")
    with app.app_context():
        stamp = format_date(event.at, with_time=True)  # Africa/Casablanca
    assert f"Consultation effectuée le {stamp} — Référence : DA-{event.at:%Y%m%d}-{event.id:07d}" in page


def test_rights_by_cni_normalise_the_typed_number(client, pec_user):
    page = text_of(rights_post(client, cni=" be 123456 ", par="cni"))
    assert "Alami Fatima" in page and "123456789" in page


def test_a_beneficiarys_cni_leads_to_the_family(client, pec_user):
    page = text_of(rights_post(client, cni="AB12345"))
    assert "Alami Fatima" in page and "Alami Said" in page


def test_an_insured_without_beneficiary_shows_aucun_beneficiaire(client, pec_user):
    page = text_of(rights_post(client, cnss="987654321", par="cnss"))
    assert "Benali Omar" in page and "Aucun bénéficiaire" in page
    assert "Droits AMO fermés à la date de la consultation." in page


def test_the_ok_pressed_chooses_when_both_numbers_are_typed(client, pec_user):
    page = text_of(rights_post(client, cnss="987654321", cni="BE123456", par="cni"))
    assert "Alami Fatima" in page and "Benali Omar" not in page
    page = text_of(rights_post(client, cnss="987654321", cni="BE123456"))
    assert "Saisissez le N° CNSS ou le N° de CNI, pas les deux." in page


def test_an_unknown_insured_says_aucun_assure_and_is_audited(app, client, pec_user):
    page = text_of(rights_post(client, cnss="555555555", par="cnss"))
    assert "Aucun assuré ne correspond au N° CNSS 555555555." in page
    page = text_of(rights_post(client, cni="Z99999", par="cni"))
    assert "Aucun assuré ne correspond au N° de CNI Z99999." in page
    found = [(e.detail["searched_by"], e.detail["number"], e.detail["found"]) for e in events(app, "cnss_rights_check")]
    assert found == [("cnss", "555555555", False), ("cni", "Z99999", False)]


def test_every_rights_check_is_audited_with_the_establishment(app, client, pec_user):
    rights_post(client, cnss="123456789", par="cnss")
    [event] = events(app, "cnss_rights_check")
    assert event.detail == {"establishment": A, "searched_by": "cnss", "number": "123456789", "found": True, "cnss_number": "123456789"}
    assert event.actor == f"{A}/PEC" and event.space_key == "cnss/ps" and event.account_id is not None


def test_rights_of_any_insured_are_open_to_every_establishment(app, client, rows):
    cnss_account(app, B, "PEC")
    login(client, B, "PEC")
    page = text_of(rights_post(client, cnss="123456789", par="cnss"))
    assert "Alami Fatima" in page
    assert events(app, "cnss_rights_check")[0].detail["establishment"] == B


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cnss": "12345678a", "par": "cnss"}, CNSS_NUMBER_MESSAGE),
        ({"cnss": "12345", "par": "cnss"}, CNSS_NUMBER_MESSAGE),
        ({"cni": "123", "par": "cni"}, CNI_MESSAGE),
        ({"cni": "ABC12345", "par": "cni"}, CNI_MESSAGE),
        ({"cnss": "", "cni": ""}, "Saisissez le N° CNSS ou le N° de CNI de l'assuré."),
        ({"cnss": "1234\x0056789"}, CNSS_NUMBER_MESSAGE),
    ],
)
def test_bad_numbers_give_their_message_next_to_the_field_and_check_nothing(app, client, pec_user, fields, message):
    response = rights_post(client, **fields)
    assert response.status_code == 200
    page = text_of(response)
    field = "cni" if "cni" in fields and fields.get("cni") else "cnss"
    assert re.search(rf'id="{field}-errors".*?{re.escape(message)}', page, re.S), page[-3000:]
    assert "Consultation effectuée" not in page
    assert events(app, "cnss_rights_check") == []


def test_htmx_swaps_the_result_under_the_form_and_the_errors_out_of_band(client, pec_user):
    response = rights_post(client, cnss="123456789", par="cnss", headers={"HX-Request": "true"})
    page = text_of(response)
    assert "<html" not in page and "<form method=\"post\" action=\"/cnss/ps/droits\"" not in page
    assert "Alami Fatima" in page and "HX-Request" in response.headers.get("Vary", "")
    page = text_of(rights_post(client, cnss="abc", par="cnss", headers={"HX-Request": "true"}))
    assert re.search(r'id="cnss-errors" hx-swap-oob="true"', page) and CNSS_NUMBER_MESSAGE in page


def test_the_attestation_is_a_pdf_with_the_cnss_number_and_the_arabic_title(app, client, pec_user, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.fail("poppler-utils is missing (pdftotext): run make system-packages")
    response = rights_post(client, "/droits/attestation", cnss="123456789")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attestation-droits-123456789.pdf" in response.headers["Content-Disposition"]
    path = tmp_path / "attestation.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    text = re.sub(r"\s+", " ", re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", unicodedata.normalize("NFKC", text)))
    [event] = events(app, "cnss_rights_attestation")
    for expected in ("Attestation de consultation des droits AMO", ARABIC_TITLE, "123456789", "Alami Fatima", "Alami Said",
                     "Clinique Al Amal", A, f"DA-{event.at:%Y%m%d}-{event.id:07d}", "Bénéficiaires et droit AMO"):
        assert expected in text, expected
    assert event.detail["found"] is True and event.detail["establishment"] == A
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+", info)  # A4


def test_the_attestation_of_an_unknown_insured_is_no_pdf_but_is_audited(app, client, pec_user):
    response = rights_post(client, "/droits/attestation", cnss="555555555")
    assert response.mimetype == "text/html" and "Aucun assuré" in text_of(response)
    assert [e.detail["found"] for e in events(app, "cnss_rights_attestation")] == [False]


# --------------------------------------------------------------------------
# « Suivi des demandes de prise en charge (PEC) »
# --------------------------------------------------------------------------


def pec_page(client, query: str = "", **headers):
    return client.get(f"{URL}/pec" + (f"?{query}" if query else ""), headers=headers)


def test_the_pec_list_has_the_seeds_criteria_columns_and_buttons(client, pec_user):
    response = pec_page(client)
    page = text_of(response)
    for label in ("Suivi des demandes de prise en charge (PEC)", "Critères de recherche", "N°CNSS", "N° de dossier",
                  "Période d'envoi", "Nombre de dossiers : 5", "Rechercher", "Réinitialiser", "Exporter", "Liste des dossiers PEC"):
        assert label in page, label
    assert header_cells(response.get_data(as_text=True)) == COLUMNS


def test_the_default_period_is_the_previous_and_the_current_year(client, pec_user):
    y = pec_user
    page = text_of(pec_page(client))
    assert f'value="{y - 1}-01-01"' in page and f'value="{y}-12-31"' in page
    assert sorted(pec_numbers(page)) == ["PA001", "PA002", "PA003", "PA004", "PA005"]


def test_a_row_shows_its_values_as_the_seed_does(client, pec_user):
    y = pec_user
    page = text_of(pec_page(client, "dossier=PA002"))
    row = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells == ["111111111", "Alami Said", "PA002", f"01/09/{y - 1}", "2 500,50", "2 500,50", "PEC accordée",
                     f"06/09/{y - 1}", "DEC-A-2"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cnss=111111111", ["PA001", "PA002"]),
        ("dossier=PA003", ["PA003"]),
        ("dossier=pa003", ["PA003"]),
        ("periode_du=01/01/{y}&periode_au=31/12/{y}", ["PA003", "PA004", "PA005"]),
        ("periode_du=&periode_au=", ["PA001", "PA002", "PA003", "PA004", "PA005", "PA006"]),
        ("periode_du=01/06/{y1}", ["PA002", "PA003", "PA004", "PA005"]),
        ("cnss=222222222&periode_du=01/02/{y}&periode_au=31/12/{y}", ["PA004"]),
        ("cnss=111111111&dossier=PA002", ["PA002"]),
        ("cnss=111111111&periode_du=&periode_au=", ["PA001", "PA002", "PA006"]),
        ("cnss=111111111&periode_du=01/01/{y}&periode_au=31/12/{y}", []),
    ],
)
def test_each_criterion_alone_and_combined(client, pec_user, query, expected):
    y = pec_user
    page = text_of(pec_page(client, query.format(y=y, y1=y - 1)))
    assert sorted(pec_numbers(page)) == expected
    assert f"Nombre de dossiers : {len(expected)}" in page
    if not expected:
        assert "Aucun dossier ne correspond à ces critères." in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("cnss=12345678a", "cnss", CNSS_NUMBER_MESSAGE),
        ("periode_du=31/12/2025&periode_au=01/01/2025", "periode_au", "La date « au » doit être postérieure ou égale à la date « du »."),
        ("periode_du=32/13/2025", "periode_du", "Date invalide : saisissez-la sous la forme jj/mm/aaaa."),
    ],
)
def test_bad_criteria_show_their_message_and_no_rows(client, pec_user, query, field, message):
    response = pec_page(client, query)
    page = text_of(response)
    assert response.status_code == 200
    assert re.search(rf'id="{field}-errors".*?{re.escape(message)}', page, re.S)
    assert pec_numbers(page) == [] and "Nombre de dossiers" not in page


def test_sorting_by_each_column_way(client, pec_user):
    page = text_of(pec_page(client, "sort=amount_requested&dir=asc"))
    assert pec_numbers(page) == ["PA005", "PA004", "PA003", "PA001", "PA002"]
    page = text_of(pec_page(client, "sort=amount_requested&dir=desc"))
    assert pec_numbers(page) == ["PA002", "PA001", "PA003", "PA004", "PA005"]
    page = text_of(pec_page(client))  # newest received first
    assert pec_numbers(page) == ["PA005", "PA004", "PA003", "PA002", "PA001"]


def add_many(app, inpe: str, count: int, year: int, prefix: str) -> None:
    with app.app_context():
        for i in range(count):
            db.session.add(pec(f"{prefix}{i:03d}", inpe, "444444444", "Idrissi Amine", date(year, 5, 1) + timedelta(days=i),
                               "10.00", None, "PEC en cours de traitement", None))
        db.session.commit()


def test_pages_of_twenty_without_overlap(app, client, pec_user):
    add_many(app, A, 23, pec_user - 1, "PX")  # 28 in all
    first = text_of(pec_page(client))
    second = text_of(pec_page(client, "page=2"))
    assert "Nombre de dossiers : 28" in first and "Nombre de dossiers : 28" in second
    assert len(pec_numbers(first)) == 20 and len(pec_numbers(second)) == 8
    assert not set(pec_numbers(first)) & set(pec_numbers(second))
    assert 'aria-label="Page 2"' in first
    assert pec_numbers(text_of(pec_page(client, "page=99"))) == pec_numbers(second)  # clamped
    partial = text_of(pec_page(client, "page=2", **{"HX-Request": "true"}))
    assert "<html" not in partial and pec_numbers(partial) == pec_numbers(second)


def test_the_export_has_the_columns_in_order_and_the_filtered_rows(app, client, pec_user):
    y = pec_user
    response = client.get(f"{URL}/pec/export?cnss=111111111&periode_du=&periode_au=&sort=received_on&dir=asc")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS
    assert [r[2] for r in rows[1:]] == ["PA006", "PA001", "PA002"]
    pa001 = rows[2]
    assert (pa001[0], pa001[1], pa001[2], pa001[3].date(), Decimal(str(pa001[4])), Decimal(str(pa001[5])), pa001[6], pa001[8]) == (
        "111111111", "Alami Fatima", "PA001", date(y - 1, 3, 10), Decimal("1000"), Decimal("800"), "PEC accordée", "DEC-A-1")
    [event] = events(app, "export")
    assert event.detail["list"] == "pec" and event.detail["rows"] == 3


def test_establishment_a_never_sees_bs_pec(app, client, pec_user):
    add_many(app, B, 25, pec_user, "PBX")
    queries = ["", "cnss=555555555", "dossier=PB001", "dossier=PB002", "cnss=111111111&periode_du=&periode_au=",
               "periode_du=&periode_au=", "sort=amount_requested&dir=desc", "sort=cnss_number&dir=asc&periode_du=&periode_au=",
               "page=2", "page=3&periode_du=&periode_au="]
    for query in queries:
        page = text_of(pec_page(client, query))
        assert not [n for n in pec_numbers(page) if n.startswith("PB")], query
        assert "Patient Settat" not in page and "7 777,77" not in page and "8 888,88" not in page, query
        export = load_workbook(BytesIO(client.get(f"{URL}/pec/export?{query}").data)).active
        assert not [r for r in export.iter_rows(min_row=2, values_only=True) if str(r[2]).startswith("PB")], query
    assert "Nombre de dossiers : 0" in text_of(pec_page(client, "cnss=555555555"))
    assert "Nombre de dossiers : 6" in text_of(pec_page(client, "periode_du=&periode_au="))


# --------------------------------------------------------------------------
# « Récapitulatif des prises en charge »
# --------------------------------------------------------------------------


def summary_cells(page: str) -> dict[str, list[str]]:
    """Each line of the table: situation → [Nombre, Montant demandé, Montant accordé]."""
    table = re.search(r'<table class="list summary-table">(.*?)</table>', page, re.S).group(1)
    lines = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        head = re.search(r'<th scope="row">(.*?)</th>', row, re.S)
        if head:
            lines[head.group(1).strip()] = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return lines


def amount(text: str) -> Decimal:
    return Decimal(text.replace(" ", "").replace(",", "."))


def test_the_summary_has_its_labels_and_one_line_per_situation(client, pec_user):
    page = text_of(client.get(f"{URL}/pec/recapitulatif"))
    for label in ("Récapitulatif des prises en charge", "Période d'envoi", "Situation de la PEC", "Nombre",
                  "Montant demandé (DH)", "Montant accordé (DH)", "Total général", "Taux d'accord", "Délai moyen de décision",
                  "Par défaut, seules l'année en cours et l'année précédente sont affichées."):
        assert label in page, label
    lines = summary_cells(page)
    assert lines["PEC accordée"] == ["2", "3 500,50", "3 300,50"]
    assert lines["PEC refusée"] == ["1", "400,00", "0,00"]
    assert lines["PEC en cours de traitement"] == ["1", "300,25", "0,00"]
    assert lines["PEC retournée"] == ["1", "150,00", "0,00"]
    assert lines["PEC annulée"] == ["0", "0,00", "0,00"]
    assert lines["Total général"] == ["5", "4 350,75", "3 300,50"]
    assert "<svg" in page  # the chart of the same counts


def test_the_summarys_totals_equal_the_sum_of_the_list_for_the_same_period(client, pec_user):
    y = pec_user
    for period in ("", f"periode_du=01/01/{y}&periode_au=31/12/{y}", "periode_du=&periode_au=", f"periode_du=15/03/{y - 1}"):
        total = summary_cells(text_of(client.get(f"{URL}/pec/recapitulatif?{period}")))["Total général"]
        export = load_workbook(BytesIO(client.get(f"{URL}/pec/export?{period}").data)).active
        rows = list(export.iter_rows(min_row=2, values_only=True))
        assert int(total[0]) == len(rows), period
        assert amount(total[1]) == sum((Decimal(str(r[4])) for r in rows), Decimal(0)), period
        assert amount(total[2]) == sum((Decimal(str(r[5] or 0)) for r in rows), Decimal(0)), period


def test_the_approval_rate_and_the_average_delay_are_exact(client, pec_user):
    y = pec_user
    # default period: 2 granted (2 and 5 days), 1 refused (9 days): 2/3 and 16/3 days
    page = text_of(client.get(f"{URL}/pec/recapitulatif"))
    assert re.search(r'id="pec-approval-rate">66,7 %<', page)
    assert re.search(r'id="pec-average-delay">5,3 jours<', page)
    # this year only: the refused one alone
    page = text_of(client.get(f"{URL}/pec/recapitulatif?periode_du=01/01/{y}&periode_au=31/12/{y}"))
    assert re.search(r'id="pec-approval-rate">0,0 %<', page) and re.search(r'id="pec-average-delay">9,0 jours<', page)
    # every year: PA006 granted after 1 day joins: 3/4, 17/4 days; B's PEC never count
    page = text_of(client.get(f"{URL}/pec/recapitulatif?periode_du=&periode_au="))
    assert re.search(r'id="pec-approval-rate">75,0 %<', page) and re.search(r'id="pec-average-delay">4,3 jours<', page)
    # nothing decided
    page = text_of(client.get(f"{URL}/pec/recapitulatif?periode_du=01/02/{y}&periode_au=31/12/{y}"))
    assert "Aucune PEC décidée sur la période" in page


def test_the_summary_refuses_au_before_du(client, pec_user):
    response = client.get(f"{URL}/pec/recapitulatif?periode_du=31/12/2025&periode_au=01/01/2025")
    page = text_of(response)
    assert response.status_code == 200
    assert re.search(r'id="periode_au-errors".*?La date « au » doit être postérieure ou égale à la date « du »\.', page, re.S)
    assert "Total général" not in page
    partial = text_of(client.get(f"{URL}/pec/recapitulatif?periode_du=abc", headers={"HX-Request": "true"}))
    assert "<html" not in partial and 'id="periode_du-errors" hx-swap-oob="true"' in partial


def test_the_summary_never_counts_another_establishments_pec(app, client, rows):
    cnss_account(app, B, "PEC")
    login(client, B, "PEC")
    lines = summary_cells(text_of(client.get(f"{URL}/pec/recapitulatif")))
    assert lines["Total général"] == ["2", "16 666,65", "7 777,77"]
