"""Lists (CORE-15, CORE-17, CORE-18): the member's « Relevés » searched by each
criterion, counted, paged and sorted in SQL, kept in the address bar, answered as
a fragment to HTMX and as a full page otherwise; a member never sees another's rows."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from sqlalchemy import select, true
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.lists import Column, Criteria, SearchList, between, contains, local_today, period_criterion, text_criterion
from tests.conftest import SPACE_URL, login, make_account
from tests.plugin_exemple.models import Statement

LIST_URL = f"{SPACE_URL}/releves"
EXPORT_URL = f"{SPACE_URL}/releves/export"
HTMX = {"HX-Request": "true"}
LABELS = ("Consultation", "Pharmacie", "Radiologie")
SITUATIONS = ("Payé", "En cours", "Rejeté")
#: labels a spreadsheet would take for formulas
FORMULAS = ("=1+1", "+212 6 00", "-2+3", "@SOMME(A1)")


@dataclass(frozen=True)
class Row:
    """What the tests expect of one generated statement."""

    member: str
    number: str
    paid_on: date
    label: str
    amount: Decimal
    status: str


def generate(app) -> list[Row]:
    """45 statements of member 1001 over this year and the last, 2 older ones,
    4 with formula-looking labels; 25 of member 1002 with the same labels and amounts."""
    with app.app_context():
        year = local_today().year
    rows = []
    for i in range(45):
        paid_on = date(year - (i % 2), i % 12 + 1, i % 28 + 1)
        rows.append(Row("1001", f"A-{i + 1:04d}", paid_on, LABELS[i % 3], Decimal(100) + Decimal("10.50") * i, SITUATIONS[i % 3]))
    rows.append(Row("1001", "A-OLD1", date(year - 3, 6, 1), "Consultation", Decimal("80.00"), "Payé"))
    rows.append(Row("1001", "A-OLD2", date(year - 2, 12, 31), "Pharmacie", Decimal("90.00"), "Payé"))
    for i, label in enumerate(FORMULAS):
        rows.append(Row("1001", f"A-F{i + 1:03d}", date(year, 2, 10 + i), label, Decimal("12.00"), "Payé"))
    for i in range(25):
        paid_on = date(year - (i % 2), i % 12 + 1, i % 28 + 2)
        rows.append(Row("1002", f"B-{i + 1:04d}", paid_on, LABELS[i % 3], Decimal(100) + Decimal("10.50") * i, SITUATIONS[i % 3]))
    with app.app_context():
        db.session.add_all(
            Statement(member_number=r.member, number=r.number, paid_on=r.paid_on, label=r.label, amount=r.amount, status=r.status)
            for r in rows
        )
        db.session.commit()
    return rows


@pytest.fixture
def statements(app) -> list[Row]:
    return generate(app)


@pytest.fixture
def member(app, client, statements) -> list[Row]:
    """Member 1001 logged in; the statements member 1002 also has are in the database."""
    make_account(app, "1001")
    make_account(app, "1002")
    assert login(client, "1001").status_code == 303
    return statements


def this_year() -> int:
    return date.today().year


def default_period(row: Row) -> bool:
    """CORE-18: the current year and the previous one."""
    return row.paid_on.year >= this_year() - 1


def expected(rows: list[Row], keep, *, key=lambda r: r.paid_on, reverse=True) -> list[str]:
    """Member 1001's numbers that ``keep`` accepts, in the list's order."""
    mine = [r for r in rows if r.member == "1001" and keep(r)]
    return [r.number for r in sorted(mine, key=key, reverse=reverse)]


def body(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def numbers_on(response) -> list[str]:
    """The first column of the table's rows (N° du relevé)."""
    return re.findall(r"<tr>\s*<td>([^<]*)</td>", body(response))


def count_on(response) -> int:
    match = re.search(r"Nombre de dossiers : (\d+)", body(response))
    assert match, "no count on the page"
    return int(match.group(1))


def errors_of(response, field_id: str) -> str:
    """The text of the error block next to a criterion."""
    match = re.search(rf'id="{field_id}-errors"[^>]*>(.*?)</div>', body(response), re.S)
    assert match, f"no error block for {field_id}"
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1)).strip()


