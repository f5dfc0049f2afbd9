"""Data scoping of the CNSS space (CNSS-16), swept over every route: establishment A,
logged in with each profile and as a sub-account, walks every route of the ``cnss.``
blueprint and every core route of the space, with B's identifiers in the URL and B's
numbers in every criterion, and never sees one of B's numbers or amounts — on a page,
an HTMX partial or an .xlsx export; B's transfers answer 404; every rights check is
audited. And ``flask portal demo --json`` gives logins that work, for both profiles, a
sub-account, the back office agent, and an establishment to enroll."""
from __future__ import annotations

import html
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from app.exports import XLSX_MIMETYPE
from app.extensions import db
from app.models import Account, AuditEvent
from plugins.cnss.demo import DemoEstablishment, add_establishments, generate
from plugins.cnss.models import BankTransfer, CareAuthorisation, Payment, ReimbursementFile
from plugins.cnss.rights import CHECK_ACTION
from tests.conftest import csrf_of, make_account

A, B = "101234567", "102345678"
PASSWORD = "Kx7#pm2Q"
SPACE = "/cnss/ps"
#: patients of each establishment, disjoint: B's are « Secret B … », N° CNSS 9xxxxxxxx
A_PEOPLE = [(f"1{i:08d}", f"Patient A {i}") for i in range(1, 9)]
B_PEOPLE = [(f"9{i:08d}", f"Secret B {i}") for i in range(1, 9)]
#: dates that keep every generated file in every period criterion
WIDE = {"du": "01/01/2000", "au": "31/12/2099"}
#: core routes of the space left out of the sweep: logging out would end the session under test
NOT_SWEPT = {"space.logout"}


@pytest.fixture
def app_config(app_config):
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "plugins.cnss"]
    app_config["PLUGINS"] = ["exemple", "cnss"]
    return app_config


# --------------------------------------------------------------------------
# Two establishments with PEC, DR, transfers, payments and accounts
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Secrets:
    """What A must never see of B: its numbers and amounts, and the ids its URLs take."""

    needles: frozenset[str]
    cnss_numbers: list[str]
    dr_numbers: list[str]
    pec_numbers: list[str]
    emission_numbers: list[str]
    amounts: list[str]
    emission_ids: list[int]
    account_ids: list[int]


def _amount_texts(values: list[Decimal]) -> list[str]:
    return [f"{v:.2f}" for v in values] + [f"{v:.2f}".replace(".", ",") for v in values]


