"""Excel exports (CORE-12): the list's columns in order, only the member's rows
that the active criteria keep, typed cells, no formula ever runs, a dated file
name, an audit event, and the gate of the forced password change."""
from __future__ import annotations

import io
import tracemalloc
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from zipfile import ZipFile

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.exports import XLSX_MIMETYPE, export_rows
from app.extensions import db
from app.lists import Column, local_today
from app.models import Account, AuditEvent
from tests.conftest import SPACE_URL, login, make_account
from tests.test_lists import EXPORT_URL, FORMULAS, LIST_URL, default_period, expected, member, statements  # noqa: F401

HEADER = ["N° du relevé", "Date de paiement", "Libellé", "Montant (DH)", "Situation"]


def sheet_of(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX_MIMETYPE
    return load_workbook(io.BytesIO(response.get_data())).active


def data_rows(sheet) -> list[tuple]:
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows(min_row=2)]


def test_export_has_the_lists_columns_in_order_and_only_the_members_filtered_rows(client, member):
    response = client.get(EXPORT_URL, query_string={"situation": "Payé", "periode_du": "", "periode_au": ""})

    sheet = sheet_of(response)
    assert [cell.value for cell in sheet[1]] == HEADER
    rows = data_rows(sheet)
    assert [r[0] for r in rows] == expected(member, lambda r: r.status == "Payé")
    assert all(r[4] == "Payé" for r in rows)


def test_export_follows_the_default_period_and_the_sort_of_the_page(client, member):
    page_order = client.get(EXPORT_URL, query_string={"sort": "number", "dir": "asc"})

    numbers = [r[0] for r in data_rows(sheet_of(page_order))]
    assert numbers == expected(member, default_period, key=lambda r: r.number, reverse=False)
    assert "A-OLD1" not in numbers and len(numbers) == 49


def test_export_never_holds_another_members_rows(client, member):
    for criteria in ({}, {"numero": "B-"}, {"numero": "B-0001", "periode_du": "", "periode_au": ""},
                     {"montant_min": "0", "periode_du": "", "periode_au": "", "sort": "amount", "dir": "desc"}):
        numbers = [r[0] for r in data_rows(sheet_of(client.get(EXPORT_URL, query_string=criteria)))]
        assert all(n.startswith("A-") for n in numbers), criteria


def test_export_cells_are_typed_dates_and_amounts_and_the_header_is_bold(client, member):
    sheet = sheet_of(client.get(EXPORT_URL, query_string={"numero": "A-0045"}))

    header = sheet[1]
    assert all(cell.font.bold for cell in header)
    number, paid_on, label, amount, status = sheet[2]
    row = next(r for r in member if r.number == "A-0045")
    assert isinstance(paid_on.value, datetime) and paid_on.value.date() == row.paid_on
    assert paid_on.number_format.lower() == "dd/mm/yyyy"
    assert isinstance(amount.value, (int, float)) and amount.value == pytest.approx(float(row.amount))
    assert amount.number_format == "#,##0.00"
    assert number.value == "A-0045" and number.data_type == "s"
    assert not any(cell.font.bold for cell in sheet[2])


def test_labels_that_look_like_formulas_come_out_as_text(client, member):
    sheet = sheet_of(client.get(EXPORT_URL, query_string={"numero": "A-F"}))

    labels = {row[2].value: row[2] for row in sheet.iter_rows(min_row=2)}
    assert set(labels) == set(FORMULAS)
    for text, cell in labels.items():
        assert cell.data_type == "s", text
        assert cell.quotePrefix, text
    archive = io.BytesIO(client.get(EXPORT_URL, query_string={"numero": "A-F"}).get_data())
    xml = ZipFile(archive).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml, "no formula element in the sheet"


def test_export_is_a_dated_attachment_streamed_in_chunks(app, client, member):
    response = client.get(EXPORT_URL, buffered=False)

    with app.app_context():
        today = local_today().isoformat()
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="releves-{today}.xlsx"' in disposition
    assert f"filename*=UTF-8''releves-{today}.xlsx" in disposition
    assert response.is_streamed
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    assert "no-store" in response.headers["Cache-Control"]


def test_export_is_recorded_in_the_audit_trail_with_its_filters_and_row_count(app, client, member):
    client.get(EXPORT_URL, query_string={"situation": "Rejeté", "periode_du": f"{date.today().year}-01-01"})

    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
        account = db.session.scalars(select(Account).where(Account.login == "1001")).one()
        assert event.account_id == account.id and event.actor == "1001"
        assert event.detail["list"] == "releves"
        assert event.detail["filters"] == {"periode_du": f"{date.today().year}-01-01", "periode_au": f"{date.today().year}-12-31", "situation": "Rejeté"}
        assert event.detail["rows"] == len(expected(member, lambda r: r.status == "Rejeté" and r.paid_on.year == date.today().year))
    assert "Export" in client.get(f"{SPACE_URL}/history").get_data(as_text=True)


def test_export_before_the_forced_password_change_is_refused(app, client, statements):
    make_account(app, "1001", must_change=True)
    login(client, "1001")

    response = client.get(EXPORT_URL)

    assert response.status_code == 303
    assert response.headers["Location"] == f"{SPACE_URL}/password/change"
    assert response.mimetype != XLSX_MIMETYPE
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).first() is None


def test_export_needs_the_lists_profile(app, client, statements):
    make_account(app, "1001", profiles=["PAIE"])
    login(client, "1001")

    assert client.get(EXPORT_URL).status_code == 403
    assert client.get(LIST_URL).status_code == 403


# --------------------------------------------------------------------------
# export_rows, the lower-level writer
# --------------------------------------------------------------------------

PLAIN_COLUMNS = (
    Column("n", "N°", value=itemgetter(0)),
    Column("d", "Date", type="date", value=itemgetter(1)),
    Column("m", "Montant", type="amount", value=itemgetter(2)),
    Column("q", "Quantité", type="int", value=itemgetter(3)),
)


def test_export_rows_writes_plain_tuples_and_counts_them(tmp_path):
    path = tmp_path / "essai.xlsx"
    rows = [
        ("001", date(2026, 1, 2), Decimal("1250.5"), 3),
        ("=HYPERLINK(\"x\")", None, "", None),
        ("\x07bip", date(2026, 1, 3), Decimal("NaN"), 0),
    ]

    assert export_rows(path, PLAIN_COLUMNS, iter(rows), title="Essai: [1/2]") == 3

    sheet = load_workbook(path).active
    assert sheet.title == "Essai 1 2"
    assert [c.value for c in sheet[2]] == ["001", datetime(2026, 1, 2), 1250.5, 3]
    assert sheet["A3"].value == '=HYPERLINK("x")' and sheet["A3"].data_type == "s"
    assert sheet["B3"].value is None and sheet["C3"].value is None
    assert sheet["A4"].value == "bip", "characters XML forbids are dropped, not an error"
    assert sheet["C4"].value == "NaN" and sheet["C4"].data_type == "s", "a value that is no number stays text"


def peak_memory_of_export(tmp_path, count: int) -> int:
    rows = ((f"N{i:06d}", date(2026, 1, 1 + i % 28), Decimal(i) / 100, i) for i in range(count))
    tracemalloc.start()
    try:
        assert export_rows(tmp_path / f"{count}.xlsx", PLAIN_COLUMNS, rows) == count
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_export_rows_memory_stays_flat_as_the_list_grows(tmp_path):
    small = peak_memory_of_export(tmp_path, 300)
    large = peak_memory_of_export(tmp_path, 1500)

    assert large < small * 1.2 + 100_000, f"{small} bytes for 300 rows, {large} for 1500"
