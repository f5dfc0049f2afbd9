"""Every hook a plugin may implement, with the exact shape of what it returns.

Each hook is documented in ``docs/plugins.md`` and tested in
``tests/test_plugin_hooks.py``; meta-tests fail when one lacks either.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from app.models import Account
    from app.plugins.types import DemoSpace, Importer, Space

hookspec = pluggy.HookspecMarker("portal")

# --------------------------------------------------------------------------
# Declaring spaces
# --------------------------------------------------------------------------


@hookspec
def portal_spaces() -> list[Space]:
    """Declare the spaces of the plugin's insurer.

    :returns: a list of :class:`~app.plugins.types.Space`; each is mounted at
        ``/<insurer>/<code>/`` with the core's screens and its own blueprint.
    """


@hookspec
def portal_init_app(app: Flask) -> None:
    """Called once by ``create_app`` after the core is set up, before the
    spaces are mounted: register CLI commands, template filters, models.

    :param app: the application being built.
    """


# --------------------------------------------------------------------------
# Accounts and passwords
# --------------------------------------------------------------------------


@hookspec
def portal_password_context(space: Space, account: Account) -> list[str]:
    """Extra words that must not appear in the account's password: a name, a
    birth date, a member number the plugin knows of.

    :param space: the account's space.
    :param account: the account whose password is being set.
    :returns: a list of words (case does not matter; words under 4 characters are ignored).
    """


# --------------------------------------------------------------------------
# Data imports
# --------------------------------------------------------------------------


@hookspec
def portal_importers() -> list[Importer]:
    """Declare the plugin's importers: the Excel (.xlsx) and CSV files its
    insurer's agents upload in the back office, or run with ``flask portal import``.

    :returns: a list of :class:`~app.plugins.types.Importer`, each naming its
        ``insurer`` (only that insurer's agents see it) and a ``code`` unique
        for that insurer.
    """


# --------------------------------------------------------------------------
# Audit trail
# --------------------------------------------------------------------------


@hookspec
def portal_audit_labels() -> dict[str, str]:
    """Name the plugin's own audit actions (those it passes to ``app.audit.record``)
    in French, for the user's history and the back office's « Traçabilité ».

    :returns: a ``dict`` of action → French label (``{"mutuelle_card_printed":
        "Impression de la carte d'adhérent"}``); a core action cannot be renamed.
    """


# --------------------------------------------------------------------------
# Demo data
# --------------------------------------------------------------------------


@hookspec
def portal_load_demo() -> list[DemoSpace]:
    """Load the plugin's demo data, idempotently, inside an application context,
    and say how to log in.

    :returns: a list of :class:`~app.plugins.types.DemoSpace`, one per space:
        its demo accounts (login form labels mapped to values, and the password)
        and ``enroll`` sample values for the space's enrollment form.
    """
