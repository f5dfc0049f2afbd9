"""Every hook of ``app/plugins/hookspecs.py`` has an effect through the real
application, proved with the test-only insurer of ``tests/plugin_exemple``;
a meta-test fails when a hook has no test here. Also ``flask portal plugins``
and the rule that no insurer's name appears in ``app/``."""
from __future__ import annotations

import html
import inspect
import json
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import Account
from app.plugins import hookspecs
from tests.conftest import PASSWORD, SPACE_URL, csrf_of, login, make_account
from tests import plugin_exemple
from tests.plugin_exemple import SPACE

APP_DIR = Path(__file__).resolve().parent.parent / "app"
INSURER_NAMES = (b"cnss", b"cmim", b"cimr")
CONTEXT_MESSAGE = "Ne contient ni votre identifiant ni le nom de l'organisme"


def hook_names() -> list[str]:
    """The hooks declared in ``app/plugins/hookspecs.py``."""
    return sorted(
        name for name, obj in vars(hookspecs).items() if inspect.isfunction(obj) and hasattr(obj, "portal_spec")
    )


def implemented_hooks(plugin) -> list[str]:
    """The hooks a plugin module implements (a function may name its hook with ``specname``)."""
    names = set()
    for name, obj in vars(plugin).items():
        opts = getattr(obj, "portal_impl", None)
        if inspect.isfunction(obj) and opts is not None:
            names.add(opts.get("specname") or name)
    return sorted(names)


def text_of(response) -> str:
    """The page as text, entities decoded (« Numéro d'adhérent », not &#39;)."""
    return html.unescape(response.get_data(as_text=True))


def login_fields_by_label(client, path: str) -> dict[str, str]:
    """The login form of the space at ``path``: each field's label mapped to its name."""
    page = client.get(f"{path}login").get_data(as_text=True)
    found = {}
    for field_id, label in re.findall(r'<label for="([^"]+)"[^>]*>(.*?)</label>', page, re.S):
        found[html.unescape(re.sub(r"<[^>]+>", "", label)).strip()] = field_id
    return found


def change_password(client, new: str, current: str = PASSWORD):
    """Post « Modification du mot de passe » like a browser."""
    page = client.get(f"{SPACE_URL}/password/change").get_data(as_text=True)
    return client.post(
        f"{SPACE_URL}/password/change",
        data={"csrf_token": csrf_of(page), "current_password": current, "new_password": new, "confirmation": new},
    )


@pytest.fixture
def empty_app(app):
    """The application on an empty database, as ``make demo`` finds it on a new
    machine: ``flask portal demo`` builds the schema itself."""
    with app.app_context():
        db.drop_all()
    return app


