"""Formats of the identifiers the CNSS portal checks (SPEC « FORMATS »), with French
messages: each ``*_error`` returns the message, or None when the value is right."""
from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

#: INPE (« Identifiant National »), of an establishment or a practitioner: 9 digits
INPE_PATTERN = r"\d{9}"
INPE_MESSAGE = "L'Identifiant National (INPE) compte 9 chiffres."
#: N° CNSS (immatriculation de l'assuré): 9 digits
CNSS_NUMBER_PATTERN = r"\d{9}"
CNSS_NUMBER_MESSAGE = "Le N° CNSS (immatriculation) compte 9 chiffres."
#: ICE (Identifiant Commun de l'Entreprise): 15 digits, the last 2 a check key
ICE_PATTERN = r"\d{15}"
ICE_MESSAGE = "L'Identifiant Commun de l'Entreprise (ICE) compte 15 chiffres."
ICE_KEY_MESSAGE = "L'Identifiant Commun de l'Entreprise (ICE) est erroné : la clé de contrôle ne correspond pas."
#: CNIE / CNI: 1 or 2 letters then digits, 5 to 8 characters in all
CNI_PATTERN = r"(?=.{5,8}\Z)[A-Z]{1,2}\d+"
CNI_MESSAGE = "Le N° de CNIE compte 1 ou 2 lettres suivies de chiffres, 5 à 8 caractères en tout."
#: carte de séjour: letters and digits, 6 to 12 characters
RESIDENCE_CARD_PATTERN = r"[A-Z0-9]{6,12}"
CNIE_OR_CARD_MESSAGE = (
    "Saisissez le N° de CNIE (1 ou 2 lettres puis des chiffres, 5 à 8 caractères) "
    "ou de carte de séjour (lettres et chiffres, 6 à 12 caractères)."
)


def _full(pattern: str, value: str) -> bool:
    # ASCII: \d is 0-9 only, never another script's digits
    return re.fullmatch(pattern, value, re.ASCII) is not None


def compact(value: str | None) -> str:
    """The value as typed, without spaces, upper-cased: « ab 12345 » → « AB12345 »."""
    return re.sub(r"\s+", "", value or "").upper()


def inpe_error(value: str) -> str | None:
    """The message when ``value`` is not an INPE (9 digits)."""
    return None if _full(INPE_PATTERN, value) else INPE_MESSAGE


def cnss_number_error(value: str) -> str | None:
    """The message when ``value`` is not a N° CNSS (9 digits)."""
    return None if _full(CNSS_NUMBER_PATTERN, value) else CNSS_NUMBER_MESSAGE


def ice_key(first_13: str) -> str:
    """The 2-digit check key of an ICE from its first 13 digits: the whole number is a
    multiple of 97 (ISO 7064 MOD 97-10 as the ICE applies it, e.g. 001561191000066)."""
    if not _full(r"\d{13}", first_13):
        raise ValueError("13 digits expected")
    return f"{(-int(first_13) * 100) % 97:02d}"


def ice_error(value: str) -> str | None:
    """The message when ``value`` is not a valid ICE: 15 digits whose last 2 are the key."""
    if not _full(ICE_PATTERN, value):
        return ICE_MESSAGE
    if int(value) % 97 != 0:
        return ICE_KEY_MESSAGE
    return None


def cni_error(value: str) -> str | None:
    """The message when ``value`` (upper-cased) is not a CNIE number."""
    return None if _full(CNI_PATTERN, value) else CNI_MESSAGE


def cnie_or_residence_card_error(value: str) -> str | None:
    """« CNIE / carte séjour »: either format is accepted (the director may be a foreigner)."""
    if _full(CNI_PATTERN, value) or _full(RESIDENCE_CARD_PATTERN, value):
        return None
    return CNIE_OR_CARD_MESSAGE


def field_check(error_of: Callable[[str], str | None], *, normalise: Callable[[str | None], str] = compact):
    """A WTForms validator from one of the ``*_error`` functions: the field's data is
    normalised (spaces removed, upper-cased) and an empty field is left to DataRequired."""

    def check(form, field) -> None:
        field.data = normalise(field.data)
        if field.data:
            message = error_of(field.data)
            if message:
                raise ValidationError(_l(message))

    return check
