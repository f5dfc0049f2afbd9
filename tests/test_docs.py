"""Meta-tests: every hook of ``app/plugins/hookspecs.py`` is documented in
``docs/plugins.md`` (and nothing else poses as a hook there), and every hook's
docstring states its parameters and, when it returns something, ``:returns:``."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from app.plugins import hookspecs

ROOT = Path(__file__).resolve().parent.parent
PLUGINS_DOC = ROOT / "docs" / "plugins.md"
HOOKS_HEADING = "## Hooks"


def hooks() -> dict[str, object]:
    """The hook specifications, by name (pluggy marks each with ``portal_spec``)."""
    return {
        name: obj
        for name, obj in sorted(vars(hookspecs).items())
        if inspect.isfunction(obj) and hasattr(obj, "portal_spec")
    }


def signature_of(hook) -> str:
    """``portal_x(a: A, b: B) -> R`` as written in hookspecs.py (annotations are strings there)."""
    sig = inspect.signature(hook)
    params = []
    for p in sig.parameters.values():
        text = f"{p.name}: {p.annotation}" if p.annotation is not p.empty else p.name
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        params.append(text)
    return f"{hook.__name__}({', '.join(params)}) -> {sig.return_annotation}"


def returns_something(hook) -> bool:
    annotation = inspect.signature(hook).return_annotation
    return annotation not in (inspect.Signature.empty, None, "None")


def doc() -> str:
    return PLUGINS_DOC.read_text(encoding="utf-8")


def sections(text: str) -> dict[str, str]:
    """Each ``### heading`` of the document mapped to its text, up to the next heading of level 2 or 3."""
    found: dict[str, str] = {}
    parts = re.split(r"^(#{2,3} .*)$", text, flags=re.M)
    for heading, body in zip(parts[1::2], parts[2::2]):
        if heading.startswith("### "):
            found[heading[4:].strip()] = body
    return found


def hook_sections(text: str) -> list[str]:
    """The ``###`` headings of the « Hooks » chapter, and any ``### portal_…`` elsewhere."""
    names: list[str] = []
    in_hooks = False
    for line in text.splitlines():
        if line.startswith("## "):
            in_hooks = line.strip() == HOOKS_HEADING
        elif line.startswith("### "):
            title = line[4:].strip()
            if in_hooks or title.startswith("portal_"):
                names.append(title)
    return names


def test_the_plugin_guide_has_a_hooks_chapter():
    assert HOOKS_HEADING in doc().splitlines(), f"docs/plugins.md needs a « {HOOKS_HEADING} » chapter"


def test_hookspecs_declares_hooks():
    assert hooks(), "no hook found in app/plugins/hookspecs.py"


def test_every_hook_has_a_section_in_the_plugin_guide():
    documented = set(hook_sections(doc()))
    missing = [name for name in hooks() if name not in documented]

    assert not missing, f"hooks without a « ### <hook> » section in docs/plugins.md: {missing}"


def test_every_hook_section_names_an_existing_hook():
    unknown = [title for title in hook_sections(doc()) if title not in hooks()]

    assert not unknown, f"docs/plugins.md documents hooks that hookspecs.py does not declare: {unknown}"


def test_no_hook_is_documented_twice():
    titles = hook_sections(doc())

    assert len(titles) == len(set(titles)), "a hook has two sections in docs/plugins.md"


@pytest.mark.parametrize("name", list(hooks()))
def test_hook_section_gives_the_signature_firstresult_and_an_example(name):
    hook = hooks()[name]
    body = sections(doc())[name]

    assert signature_of(hook) in body, f"the section of {name} must show `{signature_of(hook)}`"
    firstresult = "yes" if hook.portal_spec.get("firstresult") else "no"
    assert re.search(rf"\*\*firstresult:\*\* {firstresult}\b", body), f"the section of {name} must say firstresult: {firstresult}"
    assert "```python" in body and "@hookimpl" in body, f"the section of {name} needs an example implementation"
    if returns_something(hook):
        assert "**Returns:**" in body, f"the section of {name} must give the exact return shape"


@pytest.mark.parametrize("name", list(hooks()))
def test_hook_docstring_states_params_and_returns(name):
    hook = hooks()[name]
    docstring = inspect.getdoc(hook) or ""

    assert docstring, f"{name} has no docstring"
    for param in inspect.signature(hook).parameters:
        assert f":param {param}:" in docstring, f"{name}'s docstring does not describe {param}"
    if returns_something(hook):
        assert ":returns:" in docstring, f"{name} returns something but its docstring has no :returns:"
    else:
        assert ":returns:" not in docstring, f"{name} returns nothing but its docstring has :returns:"


@pytest.mark.parametrize("name", list(hooks()))
def test_hook_is_fully_typed(name):
    sig = inspect.signature(hooks()[name])

    assert sig.return_annotation is not sig.empty, f"{name} has no return annotation"
    untyped = [p.name for p in sig.parameters.values() if p.annotation is p.empty]
    assert not untyped, f"{name} has untyped parameters: {untyped}"
