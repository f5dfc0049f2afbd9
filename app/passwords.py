"""Passwords and secret answers: argon2id hashing, the space's policy (CORE-6)
with the core's floor (SAFE-3), and temporary passwords (SAFE-1)."""
from __future__ import annotations

import gzip
import json
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error
from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from app.extensions import db
from app.models import Account, PasswordHistory, utcnow
from app.plugins.types import PasswordPolicy, Space

_COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"

#: words shorter than this are too frequent to be refused inside a password
_MIN_CONTEXT_WORD = 4
#: a trailing-digits stem of a common password is refused from this length on
_MIN_COMMON_STEM = 5
#: temporary passwords are never longer than this, however long the policy allows
_TEMPORARY_MAX_LENGTH = 16
#: draws before giving up on a policy so narrow that every password is common
_TEMPORARY_ATTEMPTS = 1000

#: letters and digits easy to read and copy from an e-mail (no 0/O/o, 1/l/I)
_CLEAR_LETTERS = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
_CLEAR_DIGITS = "23456789"
_ALL_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALL_DIGITS = "0123456789"

_DATE_YMD = re.compile(r"(\d{4})[-/. ](\d{1,2})[-/. ](\d{1,2})")
_DATE_DMY = re.compile(r"(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})")

#: argon2id with the library's defaults (RFC 9106 low-memory profile);
#: changing them makes ``needs_rehash`` true for older hashes
_default_hasher = PasswordHasher()