def form_values(response) -> list[tuple[str, str]]:
    """What a browser would send when the criteria form is submitted as it is shown."""
    form = re.search(r'<form method="get".*?</form>', body(response), re.S).group(0)
    pairs = []
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        value = re.search(r'value="([^"]*)"', tag)
        pairs.append((name, value.group(1) if value else ""))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        selected = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', options)
        pairs.append((name, next(v for v in selected.groups() if v is not None) if selected else ""))
    return pairs


def link(response, text: str) -> str:
    match = re.search(rf'<a [^>]*href="([^"]+)"[^>]*>\s*{re.escape(text)}\s*</a>', body(response))
    assert match, f"no link « {text} »"
    return match.group(1)


# --------------------------------------------------------------------------
# What the page shows
# --------------------------------------------------------------------------


def test_member_sees_the_count_and_the_first_page_of_this_year_and_the_last_by_default(client, member):
    response = client.get(LIST_URL)

    assert response.status_code == 200
    mine = expected(member, default_period)
    assert count_on(response) == len(mine) == 49
    assert numbers_on(response) == mine[:20]
    assert "A-OLD1" not in body(response) and "A-OLD2" not in body(response)
    assert "Relevés de l'adhérent 1001" in body(response)
    assert f'name="periode_du" type="date" value="{this_year() - 1}-01-01"' in body(response)
    assert f'name="periode_au" type="date" value="{this_year()}-12-31"' in body(response)


def test_columns_show_dates_day_first_and_amounts_with_two_decimals(client, member):
    page = body(client.get(LIST_URL, query_string={"numero": "A-0045"}))

    for label in ("N° du relevé", "Date de paiement", "Libellé", "Montant (DH)", "Situation"):
        assert f">{label}</" in page
    row = next(r for r in member if r.number == "A-0045")
    assert row.paid_on.strftime("%d/%m/%Y") in page
    assert f"<td class=\"num\">{row.amount:.2f}</td>".replace(".", ",") in page and f"<td>{row.label}</td>" in page


@pytest.mark.parametrize(
    "criteria, keep",
    [
        ({"numero": "a-001"}, lambda r: "A-001" in r.number and default_period(r)),
        ({"libelle": "PHARMA"}, lambda r: r.label == "Pharmacie" and default_period(r)),
        ({"periode_du": f"{this_year()}-03-01", "periode_au": f"{this_year()}-06-30"},
         lambda r: date(this_year(), 3, 1) <= r.paid_on <= date(this_year(), 6, 30)),
        ({"periode_du": f"01/01/{this_year() - 3}", "periode_au": ""}, lambda r: r.paid_on.year >= this_year() - 3),
        ({"periode_du": "", "periode_au": ""}, lambda r: True),
        ({"montant_min": "400,50"}, lambda r: r.amount >= Decimal("400.50") and default_period(r)),
        ({"montant_min": "1 000"}, lambda r: False),
        ({"situation": "Rejeté"}, lambda r: r.status == "Rejeté" and default_period(r)),
    ],
    ids=["numero", "libelle", "periode", "periode-jj-mm-aaaa", "sans-periode", "montant", "montant-espace", "situation"],
)
def test_each_criterion_alone_narrows_the_list(client, member, criteria, keep):
    response = client.get(LIST_URL, query_string=criteria)

    mine = expected(member, keep)
    assert count_on(response) == len(mine)
    assert numbers_on(response) == mine[:20]
    if not mine:
        assert "Aucun dossier ne correspond à ces critères." in body(response)


def test_criteria_combine(client, member):
    criteria = {"libelle": "consult", "situation": "Payé", "montant_min": "200", "periode_du": f"{this_year()}-01-01"}

    response = client.get(LIST_URL, query_string=criteria)

    mine = expected(
        member,
        lambda r: r.label == "Consultation" and r.status == "Payé" and r.amount >= 200 and r.paid_on.year >= this_year(),
    )
    assert mine and count_on(response) == len(mine)
    assert numbers_on(response) == mine