@pytest.fixture
def secrets(app: Flask) -> Secrets:
    with app.app_context():
        add_establishments([
            DemoEstablishment(A, "Clinique A", "prive", "1, rue A", "Rabat", ("Alpha", "Amine", "201000001", "A12345", "a@a.test", "+212661000001")),
            DemoEstablishment(B, "Clinique B secrète", "public", "2, rue B", "Oujda", ("Beta", "Basma", "202000002", "B12345", "b@b.test", "+212662000002")),
        ])
        generate(A, 60, 30, people=A_PEOPLE, seed="isolation-a")
        generate(B, 60, 30, people=B_PEOPLE, seed="isolation-b")
        # B's amounts out of A's range (A's stay under 80,000 DH): any of them on A's screen is a leak
        db.session.execute(update(ReimbursementFile).where(ReimbursementFile.inpe == B)
                           .values(amount_billed=ReimbursementFile.id + Decimal("777000.77")))
        db.session.execute(update(Payment).where(Payment.inpe == B).values(amount_paid=Payment.id + Decimal("666000.66")))
        db.session.execute(update(BankTransfer).where(BankTransfer.inpe == B).values(amount=BankTransfer.id + Decimal("999000.99")))
        db.session.execute(update(CareAuthorisation).where(CareAuthorisation.inpe == B).values(
            amount_requested=CareAuthorisation.id + Decimal("555000.55")))
        db.session.execute(update(CareAuthorisation).where(CareAuthorisation.inpe == B, CareAuthorisation.amount_granted.is_not(None))
                           .values(amount_granted=CareAuthorisation.id + Decimal("444000.44")))
        db.session.commit()
        dr = db.session.execute(select(ReimbursementFile.number, ReimbursementFile.amount_billed).where(ReimbursementFile.inpe == B)).all()
        pec = db.session.execute(select(CareAuthorisation.number, CareAuthorisation.amount_requested, CareAuthorisation.amount_granted)
                                 .where(CareAuthorisation.inpe == B)).all()
        transfers = db.session.execute(select(BankTransfer.id, BankTransfer.number, BankTransfer.amount).where(BankTransfer.inpe == B)).all()
        paid = list(db.session.scalars(select(Payment.amount_paid).where(Payment.inpe == B)))
    assert dr and pec and transfers and paid
    accounts = []
    for profile in ("PEC", "PAIEMENTS"):
        main = make_account(app, f"{B}/{profile}", space_key="cnss/ps", tenant_ref=B, profiles=[profile], password=PASSWORD,
                            display_name="Clinique B secrète", email=f"{profile.lower()}@b.test")
        accounts += [main, make_account(app, f"{B}/caisse.{profile.lower()}", space_key="cnss/ps", tenant_ref=B, profiles=[profile],
                                        password=PASSWORD, parent_id=main, display_name="Secret B caisse", email=f"caisse.{profile.lower()}@b.test")]
    amounts = _amount_texts([a for _n, a in dr] + [a for _n, a, _g in pec] + [g for _n, _a, g in pec if g is not None]
                            + [t.amount for t in transfers] + paid)
    cnss_numbers = [n for n, _name in B_PEOPLE]
    numbers = [n for n, _a in dr] + [n for n, _a, _g in pec] + [t.number for t in transfers]
    return Secrets(
        needles=frozenset([B, "Secret B", "Clinique B secrète", *cnss_numbers, *numbers, *amounts]),
        cnss_numbers=cnss_numbers,
        dr_numbers=[n for n, _a in dr],
        pec_numbers=[n for n, _a, _g in pec],
        emission_numbers=[t.number for t in transfers],
        amounts=[f"{t.amount:.2f}" for t in transfers][:2] + [f"{a:.2f}" for _n, a in dr][:2],
        emission_ids=[t.id for t in transfers],
        account_ids=accounts,
    )


def a_accounts(app: Flask) -> None:
    """A's two main accounts, and a sub-account of each."""
    for profile in ("PEC", "PAIEMENTS"):
        main = make_account(app, f"{A}/{profile}", space_key="cnss/ps", tenant_ref=A, profiles=[profile], password=PASSWORD,
                            display_name="Clinique A", email=f"{profile.lower()}@a.test")
        # the establishment's sub-accounts log in without the profile (Space.profile_field): « <INPE>/accueil.pec »
        make_account(app, f"{A}/accueil.{profile.lower()}", space_key="cnss/ps", tenant_ref=A, profiles=[profile],
                     password=PASSWORD, parent_id=main, display_name="Accueil A", email=f"accueil.{profile.lower()}@a.test")


def log_in(client: FlaskClient, profile: str, sub: str = "", *, inpe: str = A, password: str = PASSWORD):
    """The real login form: « Identifiant National », « Profil », « Nature de compte », « Mot de passe »."""
    page = client.get(f"{SPACE}/login").get_data(as_text=True)
    return client.post(f"{SPACE}/login", data={
        "csrf_token": csrf_of(page), "inpe": inpe, "profil": profile, "nature": "secondaire" if sub else "principal",
        "sous_compte": sub, "password": password,
    })


# --------------------------------------------------------------------------
# Reading what A gets
# --------------------------------------------------------------------------


