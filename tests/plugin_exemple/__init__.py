"""A test-only insurer, « Mutuelle Exemple », with one space: it proves that a
new insurer is added by writing a plugin, without any change in ``app/``."""
from __future__ import annotations

from decimal import Decimal

import click
from flask import Blueprint, render_template
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account
from app.passwords import hash_password
from app.plugins import (
    Branding,
    Contact,
    DemoAccount,
    DemoSpace,
    Document,
    IdentifierField,
    MenuItem,
    PasswordPolicy,
    Profile,
    RecoveryMethod,
    Space,
    Widget,
    hookimpl,
)

from tests.plugin_exemple import models  # noqa: F401,E402  (its tables)
from tests.plugin_exemple.enrollment import ENROLLMENT  # noqa: E402  (« Création de compte »)
from tests.plugin_exemple import importers  # noqa: E402  (its importer « Relevés »)

PLUGIN_NAME = "exemple"
__version__ = "0.0.1"

pages = Blueprint("exemple", __name__, template_folder="templates")


from tests.plugin_exemple import views_statements  # noqa: E402,F401  (« Relevés », on pages)


@pages.get("/widgets/solde")
def balance_widget():
    """The partial behind the dashboard widget « Solde »."""
    return render_template("exemple/_solde.html")


MEMBER_NUMBER = IdentifierField(
    name="adherent",
    label="Numéro d'adhérent",
    pattern=r"\d{1,10}",
    message="Le numéro d'adhérent compte de 1 à 10 chiffres.",
)

SPACE = Space(
    insurer="exemple",
    code="membres",
    title="Espace adhérents",
    insurer_name="Mutuelle Exemple",
    identifier_fields=(MEMBER_NUMBER,),
    password_policy=PasswordPolicy(min_length=8, max_length=12, min_digits=2),
    recovery=RecoveryMethod(kind="email_link"),
    enrollment=ENROLLMENT,
    profiles=(Profile("CONSULT", "Consultation"), Profile("PAIE", "Paiements")),
    menu=(MenuItem("Relevés", "exemple.statements", profiles=("CONSULT",)),),
    widgets=(Widget("Solde", "exemple.balance_widget"),),
    blueprint=pages,
    documents=(Document("Guide de l'adhérent", "/static/css/portal.css"),),
    branding=Branding(
        name="Mutuelle Exemple",
        primary_colour="#0b6e4f",
        contact=Contact(email="contact@exemple.test", phone="05 22 00 00 00", address="1, rue de l'Exemple, Rabat"),
        legal_mentions="Données traitées conformément à la loi 09-08.",
        faq=(("Comment obtenir mon numéro d'adhérent ?", "Il figure sur votre carte."),),
    ),
    context_words=("mutuelle",),
)

DEMO_PASSWORD = "Demo2026x1"


@hookimpl
def portal_spaces() -> list[Space]:
    return [SPACE]


@hookimpl
def portal_importers() -> list[importers.Importer]:
    return [importers.STATEMENTS]


@hookimpl
def portal_password_context(space: Space, account: Account) -> list[str]:
    return ["exemple"] if space.insurer == "exemple" else []


@hookimpl
def portal_load_demo() -> list[DemoSpace]:
    if db.session.query(Account).filter_by(space_key=SPACE.key, login="1001").first() is None:
        db.session.add(
            Account(
                space_key=SPACE.key,
                login="1001",
                tenant_ref="1001",
                display_name="Amina Demo",
                email="amina@exemple.test",
                profiles=["CONSULT", "PAIE"],
                password_hash=hash_password(DEMO_PASSWORD),
                must_change_password=False,
            )
        )
    _demo_statements("1001")
    return [
        DemoSpace(
            space_key=SPACE.key,
            accounts=(DemoAccount({"Numéro d'adhérent": "1001"}, DEMO_PASSWORD, "compte principal"),),
            enroll={"Numéro d'adhérent": "1002"},
        )
    ]


def _demo_statements(member: str, count: int = 60) -> None:
    """Two years of the demo member's statements, the same on every run (idempotent)."""
    from datetime import date, timedelta
    from random import Random

    from tests.plugin_exemple.models import Statement

    if db.session.scalar(select(func.count()).select_from(Statement).where(Statement.member_number == member)):
        return
    rng = Random(member)
    today = date.today()
    labels = ("Consultation", "Pharmacie", "Analyses", "Radiologie", "Optique", "Soins dentaires")
    for n in range(count):
        db.session.add(
            Statement(
                member_number=member,
                number=f"R{member}-{n + 1:04d}",
                paid_on=today - timedelta(days=rng.randrange(730)),
                label=rng.choice(labels),
                amount=Decimal(rng.randrange(5000, 250000)) / 100,
                status=rng.choice(("Payé", "Payé", "Payé", "En cours", "Rejeté")),
            )
        )


# --------------------------------------------------------------------------
# What the plugin adds to the application and to the password checks
# (tests/test_plugin_hooks.py proves each through the real app)
# --------------------------------------------------------------------------

#: birth dates the insurer's member registry knows, by member number
BIRTH_DATES = {"1001": "1985-03-02"}


def dirhams(amount: Decimal | float | str) -> str:
    """« 1 250,00 DH »: an amount in dirhams, with a space between thousands."""
    whole, cents = f"{Decimal(str(amount)):,.2f}".split(".")
    return f"{whole.replace(',', ' ')},{cents} DH"


@hookimpl
def portal_audit_labels() -> dict[str, str]:
    """The test insurer's own action, and an attempt to rename a core one (which must fail)."""
    return {"exemple_card_printed": "Impression de la carte d'adhérent", "login": "Entrée"}


@hookimpl
def portal_init_app(app: Flask) -> None:
    app.add_template_filter(dirhams, "dirhams")

    @app.cli.command("exemple-adherents")
    def count_members() -> None:
        """Print how many accounts the space « Espace adhérents » holds."""
        count = db.session.scalar(select(func.count()).select_from(Account).where(Account.space_key == SPACE.key))
        click.echo(f"{count} compte(s) dans {SPACE.key}")


@hookimpl(specname="portal_password_context")
def birth_date_context(space: Space, account: Account) -> list[str]:
    """The member's birth date: the core refuses it in any digit spelling (02031985, 19850302 …)."""
    if space.key != SPACE.key:
        return []
    born = BIRTH_DATES.get(account.tenant_ref)
    return [born] if born else []
