"""The data that plugin hooks return: frozen dataclasses that the core renders.

A plugin never returns HTML to the core; it describes its spaces with these
types and the core builds the screens, menus and e-mails from them.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:  # pragma: no cover
    from flask import Blueprint

    from app.models import Account

# --------------------------------------------------------------------------
# Login and identity
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentifierField:
    """One field of a space's login form (« Identifiant National », « Matricule » …).

    ``pattern`` is a full-match regular expression checked on the server;
    ``message`` is the French error shown next to the field when it fails.
    ``choices`` turns the field into a select of (value, label) pairs, or
    into radio buttons with ``widget="radio"`` (« Profil » : PEC / Paiements).
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
    #: how a field with ``choices`` is shown: a select, or one radio button per choice
    widget: Literal["select", "radio"] = "select"

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


EnrollmentKind = Literal["self_service", "reviewed", "reviewed_printable"]

#: values of an enrollment form, by field name, as stored: str, bool, list,
#: dates as ISO strings (``YYYY-MM-DD``); never a password nor a secret answer
EnrollmentValues = Mapping[str, Any]


@dataclass(frozen=True)
class EnrollmentSection:
    """A titled part of an enrollment form (« Vos informations personnelles »,
    « Personne DELEGUEE »): a ``<fieldset>`` holding ``fields``, by name."""

    title: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class EnrollmentStep:
    """One page of an enrollment: a Flask-WTF form class (``form``), shown in
    ``sections`` when given (fields in no section come after them)."""

    form: type
    title: str = ""
    sections: tuple[EnrollmentSection, ...] = ()
    intro: str = ""
    #: the button's label; default « Suivant », on the last step « Confirmer »
    submit_label: str = ""


@dataclass(frozen=True)
class EnrollmentFlow:
    """The space's enrollment (« Création de compte », « Nouvelle adhésion »,
    « Abonnement »), served by the core at ``/<insurer>/<space>/enroll`` (CORE-7).

    ``kind``: ``self_service`` (a: an inactive account with the chosen password
    and an e-mailed activation link), ``reviewed`` (b: a request an agent
    approves or rejects; credentials e-mailed on approval) or
    ``reviewed_printable`` (c: as b, with a PDF the applicant signs and
    deposits; the agent records its reception before deciding).

    ``steps`` are the pages, in order. ``identifier`` names the field that
    identifies the applicant (INPE, matricule, N° adhérent): one pending
    request per identifier, none once it has an account. ``check(values)``
    returns ``(field, message)`` pairs for what the insurer's data refutes,
    called after each step with the values so far. ``prefill(values)`` gives
    defaults of the next steps' fields. ``handler(values)`` returns the new,
    unsaved ``Account`` objects (logins, tenant reference, names, profiles;
    the first is the main one) on submission (a) or approval (b, c).
    ``email_field`` names the applicant's e-mail field. ``printable``: for
    (c), the PDF template (or a callable choosing it from the values).
    Fields named ``new_password``/``confirmation`` (a chosen password) and
    ``secret_question``/``secret_answer`` are read by the core and never stored
    in clear (``app.enrollment.forms`` has them as mixins).
    """

    kind: EnrollmentKind
    title: str
    steps: tuple[EnrollmentStep, ...]
    identifier: str
    handler: Callable[[EnrollmentValues], list[Account]]
    check: Callable[[EnrollmentValues], list[tuple[str, str]]] | None = None
    prefill: Callable[[EnrollmentValues], Mapping[str, Any]] | None = None
    email_field: str = "email"
    printable: str | Callable[[EnrollmentValues], str] | None = None
    #: shown once the request is sent (where to deposit the form, how long it takes)
    instructions: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("self_service", "reviewed", "reviewed_printable"):
            raise ValueError(f"unknown enrollment kind: {self.kind}")
        if not self.steps:
            raise ValueError("an enrollment flow needs at least one step")
        # the fields the core reads must exist: a plugin's slip shows at start-up, not to an applicant
        for name in (self.identifier, self.email_field):
            if not any(hasattr(step.form, name) for step in self.steps):
                raise ValueError(f"enrollment « {self.title} »: no step has the field {name!r}")
        if self.kind == "self_service" and not hasattr(self.steps[-1].form, "new_password"):
            raise ValueError(f"enrollment « {self.title} »: self-service needs the ChosenPassword fields on the last step")

    @property
    def reviewed(self) -> bool:
        """True when an agent decides (b, c): the request is stored and queued."""
        return self.kind != "self_service"

    @property
    def printable_form(self) -> bool:
        """True when the applicant prints, signs and deposits the form (c)."""
        return self.kind == "reviewed_printable"

    def printable_template(self, values: EnrollmentValues) -> str:
        """The PDF template of the request: the flow's, or the core's generic form."""
        if callable(self.printable):
            return self.printable(values)
        return self.printable or "enrollment/printable.html"


