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

"Backed by overrides" means really implemented. A method counts as missing
when the class that defines it is the contract itself, when it is the
contract's very function re-bound under a subclass (``history =
DataSource.history``), or when its body does nothing but ``raise
NotSupportedError(...)`` -- the SDK's own default, copied -- possibly after a
docstring and ``pass``. The body is read from the method's source with
:mod:`ast` (decorators are unwrapped first); when no source is available (a
plugin shipped as ``.pyc`` only) the method's bytecode is read instead: an
unconditional ``raise`` of a :class:`~crypto_bot_sdk.NotSupportedError`
subclass before any branch, return or yield. The exception named is resolved
in the method's module globals, so an alias or a subclass of
``NotSupportedError`` is recognised too. A method that raises the error only
on some path (``if not self.config.testnet: raise NotSupportedError``) is an
implementation: the promise holds where the plugin says it does.

The manifest alone is checked before any import (:func:`manifest_problems`):
its version must be its distribution's, and every capability must be one
this host knows (:data:`KNOWN_CAPABILITIES`); a plugin built for a newer API
with newer capabilities is refused earlier, by the API range.
"""

from __future__ import annotations

import ast
import builtins
import dis
import inspect
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from packaging.version import InvalidVersion, Version

from crypto_bot_core.host.records import ComponentInfo
from crypto_bot_sdk import (
    CAPABILITY_METHODS,
    CONTRACTS,
    Component,
    Manifest,
    NotSupportedError,
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


BEHAVIOUR_CAPABILITIES: Mapping[str, tuple[PluginKind, ...]] = {
    "order.market": (PluginKind.EXCHANGE,),
    "order.limit": (PluginKind.EXCHANGE,),
    "order.stop": (PluginKind.EXCHANGE,),
    "order.stop_limit": (PluginKind.EXCHANGE,),
    "order.take_profit": (PluginKind.EXCHANGE,),
    "order.take_profit_limit": (PluginKind.EXCHANGE,),
    "post_only": (PluginKind.EXCHANGE,),
    "reduce_only": (PluginKind.EXCHANGE,),
    "partial_fills": (PluginKind.EXCHANGE,),
    "deterministic": (
        PluginKind.AGENT,
        PluginKind.DATASOURCE,
        PluginKind.SELECTOR,
        PluginKind.OVERSIGHT,
    ),
}
"""Capabilities that promise behaviour (checked by the conformance kit), not a method, and
the kinds each applies to. A test keeps this table equal to the kit's own list."""

KNOWN_CAPABILITIES: Mapping[str, tuple[PluginKind, ...]] = {
    **{name: (kind,) for name, (kind, _) in CAPABILITY_METHODS.items()},
    **BEHAVIOUR_CAPABILITIES,
}
"""Every capability a manifest of this host's API may declare, with the kinds it belongs to."""


def manifest_problems(manifest: Manifest, distribution_version: str | None) -> list[str]:
    """What is wrong with ``manifest`` before any code runs; empty when nothing is."""
    problems: list[str] = []
    if distribution_version is not None and not _same_version(
        manifest.version, distribution_version
    ):
        problems.append(
            f"manifest.json declares version {manifest.version}, but the installed "
            f"distribution is version {distribution_version}; the two must be equal "
            "(a manifest from another release describes other code): reinstall the plugin "
            "or ask its author to release it with a matching manifest"
        )
    unknown = [c for c in manifest.capabilities if c not in KNOWN_CAPABILITIES]
    if unknown:
        listed = ", ".join(repr(c) for c in unknown)
        problems.append(
            f"manifest.json declares unknown capabilities {listed}; this host knows "
            f"{', '.join(sorted(KNOWN_CAPABILITIES))} (see the plugin guide's contracts page)"
        )
    return problems


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _defined_in(cls: type, method: str) -> tuple[type, object] | None:
    """The class of ``cls``'s MRO that defines ``method``, and the raw attribute."""
    for klass in cls.__mro__:
        if method in vars(klass):
            return klass, vars(klass)[method]
    return None


