"""CNSS « Nouvelle adhésion » and « Réinitialisation de compte » (CNSS-1, CNSS-2, CNSS-3,
CNSS-7; seed 003 I-1 and 2.4): the INPE, the form with the seed's labels, the printed
forms 610-1-14 and 610-1-16 in French and Arabic, the agency's reception and approval in
/cnss/gestion/, the password e-mailed to the director on the real SMTP server, the first
login and its forced change; the reset request, its form and its approval."""
from __future__ import annotations

import re
import subprocess

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Account
from plugins.cnss.enrollment import ICE_MISMATCH, UNKNOWN_INPE
from plugins.cnss.models import Establishment
from plugins.cnss.validators import ice_key
from tests.conftest import csrf_of, make_account
from tests.test_enrollment_reviewed import (
    agent_client,
    decide,
    errors_of,
    page,
    post_step,
    request_of,
    temporary_password_in,
    text_of,
)
from tests.test_pdf import readable

URL = "/cnss/ps"
SPACE_KEY = "cnss/ps"
PRIVATE, PRIVATE_WITHOUT_ICE, PUBLIC, STRANGER = "101234567", "103456789", "102345678", "999999999"
KNOWN_ICE = "0015432180000" + ice_key("0015432180000")
NEW_ICE = "0018765430000" + ice_key("0018765430000")
DIRECTOR = {
    "nom": "Bennani",
    "prenom": "Karim",
    "inpe_directeur": "201234567",
    "cnie": "be 123456",
    "email": "Direction@Clinique-AlAmal.ma",
    "gsm": "06 61 23 45 67",
    "mentions": "y",
}
ESTABLISHMENT_FIELDS = ("inpe", "nom_etablissement", "ice", "adresse", "ville")
DEPOSIT = "Ce formulaire dûment renseigné, signé et cacheté par le médecin directeur, accompagné de la copie de sa CNI doivent être déposés à l'agence CNSS contre accusé de réception."
NEW_PASSWORD = "Ks7#qa2W"


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["PLUGIN_MODULES"] = ["tests.plugin_exemple", "plugins.cnss"]
    return app_config


@pytest.fixture
def establishments(app) -> None:
    """Three establishments the CNSS knows, none a member yet: a private one whose ICE the
    CNSS knows, a private one whose ICE it does not, a public hospital."""
    with app.app_context():
        db.session.add_all([
            Establishment(inpe=PRIVATE, name="Clinique Al Amal", ice=KNOWN_ICE, address="45, boulevard Zerktouni",
                          city="Casablanca", sector="prive"),
            Establishment(inpe=PRIVATE_WITHOUT_ICE, name="Pharmacie Ibn Rochd", ice=None, address="8, rue Ibn Rochd",
                          city="Marrakech", sector="prive"),
            Establishment(inpe=PUBLIC, name="Centre hospitalier provincial de Settat", ice=None,
                          address="Route de Casablanca", city="Settat", sector="public"),
        ])
        db.session.commit()


def step_one(client, inpe: str = PRIVATE):
    return post_step(client, URL, 0, {"inpe": inpe})


def submit(client, establishment: str = PRIVATE, **changes):
    """Both pages, like the director: the INPE, then the form as prefilled, completed."""
    first = step_one(client, establishment)
    assert first.status_code == 303, errors_of(first, "inpe")
    form = page(client.get(f"{URL}/enroll"))
    prefilled = {name: value_of(form, name) for name in ESTABLISHMENT_FIELDS if f'name="{name}"' in form}
    if "ice" in prefilled and not prefilled["ice"]:
        prefilled["ice"] = NEW_ICE
    values = {k: v for k, v in {**prefilled, **DIRECTOR, **changes}.items() if v is not None}
    return post_step(client, URL, 1, values)


