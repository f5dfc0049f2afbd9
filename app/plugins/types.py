"""The data that plugin hooks return: frozen dataclasses that the core renders.

A plugin never returns HTML to the core; it describes its spaces with these
types and the core builds the screens, menus and e-mails from them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:  # pragma: no cover
    from flask import Blueprint

# --------------------------------------------------------------------------
# Login and identity
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentifierField:
    """One field of a space's login form (« Identifiant National », « Matricule » …).

    ``pattern`` is a full-match regular expression checked on the server;
    ``message`` is the French error shown next to the field when it fails.
    ``choices`` turns the field into a select of (value, label) pairs.
    ``transform`` normalises what was typed ("upper", "lower", "strip").
    """

    name: str
    label: str
    pattern: str | None = None
    message: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    transform: Literal["strip", "upper", "lower", "email"] = "strip"
    input_type: str = "text"
    autocomplete: str = "username"

    def normalise(self, value: str | None) -> str:
        """Return the value as stored: trimmed, and upper- or lower-cased if asked."""
        value = (value or "").strip()
        if self.transform == "upper":
            return value.upper()
        if self.transform in ("lower", "email"):
            return value.lower()
        return value

    def is_valid(self, value: str) -> bool:
        """True when the normalised value has the field's format."""
        if not value:
            return False
        if self.choices:
            return value in {code for code, _ in self.choices}
        # ASCII: \d must mean 0-9, not every Unicode digit (« ١٢٣ » is no INPE)
        return self.pattern is None or re.fullmatch(self.pattern, value, re.ASCII) is not None


@dataclass(frozen=True)
class PasswordPolicy:
    """A space's password rules, as its seed states them.

    The core adds a floor on top (common passwords, context words) and a
    deployment may tighten any bound through ``PORTAL_PASSWORD_TIGHTEN``.
    """

    min_length: int = 8
    max_length: int = 64
    min_digits: int = 0
    min_letters: int = 0
    #: regular-expression character class of the allowed characters, or None for any
    allowed: str | None = None
    allowed_label: str | None = None
    #: how many previous passwords the new one must differ from (1 = the current one)
    history: int = 1

    def tightened(self, **bounds: Any) -> "PasswordPolicy":
        """Return the policy made stricter by ``bounds``; a looser bound is ignored.

        ``max_length`` may only be raised: allowing longer passwords is the
        stricter choice for security (SAFE-6), never a loosening."""
        changes: dict[str, Any] = {}
        for name, value in bounds.items():
            current = getattr(self, name)
            if name == "max_length":
                changes[name] = max(current, int(value))
            elif name in ("min_length", "min_digits", "min_letters", "history"):
                changes[name] = max(current, int(value))
            elif name == "allowed":
                # A narrower class cannot be proven narrower in general: only
                # accept it when the policy allowed everything before.
                if current is None:
                    changes[name] = value
            else:
                raise ValueError(f"unknown password policy bound: {name}")
        policy = replace(self, **changes)
        if policy.min_length > policy.max_length:
            policy = replace(policy, max_length=policy.min_length)
        return policy


@dataclass(frozen=True)
class Profile:
    """A profile (« PEC », « Paiements » …) that grants part of a space."""

    code: str
    label: str


@dataclass(frozen=True)
class MenuItem:
    """An entry of the space's menu; shown to accounts holding one of ``profiles``
    (all accounts when empty). ``endpoint`` is a Flask endpoint of the plugin."""

    label: str
    endpoint: str
    profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Widget:
    """A dashboard widget. ``endpoint`` serves its HTMX partial, loaded lazily."""

    title: str
    endpoint: str
    profiles: tuple[str, ...] = ()
    size: Literal["small", "medium", "large"] = "medium"


@dataclass(frozen=True)
class Document:
    """A document to download from the space (form, guide, list)."""

    title: str
    url: str
    description: str = ""


@dataclass(frozen=True)
class Contact:
    """The contact block of a space."""

    email: str = ""
    phone: str = ""
    address: str = ""


