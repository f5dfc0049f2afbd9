"""« Historique » (CORE-10): the user's own logins, failed logins and password
changes, with date and source address, newest first, by pages; never another
account's events."""
from __future__ import annotations

import html as htmllib
import re
from datetime import timezone
from zoneinfo import ZoneInfo
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts.views import HISTORY_PAGE_SIZE
from app.extensions import db
from app.models import AuditEvent, utcnow
from tests.conftest import PASSWORD, SPACE_URL, csrf_of, make_account

HISTORY = f"{SPACE_URL}/history"
NEW_PASSWORD = "Nouveau2027y"


def body(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def rows(page: str) -> list[list[str]]:
    """The history table's rows, as lists of cell texts."""
    tbody = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", tbody, re.S)
    ]


def login_from(client: FlaskClient, address: str, login_: str = "1001", password: str = PASSWORD, url: str = SPACE_URL):
    environ = {"REMOTE_ADDR": address}
    page = client.get(f"{url}/login", environ_base=environ)
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "adherent": login_, "password": password}
    return client.post(f"{url}/login", data=data, environ_base=environ)


def logged_in(response) -> bool:
    return response.status_code == 303 and "/login" not in response.headers["Location"]


def events_of(app: Flask, account_id: int) -> list[AuditEvent]:
    with app.app_context():
        events = list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.account_id == account_id).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            )
        )
        db.session.expunge_all()
        return events


def add_events(app: Flask, account_id: int, count: int, action: str = "login", address: str = "10.0.0.1") -> None:
    """``count`` events, one minute apart, the newest one minute ago."""
    now = utcnow()
    with app.app_context():
        for n in range(count):
            db.session.add(
                AuditEvent(
                    insurer="exemple",
                    space_key="exemple/membres",
                    account_id=account_id,
                    actor=f"acteur-{n:02d}",
                    action=action,
                    address=address,
                    at=now - timedelta(minutes=count - n),
                    detail={},
                )
            )
        db.session.commit()


