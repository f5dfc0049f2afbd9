"""Every page of a space answers an HTMX request with a fragment: its partial, or its
``content`` block when it has none — never a 500, never a whole page inside a page."""
from __future__ import annotations

from tests.conftest import SPACE_URL, login


def test_every_get_page_of_the_space_answers_htmx_with_a_fragment(app, client, account):
    assert login(client).status_code == 303
    urls = sorted(
        rule.rule.replace("<insurer>", "exemple").replace("<space>", "membres")
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.rule.startswith("/<insurer>/<space>/") and rule.arguments <= {"insurer", "space"}
        and not rule.rule.endswith(("/logout", "/theme.css"))
    )
    assert f"{SPACE_URL}/accounts/new" in urls and f"{SPACE_URL}/history" in urls
    for url in urls:
        response = client.get(url, headers={"HX-Request": "true"})
        html = response.get_data(as_text=True)
        assert response.status_code < 500, url
        if response.status_code == 200 and response.mimetype == "text/html":
            assert "<html" not in html and "<body" not in html, url


def test_a_page_without_partial_gives_its_content_block(app, client, account):
    assert login(client).status_code == 303
    full = client.get(f"{SPACE_URL}/accounts/new").get_data(as_text=True)
    fragment = client.get(f"{SPACE_URL}/accounts/new", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" in full and "Nouveau sous-compte" in full
    assert "<html" not in fragment and "<h1>Nouveau sous-compte</h1>" in fragment
    assert 'name="csrf_token"' in fragment  # the form still posts