@dataclass(frozen=True)
class Branding:
    """What a space looks like; every field can be overridden by the deployment."""

    name: str
    logo: str | None = None
    primary_colour: str = "#1d4f91"
    accent_colour: str = "#e5a100"
    contact: Contact = field(default_factory=Contact)
    legal_mentions: str = ""
    faq: tuple[tuple[str, str], ...] = ()
    documents: tuple[Document, ...] = ()


# --------------------------------------------------------------------------
# Recovery and enrollment
# --------------------------------------------------------------------------

RecoveryKind = Literal["email_link", "secret_question", "identity_match", "admin_reset"]


@dataclass(frozen=True)
class RecoveryMethod:
    """How a user of the space gets back in after forgetting the password.

    - ``email_link``: the identifier fields, then a single-use link to the address on record;
    - ``secret_question``: the identifier fields, the question, then the same link;
    - ``identity_match``: the identifier fields plus ``match_fields`` (``email``,
      ``phone``) compared with the record; a temporary password goes to the
      address on record; one message whatever did not match;
    - ``admin_reset``: a page that tells the user who resets it (``instructions``).
    """

    kind: RecoveryKind = "email_link"
    match_fields: tuple[str, ...] = ()
    instructions: str = ""
    questions: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnrollmentFlow:
    """The space's enrollment (adhésion, création de compte, abonnement).

    ``kind`` is ``self_service`` (a), ``reviewed`` (b) or ``reviewed_printable`` (c),
    as SPEC CORE-7 names them. The core's enrollment screens use it.
    """

    kind: Literal["self_service", "reviewed", "reviewed_printable"]
    title: str = "Inscription"
    form: Any = None  # a Flask-WTF form class
    handler: Callable[..., Any] | None = None


# --------------------------------------------------------------------------
# Imports
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportColumn:
    """One column of an import file: its header (as the insurer's file names it),
    the key its value is passed under, its type and whether it is required."""

    header: str
    key: str
    type: Literal["text", "int", "decimal", "date", "bool"] = "text"
    required: bool = False


@dataclass(frozen=True)
class Importer:
    """A feed of the insurer's data (Excel .xlsx or CSV) into the plugin's tables (CORE-13).

    ``write(row)`` receives one checked row (keys of ``columns``, typed values)
    and inserts or updates it by ``key`` columns, inside the import's single
    transaction; raising ``ValueError`` rejects the row with its message.
    """

    insurer: str
    code: str
    title: str
    columns: tuple[ImportColumn, ...]
    key: tuple[str, ...]
    write: Callable[[dict[str, Any]], None]


# --------------------------------------------------------------------------
# The space
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Space:
    """A portal of one insurer for one kind of user, mounted at ``/<insurer>/<code>/``."""

    insurer: str
    code: str
    title: str
    insurer_name: str
    identifier_fields: tuple[IdentifierField, ...]
    password_policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    recovery: RecoveryMethod = field(default_factory=RecoveryMethod)
    enrollment: EnrollmentFlow | None = None
    profiles: tuple[Profile, ...] = ()
    menu: tuple[MenuItem, ...] = ()
    widgets: tuple[Widget, ...] = ()
    blueprint: "Blueprint | None" = None
    documents: tuple[Document, ...] = ()
    branding: Branding | None = None
    #: may a main account create sub-accounts (their passwords are e-mailed, SAFE-1)
    subaccounts: bool = True
    #: words that must not appear in a password (besides login and insurer)
    context_words: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """``insurer/code``: how accounts, audit events and config name the space."""
        return f"{self.insurer}/{self.code}"

    def login_of(self, values: dict[str, str]) -> str:
        """The account login made of the identifier fields' values, in order."""
        return "/".join(values[f.name] for f in self.identifier_fields if values.get(f.name))

    def profile_label(self, code: str) -> str:
        """The label of a profile code, or the code itself when unknown."""
        return next((p.label for p in self.profiles if p.code == code), code)


@dataclass(frozen=True)
class DemoAccount:
    """A demo login: the login form's field labels mapped to what to type."""

    fields: dict[str, str]
    password: str
    note: str = ""


@dataclass(frozen=True)
class DemoSpace:
    """What ``flask portal demo`` prints for one space."""

    space_key: str
    accounts: tuple[DemoAccount, ...] = ()
    enroll: dict[str, str] = field(default_factory=dict)
