"""Every user-facing string of the core goes through Flask-Babel, so that adding
a language is a catalogue, not a rewrite."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"

JINJA = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}", re.S)
#: a stylesheet or a script in a template (a PDF's own CSS) is no text a reader sees
STYLE_OR_SCRIPT = re.compile(r"<(style|script)\b.*?</\1\s*>", re.S | re.I)
TAG = re.compile(r"<[^>]+>", re.S)
ENTITY = re.compile(r"&[a-z]+;|&#\d+;")


def _bare_text(source: str) -> list[str]:
    """Text a reader would see that is not produced by a Jinja expression."""
    text = TAG.sub(" ", STYLE_OR_SCRIPT.sub(" ", JINJA.sub(" ", source)))
    text = ENTITY.sub(" ", text)
    return [chunk for chunk in re.split(r"\s{2,}|\n", text) if re.search(r"[A-Za-zÀ-ÿ]{2,}", chunk)]


def test_core_templates_have_no_text_outside_gettext():
    offenders = {}
    for path in TEMPLATES.rglob("*"):
        if path.suffix not in (".html", ".txt"):
            continue
        bare = _bare_text(path.read_text(encoding="utf-8"))
        if bare:
            offenders[str(path.relative_to(ROOT))] = bare
    assert offenders == {}


def test_plugin_templates_have_no_text_outside_gettext():
    offenders = {}
    for path in (ROOT / "plugins").glob("*/templates/**/*"):
        if path.suffix not in (".html", ".txt"):
            continue
        bare = _bare_text(path.read_text(encoding="utf-8"))
        if bare:
            offenders[str(path.relative_to(ROOT))] = bare
    assert offenders == {}


def test_messages_of_the_core_are_extracted_for_translation():
    method_map = [("app/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
    messages = {
        message
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords={"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
        )
    }
    for expected in (
        "Identifiant ou mot de passe incorrect.",
        "Mot de passe oublié ?",
        "Modification du mot de passe",
        "Mot de passe actuel",
        "Nouveau mot de passe",
        "Confirmation du mot de passe",
        "Trop de tentatives",
    ):
        assert expected in messages