class _Inputs(HTMLParser):
    """The names of the text inputs of a page (the criteria to fill with B's numbers)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type", "text") in ("text", "search", "date", "number") and a["name"] not in self.names:
            self.names.append(a["name"])


def criteria_names(page: str) -> list[str]:
    parser = _Inputs()
    parser.feed(page)
    return parser.names


#: attributes that echo what A typed (field values, the URLs of its own search): not B's data
ECHOES = re.compile(r'\s(?:value|href|action|hx-[\w-]+|data-[\w-]+)="[^"]*"')


def leaks(text: str, needles: frozenset[str]) -> list[str]:
    """B's needles in ``text``, spaces ignored (amounts are written « 777 001,77 »)."""
    flat = re.sub(r"[\s\u202f\u00a0]", "", text)
    return sorted(n for n in needles if re.sub(r"\s", "", n) in flat)


def leaks_of(response, needles: frozenset[str]) -> list[str]:
    """B's needles in a response: the page without the echoes of A's input, or the cells of an export."""
    if 300 <= response.status_code < 400:  # a redirect's body is its Location: A's own criteria
        return []
    if response.mimetype == XLSX_MIMETYPE:
        sheet = load_workbook(io.BytesIO(response.get_data())).active
        cells = " | ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None)
        return leaks(cells, needles)
    if response.mimetype == "application/pdf":
        return leaks(response.get_data().decode("latin-1"), needles)
    return leaks(ECHOES.sub(" ", response.get_data(as_text=True)), needles)


def space_rules(app: Flask) -> list:
    """Every route of the ``cnss.`` blueprint and every core route of a space (``space.``)."""
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint.startswith(("cnss.", "space.")) and r.endpoint not in NOT_SWEPT),
        key=lambda r: r.rule,
    )


def arguments_of(rule) -> set[str]:
    """The rule's URL arguments but the space's own (``<insurer>``, ``<space>``)."""
    return set(rule.arguments) - {"insurer", "space"}


def url_of(rule, value) -> str:
    """The rule's path for the CNSS space, each URL argument set to ``value``."""
    path = rule.rule.replace("<insurer>", "cnss").replace("<space>", "ps")
    return re.sub(r"<(?:\w+:)?\w+>", str(value), path)


def b_values(secrets: Secrets, arguments: set[str]) -> list:
    """What B's identifiers the URL arguments take: its transfers' and accounts' ids, its numbers."""
    if "emission_id" in arguments:
        return secrets.emission_ids
    if "account_id" in arguments:
        return secrets.account_ids
    if arguments:  # a reference, a token: B's numbers
        return [secrets.dr_numbers[0], secrets.pec_numbers[0], secrets.emission_numbers[0]]
    return [None]


def criteria_passes(secrets: Secrets) -> list[str]:
    """One pass per kind of B's number, each typed into every criterion."""
    return [secrets.cnss_numbers[0], secrets.dr_numbers[0], secrets.pec_numbers[0], secrets.emission_numbers[0],
            *secrets.amounts, secrets.dr_numbers[-1], secrets.pec_numbers[-1]]


# --------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------


def sweep(app: Flask, client: FlaskClient, secrets: Secrets, profile: str) -> dict[str, int]:
    """Every GET route with B's ids and B's numbers in every criterion, HTMX and not; then
    every POST route with B's ids. Returns the number of requests per endpoint."""
    done: dict[str, int] = {}
    found: list[str] = []
    rules = space_rules(app)
    exports = {url_of(r, "") for r in rules if r.endpoint.endswith("export") and not arguments_of(r)}
    # arguments-free pages first: A's own history later records A's exports and their criteria
    rules.sort(key=lambda r: (r.endpoint != "space.history", bool(arguments_of(r))))
    for rule in rules:
        if "GET" not in rule.methods:
            continue
        for value in b_values(secrets, arguments_of(rule)):
            url = url_of(rule, value)
            plain = client.get(url)
            requests = [plain]
            if plain.status_code == 200 and plain.mimetype == "text/html":
                names = criteria_names(plain.get_data(as_text=True))
                for number in criteria_passes(secrets) if names else ():
                    query = {n: WIDE[n.rsplit("_", 1)[1]] if n.endswith(("_du", "_au")) else number for n in names}
                    requests.append(client.get(url, query_string=query))
                    requests.append(client.get(url, query_string=query, headers={"HX-Request": "true"}))
                    if url + "/export" in exports:  # « Exporter » with the same criteria
                        requests.append(client.get(url + "/export", query_string=query))
            if arguments_of(rule) and rule.endpoint.startswith("cnss.emission"):
                expected = 404 if profile == "PAIEMENTS" else 403
                assert plain.status_code == expected, (url, plain.status_code)
            for response in requests:
                assert response.status_code < 500, (url, response.status_code)
                found += [f"{rule.endpoint} {url}: {n}" for n in leaks_of(response, secrets.needles)]
            done[rule.endpoint] = done.get(rule.endpoint, 0) + len(requests)
    found += post_sweep(app, client, secrets, profile, done)
    assert found == [], "\n".join(found[:40])
    return done


