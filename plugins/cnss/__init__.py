"""CNSS (AMO), « Portail des professionnels de santé » (seeds 002, 003): the hook
implementations of the plugin; the space, tables, importers and demo live in its modules."""
from __future__ import annotations

import time

import click
from flask import Flask

from app.extensions import db
from app.models import Account
from app.plugins import DemoSpace, Importer, Space, hookimpl
from plugins.cnss import models  # noqa: F401  (its tables)
from plugins.cnss.space import SPACE
from plugins.cnss import views_payments  # noqa: F401
from plugins.cnss import views_pec  # noqa: F401
from plugins.cnss import widgets  # noqa: F401

PLUGIN_NAME = "cnss"
__version__ = "0.1.0"


@hookimpl
def portal_spaces() -> list[Space]:
    return [SPACE]


@hookimpl
def portal_importers() -> list[Importer]:
    from plugins.cnss.importers import IMPORTERS

    return list(IMPORTERS)


@hookimpl
def portal_password_context(space: Space, account: Account) -> list[str]:
    """The establishment's name and city and its director's names, from the CNSS's registry."""
    if space.key != SPACE.key:
        return []
    establishment = db.session.scalar(db.select(models.Establishment).where(models.Establishment.inpe == account.tenant_ref))
    if establishment is None:
        return []
    words = [establishment.name, establishment.city, establishment.director_last_name, establishment.director_first_name]
    return [w for w in words if w]


@hookimpl
def portal_audit_labels() -> dict[str, str]:
    """The plugin's audit actions, as the establishment's history and the back office show them."""
    return {
        "cnss_rights_check": "Consultation des droits d'un assuré",
        "cnss_rights_attestation": "Téléchargement de l'attestation de droits",
    }


@hookimpl
def portal_load_demo() -> list[DemoSpace]:
    from plugins.cnss.demo import load_demo

    return load_demo()


@hookimpl
def portal_init_app(app: Flask) -> None:
    @app.cli.command("cnss-volume")
    @click.argument("inpe")
    @click.option("--dr", "dr_count", type=int, default=100_000, show_default=True, help="Dossiers de remboursement (DR) à créer.")
    @click.option("--pec", "pec_count", type=int, default=0, show_default=True, help="Demandes de prise en charge (PEC) à créer.")
    def volume_command(inpe: str, dr_count: int, pec_count: int) -> None:
        """Add DR (and PEC) to the establishment INPE, for benchmarks (after `flask portal demo`)."""
        from plugins.cnss.demo import DemoEstablishment, add_establishments, generate

        if not db.session.scalar(
            db.select(models.Establishment.id).where(models.Establishment.inpe == inpe)
        ):
            add_establishments([DemoEstablishment(inpe, f"Établissement {inpe}", "public", "", "", ("", "", "", "", "", ""))])
        started = time.perf_counter()
        done = generate(inpe, dr_count, pec_count, seed=f"cnss-volume-{inpe}-{dr_count}")
        db.session.commit()
        click.echo(f"{done.dr} DR, {done.pec} PEC, {done.emissions} émissions, {done.payments} paiements en {time.perf_counter() - started:.1f} s")
