"""Sessions kept on the server (SAFE-5) and the gate in front of every page of a
space: login required, idle timeout, forced password change (CORE-3)."""
from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Account, LoginSession, utcnow
from tests.conftest import PASSWORD, SPACE_URL, csrf_of, login, make_account

DASHBOARD = f"{SPACE_URL}/"
LOGIN_PAGE = f"{SPACE_URL}/login"
CHANGE_PAGE = f"{SPACE_URL}/password/change"
STATEMENTS = f"{SPACE_URL}/releves"
EXPORT = f"{SPACE_URL}/releves/export"
WIDGET = f"{SPACE_URL}/widgets/solde"
HISTORY = f"{SPACE_URL}/history"
SUBACCOUNTS = f"{SPACE_URL}/accounts"
COOKIE = "portail_session"
HTMX = {"HX-Request": "true"}
NEW_PASSWORD = "Nouveau42xy"


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def csrf(client) -> str:
    return csrf_of(client.get(LOGIN_PAGE).get_data(as_text=True))


def logout(client):
    return client.post(f"{SPACE_URL}/logout", data={"csrf_token": csrf(client)})


def change_password(client, new: str = NEW_PASSWORD, current: str | None = PASSWORD):
    page = client.get(CHANGE_PAGE).get_data(as_text=True)
    data = {"csrf_token": csrf_of(page), "new_password": new, "confirmation": new}
    if current is not None and 'name="current_password"' in page:
        data["current_password"] = current
    return client.post(CHANGE_PAGE, data=data)


def is_sent_to_login(response) -> bool:
    """A full-page redirect (303) or an HTMX one (``HX-Redirect``) to the space's login page."""
    target = response.headers.get("HX-Redirect") if "HX-Redirect" in response.headers else response.headers.get("Location", "")
    return response.status_code in (200, 303) and target.startswith(LOGIN_PAGE)


# --------------------------------------------------------------------------
# Forced password change (CORE-3)
# --------------------------------------------------------------------------


@pytest.fixture
def must_change(app, client) -> int:
    """An account whose password was reset: logged in, the change still to do."""
    account_id = make_account(app, "1001", must_change=True)
    response = login(client)
    assert response.headers["Location"] == CHANGE_PAGE
    return account_id


@pytest.mark.parametrize("url", [DASHBOARD, STATEMENTS, EXPORT, HISTORY, SUBACCOUNTS, f"{SUBACCOUNTS}/new"])
def test_account_that_must_change_its_password_is_sent_to_the_change_form_from_every_page(client, must_change, url):
    response = client.get(url)

    assert response.status_code == 303
    assert response.headers["Location"] == CHANGE_PAGE


def test_export_is_not_downloaded_before_the_forced_change(client, must_change):
    response = client.get(EXPORT)

    assert response.status_code == 303
    assert response.mimetype != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "Adhérent" not in response.get_data(as_text=True)


def test_widget_requested_by_htmx_before_the_forced_change_redirects_the_whole_page(client, must_change):
    response = client.get(WIDGET, headers={**HTMX, "HX-Current-URL": f"http://localhost{DASHBOARD}"})

    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == CHANGE_PAGE
    assert response.get_data(as_text=True) == "", "nothing is swapped into the widget"


def test_forced_change_page_shows_only_the_new_password_and_no_menu(client, must_change):
    response = client.get(CHANGE_PAGE)

    assert response.status_code == 200
    page = text_of(response)
    assert "Modification du mot de passe" in page
    assert "vous devez choisir un nouveau mot de passe avant de continuer" in page
    assert 'name="current_password"' not in page
    assert 'class="menu"' not in page
    assert "Déconnexion" in page


def test_account_that_must_change_its_password_can_still_log_out(client, must_change):
    response = logout(client)

    assert response.status_code == 303
    assert response.headers["Location"] == LOGIN_PAGE
    assert is_sent_to_login(client.get(CHANGE_PAGE))
    assert "Vous êtes déconnecté." in text_of(client.get(LOGIN_PAGE))


def test_everything_opens_once_the_forced_change_is_done(client, must_change):
    response = change_password(client)
    assert response.status_code == 303
    assert response.headers["Location"] == DASHBOARD

    for url in (DASHBOARD, STATEMENTS, HISTORY, SUBACCOUNTS, CHANGE_PAGE):
        assert client.get(url).status_code == 200, url
    export = client.get(EXPORT)
    assert export.status_code == 200 and export.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    widget = client.get(WIDGET, headers=HTMX)
    assert widget.status_code == 200 and "Solde : 1 250,00 DH" in text_of(widget)


# --------------------------------------------------------------------------
# Anonymous visitors
# --------------------------------------------------------------------------


@pytest.mark.parametrize("url", [DASHBOARD, STATEMENTS, EXPORT, HISTORY, SUBACCOUNTS, CHANGE_PAGE])
def test_anonymous_visitor_of_a_page_goes_to_the_login_page_and_comes_back_after(client, url):
    response = client.get(url)

    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(f"{LOGIN_PAGE}?next=")
    assert "http" not in location

    make_account(client.application, "1001")
    page = client.get(location).get_data(as_text=True)
    back = client.post(location, data={"csrf_token": csrf_of(page), "adherent": "1001", "password": PASSWORD})
    assert back.headers["Location"] == url


