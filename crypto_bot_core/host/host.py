"""The plugin host: discovers, checks, loads and registers plugins, then hands out components.

Loading one plugin is a pipeline that stops at the first failed step, and each
step runs only when the previous ones passed, so code of a plugin that cannot
run is never imported:

1. reserved names: a plugin of another distribution named like a built-in of
   crypto-bot-core is refused, and the built-in kept (see :mod:`.reserved`);
2. selection: ``CRYPTOBOT_PLUGINS`` / ``CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD``;
3. duplicates: the same plugin name from two distributions refuses *both*
   (which one would win depends on install order, so neither does);
4. manifest: located and validated without importing (see :mod:`.discovery`);
5. compatibility: SDK API and core version ranges; then the manifest's version
   must be the distribution's and its capabilities ones this host knows;
6. import of the entry point's module;
7. pluggy registration, hook validation (every ``cryptobot_*`` implementation
   matches a spec; ``cryptobot_components`` is present);
8. contract checks of the returned components (see :mod:`.contract_checks`):
   each capability of a declared kind, its methods counting only if really
   implemented.

A refusal becomes a :class:`PluginRecord` with status ``refused``, a reason that
names plugin and distribution, and a remedy; the host carries on with the rest.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pluggy

from crypto_bot_core._version import __version__
from crypto_bot_core.host.contract_checks import check_components, manifest_problems
from crypto_bot_core.host.discovery import PluginCandidate, discover, locate_manifest
from crypto_bot_core.host.fence import Fence
from crypto_bot_core.host.hooks import COMPONENTS_HOOK, notify, verify_hooks
from crypto_bot_core.host.records import ComponentInfo, PluginRecord, PluginStatus, remedy_for
from crypto_bot_core.host.registry import ComponentRegistry, UnknownComponentError
from crypto_bot_core.host.reserved import ReservedPluginNameError, reserved_name_problem
from crypto_bot_core.host.selection import PLUGINS_ENV, Selection, selection_from_env
from crypto_bot_sdk import (
    API_VERSION,
    PROJECT_NAME,
    DuplicatePluginError,
    IncompatiblePluginError,
    Manifest,
    ManifestError,
    PluginContractError,
    PluginError,
    PluginKind,
    PluginLoadError,
    compatibility_problems,
    hookspecs,
)


def _named(error: PluginError, plugin: str, distribution: str | None) -> PluginError:
    """``error`` re-made with the plugin and distribution in its message."""
    return type(error)(error.reason, plugin=plugin, distribution=distribution)


class Host:
    """One set of loaded plugins. Build it, call :meth:`load`, then ask for components.

    ``paths``: directories to discover distributions in instead of ``sys.path``
    (a ``pip install --target`` directory, for instance); they are put at the
    front of ``sys.path`` when a plugin from them is imported, as ``PYTHONPATH``
    would. ``only`` / ``autoload`` override the environment switches; ``environ``
    defaults to ``os.environ``.
    """

    def __init__(
        self,
        *,
        paths: Sequence[str | Path] | None = None,
        only: Iterable[str] | None = None,
        autoload: bool | None = None,
        environ: Mapping[str, str] | None = None,
        core_version: str = __version__,
        api_version: str = API_VERSION,
    ) -> None:
        self.selection: Selection = selection_from_env(
            os.environ if environ is None else environ, only=only, autoload=autoload
        )
        self.paths = [str(p) for p in paths] if paths is not None else None
        self.core_version = core_version
        self.api_version = api_version
        self._pm = pluggy.PluginManager(PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._records: list[PluginRecord] = []
        self._registry = ComponentRegistry()
        self._fences: dict[str, Fence] = {}
        self._loaded = False

    # --- loading -------------------------------------------------------------

    def load(self) -> Host:
        """Discover and load entry-point plugins once; returns ``self`` for chaining."""
        if self._loaded:
            raise RuntimeError("Host.load() was already called; build a new Host to reload")
        self._loaded = True
        by_name: dict[str, list[PluginCandidate]] = {}
        for candidate in discover(self.paths):
            by_name.setdefault(candidate.name, []).append(candidate)
        for name, group in sorted(by_name.items()):
            # A newcomer using a built-in's name is refused whatever the selection says
            # (the name is reserved, not merely taken); the built-in goes on as usual.
            rest: list[PluginCandidate] = []
            for candidate in group:
                if reserved_name_problem(name, candidate.distribution):
                    self._refuse_reserved(name, candidate)
                else:
                    rest.append(candidate)
            disabled = self.selection.disabled_reason(name)
            if not rest:
                continue
            if disabled:  # left alone on purpose, so duplicates do not matter either
                for candidate in rest:
                    self._disable(candidate, disabled)
            elif len(rest) > 1:
                self._refuse_duplicates(name, rest)
            else:
                self._load_candidate(rest[0])
        for missing in sorted(self.selection.wanted() - by_name.keys()):
            self._add(
                PluginRecord(
                    name=missing,
                    status=PluginStatus.REFUSED,
                    reason=f"named in {PLUGINS_ENV} but no installed distribution provides it",
                    message=f"plugin {missing}: named in {PLUGINS_ENV} but not installed",
                    remedy=f"install the plugin's distribution or fix the name in {PLUGINS_ENV}",
                )
            )
        return self

    def register_plugin(
        self,
        plugin: object,
        manifest: Manifest | Mapping[str, Any],
        *,
        distribution: str | None = None,
    ) -> PluginRecord:
        """Load a plugin object given in code (tests, embedding); raises its refusal.

        The same checks run as for discovered plugins, except discovery and
        selection: registering in code is already an explicit choice.
        """
        if not isinstance(manifest, Manifest):
            manifest = Manifest.from_mapping(manifest, source="manifest given in code")
        return self._check_and_register(
            manifest.name,
            manifest,
            lambda: plugin,
            distribution=distribution,
            distribution_version=None,
            entry_point=None,
            manifest_path=None,
        )

    def _disable(self, candidate: PluginCandidate, reason: str) -> None:
        manifest: Manifest | None = None
        path: Path | None = None
        with contextlib.suppress(ManifestError):  # shown when readable; never required
            path = locate_manifest(candidate, self.paths)
            manifest = Manifest.from_path(path)
        self._add(
            PluginRecord(
                name=candidate.name,
                status=PluginStatus.DISABLED,
                distribution=candidate.distribution,
                distribution_version=candidate.distribution_version,
                entry_point=candidate.value,
                manifest=manifest,
                manifest_path=str(path) if manifest is not None else None,
                reason=reason,
            )
        )

    def _load_candidate(self, candidate: PluginCandidate) -> None:
        try:
            path = locate_manifest(candidate, self.paths)
            manifest = Manifest.from_path(path)
        except ManifestError as exc:
            self._refuse(
                exc,
                name=candidate.name,
                distribution=candidate.distribution,
                distribution_version=candidate.distribution_version,
                entry_point=candidate.value,
            )
            return
        with contextlib.suppress(PluginError):  # recorded as refused; carry on with the rest
            self._check_and_register(
                candidate.name,
                manifest,
                candidate.entry_point.load,
                distribution=candidate.distribution,
                distribution_version=candidate.distribution_version,
                entry_point=candidate.value,
                manifest_path=str(path),
            )

    def _check_and_register(
        self,
        name: str,
        manifest: Manifest,
        importer: Callable[[], object],
        *,
        distribution: str | None,
        distribution_version: str | None,
        entry_point: str | None,
        manifest_path: str | None,
    ) -> PluginRecord:
        """Steps 3 to 7 for one plugin; a refusal is recorded, then raised (named)."""
        base: dict[str, Any] = {
            "name": name,
            "distribution": distribution,
            "distribution_version": distribution_version,
            "entry_point": entry_point,
            "manifest": manifest,
            "manifest_path": manifest_path,
        }
        try:
            if manifest.name != name:
                raise ManifestError(
                    f"the entry point is named {name!r} but manifest.json names the plugin "
                    f"{manifest.name!r}; the two must be equal"
                )
            reserved = reserved_name_problem(name, distribution)
            if reserved is not None:
                raise ReservedPluginNameError(reserved)
            existing = self._loaded_record(name)
            if existing is not None:
                raise DuplicatePluginError(
                    f"the name is already taken by the loaded plugin from "
                    f"{existing.distribution or 'code'}; plugin names must be unique"
                )
            problems = compatibility_problems(
                manifest, core_version=self.core_version, api_version=self.api_version
            )
            if problems:
                raise IncompatiblePluginError("; ".join(problems))
            # After the API range: a plugin built for a newer API is "too new", not "unknown".
            problems = manifest_problems(manifest, distribution_version)
            if problems:
                raise ManifestError("; ".join(problems))
            plugin_object = self._import(importer, entry_point)
            components = self._register(name, plugin_object, manifest, distribution)
        except PluginError as exc:
            raise self._refuse(exc, **base) from exc
        record = PluginRecord(status=PluginStatus.LOADED, components=components, **base)
        self._add(record)
        return record

    def _import(self, importer: Callable[[], object], entry_point: str | None) -> object:
        if self.paths:
            self._ensure_on_sys_path()
        try:
            return importer()
        except (Exception, SystemExit) as exc:
            raise PluginLoadError(
                f"importing {entry_point or 'the plugin'} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def _ensure_on_sys_path(self) -> None:
        added = False
        for path in reversed(self.paths or ()):
            if path not in sys.path:
                sys.path.insert(0, path)
                added = True
        if added:
            importlib.invalidate_caches()

    def _register(
        self, name: str, plugin: object, manifest: Manifest, distribution: str | None
    ) -> tuple[ComponentInfo, ...]:
        try:
            self._pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginContractError(f"hook validation failed: {exc}") from exc
        except ValueError as exc:
            raise PluginContractError(f"cannot register the plugin object: {exc}") from exc
        try:
            impl = verify_hooks(self._pm, plugin, provides_components=bool(manifest.kinds))
            try:
                returned = impl.function() if impl is not None else ()
            except (Exception, SystemExit) as exc:
                raise PluginLoadError(
                    f"{COMPONENTS_HOOK}() raised {type(exc).__name__}: {exc}"
                ) from exc
            components = check_components(name, manifest, returned)
            for component in components:
                self._registry.add(component)
        except PluginError:
            self._unregister(name, plugin)
            raise
        except ValueError as exc:  # an address clash in the registry
            self._unregister(name, plugin)
            raise PluginContractError(str(exc)) from exc
        return components

    def _unregister(self, name: str, plugin: object) -> None:
        if self._pm.get_plugin(name) is plugin:
            self._pm.unregister(plugin=plugin, name=name)
        self._registry.remove_plugin(name)

    def _refuse_duplicates(self, name: str, group: list[PluginCandidate]) -> None:
        dists = ", ".join(f"{c.distribution} {c.distribution_version}" for c in group)
        for candidate in group:
            manifest: Manifest | None = None
            with contextlib.suppress(ManifestError):  # shown when readable; never required
                manifest = Manifest.from_path(locate_manifest(candidate, self.paths))
            self._refuse(
                DuplicatePluginError(
                    f"{len(group)} installed distributions provide a plugin named {name!r} "
                    f"({dists}); none of them is loaded"
                ),
                name=name,
                distribution=candidate.distribution,
                distribution_version=candidate.distribution_version,
                entry_point=candidate.value,
                manifest=manifest,
            )

    def _refuse_reserved(self, name: str, candidate: PluginCandidate) -> None:
        problem = reserved_name_problem(name, candidate.distribution)
        assert problem is not None
        manifest: Manifest | None = None
        with contextlib.suppress(ManifestError):  # shown when readable; never required
            manifest = Manifest.from_path(locate_manifest(candidate, self.paths))
        self._refuse(
            ReservedPluginNameError(problem),
            name=name,
            distribution=candidate.distribution,
            distribution_version=candidate.distribution_version,
            entry_point=candidate.value,
            manifest=manifest,
        )

    def _refuse(self, error: PluginError, **fields: Any) -> PluginError:
        """Record a refusal; returns the error re-made to name plugin and distribution."""
        named = _named(error, fields["name"], fields.get("distribution"))
        self._add(
            PluginRecord(
                status=PluginStatus.REFUSED,
                reason=named.reason,
                message=str(named),
                remedy=remedy_for(named, module=(fields.get("entry_point") or "").split(":")[0]),
                **fields,
            )
        )
        return named

    def _add(self, record: PluginRecord) -> None:
        self._records.append(record)
        if record.status is PluginStatus.LOADED:
            self._fences[record.name] = Fence(record.name, record.distribution)

    def _loaded_record(self, name: str) -> PluginRecord | None:
        for record in self._records:
            if record.name == name and record.status is PluginStatus.LOADED:
                return record
        return None

    # --- what the rest of the core uses ----------------------------------------

    @property
    def records(self) -> tuple[PluginRecord, ...]:
        """Every plugin found, sorted by name then distribution."""
        return tuple(sorted(self._records, key=lambda r: (r.name, r.distribution or "")))

    def records_named(self, name: str) -> tuple[PluginRecord, ...]:
        return tuple(r for r in self.records if r.name == name)

    @property
    def refused(self) -> tuple[PluginRecord, ...]:
        return tuple(r for r in self.records if r.status is PluginStatus.REFUSED)

    @property
    def registry(self) -> ComponentRegistry:
        return self._registry

    @property
    def hook(self) -> pluggy.HookRelay:
        """pluggy's relay, for calls that need every implementation's result at once."""
        return self._pm.hook

    def fence(self, plugin: str) -> Fence:
        """The wrapper for calling ``plugin``'s code; ``KeyError`` if it is not loaded."""
        try:
            return self._fences[plugin]
        except KeyError:
            raise KeyError(f"plugin {plugin!r} is not loaded") from None

    def fence_for(self, component: type[Any] | object) -> Fence:
        """The fence of the plugin that provides ``component`` (a class or an instance)."""
        cls = component if isinstance(component, type) else type(component)
        for info in self._registry:
            if info.cls is cls:
                return self._fences[info.plugin]
        for info in self._registry:
            if issubclass(cls, info.cls):
                return self._fences[info.plugin]
        raise KeyError(f"{cls.__qualname__} is not a component of any loaded plugin")

    def resolve(self, kind: PluginKind, address: str) -> ComponentInfo:
        """The loaded component of ``kind`` at ``address``; the error explains any miss."""
        found = self._registry.get(kind, address)
        if found is not None:
            return found
        available = self._registry.addresses(kind)
        listing = ", ".join(available) or "none"
        plugin = address.partition(":")[0]
        records = self.records_named(plugin)
        if records and all(r.status is not PluginStatus.LOADED for r in records):
            why = "; ".join(f"{r.status.value}: {r.reason}" for r in records)
            message = f"plugin {plugin!r} is not loaded ({why})"
        elif records:
            offered = self._registry.of_plugin(plugin)
            of_kind = [c.full_address for c in offered if c.kind is kind]
            if of_kind:
                message = (
                    f"{address!r} is ambiguous or unknown: plugin {plugin!r} offers "
                    f"{len(of_kind)} {kind.value} components; name one of {', '.join(of_kind)}"
                )
            else:
                kinds = ", ".join(sorted({c.kind.value for c in offered})) or "none"
                message = f"plugin {plugin!r} offers no {kind.value} (it offers: {kinds})"
        else:
            message = f"no installed plugin is named {plugin!r}"
        raise UnknownComponentError(
            f"{message}; available {kind.value} addresses: {listing}",
            address=address,
            available=available,
        )

    def notify(self, hook_name: str, /, **kwargs: Any) -> list[PluginError]:
        """Call an observation hook on every plugin, each through its fence.

        A failing implementation does not stop the others; its error is
        returned (the engine logs it and raises an alert) instead of raised.
        """
        return notify(self._pm, self._fences, hook_name, kwargs)