def post_sweep(app: Flask, client: FlaskClient, secrets: Secrets, profile: str, done: dict[str, int]) -> list[str]:
    """The POST routes (B's account ids in the sub-account ones, B's numbers in the rights
    check); each rights check writes its audit event; B's accounts are left as they were."""
    found: list[str] = []
    token = csrf_of(client.get(f"{SPACE}/password/change").get_data(as_text=True))
    before = accounts_of(app, secrets)
    for rule in space_rules(app):
        if "POST" not in rule.methods:
            continue
        for value in b_values(secrets, arguments_of(rule)):
            url = url_of(rule, value)
            fields = {"csrf_token": token}
            if rule.endpoint.startswith("cnss.rights"):
                for number in secrets.cnss_numbers[:2]:
                    checks = audit_count(app, CHECK_ACTION)
                    attestations = audit_count(app, "cnss_rights_attestation")
                    response = client.post(url, data={**fields, "cnss": number, "par": "cnss"})
                    found += [f"POST {url}: {n}" for n in leaks_of(response, secrets.needles - {number})]
                    if profile == "PEC":
                        after = (audit_count(app, CHECK_ACTION), audit_count(app, "cnss_rights_attestation"))
                        assert after[0] + after[1] == checks + attestations + 1, (url, number)
                    else:
                        assert response.status_code == 403
                continue
            if arguments_of(rule):
                response = client.post(url, data={**fields, "login": "vole", "display_name": "Volé", "profiles": profile})
                if rule.endpoint.startswith("space.subaccount"):
                    assert response.status_code in (403, 404), (url, response.status_code)
                found += [f"POST {url}: {n}" for n in leaks_of(response, secrets.needles)]
            done["POST " + rule.endpoint] = done.get("POST " + rule.endpoint, 0) + 1
    assert accounts_of(app, secrets) == before, "B's accounts changed"
    return found


def accounts_of(app: Flask, secrets: Secrets) -> list[tuple]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(Account.id, Account.login, Account.display_name, Account.password_hash, Account.status, Account.profiles)
            .where(Account.id.in_(secrets.account_ids)).order_by(Account.id))]


