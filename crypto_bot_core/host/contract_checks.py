"""Does a plugin provide what its manifest declares? Checked once, at load time.

The checks run on the classes ``cryptobot_components()`` returns, before any
component is built: each is a concrete subclass of its kind's contract with a
valid name and config model; its kind is declared in the manifest; every
declared kind has a component; every declared capability that promises
optional methods (:data:`CAPABILITY_METHODS`, :func:`promised_methods`) is
backed by overrides in every component of that kind. All problems are
reported together so a plugin author fixes them in one round. Nothing here
knows the kinds by name: a kind added to the SDK (``selector``,
``oversight``, ``notifier`` in API 1.1) is checked like the first five.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from crypto_bot_core.host.records import ComponentInfo
from crypto_bot_sdk import (
    CAPABILITY_METHODS,
    CONTRACTS,
    Component,
    Manifest,
    PluginConfig,
    PluginContractError,
    PluginKind,
    promised_methods,
)
from crypto_bot_sdk._contracts import COMPONENT_NAME_PATTERN

_CONTRACT_NAMES = ", ".join(contract.__name__ for contract in CONTRACTS.values())


def _describe(obj: object) -> str:
    if isinstance(obj, type):
        return f"{obj.__module__}.{obj.__qualname__}"
    return f"{obj!r} ({type(obj).__name__})"


def _overrides(cls: type, contract: type, method: str) -> bool:
    """True when some class between ``cls`` and ``contract`` defines ``method`` itself."""
    for klass in cls.__mro__:
        if klass is contract:
            return False
        if method in vars(klass):
            return True
    return False


def _problems_of(obj: object, manifest: Manifest) -> list[str]:
    label = _describe(obj)
    if not (isinstance(obj, type) and issubclass(obj, Component)):
        return [f"{label} is not a Component subclass (subclass one of the SDK contracts)"]
    kind = getattr(obj, "kind", None)
    if kind not in CONTRACTS:
        return [f"{label} has no contract kind; subclass one of {_CONTRACT_NAMES}"]
    problems: list[str] = []
    contract = CONTRACTS[kind]
    if not issubclass(obj, contract):
        problems.append(f"{label} has kind {kind.value} but does not subclass {contract.__name__}")
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(getattr(obj, "__abstractmethods__", ())))
        problems.append(f"{label} does not implement the required methods: {missing}")
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not COMPONENT_NAME_PATTERN.match(name):
        problems.append(
            f"{label} has name {name!r}; set the class variable name to lowercase letters, "
            "digits, '_' or '-' (starting with a letter)"
        )
    config_model = getattr(obj, "config_model", None)
    if not (isinstance(config_model, type) and issubclass(config_model, PluginConfig)):
        problems.append(f"{label}.config_model must be a PluginConfig subclass")
    if kind not in manifest.kinds:
        declared = ", ".join(k.value for k in manifest.kinds)
        problems.append(
            f"{label} is of kind {kind.value}, which the manifest does not declare "
            f"(kinds: {declared}); add it to the manifest's kinds or drop the component"
        )
    for capability in manifest.capabilities:
        cap_kind, _ = CAPABILITY_METHODS.get(capability, (None, ""))
        if cap_kind is not kind:
            continue
        lacking = [m for m in promised_methods(capability) if not _overrides(obj, contract, m)]
        if lacking:
            methods = " and ".join(f"{m}()" for m in lacking)
            problems.append(
                f"{label} does not override {methods}, which capability {capability!r} "
                "declared in the manifest promises"
            )
    return problems


def check_components(
    plugin: str, manifest: Manifest, returned: object
) -> tuple[ComponentInfo, ...]:
    """Components of ``plugin`` with their addresses, or one :class:`PluginContractError`."""
    if isinstance(returned, str | bytes) or not isinstance(returned, Sequence):
        raise PluginContractError(
            f"cryptobot_components() returned {returned!r}; return a list of component classes"
        )
    problems: list[str] = []
    valid: list[type[Component[Any]]] = []
    for obj in returned:
        found = _problems_of(obj, manifest)
        problems.extend(found)
        if not found:
            valid.append(obj)
    seen: set[tuple[PluginKind, str]] = set()
    for cls in valid:
        if (cls.kind, cls.name) in seen:
            problems.append(f"two {cls.kind.value} components are named {cls.name!r}")
        seen.add((cls.kind, cls.name))
    # A kind whose only component was itself faulty is already reported above.
    attempted = {getattr(obj, "kind", None) for obj in returned if isinstance(obj, type)}
    for kind in manifest.kinds:
        if kind not in attempted:
            problems.append(
                f"the manifest declares kind {kind.value} but no {kind.value} component is provided"
            )
    declared_capabilities = set(manifest.capabilities)
    for capability in declared_capabilities & CAPABILITY_METHODS.keys():
        cap_kind, _ = CAPABILITY_METHODS[capability]
        if cap_kind not in manifest.kinds:
            problems.append(
                f"capability {capability!r} belongs to kind {cap_kind.value}, which the "
                "manifest does not declare"
            )
    if problems:
        raise PluginContractError("; ".join(problems))
    per_kind: dict[PluginKind, int] = {}
    for cls in valid:
        per_kind[cls.kind] = per_kind.get(cls.kind, 0) + 1
    return tuple(
        ComponentInfo(
            plugin=plugin,
            kind=cls.kind,
            name=cls.name,
            address=plugin if per_kind[cls.kind] == 1 else f"{plugin}:{cls.name}",
            cls=cls,
        )
        for cls in valid
    )
