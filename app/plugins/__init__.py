"""The plugin system: pluggy markers, hook specifications and the data types hooks return.

A plugin writes ``from app.plugins import hookimpl`` and returns
:mod:`app.plugins.types` dataclasses from its hooks.
"""
import pluggy

from app.plugins.types import (  # noqa: F401  (the public API of plugins)
    Branding,
    Contact,
    DemoAccount,
    DemoSpace,
    Document,
    EnrollmentFlow,
    EnrollmentSection,
    EnrollmentStep,
    IdentifierField,
    ImportColumn,
    Importer,
    MenuItem,
    PasswordPolicy,
    Profile,
    RecoveryMethod,
    ResetRequestFlow,
    Space,
    Widget,
)

__all__ = [
    "Branding",
    "Contact",
    "DemoAccount",
    "DemoSpace",
    "Document",
    "EnrollmentFlow",
    "EnrollmentSection",
    "EnrollmentStep",
    "IdentifierField",
    "ImportColumn",
    "Importer",
    "MenuItem",
    "PasswordPolicy",
    "Profile",
    "RecoveryMethod",
    "ResetRequestFlow",
    "Space",
    "Widget",
    "hookimpl",
]

PROJECT = "portal"
hookimpl = pluggy.HookimplMarker(PROJECT)