@dataclass(frozen=True)
class ResetRequestFlow:
    """« Réinitialisation de compte » (CORE-11): the holder of a main
    account asks, at ``/<insurer>/<space>/reset-request``, for a new password
    and new contact details (« N° GSM », « Email »); the core stores the request,
    offers the filled form to print, sign and deposit, and an agent processes it
    in the back office like a printable enrollment (reception, then approval or
    rejection). On approval the accounts get the request's e-mail and GSM on
    record and a temporary password (SAFE-1) at that address.

    ``identifier`` names the space's identifier field asked (default: the
    first one); its value is the accounts' ``tenant_ref``. ``accounts(identifier)``
    returns the accounts the request resets; ``None``: the space's main accounts
    whose ``tenant_ref`` is the identifier. ``printable``: the PDF template,
    ``None`` for the core's ``enrollment/reset_printable.html``.
    ``instructions``: where to deposit the form and what to join to it.
    ``on_approved(values, accounts)``, when given, runs in the approval's
    transaction after the accounts were updated: the plugin brings its own
    records in line (the insurer's registry of contact details).
    """

    title: str = "Réinitialisation de compte"
    printable: str | None = None
    instructions: str = ""
    identifier: str | None = None
    accounts: Callable[[str], list[Account]] | None = None
    on_approved: Callable[[EnrollmentValues, list[Account]], None] | None = None

    #: a reset request is always reviewed, with a form to deposit (the seed's flow)
    reviewed = True
    printable_form = True

    def printable_template(self, values: EnrollmentValues) -> str:
        """The PDF template of the request: the flow's, or the core's generic reset form."""
        return self.printable or "enrollment/reset_printable.html"


# --------------------------------------------------------------------------
# Imports
# --------------------------------------------------------------------------


ImportType = Literal["text", "int", "decimal", "date", "bool"]


@dataclass(frozen=True)
class ImportColumn:
    """One column of an import file: its header (as the insurer's file names it),
    the key its value is passed under, its type and whether it is required.

    The core checks each cell (``app.imports``): ``text`` trimmed, at most
    ``max_length`` characters, matching ``pattern`` (full match; ``message``
    is the French error; one of ``choices`` when given, whatever its case,
    accents and spaces, and then spelt as in ``choices``); ``int``; ``decimal`` (« 1 250,50 » or 1250.5, two
    decimals at most, never negative unless ``negative``); ``date``
    (jj/mm/aaaa, aaaa-mm-jj or a real Excel date); ``bool`` (oui / non).
    ``help`` is shown in the template's sheet that explains the columns."""

    header: str
    key: str
    type: ImportType = "text"
    required: bool = False
    max_length: int | None = None
    pattern: str | None = None
    message: str | None = None
    negative: bool = False
    help: str = ""
    #: the values a ``text`` column admits (« Dossier payé », « Dossier annulé » …)
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Importer:
    """A feed of the insurer's data (Excel .xlsx or CSV) into the plugin's tables (CORE-13).

    ``write(row)`` receives one checked row (every key of ``columns``, typed
    values: ``str``, ``int``, ``Decimal``, ``date``, ``bool``; ``None`` for an
    empty cell or an absent optional column) and inserts or updates it by the
    ``key`` columns (``app.imports.upsert`` does it in one statement), inside
    the import's single transaction: it never commits. Raising ``ValueError``
    rejects the row with its (French) message, and then the whole file.
    ``key`` columns must be required; a key twice in one file is an error.
    """

    insurer: str
    code: str
    title: str
    columns: tuple[ImportColumn, ...]
    key: tuple[str, ...]
    write: Callable[[dict[str, Any]], None]
    #: one line shown under the title on the back office's « Imports » page
    description: str = ""


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
    #: « Réinitialisation de compte »: requests processed by an agent, linked from the login page
    reset_request: ResetRequestFlow | None = None
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
    #: progressive login: the page first asks the first identifier field only; the
    #: rest of the form appears (HTMX) once its value has a valid format — never
    #: whether an account exists. Without JavaScript the whole form is there.
    login_reveal: bool = False
    #: « Nature de compte » (« Principal » / « Secondaire ») on the login form; the
    #: sub-account's identifier is asked, and required, for « Secondaire » only
    account_nature: bool = False
    #: the identifier field whose value is a profile code (one main account per
    #: profile, sharing the tenant): sub-accounts then belong to the tenant, every
    #: active main account of it manages them, they may hold the profiles of all
    #: of them and log in as « <other identifiers>/<sous_compte> » with a chosen
    #: profile among their own
    profile_field: str | None = None

    def __post_init__(self) -> None:
        # a plugin's slip shows at start-up, not on a user's login page
        if self.account_nature and not self.subaccounts:
            raise ValueError(f"space {self.insurer}/{self.code}: account_nature needs subaccounts=True")
        if self.profile_field is not None:
            spec = next((f for f in self.identifier_fields if f.name == self.profile_field), None)
            if spec is None:
                raise ValueError(f"space {self.insurer}/{self.code}: profile_field names no identifier field")
            if not spec.choices or {code for code, _ in spec.choices} != {p.code for p in self.profiles}:
                raise ValueError(
                    f"space {self.insurer}/{self.code}: the choices of profile_field {spec.name!r} must be the profile codes"
                )
            if not self.subaccounts:
                raise ValueError(f"space {self.insurer}/{self.code}: profile_field needs subaccounts=True")

    @property
    def key(self) -> str:
        """``insurer/code``: how accounts, audit events and config name the space."""
        return f"{self.insurer}/{self.code}"

    def login_of(self, values: dict[str, str]) -> str:
        """The account login made of the identifier fields' values, in order."""
        return "/".join(values[f.name] for f in self.identifier_fields if values.get(f.name))

    def login_without_profile(self, login: str) -> str:
        """A main account's login without the ``profile_field`` value
        (« 123456789/PEC » → « 123456789 »): the stem of its tenant's sub-accounts."""
        names = [f.name for f in self.identifier_fields]
        parts = login.split("/")
        if self.profile_field is None or len(parts) != len(names):
            return login
        del parts[names.index(self.profile_field)]
        return "/".join(parts)

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