@cache
def _hasher_with(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def _hasher() -> PasswordHasher:
    """The hasher of the running application: ``ARGON2_PARAMETERS`` (time_cost,
    memory_cost in KiB, parallelism) when configured, else the library's defaults."""
    params = current_app.config.get("ARGON2_PARAMETERS") if has_app_context() else None
    if not params:
        return _default_hasher
    return _hasher_with(int(params["time_cost"]), int(params["memory_cost"]), int(params["parallelism"]))


# --------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """Hash ``password`` with argon2id (SAFE-3); the salt and parameters travel in the result."""
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``.

    Never raises: a missing, malformed or mismatching hash is simply False, so
    that callers cannot leak the difference through an error page.
    """
    if not stored_hash:
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (Argon2Error, ValueError, TypeError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other parameters than today's and
    should be replaced at the next successful login; an unreadable hash too."""
    try:
        return _hasher().check_needs_rehash(stored_hash)
    except (Argon2Error, ValueError, TypeError):
        return True


# --------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------


def _tighten_config() -> dict[str, Any]:
    """``PASSWORD_TIGHTEN`` as a dict; from the environment it may still be JSON text."""
    raw = current_app.config.get("PASSWORD_TIGHTEN") or {}
    if isinstance(raw, str):
        raw = json.loads(raw) if raw.strip() else {}
    if not isinstance(raw, dict):
        raise ValueError("PASSWORD_TIGHTEN must map space keys to bounds")
    return raw


def effective_policy(space: Space) -> PasswordPolicy:
    """The space's policy, made stricter by the deployment's ``PASSWORD_TIGHTEN``
    for ``space.key``. ``PasswordPolicy.tightened`` ignores any looser bound,
    so configuration can never weaken what the insurer requires (CORE-6)."""
    bounds = _tighten_config().get(space.key) or {}
    return space.password_policy.tightened(**bounds) if bounds else space.password_policy


# --------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One requirement shown next to the password field, and whether it holds.

    ``ok`` is None while nothing has been typed, then True or False.
    """

    code: str
    text: str
    ok: bool | None = None


def _length_text(policy: PasswordPolicy) -> str:
    """« Exactement 8 caractères » or « Entre 6 et 8 caractères »."""
    if policy.min_length == policy.max_length:
        return _("Exactement %(n)s caractères", n=policy.min_length)
    return _("Entre %(min)s et %(max)s caractères", min=policy.min_length, max=policy.max_length)


def rules_for(policy: PasswordPolicy) -> list[Rule]:
    """The rules that apply under ``policy``, not yet evaluated (``ok`` is None).

    Rules that cannot fail are left out (no digits rule without a minimum, no
    « previous » rule without history); the core's floor is always there.
    """
    rules = [Rule("length", _length_text(policy))]
    if policy.min_digits > 0:
        rules.append(
            Rule("digits", ngettext("Au moins %(num)s chiffre", "Au moins %(num)s chiffres", policy.min_digits))
        )
    if policy.min_letters > 0:
        rules.append(
            Rule("letters", ngettext("Au moins %(num)s lettre", "Au moins %(num)s lettres", policy.min_letters))
        )
    if policy.allowed:
        label = policy.allowed_label or _("Caractères autorisés : %(chars)s", chars=policy.allowed)
        rules.append(Rule("allowed", label))
    rules.append(Rule("common", _("Pas un mot de passe courant")))
    rules.append(Rule("context", _("Ne contient ni votre identifiant ni le nom de l'organisme")))
    if policy.history > 0:
        rules.append(Rule("previous", _("Différent de l'ancien mot de passe")))
    return rules


@cache
def _common_passwords() -> frozenset[str]:
    """The common-password list, lowercased, read once on first use."""
    with gzip.open(_COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def _is_common(password: str) -> bool:
    """True when the password, lowercased, is in the common list, or is a
    listed word of at least 5 characters followed by digits (« azerty2024 »)."""
    lowered = password.lower()
    common = _common_passwords()
    if lowered in common:
        return True
    stem = lowered.rstrip("0123456789")
    return stem != lowered and len(stem) >= _MIN_COMMON_STEM and stem in common


def _strip_accents(text: str) -> str:
    """``text`` without combining marks: « Sécurité » becomes « Securite »."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _date_variants(word: str) -> set[str]:
    """Digit-only spellings of a date: « 1985-03-02 » gives 19850302, 02031985, 020385."""
    found = _DATE_YMD.fullmatch(word)
    if found:
        year, month, day = found.groups()
    else:
        found = _DATE_DMY.fullmatch(word)
        if not found:
            return set()
        day, month, year = found.groups()
    day, month = day.zfill(2), month.zfill(2)
    return {f"{year}{month}{day}", f"{day}{month}{year}", f"{day}{month}{year[2:]}"}


def _word_variants(words: Iterable[str]) -> set[str]:
    """Each context word of at least 4 characters, lowercased, as typed, without
    accents, and spelled as digits when it is a date."""
    variants: set[str] = set()
    for word in words:
        word = str(word).strip().lower()
        if len(word) < _MIN_CONTEXT_WORD:
            continue
        variants |= {word, _strip_accents(word)} | _date_variants(word)
    return {v for v in variants if len(v) >= _MIN_CONTEXT_WORD}


def _contains_context(password: str, context_words: Iterable[str]) -> bool:
    """True when the password contains a context word (login, insurer, birth date…),
    ignoring case and accents."""
    lowered = password.lower()
    candidates = {lowered, _strip_accents(lowered)}
    return any(word in typed for word in _word_variants(context_words) for typed in candidates)


def _allowed_only(policy: PasswordPolicy, password: str) -> bool:
    """True when every character belongs to the policy's allowed class."""
    return not policy.allowed or re.fullmatch(f"(?:{policy.allowed})*", password) is not None


def _count_digits(password: str) -> int:
    """How many digits ``password`` holds (any script's decimal digits)."""
    return sum(c.isdecimal() for c in password)


def _count_letters(password: str) -> int:
    """How many letters ``password`` holds, accented ones included."""
    return sum(c.isalpha() for c in password)


def _matches_previous(password: str, previous_hashes: Iterable[str]) -> bool:
    """True when the password is one of the previous ones (one argon2 check per hash)."""
    return bool(password) and any(verify_password(h, password) for h in previous_hashes)


def _check(code: str, policy: PasswordPolicy, password: str, context_words: list[str],
           previous_hashes: list[str]) -> bool:
    """Whether ``password`` satisfies the rule named ``code`` under ``policy``."""
    checks = {
        "length": lambda: policy.min_length <= len(password) <= policy.max_length,
        "digits": lambda: _count_digits(password) >= policy.min_digits,
        "letters": lambda: _count_letters(password) >= policy.min_letters,
        "allowed": lambda: _allowed_only(policy, password),
        "common": lambda: not _is_common(password),
        "context": lambda: not _contains_context(password, context_words),
        "previous": lambda: not _matches_previous(password, previous_hashes),
    }
    return checks[code]()


def evaluate(
    policy: PasswordPolicy,
    password: str,
    *,
    context_words: Iterable[str] = (),
    previous_hashes: Iterable[str] = (),
) -> list[Rule]:
    """The rules of ``rules_for(policy)`` with ``ok`` set for ``password``.

    ``previous_hashes`` are the hashes it must differ from (see ``previous_hashes_for``);
    ``context_words`` the words it must not contain (see ``context_words_for``).
    """
    words, hashes = list(context_words), list(previous_hashes)
    return [
        Rule(rule.code, rule.text, _check(rule.code, policy, password, words, hashes))
        for rule in rules_for(policy)
    ]


def problems(
    policy: PasswordPolicy,
    password: str,
    *,
    context_words: Iterable[str] = (),
    previous_hashes: Iterable[str] = (),
) -> list[str]:
    """The texts of the rules ``password`` fails, as form errors; empty when it is acceptable."""
    rules = evaluate(policy, password, context_words=context_words, previous_hashes=previous_hashes)
    return [rule.text for rule in rules if not rule.ok]


# --------------------------------------------------------------------------
# What a given account's password is checked against
# --------------------------------------------------------------------------


def _split(text: str | None, separators: str) -> list[str]:
    """``text`` cut at any of the ``separators`` (a regex class), empty parts dropped."""
    return [part for part in re.split(separators, text or "") if part]


def context_words_for(space: Space, account: Account | None) -> list[str]:
    """The words the account's password must not contain (SAFE-3): its login and
    each part of it, its tenant reference, names, e-mail, the insurer's code and
    name, the space's own words and those of plugins (``portal_password_context``).
    Without an account (a page before login), the space's words only.
    Lowercased, deduplicated, 4 characters or more."""
    words: list[str] = [space.insurer, space.insurer_name, *_split(space.insurer_name, r"[\s'’\-]+")]
    words += list(space.context_words)
    if account is not None:
        login = account.login or ""
        email_local = (account.email or "").partition("@")[0]
        words += [login, *login.split("/"), account.tenant_ref or ""]
        words += [account.display_name or "", *_split(account.display_name, r"[\s'’\-]+")]
        words += [email_local, *_split(email_local, r"[._+\-]+")]
        pm = current_app.extensions["portal"].pm
        for extra in pm.hook.portal_password_context(space=space, account=account):
            words += [str(w) for w in extra or () if w is not None]
    cleaned = (str(w).strip().lower() for w in words)
    return list(dict.fromkeys(w for w in cleaned if len(w) >= _MIN_CONTEXT_WORD))


def previous_hashes_for(account: Account, policy: PasswordPolicy) -> list[str]:
    """The hashes a new password must differ from: the current one, then the
    latest ``policy.history - 1`` of the account's history."""
    if policy.history <= 0:
        return []
    hashes = [account.password_hash] if account.password_hash else []
    # after a temporary password the current hash is gone: the one before counts
    older = policy.history - len(hashes)
    if older > 0 and account.id is not None:
        query = (
            select(PasswordHistory.password_hash)
            .where(PasswordHistory.account_id == account.id)
            .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc())
            .limit(older)
        )
        hashes += list(db.session.scalars(query))
    return hashes


