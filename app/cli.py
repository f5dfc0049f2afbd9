"""``flask portal …``: plugins, demo data, outbox."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.plugins.manager import registry_of

portal_cli = AppGroup("portal", help="Portail: plugins, demo data, outbox.")


@portal_cli.command("plugins")
def plugins_command() -> None:
    """List the enabled plugins, their version, spaces and the hooks each implements."""
    registry = registry_of(current_app)
    for name, plugin in registry.pm.list_name_plugin():
        version = getattr(plugin, "__version__", "")
        hooks = sorted(caller.name for caller in registry.pm.get_hookcallers(plugin) or [])
        click.echo(f"{name} {version}".rstrip())
        for space in registry.plugin_spaces.get(name, []):
            click.echo(f"  space /{space.insurer}/{space.code}/  {space.title}")
        click.echo(f"  hooks: {', '.join(hooks)}")


def create_schema() -> None:
    """Bring the core's tables to the latest migration, then create the plugins' tables.
    A database first built by ``create_all`` (no migration recorded) is stamped instead."""
    from flask_migrate import stamp, upgrade
    from sqlalchemy import inspect

    tables = set(inspect(db.engine).get_table_names())
    if "accounts" in tables and "alembic_version" not in tables:
        stamp()
    else:
        upgrade()
    db.create_all()


@portal_cli.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print the demo logins as JSON.")
def demo_command(as_json: bool) -> None:
    """Create the schema when absent and load every enabled plugin's demo data (idempotent)."""
    create_schema()
    registry = registry_of(current_app)
    entries = [entry for result in registry.pm.hook.portal_load_demo() for entry in result]
    db.session.commit()
    report = {}
    for entry in entries:
        space = registry.spaces[entry.space_key]
        report[entry.space_key] = {
            "title": space.title,
            "path": f"/{space.insurer}/{space.code}/",
            "accounts": [{"fields": a.fields, "password": a.password, "note": a.note} for a in entry.accounts],
            "enroll": entry.enroll,
        }
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    public = current_app.config["PUBLIC_URL"].rstrip("/")
    click.echo("Données de démonstration chargées.")
    for key, item in report.items():
        click.echo(f"\n{item['title']}  {public}{item['path']}")
        for account in item["accounts"]:
            typed = ", ".join(f"{label} = {value}" for label, value in account["fields"].items())
            note = f"  ({account['note']})" if account["note"] else ""
            click.echo(f"  {typed}, Mot de passe = {account['password']}{note}")


@portal_cli.command("outbox")
def outbox_command() -> None:
    """Retry every queued e-mail; exit status 1 when some are still queued."""
    from app.mail import deliver

    sent, failed = deliver()
    click.echo(f"{sent} message(s) envoyé(s), {failed} en échec.")
    if failed:
        raise click.exceptions.Exit(1)