def audit_count(app: Flask, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


@pytest.mark.parametrize(
    "profile, sub", [("PEC", ""), ("PAIEMENTS", ""), ("PEC", "accueil.pec"), ("PAIEMENTS", "accueil.paiements")]
)
def test_a_never_sees_anything_of_b_on_any_route_whatever_it_types(app, client, secrets, profile, sub):
    a_accounts(app)
    response = log_in(client, profile, sub)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    done = sweep(app, client, secrets, profile)
    every = {r.endpoint for r in space_rules(app) if "GET" in r.methods} | {
        "POST " + r.endpoint for r in space_rules(app) if "POST" in r.methods and arguments_of(r) and not r.endpoint.startswith("cnss.rights")}
    assert every <= set(done), sorted(every - set(done))
    assert {e for e in done if e.startswith("cnss.")} == {r.endpoint for r in app.url_map.iter_rules()
                                                          if r.endpoint.startswith("cnss.") and "GET" in r.methods}


def test_as_a_the_lists_do_show_as_own_files(app, client, secrets):
    """The sweep is not vacuous: with the same criteria A finds its own files, and a number
    shown in a cell (not only typed in a field) is what ``leaks_of`` finds."""
    a_accounts(app)
    assert log_in(client, "PAIEMENTS").status_code == 303
    with app.app_context():
        own = db.session.scalar(select(ReimbursementFile.number).where(ReimbursementFile.inpe == A).limit(1))
    query = {"dr": own, "depot_du": WIDE["du"], "depot_au": WIDE["au"]}
    page = client.get(f"{SPACE}/dossiers-remboursement", query_string=query)
    assert leaks_of(page, secrets.needles) == []
    assert leaks_of(page, frozenset([own])) == [own]
    assert leaks_of(client.get(f"{SPACE}/dossiers-remboursement/export", query_string=query), frozenset([own])) == [own]


# --------------------------------------------------------------------------
# The demo's logins
# --------------------------------------------------------------------------


@pytest.fixture
def demo(app: Flask) -> dict:
    result = app.test_cli_runner().invoke(args=["portal", "demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{"):])


def _login_data(page: str, fields: dict[str, str], password: str) -> dict[str, str]:
    """The demo's labels turned into the form's fields, as a person reading them would type them."""
    profile = {"PEC": "PEC", "Paiements": "PAIEMENTS"}.get(fields.get("Profil", ""), "")
    return {"csrf_token": csrf_of(page), "inpe": fields.get("Identifiant National", ""), "profil": profile,
            "nature": fields.get("Nature de compte", "").lower(), "sous_compte": fields.get("Identifiant du sous-compte", ""),
            "identifiant": fields.get("Identifiant", ""), "password": password}


def test_the_demo_lists_both_profiles_a_sub_account_the_agent_and_an_establishment_to_enroll(app, client, demo):
    space = demo["cnss/ps"]
    described = [(a["fields"].get("Profil"), a["fields"].get("Nature de compte")) for a in space["accounts"]]
    assert ("PEC", "Principal") in described and ("Paiements", "Principal") in described
    assert any(nature == "Secondaire" for _p, nature in described)
    for account in space["accounts"]:
        page = client.get(f"{SPACE}/login").get_data(as_text=True)
        response = client.post(f"{SPACE}/login", data=_login_data(page, account["fields"], account["password"]))
        assert response.status_code == 303 and response.headers["Location"].endswith(f"{SPACE}/"), account
        home = client.get(f"{SPACE}/").get_data(as_text=True)
        client.post(f"{SPACE}/logout", data={"csrf_token": csrf_of(home)})

    agents = demo["cnss/gestion"]["accounts"]
    assert [a["note"] for a in agents] == ["gestionnaire"]
    page = client.get("/cnss/gestion/login").get_data(as_text=True)
    form = dict(_login_data(page, agents[0]["fields"], agents[0]["password"]))
    response = client.post("/cnss/gestion/login", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert client.get("/cnss/gestion/enrollments").status_code == 200

    enroll = space["enroll"]
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(Account).where(Account.tenant_ref == enroll["Identifiant National"]))
    assert {"Identifiant National", "Nom de l'établissement", "Adresse", "Ville", "Nom", "Prénom", "Email", "N° GSM"} <= set(enroll)


def test_the_demo_establishment_to_enroll_passes_the_adhesions_first_step(app, client, demo):
    enroll = demo["cnss/ps"]["enroll"]
    token = csrf_of(client.get(f"{SPACE}/enroll").get_data(as_text=True))
    response = client.post(f"{SPACE}/enroll", data={"csrf_token": token, "enrollment_step": "0",
                                                    "inpe": enroll["Identifiant National"]})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    second = html.unescape(client.get(f"{SPACE}/enroll").get_data(as_text=True))
    assert "Identification de l'établissement de soins" in second
    for label in ("Nom de l'établissement", "Adresse", "Ville"):
        assert enroll[label] in second, label  # prefilled from the CNSS's registry
