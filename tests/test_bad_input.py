"""Bad input never gives a 500: whatever is typed into the public forms, the
answer is the form back (with its messages), a redirect, or the throttling page."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SPACE_URL, csrf_of

typed = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(adherent=typed, sous_compte=typed, password=typed)
def test_login_form_never_fails_whatever_is_typed(client, adherent, sous_compte, password):
    token = csrf_of(client.get(f"{SPACE_URL}/login").get_data(as_text=True))
    response = client.post(
        f"{SPACE_URL}/login",
        data={"csrf_token": token, "adherent": adherent, "sous_compte": sous_compte, "password": password},
    )
    assert response.status_code in (200, 303, 429)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(adherent=typed, new_password=typed)
def test_forgotten_password_and_live_check_never_fail_whatever_is_typed(client, adherent, new_password):
    token = csrf_of(client.get(f"{SPACE_URL}/password/forgot").get_data(as_text=True))
    forgot = client.post(f"{SPACE_URL}/password/forgot", data={"csrf_token": token, "adherent": adherent})
    assert forgot.status_code in (200, 429)
    check = client.post(
        f"{SPACE_URL}/password/check",
        data={"new_password": new_password},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert check.status_code == 200


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(st.characters(codec="ascii", exclude_categories=("Cc",)), min_size=1, max_size=80))
def test_any_address_under_a_space_answers_without_a_server_error(client, path):
    response = client.get(f"{SPACE_URL}/{path.lstrip('/')}")
    assert response.status_code < 500