def test_a_percent_sign_in_a_criterion_is_taken_literally(client, member):
    response = client.get(LIST_URL, query_string={"numero": "%"})

    assert count_on(response) == 0


# --------------------------------------------------------------------------
# Pages and sort
# --------------------------------------------------------------------------


def test_page_two_shows_the_next_rows_and_links_back(client, member):
    response = client.get(LIST_URL, query_string={"page": 2})

    mine = expected(member, default_period)
    assert numbers_on(response) == mine[20:40]
    assert count_on(response) == len(mine)
    page = body(response)
    assert 'aria-current="page">2<' in page
    assert "Précédent" in page and "Suivant" in page
    assert link(response, "Précédent") == f"{LIST_URL}?page=1"


@pytest.mark.parametrize("asked, shown", [("99", 3), ("0", 1), ("-4", 1), ("deux", 1)])
def test_a_page_out_of_range_shows_the_nearest_page(client, member, asked, shown):
    response = client.get(LIST_URL, query_string={"page": asked})

    assert response.status_code == 200
    mine = expected(member, default_period)
    assert numbers_on(response) == mine[(shown - 1) * 20: shown * 20]


def test_last_page_has_no_next_link_and_first_no_previous(client, member):
    first = body(client.get(LIST_URL))
    last = body(client.get(LIST_URL, query_string={"page": 3}))

    assert "Précédent" not in first and "Suivant" in first
    assert "Suivant" not in last and "Précédent" in last


@pytest.mark.parametrize(
    "sort, direction, key",
    [
        ("amount", "asc", lambda r: (r.amount, r.number)),
        ("amount", "desc", lambda r: (r.amount, r.number)),
        ("number", "asc", lambda r: r.number),
        ("number", "desc", lambda r: r.number),
        ("paid_on", "asc", lambda r: r.paid_on),
    ],
)
def test_sortable_columns_sort_both_ways(client, member, sort, direction, key):
    response = client.get(LIST_URL, query_string={"sort": sort, "dir": direction})

    mine = expected(member, default_period, key=key, reverse=direction == "desc")
    shown = numbers_on(response)
    if sort == "amount":  # equal amounts are ordered by id, not by number: compare the amounts
        amounts = {r.number: r.amount for r in member}
        assert [amounts[n] for n in shown] == [amounts[n] for n in mine[:20]]
    else:
        assert shown == mine[:20]


def test_sort_header_links_toggle_the_direction_and_keep_the_criteria(client, member):
    response = client.get(LIST_URL, query_string={"situation": "Payé", "sort": "amount", "dir": "asc", "page": 2})

    page = body(response)
    assert 'aria-sort="ascending"' in page
    amount_link = link(response, "Montant (DH)")
    assert dict(parse_qsl(urlsplit(amount_link).query)) == {"situation": "Payé", "sort": "amount", "dir": "desc"}
    number_link = link(response, "N° du relevé")
    assert dict(parse_qsl(urlsplit(number_link).query)) == {"situation": "Payé", "sort": "number", "dir": "asc"}


def test_an_unknown_sort_falls_back_to_the_default_order(client, member):
    response = client.get(LIST_URL, query_string={"sort": "member_number", "dir": "sideways"})

    assert response.status_code == 200
    assert numbers_on(response) == expected(member, default_period)[:20]


# --------------------------------------------------------------------------
# The address bar (CORE-17) and HTMX (CORE-15)
# --------------------------------------------------------------------------


def test_submitting_the_form_gives_the_same_rows_as_opening_its_url(client, member):
    page = client.get(LIST_URL)
    submitted = [(k, "Pharmacie" if k == "libelle" else v) for k, v in form_values(page)]

    from_form = client.get(LIST_URL + "?" + urlencode(submitted))
    bookmarked = client.get(LIST_URL + "?libelle=Pharmacie")

    assert numbers_on(from_form) == numbers_on(bookmarked) != []
    assert count_on(from_form) == count_on(bookmarked)