def _function_of(attribute: object) -> Callable[..., Any] | None:
    """The plain function behind a method attribute (static/class methods, decorators)."""
    func: object = getattr(attribute, "__func__", attribute)
    if not callable(func):
        return None
    try:
        unwrapped: Callable[..., Any] = inspect.unwrap(func)
    except ValueError:  # a cycle of __wrapped__: take it as it is
        return func
    return unwrapped


def _is_not_supported(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, NotSupportedError)


def _resolve(node: ast.expr, func: Callable[..., Any]) -> object:
    """The object an exception expression names, looked up as the function would."""
    if isinstance(node, ast.Call):
        return _resolve(node.func, func)
    if isinstance(node, ast.Name):
        scope: dict[str, object] = getattr(func, "__globals__", {})
        if node.id in scope:
            return scope[node.id]
        return getattr(builtins, node.id, None)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, func)
        return getattr(owner, node.attr, None) if owner is not None else None
    return None


def _names_not_supported(node: ast.expr | None, func: Callable[..., Any]) -> bool:
    if node is None:
        return False
    if _is_not_supported(_resolve(node, func)):
        return True
    # Unresolvable (a name bound only at run time): fall back to the spelling.
    target = node.func if isinstance(node, ast.Call) else node
    name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
    return name == NotSupportedError.__name__


def _is_filler(statement: ast.stmt) -> bool:
    """A docstring, ``pass`` or ``...``: statements that do nothing."""
    if isinstance(statement, ast.Pass):
        return True
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _source_only_raises(func: Callable[..., Any]) -> bool | None:
    """From the source: True or False; None when there is no source to read."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return None
    node = next(iter(tree.body), None)
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None  # a lambda or something odd: let the bytecode decide
    for statement in node.body:
        if _is_filler(statement):
            continue
        # The first statement that does something: a raise of NotSupportedError
        # means nothing after it ever runs (an async generator's ``yield`` included).
        return isinstance(statement, ast.Raise) and _names_not_supported(statement.exc, func)
    return False


_FLOW = frozenset({"RETURN_VALUE", "RETURN_CONST", "YIELD_VALUE", "SEND", "FOR_ITER"})


def _bytecode_only_raises(func: Callable[..., Any]) -> bool:
    """From the bytecode: an unconditional raise of NotSupportedError before anything else."""
    code = getattr(func, "__code__", None)
    if code is None:
        return False
    scope: dict[str, object] = getattr(func, "__globals__", {})
    raises_it = False
    for instruction in dis.get_instructions(code):
        name = instruction.opname
        if name == "RAISE_VARARGS":
            return raises_it
        if name in _FLOW or "JUMP" in name:
            return False
        if name == "LOAD_GLOBAL":
            raises_it = raises_it or _is_not_supported(scope.get(str(instruction.argval)))
    return False


def only_raises_not_supported(attribute: object) -> bool:
    """Whether a method does nothing but ``raise NotSupportedError(...)`` (see the module doc)."""
    func = _function_of(attribute)
    if func is None:
        return False
    from_source = _source_only_raises(func)
    if from_source is not None:
        return from_source
    return _bytecode_only_raises(func)


def _implements(cls: type, contract: type, method: str) -> bool:
    """True when ``cls`` really implements ``method``: an override that does something."""
    found = _defined_in(cls, method)
    if found is None:
        return False
    klass, attribute = found
    if klass is contract or issubclass(contract, klass):
        return False
    if _function_of(attribute) is _function_of(vars(contract).get(method)):
        return False  # the contract's default, re-bound in a subclass
    return not only_raises_not_supported(attribute)


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
        lacking = [m for m in promised_methods(capability) if not _implements(obj, contract, m)]
        if lacking:
            methods = " and ".join(f"{m}()" for m in lacking)
            stubs = [f"{m}()" for m in lacking if _overrides(obj, contract, m)]
            how = f" ({' and '.join(stubs)} only raises NotSupportedError)" if stubs else ""
            problems.append(
                f"{label} does not override {methods}, which capability {capability!r} "
                f"declared in the manifest promises{how}"
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
    for capability in manifest.capabilities:
        cap_kinds = KNOWN_CAPABILITIES.get(capability, ())
        if cap_kinds and not set(cap_kinds) & set(manifest.kinds):
            names = " or ".join(k.value for k in cap_kinds)
            problems.append(
                f"capability {capability!r} belongs to kind {names}, which the "
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