def test_history_shows_own_logins_failures_and_password_changes_with_date_and_address(app):
    account_id = make_account(app, "1001")
    make_account(app, "1002")
    client = app.test_client()

    assert not logged_in(login_from(app.test_client(), "10.2.2.2", password="Mauvais2027x"))
    assert logged_in(login_from(client, "10.1.1.1"))
    page = client.get(f"{SPACE_URL}/password/change", environ_base={"REMOTE_ADDR": "10.1.1.1"})
    changed = client.post(
        f"{SPACE_URL}/password/change",
        data={
            "csrf_token": csrf_of(page.get_data(as_text=True)),
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirmation": NEW_PASSWORD,
        },
        environ_base={"REMOTE_ADDR": "10.1.1.1"},
    )
    assert changed.status_code == 303
    # another account's activity, and an unknown login's failure
    assert logged_in(login_from(app.test_client(), "10.9.9.9", login_="1002"))
    assert not logged_in(login_from(app.test_client(), "10.8.8.8", login_="1002", password="Mauvais2027x"))
    assert not logged_in(login_from(app.test_client(), "10.7.7.7", login_="9999"))

    response = client.get(HISTORY, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert response.status_code == 200
    page = body(response)
    assert "Historique" in page
    table = rows(page)
    events = events_of(app, account_id)
    assert [e.action for e in events] == ["password_changed", "login", "login_failed"]
    casablanca = ZoneInfo("Africa/Casablanca")
    assert table == [
        [e.at.replace(tzinfo=timezone.utc).astimezone(casablanca).strftime("%d/%m/%Y %H:%M"), label, e.actor, address]
        for e, label, address in zip(
            events,
            ["Modification du mot de passe", "Connexion", "Échec de connexion"],
            ["10.1.1.1", "10.1.1.1", "10.2.2.2"],
        )
    ]
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", table[0][0])
    assert "Nombre d'actions : 3" in page
    for other in ("10.9.9.9", "10.8.8.8", "10.7.7.7", "9999"):
        assert other not in page


def test_history_is_reachable_from_the_menu_and_only_when_logged_in(app):
    make_account(app, "1001")
    anonymous = app.test_client().get(HISTORY)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["Location"]
    client = app.test_client()
    assert logged_in(login_from(client, "127.0.0.1"))
    assert f'href="{HISTORY}">Historique</a>' in body(client.get(f"{SPACE_URL}/"))


def test_history_is_paged_newest_first(app):
    account_id = make_account(app, "1001")
    other_id = make_account(app, "1002")
    add_events(app, account_id, HISTORY_PAGE_SIZE + 5, address="10.0.0.1")
    add_events(app, other_id, 40, address="10.6.6.6")
    client = app.test_client()
    assert logged_in(login_from(client, "10.1.1.1"))  # one more: the login itself, the newest
    total = HISTORY_PAGE_SIZE + 6

    first = body(client.get(HISTORY))
    assert f"Nombre d'actions : {total}" in first
    assert "Page 1 sur 2" in first
    assert f'href="{HISTORY}?page=2">Suivant</a>' in first
    first_rows = rows(first)
    assert len(first_rows) == HISTORY_PAGE_SIZE
    assert first_rows[0][1:] == ["Connexion", "1001", "10.1.1.1"]
    assert first_rows[1][2] == f"acteur-{HISTORY_PAGE_SIZE + 4:02d}"

    second = body(client.get(f"{HISTORY}?page=2"))
    assert "Page 2 sur 2" in second
    assert f'href="{HISTORY}?page=1">Précédent</a>' in second
    second_rows = rows(second)
    assert [r[2] for r in second_rows] == [f"acteur-{n:02d}" for n in range(5, -1, -1)]

    seen = [r[2] for r in first_rows + second_rows]
    assert len(seen) == len(set(seen)) == total
    assert "10.6.6.6" not in first + second


@pytest.mark.parametrize("page", ["0", "-3", "abc", "99", "999999999999999999999999"])
def test_out_of_range_pages_do_not_fail(app, page):
    account_id = make_account(app, "1001")
    add_events(app, account_id, 3)
    client = app.test_client()
    assert logged_in(login_from(client, "127.0.0.1"))
    response = client.get(f"{HISTORY}?page={page}")
    assert response.status_code == 200
    assert "Nombre d'actions : 4" in body(response)


def test_history_of_a_sub_account_and_of_its_main_account_stay_apart(app, smtp_server):
    main_id = make_account(app, "1001")
    sub_id = make_account(app, "1001/caissier", parent_id=main_id, profiles=["CONSULT"], email="c@exemple.ma")
    add_events(app, main_id, 2, address="10.3.3.3")
    add_events(app, sub_id, 2, address="10.4.4.4")

    sub = app.test_client()
    page = sub.get(f"{SPACE_URL}/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "adherent": "1001", "sous_compte": "caissier", "password": PASSWORD}
    assert logged_in(sub.post(f"{SPACE_URL}/login", data=data))
    sub_page = body(sub.get(HISTORY))
    assert "10.4.4.4" in sub_page and "10.3.3.3" not in sub_page

    main = app.test_client()
    assert logged_in(login_from(main, "127.0.0.1"))
    main_page = body(main.get(HISTORY))
    assert "10.3.3.3" in main_page and "10.4.4.4" not in main_page


def test_history_of_the_same_number_in_another_space_stays_apart(app):
    account_id = make_account(app, "1001")
    elsewhere_id = make_account(app, "1001", space_key="autre/espace")
    add_events(app, elsewhere_id, 3, address="10.5.5.5")
    client = app.test_client()
    assert logged_in(login_from(client, "127.0.0.1"))
    page = body(client.get(HISTORY))
    assert "10.5.5.5" not in page
    assert len(rows(page)) == len(events_of(app, account_id)) == 1