def test_links_of_the_page_keep_the_criteria_in_the_address(client, member):
    query = {"periode_du": "", "periode_au": "", "montant_min": "0"}
    response = client.get(LIST_URL, query_string=query)

    assert dict(parse_qsl(urlsplit(link(response, "Suivant")).query, keep_blank_values=True)) == {**query, "page": "2"}
    assert link(response, "Exporter") == EXPORT_URL + "?" + urlencode(query)
    assert link(response, "Réinitialiser") == LIST_URL
    assert re.search(r'<input[^>]*name="montant_min"[^>]*value="0"', body(response))


def test_htmx_search_gets_only_the_results_and_varies_on_hx_request(client, member):
    response = client.get(LIST_URL, query_string={"situation": "Rejeté"}, headers=HTMX)

    page = body(response)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert "<html" not in page and "<form" not in page and "Relevés de l'adhérent" not in page
    assert numbers_on(response) == expected(member, lambda r: r.status == "Rejeté" and default_period(r))[:20]
    assert count_on(response) == len(expected(member, lambda r: r.status == "Rejeté" and default_period(r)))
    assert 'id="periode_au-errors" hx-swap-oob="true"' in page, "the criteria's errors are cleared out of band"


def test_full_page_is_built_for_htmx_and_works_without_it(client, member):
    response = client.get(LIST_URL)

    page = body(response)
    assert "HX-Request" in response.headers["Vary"]
    form = re.search(r"<form method=\"get\"[^>]*>", page).group(0)
    assert f'action="{LIST_URL}"' in form
    assert f'hx-get="{LIST_URL}"' in form
    assert 'hx-target="#releves-results"' in form and 'hx-push-url="true"' in form
    assert 'hx-trigger="input changed delay:400ms, submit"' in form
    assert 'id="releves-results"' in page
    assert re.search(r'<button type="submit"[^>]*>Rechercher</button>', page)
    nxt = re.search(r'<a [^>]*rel="next"[^>]*>', page).group(0)
    assert f'href="{LIST_URL}?page=2"' in nxt and f'hx-get="{LIST_URL}?page=2"' in nxt and 'hx-push-url="true"' in nxt
    assert "hx-swap-oob" not in page
    assert " style=" not in page and "<script>" not in page


def test_a_history_restore_gets_the_full_page(client, member):
    response = client.get(LIST_URL, headers={**HTMX, "HX-History-Restore-Request": "true"})

    assert "<html" in body(response) and "<form" in body(response)


def test_htmx_sort_keeps_the_sort_for_the_next_search(client, member):
    response = client.get(LIST_URL, query_string={"sort": "amount", "dir": "desc"}, headers=HTMX)

    state = re.search(r'<div id="releves-sort" hx-swap-oob="true">(.*?)</div>', body(response), re.S).group(1)
    assert 'name="sort" value="amount"' in state and 'name="dir" value="desc"' in state


# --------------------------------------------------------------------------
# Bad criteria: a French message next to the field, no results, never a 500
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "criteria, field, message",
    [
        ({"periode_du": "31/02/2026"}, "periode_du", "Date invalide : saisissez-la sous la forme jj/mm/aaaa."),
        ({"periode_au": "demain"}, "periode_au", "Date invalide"),
        ({"periode_du": "2026-06-01", "periode_au": "2026-05-31"}, "periode_au",
         "La date « au » doit être postérieure ou égale à la date « du »."),
        ({"montant_min": "douze"}, "montant_min", "Montant invalide : chiffres uniquement"),
        ({"montant_min": "12,345"}, "montant_min", "Montant invalide"),
        ({"montant_min": "-5"}, "montant_min", "Le montant ne peut pas être négatif."),
        ({"situation": "Perdu"}, "situation", "Choix invalide."),
        ({"numero": "A" * 21}, "numero", "20 caractères au plus."),
        ({"numero": "R1\x00"}, "numero", "Ce champ contient des caractères non autorisés."),
    ],
)
def test_bad_criteria_show_a_french_message_next_to_the_field_and_no_results(client, member, criteria, field, message):
    response = client.get(LIST_URL, query_string=criteria)

    assert response.status_code == 200
    assert message in errors_of(response, field)
    assert "<table" not in body(response) and "Nombre de dossiers" not in body(response)
    assert "corrigez-les pour afficher les résultats" in body(response)
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"', body(response))

    fragment = client.get(LIST_URL, query_string=criteria, headers=HTMX)
    assert fragment.status_code == 200
    assert message in errors_of(fragment, field), "HTMX swaps the message next to the field"
    assert "<table" not in body(fragment)