def set_password(account: Account, password: str, *, must_change: bool = False) -> None:
    """Give the account a new password, keeping the old hash in its history.

    ``must_change`` marks a temporary password (SAFE-1). The caller commits,
    and ends the other sessions (SAFE-5). An account not yet flushed has no
    id, hence no history to keep.
    """
    if account.password_hash and account.id is not None:
        db.session.add(PasswordHistory(account_id=account.id, password_hash=account.password_hash))
    account.password_hash = hash_password(password)
    account.password_changed_at = utcnow()
    account.must_change_password = must_change


# --------------------------------------------------------------------------
# Secret answers
# --------------------------------------------------------------------------


def normalise_answer(answer: str) -> str:
    """The answer as compared: « Élève  de CASA » and « eleve de casa » are the same
    answer, so that a user is not refused over case, accents or spaces (SAFE-2)."""
    return " ".join(_strip_accents(answer).casefold().split())


def hash_answer(answer: str) -> str:
    """Hash the normalised answer with argon2id, like a password."""
    return hash_password(normalise_answer(answer))


def verify_answer(stored_hash: str, answer: str) -> bool:
    """True when ``answer``, normalised, matches ``stored_hash``; never raises."""
    return verify_password(stored_hash, normalise_answer(answer))


# --------------------------------------------------------------------------
# Temporary passwords
# --------------------------------------------------------------------------


def _allowed_chars(policy: PasswordPolicy, clear: str, full: str) -> str:
    """The characters of ``clear`` the policy allows, or of ``full`` when it allows none of them."""
    for alphabet in (clear, full):
        allowed = "".join(c for c in alphabet if _allowed_only(policy, c))
        if allowed:
            return allowed
    return ""


def generate_temporary_password(policy: PasswordPolicy) -> str:
    """A random password (``secrets``) that satisfies ``policy``, to send by e-mail (SAFE-1).

    Letters and digits only, avoiding look-alikes; as long as the policy allows
    up to 16 characters; at least 2 digits and 2 letters when they fit; never a
    common password. Raises ValueError for a policy that no letters-and-digits
    password can satisfy.
    """
    letters = _allowed_chars(policy, _CLEAR_LETTERS, _ALL_LETTERS)
    digits = _allowed_chars(policy, _CLEAR_DIGITS, _ALL_DIGITS)
    need_letters, need_digits = policy.min_letters, policy.min_digits
    length = max(min(policy.max_length, _TEMPORARY_MAX_LENGTH), policy.min_length, need_letters + need_digits)
    if (
        length > policy.max_length
        or not (letters or digits)
        or (need_letters and not letters)
        or (need_digits and not digits)
    ):
        raise ValueError("no letters-and-digits password satisfies this policy")
    # the core's own preference, 2 of each, where the length leaves room for it
    if digits:
        need_digits = max(need_digits, min(2, length - need_letters))
    if letters:
        need_letters = max(need_letters, min(2, length - need_digits))
    rng = secrets.SystemRandom()
    for _attempt in range(_TEMPORARY_ATTEMPTS):
        chars = [secrets.choice(letters) for _i in range(need_letters)]
        chars += [secrets.choice(digits) for _i in range(need_digits)]
        chars += [secrets.choice(letters + digits) for _i in range(length - len(chars))]
        rng.shuffle(chars)
        password = "".join(chars)
        if not _is_common(password):
            return password
    raise ValueError("this policy only leaves common passwords")