def test_anonymous_htmx_request_for_a_widget_redirects_the_whole_page_to_the_login(client):
    response = client.get(WIDGET, headers={**HTMX, "HX-Current-URL": f"http://localhost{DASHBOARD}"})

    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == f"{LOGIN_PAGE}?next=/exemple/membres/"
    assert response.get_data(as_text=True) == ""
    assert "HX-Request" in response.headers.get("Vary", "")


def test_anonymous_htmx_request_never_comes_back_to_a_fragment_or_another_host(client):
    response = client.get(WIDGET, headers={**HTMX, "HX-Current-URL": "https://evil.test/exemple/membres/"})

    assert response.headers["HX-Redirect"] == LOGIN_PAGE


# --------------------------------------------------------------------------
# Logout really ends the session (SAFE-5)
# --------------------------------------------------------------------------


def test_copied_session_cookie_stops_working_after_logout(app, client, account):
    login(client)
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    assert thief.get(DASHBOARD).status_code == 200, "the copy works while the session lives"

    assert logout(client).status_code == 303

    response = thief.get(DASHBOARD)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(LOGIN_PAGE)
    assert is_sent_to_login(thief.get(WIDGET, headers=HTMX))


def test_logging_in_again_ends_the_session_the_browser_held_before(app, client, account):
    login(client)
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)

    assert login(client).status_code == 303

    assert client.get(DASHBOARD).status_code == 200
    assert thief.get(DASHBOARD).headers["Location"].startswith(LOGIN_PAGE)


def test_password_change_ends_the_other_sessions_but_not_the_current_one(app, client, account):
    other = app.test_client()
    login(client)
    login(other)
    assert other.get(DASHBOARD).status_code == 200

    assert change_password(client).headers["Location"] == DASHBOARD

    assert client.get(DASHBOARD).status_code == 200
    response = other.get(DASHBOARD)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(LOGIN_PAGE)


# --------------------------------------------------------------------------
# Idle timeout
# --------------------------------------------------------------------------


def idle_for(app, minutes: int) -> None:
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=minutes)))
        db.session.commit()


@pytest.fixture
def short_idle(app_config) -> dict:
    app_config["IDLE_TIMEOUT_MINUTES"] = 5
    return app_config


def test_idle_session_expires_and_the_login_page_says_so(short_idle, app, client, account):
    login(client)
    idle_for(app, 4)
    assert client.get(DASHBOARD).status_code == 200, "not idle long enough yet"

    idle_for(app, 6)
    response = client.get(STATEMENTS)

    assert response.status_code == 303
    assert response.headers["Location"].startswith(LOGIN_PAGE)
    page = text_of(client.get(response.headers["Location"]))
    assert "Votre session a expiré" in page
    assert "Votre session a expiré" not in text_of(client.get(LOGIN_PAGE)), "said once"
    assert client.get(DASHBOARD).status_code == 303


def test_idle_session_expires_for_htmx_requests_with_a_full_page_redirect(short_idle, app, client, account):
    login(client)
    idle_for(app, 6)

    response = client.get(WIDGET, headers={**HTMX, "HX-Current-URL": f"http://localhost{DASHBOARD}"})

    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith(LOGIN_PAGE)
    assert "Votre session a expiré" in text_of(client.get(response.headers["HX-Redirect"]))


def test_activity_keeps_the_session_alive(short_idle, app, client, account):
    login(client)
    for _ in range(3):
        idle_for(app, 4)
        assert client.get(DASHBOARD).status_code == 200


# --------------------------------------------------------------------------
# A new session at login, and only for its own space
# --------------------------------------------------------------------------


def test_login_renews_the_session_cookie_and_the_old_one_does_not_authenticate(app, client, account):
    client.get(LOGIN_PAGE)
    before = client.get_cookie(COOKIE).value

    assert login(client).status_code == 303
    after = client.get_cookie(COOKIE).value

    assert after != before
    replay = app.test_client()
    replay.set_cookie(COOKIE, before)
    assert replay.get(DASHBOARD).headers["Location"].startswith(LOGIN_PAGE)
    assert client.get(DASHBOARD).status_code == 200


def test_account_of_another_space_is_not_logged_into_this_one(app, client, account):
    login(client)
    assert client.get(DASHBOARD).status_code == 200

    with app.app_context():
        db.session.execute(update(Account).where(Account.id == account).values(space_key="autre/espace"))
        db.session.commit()

    for url in (DASHBOARD, STATEMENTS, EXPORT):
        response = client.get(url)
        assert response.status_code == 303, url
        assert response.headers["Location"].startswith(LOGIN_PAGE), url
    assert is_sent_to_login(client.get(WIDGET, headers=HTMX))


def test_login_form_of_a_space_does_not_find_accounts_of_another_space(app, client):
    make_account(app, "1001", space_key="autre/espace")

    response = login(client)

    assert response.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in text_of(response)
    assert client.get(DASHBOARD).status_code == 303