def test_export_with_bad_criteria_goes_back_to_the_list_with_its_errors(client, member):
    response = client.get(EXPORT_URL, query_string={"periode_du": "2026-13-01"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"{LIST_URL}?periode_du=2026-13-01"
    assert "Date invalide" in errors_of(client.get(response.headers["Location"]), "periode_du")


# --------------------------------------------------------------------------
# Scope: a member never sees another member's rows
# --------------------------------------------------------------------------


OTHER_MEMBERS_URLS = [
    {},
    {"numero": "B-"},
    {"numero": "B-0001"},
    {"libelle": "Consultation", "periode_du": "", "periode_au": ""},
    {"montant_min": "0", "periode_du": "", "periode_au": ""},
    {"situation": "Payé", "periode_du": "", "periode_au": ""},
    *({"sort": key, "dir": d} for key in ("number", "paid_on", "label", "amount", "status") for d in ("asc", "desc")),
    *({"page": n, "periode_du": "", "periode_au": ""} for n in (1, 2, 3, 4, 5, 99)),
]


def test_member_never_sees_another_members_statements_through_any_criterion_sort_or_page(client, member):
    for criteria in OTHER_MEMBERS_URLS:
        for headers in ({}, HTMX):
            response = client.get(LIST_URL, query_string=criteria, headers=headers)
            assert response.status_code == 200, criteria
            table = re.search(r"<table.*?</table>", body(response), re.S)
            assert table is None or "B-0" not in table.group(0), criteria
            assert all(n.startswith("A-") for n in numbers_on(response)), criteria
        if criteria.get("numero", "").startswith("B-"):
            assert count_on(response) == 0


def test_the_other_member_sees_only_theirs(app, client, statements):
    make_account(app, "1002")
    login(client, "1002")

    response = client.get(LIST_URL, query_string={"periode_du": "", "periode_au": ""})

    assert count_on(response) == 25
    assert all(n.startswith("B-") for n in numbers_on(response))


# --------------------------------------------------------------------------
# Declaring a list
# --------------------------------------------------------------------------


class NumberCriteria(Criteria):
    numero = text_criterion("N°")


def declare(**changes):
    values = dict(
        name="essai",
        title="Essai",
        endpoint="exemple.statements",
        query=select(Statement),
        scope=lambda: Statement.member_number == "1001",
        columns=(Column("number", "N°", sort=Statement.number),),
        criteria=NumberCriteria,
        filters={"numero": contains(Statement.number)},
    )
    values.update(changes)
    return SearchList(**{k: v for k, v in values.items() if v is not ...})


def test_a_list_cannot_be_declared_without_a_scope():
    with pytest.raises(TypeError, match="scope"):
        declare(scope=...)
    with pytest.raises(TypeError, match="scope"):
        declare(scope=None)


def test_a_scope_must_be_an_sql_condition(app):
    listing = declare(scope=lambda: True)
    with app.test_request_context("/"), pytest.raises(TypeError, match="not an SQL condition"):
        listing.search(MultiDict()).statement()
    with app.test_request_context("/"):
        assert declare(scope=lambda: true()).search(MultiDict()).statement() is not None  # an explicit « everything »


def test_every_criterion_needs_a_filter_and_the_default_sort_a_sortable_column():
    with pytest.raises(ValueError, match="every criteria field needs a filter"):
        declare(filters={})
    with pytest.raises(ValueError, match="every criteria field needs a filter"):
        declare(filters={"numero": contains(Statement.number), "autre": contains(Statement.label)})
    with pytest.raises(ValueError, match="default_sort"):
        declare(default_sort="label")
    with pytest.raises(ValueError, match="lower-case"):
        declare(name="Relevés")


def test_page_size_and_count_label_are_the_lists(app, client, member):
    listing = declare(page_size=7, count_label="Nombre d'émissions : %(count)s", criteria=None, filters={})
    with app.test_request_context("/"):
        page = listing.search(MultiDict()).page()
        assert len(page.rows) == 7 and page.pages == 8
        assert page.count_text == "Nombre d'émissions : 51"
        assert page.numbers() == [1, 2, 3, None, 8]


def test_a_column_with_a_link_makes_its_cells_links_and_a_list_words_its_empty_result(app, member):
    listing = declare(
        columns=(Column("number", "N°", sort=Statement.number, link=lambda r: f"/releves/{r.number}"),),
        empty_label="Aucun relevé.",
    )
    with app.test_request_context(f"{LIST_URL}?numero=A-0001"):
        from flask import render_template, request

        search = listing.search(request.args)
        page = render_template("lists/_list.html", search=search, results=search.page())
        assert '<a href="/releves/A-0001">A-0001</a>' in page
    with app.test_request_context(f"{LIST_URL}?numero=Z"):
        search = listing.search(request.args)
        assert "Aucun relevé." in render_template("lists/_list.html", search=search, results=search.page())


def test_extreme_dates_and_pages_never_fail(client, member):
    for criteria in (
        {"periode_du": "0001-01-01", "periode_au": "9999-12-31"},
        {"page": "9" * 40},
        {"montant_min": "999999999999,99"},
        {"numero": "'; DROP TABLE x; --"},
    ):
        response = client.get(LIST_URL, query_string=criteria)
        assert response.status_code == 200, criteria
        assert client.get(EXPORT_URL, query_string=criteria).status_code == 200, criteria
    assert count_on(client.get(LIST_URL, query_string={"periode_du": "0001-01-01", "periode_au": "9999-12-31"})) == 51


class PeriodCriteria(Criteria):
    le = period_criterion("Date")


def test_a_period_on_a_date_time_column_takes_whole_days(app):
    from app.models import AuditEvent

    listing = SearchList(
        name="journal",
        title="Journal",
        endpoint="exemple.statements",
        query=select(AuditEvent),
        scope=lambda: AuditEvent.insurer == "exemple",
        columns=(Column("action", "Action"),),
        criteria=PeriodCriteria,
        filters={"le": between(AuditEvent.at)},
    )
    with app.app_context():
        for action, at in (("veille", datetime(2026, 3, 30, 23, 59)), ("dernier", datetime(2026, 3, 31, 23, 59, 59)),
                           ("lendemain", datetime(2026, 4, 1, 0, 0)), ("ailleurs", datetime(2026, 3, 31, 12, 0))):
            db.session.add(AuditEvent(at=at, action=action, insurer="autre" if action == "ailleurs" else "exemple"))
        db.session.commit()
    with app.test_request_context(f"{LIST_URL}?le_du=31/03/2026&le_au=31/03/2026"):
        from flask import request

        assert [e.action for e in listing.search(request.args).page().rows] == ["dernier"]
    with app.test_request_context(f"{LIST_URL}?le_du=&le_au=9999-12-31"):
        assert listing.search(request.args).page().count == 3


def test_the_order_puts_nulls_last_only_where_a_column_may_be_null_and_breaks_ties_in_its_direction(app):
    from sqlalchemy import func

    listing = declare(columns=(
        Column("number", "N°", sort=Statement.number),
        Column("label", "Libellé", sort=func.lower(Statement.label)),
    ))
    with app.test_request_context("/"):
        by_number = str(listing.search(MultiDict({"sort": "number", "dir": "desc"})).statement())
        by_label = str(listing.search(MultiDict({"sort": "label", "dir": "asc"})).statement())
    # « number » is NOT NULL: a plain DESC that an index walks backwards, the id in the same direction
    assert "ORDER BY exemple_statements.number DESC, exemple_statements.id DESC" in by_number
    assert "NULLS LAST" not in by_number
    # an expression may be NULL: its NULLs go last
    assert "lower(exemple_statements.label) ASC NULLS LAST, exemple_statements.id" in by_label
