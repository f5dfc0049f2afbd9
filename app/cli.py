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


DEMO_AGENT_PASSWORD = "Gestion-demo-2026"


def _demo_agents(registry) -> list:
    """One demo agent per insurer's back office (idempotent)."""
    from app.backoffice import CODE, create_agent
    from app.models import Account
    from app.plugins.types import DemoAccount, DemoSpace

    entries = []
    for insurer in registry.insurers():
        key = f"{insurer}/{CODE}"
        if key not in registry.spaces:
            continue
        if db.session.query(Account.id).filter_by(space_key=key, login="agent").first() is None:
            create_agent(insurer, "agent", DEMO_AGENT_PASSWORD, name="Agent de démonstration", must_change=False)
        entries.append(DemoSpace(space_key=key, accounts=(DemoAccount({"Identifiant": "agent"}, DEMO_AGENT_PASSWORD, "gestionnaire"),)))
    return entries


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


@portal_cli.command("create-agent")
@click.argument("insurer")
@click.argument("login")
@click.option("--name", default="", help="The agent's name, shown in the back office.")
@click.option("--email", default=None, help="The agent's e-mail address.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted when not given.")
def create_agent_command(insurer: str, login: str, name: str, email: str | None, password: str) -> None:
    """Create an agent of INSURER's back office; the password must be changed at first login."""
    from app.backoffice import create_agent

    try:
        account = create_agent(insurer, login, password, name=name, email=email, must_change=True)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Gestionnaire {account.login} créé pour /{insurer}/gestion/ ; mot de passe à changer à la première connexion.")


@portal_cli.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print the demo logins as JSON.")
def demo_command(as_json: bool) -> None:
    """Create the schema when absent and load every enabled plugin's demo data (idempotent)."""
    create_schema()
    registry = registry_of(current_app)
    entries = [entry for result in registry.pm.hook.portal_load_demo() for entry in result]
    entries += _demo_agents(registry)
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
        if item["enroll"]:
            values = ", ".join(f"{label} = {value}" for label, value in item["enroll"].items())
            click.echo(f"  Pour essayer l'inscription ({public}{item['path']}enroll) : {values}")


@portal_cli.command("import")
@click.argument("insurer")
@click.argument("importer_code", metavar="IMPORTER")
@click.argument("path", metavar="FILE")
@click.option("--dry-run", is_flag=True, help="Check every row and print the errors; write nothing.")
def import_command(insurer: str, importer_code: str, path: str, dry_run: bool) -> None:
    """Import FILE (.xlsx or .csv) with INSURER's IMPORTER, as the back office does: every
    row in one transaction, nothing written when a row is wrong (exit status 1)."""
    import getpass
    import os

    from flask_babel import gettext as _

    from app import imports

    importer = imports.importer_of(insurer, importer_code)
    if importer is None:
        codes = ", ".join(i.code for i in imports.importers_of(insurer)) or "—"
        click.echo(_("Aucun import « %(code)s » pour l'organisme « %(insurer)s » (imports : %(codes)s).", code=importer_code, insurer=insurer, codes=codes), err=True)
        raise click.exceptions.Exit(1)
    if not os.path.isfile(path):
        click.echo(_("Fichier introuvable : %(path)s", path=path), err=True)
        raise click.exceptions.Exit(1)
    try:
        actor = f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in a bare container
        actor = "cli"
    try:
        outcome = imports.preview(importer, path) if dry_run else imports.commit(importer, path, actor)
    except imports.ImportRefused as refused:
        click.echo(str(refused), err=True)
        raise click.exceptions.Exit(1) from None
    for line in imports.report(outcome):
        click.echo(line)
    if outcome.error_count:
        raise click.exceptions.Exit(1)


@portal_cli.command("outbox")
def outbox_command() -> None:
    """Retry every queued e-mail; exit status 1 when some are still queued."""
    from app.mail import deliver

    sent, failed = deliver()
    click.echo(f"{sent} message(s) envoyé(s), {failed} en échec.")
    if failed:
        raise click.exceptions.Exit(1)