def value_of(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
    found = re.search(r'value="([^"]*)"', tag)
    return found.group(1) if found else ""


def pdf_text(data: bytes) -> str:
    """The PDF's text as a reader sees it (poppler's pdftotext, Arabic forms normalised)."""
    return readable(subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode())


def stored(app, inpe: str = PRIVATE):
    found = request_of(app, inpe, SPACE_KEY)
    return found if found is not None and found.kind != "reset" else None


def accounts_of(app, inpe: str = PRIVATE) -> dict[str, Account]:
    with app.app_context():
        found = {a.login: a for a in db.session.scalars(select(Account).where(Account.space_key == SPACE_KEY, Account.tenant_ref == inpe))}
        for account in found.values():
            db.session.expunge(account)
        return found


def fields_of(html: str) -> dict[str, list[str]]:
    """The named fields of a page's forms: name → the values it offers (radios, options, hidden)."""
    fields: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if name:
            value = re.search(r'value="([^"]*)"', tag)
            fields.setdefault(name.group(1), []).append(value.group(1) if value else "")
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        fields[name] = re.findall(r'<option[^>]*value="([^"]*)"', body)
    return fields


def log_in(client, inpe: str, profile: str, password: str):
    """The login as the page asks it: its fields read from the page (and from the part it
    reveals once the INPE is typed), « Identifiant National », « Profil », « Mot de passe »."""
    html = page(client.get(f"{URL}/login"))
    rest = client.get(f"{URL}/login/next", query_string={"inpe": inpe}, headers={"HX-Request": "true"})
    if rest.status_code == 200:
        html += page(rest)
    fields = fields_of(html)
    assert {"inpe", "profil", "password"} <= set(fields), sorted(fields)
    assert profile in fields["profil"]
    data = {"csrf_token": csrf_of(html), "inpe": inpe, "profil": profile, "password": password}
    for name, offered in fields.items():
        if name not in data and name not in ("login_rest", "sous_compte") and offered and offered[0]:
            data[name] = offered[0]  # « Nature de compte »: the first choice, « Principal »
    return client.post(f"{URL}/login", data=data)


# --------------------------------------------------------------------------
# Step 1: « Identifiant National »
# --------------------------------------------------------------------------


def test_login_page_offers_nouvelle_adhesion_and_reinitialisation_de_compte(app, client, smtp_server):
    login_page = page(client.get(f"{URL}/login"))

    assert f'href="{URL}/enroll"' in login_page and "Nouvelle adhésion" in login_page
    assert f'href="{URL}/reset-request">Réinitialisation de compte</a>' in login_page


def test_step_one_asks_the_identifiant_national(app, client, smtp_server):
    first = page(client.get(f"{URL}/enroll"))

    for label in ("Nouvelle adhésion", "Étape 1 sur 2 : Nouvelle Adhésion", "Identifiant National", "Valider"):
        assert label in first, label


def test_unknown_inpe_is_refused_next_to_the_field(app, client, smtp_server, establishments):
    response = step_one(client, STRANGER)

    assert response.status_code == 200 and UNKNOWN_INPE in errors_of(response, "inpe")
    assert "Étape 1 sur 2" in page(client.get(f"{URL}/enroll"))


@pytest.mark.parametrize("typed", ["12345", "1012345678", "10123456A", "١٠١٢٣٤٥٦٧"])
def test_badly_formed_inpe_gets_the_format_message(app, client, smtp_server, establishments, typed):
    response = step_one(client, typed)

    assert response.status_code == 200
    assert "L'Identifiant National (INPE) compte 9 chiffres." in errors_of(response, "inpe")


def test_inpe_of_an_establishment_that_has_its_accounts_gets_the_cores_message(app, client, smtp_server, establishments):
    make_account(app, f"{PRIVATE}/PEC", space_key=SPACE_KEY, profiles=["PEC"])

    response = step_one(client)

    assert "Un compte existe déjà pour cet identifiant." in errors_of(response, "inpe")


# --------------------------------------------------------------------------
# Step 2: « Veuillez remplir ce formulaire »
# --------------------------------------------------------------------------


def test_form_has_the_seeds_sections_and_labels_prefilled_from_the_cnss_registry(app, client, smtp_server, establishments):
    step_one(client)
    form = page(client.get(f"{URL}/enroll"))

    for label in ("Étape 2 sur 2 : Veuillez remplir ce formulaire",
                  "<legend>Identification de l'établissement de soins</legend>",
                  "<legend>Identification du directeur de l'établissement de soins</legend>",
                  "Identifiant National", "Nom de l'établissement", "Identifiant Commun de l'Entreprise", "Adresse",
                  "Ville", "Nom", "Prénom", "CNIE / carte séjour", "Email", "N° GSM",
                  "L'adresse servira pour la communication du mot de passe",
                  "J'ai lu et j'accepte les mentions légales", "Valider"):
        assert label in form, label
    assert value_of(form, "inpe") == PRIVATE and value_of(form, "nom_etablissement") == "Clinique Al Amal"
    assert value_of(form, "adresse") == "45, boulevard Zerktouni" and value_of(form, "ville") == "Casablanca"
    # the ICE the CNSS knows is shown, to be checked, not typed
    assert value_of(form, "ice") == KNOWN_ICE and "readonly" in re.search(r'<input[^>]*name="ice"[^>]*>', form).group(0)
    assert "readonly" in re.search(r'<input[^>]*name="inpe"[^>]*>', form).group(0)
    # the checkbox links to the legal mentions printed at the foot of the page
    assert 'href="#mentions-legales"' in form and 'id="mentions-legales"' in form
    assert value_of(form, "email") == "" and value_of(form, "cnie") == ""  # nothing of the director is disclosed


def test_ice_is_typed_when_the_cnss_does_not_know_it_and_absent_for_a_public_establishment(app, client, smtp_server, establishments):
    step_one(client, PRIVATE_WITHOUT_ICE)
    private = page(client.get(f"{URL}/enroll"))
    assert value_of(private, "ice") == "" and "readonly" not in re.search(r'<input[^>]*name="ice"[^>]*>', private).group(0)
    assert "Renseigner l'ICE s'il n'est pas affiché." in private

    step_one(client, PUBLIC)
    public = page(client.get(f"{URL}/enroll"))
    assert 'name="ice"' not in public and "Identifiant Commun de l'Entreprise" not in public
    assert value_of(public, "nom_etablissement") == "Centre hospitalier provincial de Settat"


@pytest.mark.parametrize(
    ("inpe", "changes", "field", "message"),
    [
        (PRIVATE_WITHOUT_ICE, {"ice": "12345"}, "ice", "L'Identifiant Commun de l'Entreprise (ICE) compte 15 chiffres."),
        (PRIVATE_WITHOUT_ICE, {"ice": NEW_ICE[:-2] + f"{(int(NEW_ICE[-2:]) + 1) % 100:02d}"}, "ice", "la clé de contrôle ne correspond pas"),
        (PRIVATE_WITHOUT_ICE, {"ice": ""}, "ice", "Ce champ est obligatoire."),
        (PRIVATE, {"ice": NEW_ICE}, "ice", ICE_MISMATCH),
        (PRIVATE, {"cnie": "12AB"}, "cnie", "Saisissez le N° de CNIE"),
        (PRIVATE, {"cnie": ""}, "cnie", "Ce champ est obligatoire."),
        (PRIVATE, {"email": "pas-une-adresse"}, "email", "Adresse e-mail invalide."),
        (PRIVATE, {"gsm": "0512345678"}, "gsm", "Le N° GSM commence par 06 ou 07 (ou +212 6, +212 7) suivi de 8 chiffres."),
        (PRIVATE, {"gsm": "061234567"}, "gsm", "Le N° GSM commence par 06 ou 07"),
        (PRIVATE, {"inpe_directeur": "2012"}, "inpe_directeur", "L'Identifiant National (INPE) compte 9 chiffres."),
        (PRIVATE, {"nom": "  "}, "nom", "Ce champ est obligatoire."),
        (PRIVATE, {"prenom": ""}, "prenom", "Ce champ est obligatoire."),
        (PRIVATE, {"mentions": None}, "mentions", "Vous devez accepter les mentions légales."),
        (PRIVATE, {"inpe": STRANGER}, "inpe", UNKNOWN_INPE),
    ],
)
def test_bad_input_gets_its_message_next_to_the_field_and_nothing_is_stored(
    app, client, smtp_server, establishments, inpe, changes, field, message
):
    response = submit(client, inpe, **changes)

    assert response.status_code == 200
    assert message in errors_of(response, field)
    assert stored(app, inpe) is None and stored(app, STRANGER) is None


def test_one_pending_request_per_inpe(app, client, smtp_server, establishments):
    assert submit(client).status_code == 303

    again = step_one(app.test_client())

    assert "Une demande est déjà en cours de traitement pour cet identifiant" in errors_of(again, "inpe")


# --------------------------------------------------------------------------
# The printed forms (CNSS-2)
# --------------------------------------------------------------------------


def test_private_establishment_prints_form_610_1_14_with_ice_and_cnie(app, client, smtp_server, establishments):
    assert submit(client).status_code == 303
    request = stored(app)
    assert request.values["gsm"] == "+212661234567" and request.values["cnie"] == "BE123456"
    assert request.values["email"] == "direction@clinique-alamal.ma" and request.values["ice"] == KNOWN_ICE
    done = page(client.get(f"{URL}/enroll/done"))
    assert "Télécharger le formulaire" in done and DEPOSIT in done and request.reference in done

    response = client.get(f"{URL}/enroll/{request.reference}/form.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    for expected in ("Références : 610-1-14", request.reference, PRIVATE, "Clinique Al Amal", KNOWN_ICE, "BE123456",
                     "établissements privés de soins", "طلب الانخراط في بوابة", "للمؤسسات العلاجية الخاصة",
                     "Identification de l'établissement de soins", "Identification du directeur de l'établissement de soins",
                     "Je soussigné(e) Karim Bennani certifie exactes", "Signature et cachet du directeur",
                     "Partie réservée à la CNSS", "Agence", "Réception", "Direction Relation Clientèle", "Traitement",
                     "Contrôle", "+212661234567", "direction@clinique-alamal.ma",
                     "Une copie de la CNI ou de la carte de séjour du directeur est indispensable", "أشهد بصحة المعلومات"):
        assert expected in text, expected


def test_public_establishment_prints_form_610_1_16_without_ice(app, client, smtp_server, establishments):
    assert submit(client, PUBLIC).status_code == 303
    request = stored(app, PUBLIC)
    assert "ice" not in request.values

    text = pdf_text(client.get(f"{URL}/enroll/{request.reference}/form.pdf").data)

    for expected in ("Référence : 610-1-16", request.reference, PUBLIC, "Centre hospitalier provincial de Settat",
                     "établissements publics de soins", "طلب الانخراط في بوابة", "للمؤسسات العلاجية العمومية",
                     "Partie réservée à la CNSS", "Tous les champs sont obligatoires."):
        assert expected in text, expected
    assert "610-1-14" not in text and "Identifiant Commun de l'Entreprise" not in text


# --------------------------------------------------------------------------
# The agency: reception, approval, the password by e-mail (CNSS-3)
# --------------------------------------------------------------------------


def test_director_receives_the_password_after_the_agent_approves_and_logs_in_to_both_profiles(app, client, smtp_server, establishments):
    assert submit(client).status_code == 303
    reference = stored(app).reference
    agent = agent_client(app, "cnss")
    detail = page(agent.get(f"/cnss/gestion/enrollments/{reference}"))
    assert "Clinique Al Amal" in detail and "CNIE / carte séjour" in detail

    assert decide(agent, reference, "receive", insurer="cnss").status_code == 303
    assert decide(agent, reference, "approve", insurer="cnss").status_code == 303

    mails = smtp_server.wait_for(4)
    assert reference in mails[0]["Subject"] and "formulaire signé" in mails[1]["Subject"]
    approvals = mails[2:]
    assert [m["To"] for m in approvals] == ["direction@clinique-alamal.ma"] * 2
    passwords = {}
    for mail in approvals:
        login = next(line.split(": ", 1)[1] for line in text_of(mail).splitlines() if line.startswith("Identifiant : "))
        passwords[login] = temporary_password_in(mail)
    assert set(passwords) == {f"{PRIVATE}/PEC", f"{PRIVATE}/PAIEMENTS"}
    accounts = accounts_of(app)
    assert {login: a.profiles for login, a in accounts.items()} == {f"{PRIVATE}/PEC": ["PEC"], f"{PRIVATE}/PAIEMENTS": ["PAIEMENTS"]}
    assert {(a.display_name, a.email, a.phone) for a in accounts.values()} == {
        ("Clinique Al Amal", "direction@clinique-alamal.ma", "+212661234567")
    }
    with app.app_context():
        establishment = db.session.scalar(select(Establishment).where(Establishment.inpe == PRIVATE))
        assert (establishment.director_last_name, establishment.director_first_name, establishment.director_inpe,
                establishment.director_cnie, establishment.director_email, establishment.director_gsm) == (
            "Bennani", "Karim", "201234567", "BE123456", "direction@clinique-alamal.ma", "+212661234567")

    director = app.test_client()
    first = log_in(director, PRIVATE, "PEC", passwords[f"{PRIVATE}/PEC"])
    assert first.status_code == 303 and first.headers["Location"] == f"{URL}/password/change"
    assert director.get(f"{URL}/").headers["Location"].endswith(f"{URL}/password/change")  # nothing else until changed
    change_page = page(director.get(f"{URL}/password/change"))
    assert "6" in change_page and "8" in change_page
    too_long = director.post(f"{URL}/password/change", data={"csrf_token": csrf_of(change_page), "new_password": "Ks7#qa2Wx",
                                                            "confirmation": "Ks7#qa2Wx"})
    assert too_long.status_code == 200 and "new_password-errors" in page(too_long)
    changed = director.post(f"{URL}/password/change", data={"csrf_token": csrf_of(change_page), "new_password": NEW_PASSWORD,
                                                          "confirmation": NEW_PASSWORD})
    assert changed.status_code == 303
    dashboard = director.get(f"{URL}/")
    assert dashboard.status_code == 200 and "Clinique Al Amal" in page(dashboard)
    pec_list = director.get(f"{URL}/pec")  # the PEC list, from the PEC account's menu
    assert 'href="/cnss/ps/pec"' in page(dashboard)
    assert pec_list.status_code == 200 and "Suivi des demandes de prise en charge (PEC)" in page(pec_list)
    assert "Nombre de dossiers" in page(pec_list)

    other = log_in(app.test_client(), PRIVATE, "PAIEMENTS", passwords[f"{PRIVATE}/PAIEMENTS"])
    assert other.status_code == 303 and other.headers["Location"] == f"{URL}/password/change"


def test_rejection_e_mails_the_reason_and_creates_no_account(app, client, smtp_server, establishments):
    submit(client, PUBLIC)
    reference = stored(app, PUBLIC).reference
    agent = agent_client(app, "cnss")

    assert decide(agent, reference, "reject", insurer="cnss", reason="Formulaire non signé par le directeur.").status_code == 303

    mail = smtp_server.wait_for(2)[1]
    assert mail["To"] == "direction@clinique-alamal.ma" and "rejetée" in mail["Subject"]
    assert "Formulaire non signé par le directeur." in text_of(mail)
    assert accounts_of(app, PUBLIC) == {} and stored(app, PUBLIC).state == "rejected"


# --------------------------------------------------------------------------
# « Réinitialisation de compte » (CNSS-7)
# --------------------------------------------------------------------------


@pytest.fixture
def members(app, establishments) -> None:
    """The private clinic's two accounts, with the director who left."""
    for profile in ("PEC", "PAIEMENTS"):
        make_account(app, f"{PRIVATE}/{profile}", space_key=SPACE_KEY, profiles=[profile], display_name="Clinique Al Amal",
                     email="ancien.directeur@clinique-alamal.ma", phone="+212600000000")


def ask_reset(client, **changes):
    html = page(client.get(f"{URL}/reset-request"))
    data = {"csrf_token": csrf_of(html), "inpe": PRIVATE, "phone": "07 12 34 56 78", "email": "nouvelle.direction@clinique-alamal.ma"}
    return client.post(f"{URL}/reset-request", data={**data, **changes})


def test_reset_form_asks_the_seeds_fields_and_checks_them(app, client, smtp_server, members):
    form = page(client.get(f"{URL}/reset-request"))
    for label in ("Réinitialisation de compte", "Identifiant National", "N° GSM", "Email", "Valider"):
        assert label in form, label

    assert "Aucun compte de cet espace n'existe pour cet identifiant." in errors_of(ask_reset(client, inpe=PUBLIC), "inpe")
    assert "L'Identifiant National (INPE) compte 9 chiffres." in errors_of(ask_reset(client, inpe="1234"), "inpe")
    assert "Le N° GSM commence par 06 ou 07" in errors_of(ask_reset(client, phone="0512345678"), "phone")
    assert "Adresse e-mail invalide." in errors_of(ask_reset(client, email="nouvelle"), "email")


def test_reset_request_prints_its_form_and_the_agents_approval_mails_a_temporary_password_to_the_new_address(
    app, client, smtp_server, members
):
    assert ask_reset(client).status_code == 303
    done = page(client.get(f"{URL}/reset-request/done"))
    reference = re.search(r"/reset-request/([A-Z0-9-]+)/form\.pdf", done).group(1)
    assert "Télécharger le formulaire" in done and DEPOSIT in done

    text = pdf_text(client.get(f"{URL}/reset-request/{reference}/form.pdf").data)
    for expected in (reference, PRIVATE, "Clinique Al Amal", f"{PRIVATE}/PEC", f"{PRIVATE}/PAIEMENTS", "Nouveau mot de passe",
                     "Initialisation du mot de passe", "+212712345678", "nouvelle.direction@clinique-alamal.ma",
                     "طلب إعادة تعيين الحساب", "Partie réservée à la CNSS", "Contrôle", DEPOSIT[:60]):
        assert expected in text, expected

    agent = agent_client(app, "cnss")
    assert decide(agent, reference, "receive", insurer="cnss").status_code == 303
    assert decide(agent, reference, "approve", insurer="cnss").status_code == 303

    mails = smtp_server.wait_for(4)[2:]
    assert [m["To"] for m in mails] == ["nouvelle.direction@clinique-alamal.ma"] * 2
    passwords = {
        next(line.split(": ", 1)[1] for line in text_of(m).splitlines() if line.startswith("Identifiant : ")): temporary_password_in(m)
        for m in mails
    }
    assert set(passwords) == {f"{PRIVATE}/PEC", f"{PRIVATE}/PAIEMENTS"}
    assert {(a.email, a.phone) for a in accounts_of(app).values()} == {("nouvelle.direction@clinique-alamal.ma", "+212712345678")}
    with app.app_context():  # the registry follows, so « Mot de passe oublié ? » compares with the new details
        establishment = db.session.scalar(select(Establishment).where(Establishment.inpe == PRIVATE))
        assert (establishment.director_email, establishment.director_gsm) == ("nouvelle.direction@clinique-alamal.ma", "+212712345678")
    first = log_in(app.test_client(), PRIVATE, "PAIEMENTS", passwords[f"{PRIVATE}/PAIEMENTS"])
    assert first.status_code == 303 and first.headers["Location"] == f"{URL}/password/change"


def test_ice_typed_by_the_director_is_recorded_for_the_establishment_on_approval(app, client, smtp_server, establishments):
    assert submit(client, PRIVATE_WITHOUT_ICE).status_code == 303
    reference = stored(app, PRIVATE_WITHOUT_ICE).reference
    agent = agent_client(app, "cnss")
    decide(agent, reference, "receive", insurer="cnss")
    decide(agent, reference, "approve", insurer="cnss")

    with app.app_context():
        establishment = db.session.scalar(select(Establishment).where(Establishment.inpe == PRIVATE_WITHOUT_ICE))
        assert establishment.ice == NEW_ICE and establishment.director_email == "direction@clinique-alamal.ma"
    assert set(accounts_of(app, PRIVATE_WITHOUT_ICE)) == {f"{PRIVATE_WITHOUT_ICE}/PEC", f"{PRIVATE_WITHOUT_ICE}/PAIEMENTS"}
