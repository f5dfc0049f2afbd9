"""Builds the plugin manager of one application and the registry of its spaces."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType

import pluggy
from flask import Flask

from app.plugins import PROJECT, hookspecs
from app.plugins.types import Space

ENTRY_POINT_GROUP = "portal.plugins"


@dataclass
class Registry:
    """The enabled plugins and the spaces they declared, kept on ``app.extensions``."""

    pm: pluggy.PluginManager
    spaces: dict[str, Space] = field(default_factory=dict)
    blueprint_spaces: dict[str, Space] = field(default_factory=dict)
    plugin_spaces: dict[str, list[Space]] = field(default_factory=dict)

    def space(self, insurer: str, code: str) -> Space | None:
        """The space mounted at ``/<insurer>/<code>/``, or None."""
        return self.spaces.get(f"{insurer}/{code}")

    def insurers(self) -> list[str]:
        """The insurer codes of the enabled spaces, in declaration order."""
        return list(dict.fromkeys(s.insurer for s in self.spaces.values()))


def _available_plugins(app: Flask) -> dict[str, ModuleType]:
    """Plugins installed through the entry-point group, plus ``PLUGIN_MODULES``."""
    found: dict[str, ModuleType] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.load()
    for dotted in app.config.get("PLUGIN_MODULES") or ():
        module = importlib.import_module(dotted)
        found[getattr(module, "PLUGIN_NAME", dotted.rsplit(".", 1)[-1])] = module
    return found


def _as_list(value: object) -> list[str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]  # type: ignore[union-attr]


def build_registry(app: Flask) -> Registry:
    """Build the plugin manager, register the enabled plugins and collect their spaces."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    available = _available_plugins(app)
    wanted = _as_list(app.config.get("PLUGINS"))
    names = list(available) if wanted is None else wanted
    unknown = [n for n in names if n not in available]
    if unknown:
        raise RuntimeError(f"PORTAL_PLUGINS names unknown plugins: {', '.join(unknown)}")
    for name in names:
        pm.register(available[name], name=name)
    pm.check_pending()
    registry = Registry(pm=pm)
    # Each implementation is called on its own so that the registry knows which
    # plugin declared which space (for `flask portal plugins` and error messages).
    for impl in reversed(pm.hook.portal_spaces.get_hookimpls()):
        spaces = list(impl.function() or [])
        registry.plugin_spaces[impl.plugin_name] = spaces
        for space in spaces:
            if space.key in registry.spaces:
                raise RuntimeError(f"plugin {impl.plugin_name} declares the space {space.key} a second time")
            registry.spaces[space.key] = space
    return registry


def registry_of(app: Flask) -> Registry:
    """The registry built by ``create_app``."""
    return app.extensions["portal"]