def run_demo(app) -> dict:
    result = app.test_cli_runner().invoke(args=["portal", "demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --------------------------------------------------------------------------
# portal_spaces
# --------------------------------------------------------------------------


def test_hook_portal_spaces_mounts_the_space_with_its_identifier_field(client):
    response = client.get(f"{SPACE_URL}/login")

    assert response.status_code == 200
    page = text_of(response)
    assert "Numéro d'adhérent" in page
    assert "Mot de passe" in page
    assert SPACE.title in page


def test_hook_portal_spaces_unknown_space_or_insurer_is_404(client):
    assert client.get("/exemple/inconnu/login").status_code == 404
    assert client.get("/inconnu/membres/login").status_code == 404
    assert client.get("/inconnu/membres/").status_code == 404


def test_hook_portal_spaces_plugin_pages_are_mounted_under_the_space(app, client):
    make_account(app)
    login(client)

    response = client.get(f"{SPACE_URL}/releves")

    assert response.status_code == 200
    assert "Relevés de l'adhérent 1001" in text_of(response)


def test_hook_portal_spaces_a_disabled_plugin_mounts_nothing(app_config):
    app_config["PLUGINS"] = []
    application = create_app(app_config)

    assert application.test_client().get(f"{SPACE_URL}/login").status_code == 404


# --------------------------------------------------------------------------
# portal_init_app
# --------------------------------------------------------------------------


def test_hook_portal_init_app_registers_the_plugins_template_filter(app):
    with app.app_context():
        rendered = app.jinja_env.from_string("{{ 1250 | dirhams }}").render()

    assert rendered == "1 250,00 DH"


def test_hook_portal_init_app_registers_the_plugins_cli_command(app):
    make_account(app, "1001")
    make_account(app, "1002")

    result = app.test_cli_runner().invoke(args=["exemple-adherents"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 compte(s) dans exemple/membres"


# --------------------------------------------------------------------------
# portal_password_context
# --------------------------------------------------------------------------


def test_hook_portal_password_context_refuses_the_members_birth_date(app, client):
    # the plugin knows member 1001 was born on 1985-03-02; the core knows no birth date
    make_account(app, "1001")
    login(client, "1001")

    response = change_password(client, "Zq02031985")

    assert response.status_code == 200
    assert CONTEXT_MESSAGE in text_of(response)
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.login == "1001"))
        assert account.password_changed_at is None


def test_hook_portal_password_context_the_same_password_suits_another_member(app, client):
    # member 1002 has no known birth date: the refusal above came from the hook
    make_account(app, "1002")
    login(client, "1002")

    response = change_password(client, "Zq02031985")

    assert response.status_code == 303
    assert response.headers["Location"] == f"{SPACE_URL}/"


# --------------------------------------------------------------------------
# portal_audit_labels
# --------------------------------------------------------------------------


def test_hook_portal_audit_labels_names_the_plugins_actions_in_the_history_but_not_the_cores(app, client, account):
    from app import audit

    with app.app_context():
        audit.record("exemple_card_printed", account=db.session.get(Account, account))
        db.session.commit()
    assert login(client).status_code == 303
    page = client.get(f"{SPACE_URL}/history").get_data(as_text=True)

    assert "Impression de la carte d&#39;adhérent" in page or "Impression de la carte d'adhérent" in page
    assert "exemple_card_printed" not in page
    assert "Connexion" in page and "Entrée" not in page  # a core action keeps the core's label


# --------------------------------------------------------------------------
# portal_importers
# --------------------------------------------------------------------------


def test_hook_portal_importers_offers_the_importer_to_its_insurers_agents_and_the_command_line(app, client, tmp_path):
    from app.backoffice import create_agent

    with app.app_context():
        create_agent("exemple", "karima", "Gestion-Solide-2026", must_change=False)
        db.session.commit()
    page = client.get("/exemple/gestion/login").get_data(as_text=True)
    client.post("/exemple/gestion/login", data={"csrf_token": csrf_of(page), "identifiant": "karima", "password": "Gestion-Solide-2026"})

    listing = client.get("/exemple/gestion/imports")
    template = client.get("/exemple/gestion/imports/releves/modele.xlsx")
    path = tmp_path / "releves.csv"
    path.write_text("Numéro d'adhérent;N° de relevé;Date de paiement;Montant (DH)\n1001;R-1;15/01/2025;12,50\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["portal", "import", "exemple", "releves", str(path), "--dry-run"])

    assert listing.status_code == 200 and "Relevés" in text_of(listing)
    assert template.status_code == 200 and template.mimetype.endswith("spreadsheetml.sheet")
    assert result.exit_code == 0, result.output
    assert "1 ligne(s) lue(s), 0 erreur(s)." in result.output


# --------------------------------------------------------------------------
# portal_load_demo
# --------------------------------------------------------------------------


def test_hook_portal_load_demo_prints_logins_that_work(empty_app, client):
    report = run_demo(empty_app)

    demo = report[SPACE.key]
    assert demo["path"] == "/exemple/membres/"
    assert demo["title"] == SPACE.title
    account = demo["accounts"][0]
    assert list(account["fields"]) == ["Numéro d'adhérent"]
    assert demo["enroll"] and set(demo["enroll"]) <= {f.label for f in SPACE.identifier_fields}

    # type what the demo says, field by field, as a person reading the labels would
    names = login_fields_by_label(client, demo["path"])
    page = client.get(f"{demo['path']}login").get_data(as_text=True)
    data = {"csrf_token": csrf_of(page), names["Mot de passe"]: account["password"]}
    data.update({names[label]: value for label, value in account["fields"].items()})
    response = client.post(f"{demo['path']}login", data=data)

    assert response.status_code == 303
    assert response.headers["Location"] == demo["path"]
    assert client.get(demo["path"]).status_code == 200


def test_hook_portal_load_demo_twice_is_idempotent(empty_app):
    first = run_demo(empty_app)
    second = run_demo(empty_app)

    assert first == second
    with empty_app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Account).where(Account.space_key == SPACE.key))
    assert count == len(first[SPACE.key]["accounts"])
    from tests.plugin_exemple.models import Statement

    with empty_app.app_context():
        statements = db.session.scalar(select(func.count()).select_from(Statement).where(Statement.member_number == "1001"))
    assert statements == 60  # the demo member has statements to browse, loaded once


# --------------------------------------------------------------------------
# Meta-tests and the plugin listing
# --------------------------------------------------------------------------


def test_every_hook_has_a_test_here():
    module = sys.modules[__name__]
    tests = [name for name, obj in vars(module).items() if inspect.isfunction(obj) and name.startswith("test_hook_")]
    missing = [hook for hook in hook_names() if not any(t.startswith(f"test_hook_{hook}_") for t in tests)]

    assert hook_names(), "no hook found in app/plugins/hookspecs.py"
    assert not missing, f"hooks without a test_hook_<name>_… test: {missing}"


def test_every_hook_test_names_an_existing_hook():
    module = sys.modules[__name__]
    tests = [name for name, obj in vars(module).items() if inspect.isfunction(obj) and name.startswith("test_hook_")]
    orphans = [t for t in tests if not any(t.startswith(f"test_hook_{hook}_") for hook in hook_names())]

    assert not orphans, f"tests named after no hook: {orphans}"


def test_cli_plugins_lists_the_plugin_its_space_and_its_hooks(app):
    result = app.test_cli_runner().invoke(args=["portal", "plugins"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "exemple 0.0.1" in lines
    assert any("/exemple/membres/" in line and SPACE.title in line for line in lines)
    hooks_line = next(line for line in lines if line.strip().startswith("hooks:"))
    assert hooks_line.split(":", 1)[1].strip().split(", ") == implemented_hooks(plugin_exemple)


def test_no_insurer_name_appears_in_app():
    # the same as `grep -ril 'cnss\|cmim\|cimr' app/`
    found = [
        str(path.relative_to(APP_DIR.parent))
        for path in sorted(APP_DIR.rglob("*"))
        if path.is_file() and any(name in path.read_bytes().lower() for name in INSURER_NAMES)
    ]

    assert not found, f"an insurer's name appears in {found}"
