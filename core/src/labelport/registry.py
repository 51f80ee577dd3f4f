"""The plugin manager: discovery through entry points, detection and routing."""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy

from labelport import hookspecs
from labelport.errors import AmbiguousFormatError, DetectionError, LabelportError, UnknownFormatError
from labelport.plugin import Detection, FormatInfo, Probe

ENTRY_POINT_GROUP = "labelport.formats"
#: comma-separated format ids that are not loaded
DISABLE_ENV = "LABELPORT_DISABLE_PLUGINS"


class Registry:
    """Installed format plugins. A host application may create its own instead of
    using the default one; ``load_entry_points=False`` gives an empty registry."""

    def __init__(self, *, load_entry_points: bool = True, disabled: set[str] | None = None):
        self.pm = pluggy.PluginManager("labelport")
        self.pm.add_hookspecs(hookspecs)
        if disabled is None:
            disabled = {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}
        self.disabled = disabled
        self._infos: dict[str, FormatInfo] = {}
        self._plugins: dict[str, object] = {}
        self.load_errors: dict[str, str] = {}
        # entry points are found at once but imported on first use: a conversion between two
        # known formats imports those two plugins, not every installed one
        self._pending: dict[str, Any] = {}
        if load_entry_points:
            for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                if ep.name not in self.disabled:
                    self._pending.setdefault(ep.name, ep)

    def _load(self, name: str) -> None:
        ep = self._pending.pop(name, None)
        if ep is None:
            return
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not break the others
            self.load_errors[ep.name] = f"{type(exc).__name__}: {exc}"
            return
        self.register(plugin, name=ep.name)

    def _load_all(self) -> None:
        for name in list(self._pending):
            self._load(name)

    def register(self, plugin: ModuleType | object, name: str | None = None) -> FormatInfo:
        """Register a plugin object or module; returns its format info."""
        info_impl = getattr(plugin, "labelport_format_info", None)
        if info_impl is None:
            raise LabelportError(f"plugin {plugin!r} has no labelport_format_info hook")
        info = info_impl()
        if name is not None and info.name != name:
            raise LabelportError(f"entry point {name!r} provides format {info.name!r}; the names must match")
        if info.name in self.disabled:
            return info
        self.pm.register(plugin, name=info.name)
        self._infos[info.name] = info
        self._plugins[info.name] = plugin
        return info

    # ----------------------------------------------------------------- queries

    def formats(self) -> list[FormatInfo]:
        self._load_all()
        return [self._infos[n] for n in sorted(self._infos)]

    def info(self, name: str) -> FormatInfo:
        self._load(name)
        try:
            return self._infos[name]
        except KeyError:
            self._load_all()
            installed = ", ".join(sorted(self._infos)) or "none"
            hint = f"; install it with: pip install labelport-{name.replace('_', '-')}"
            raise UnknownFormatError(f"unknown format {name!r} (installed: {installed}){hint}") from None

    def plugin(self, name: str) -> object:
        """The plugin object (module) providing format ``name``."""
        self.info(name)
        return self._plugins[name]

    def hook(self, name: str, format: str) -> Any:
        """The hook ``name`` of one format's plugin only."""
        self.info(format)
        others = [p for n, p in self._plugins.items() if n != format]
        return self.pm.subset_hook_caller(name, remove_plugins=others)

    def detect(self, probe: Probe) -> list[Detection]:
        """Every plugin's answer, best first."""
        self._load_all()
        found: list[Detection] = []
        for plugin in self._plugins.values():
            impl = getattr(plugin, "labelport_detect", None)
            if impl is None:
                continue
            try:
                result = impl(probe=probe)
            except LabelportError:
                result = None
            if result is not None:
                found.append(result)
        found.sort(key=lambda d: (-d.confidence, d.format))
        return found

    def choose(self, probe: Probe) -> str:
        """The one format for ``probe``, or a clear error."""
        found = self.detect(probe)
        if not found:
            installed = ", ".join(sorted(self._infos)) or "none"
            raise DetectionError(
                f"no installed format recognises this input (installed: {installed}); pass format=... "
                "or install the plugin for its format",
                file=probe.path,
            )
        top = [d for d in found if d.confidence == found[0].confidence]  # every plugin was asked
        if len(top) > 1:
            names = [d.format for d in top]
            raise AmbiguousFormatError(
                f"ambiguous input: {', '.join(names)} match equally well; choose one with --from/format=",
                candidates=names,
                file=probe.path,
            )
        return found[0].format


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def reset_default_registry() -> None:
    """Forget the loaded plugins (tests; after installing a plugin at run time)."""
    global _default
    _default = None
