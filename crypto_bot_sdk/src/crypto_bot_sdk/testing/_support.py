"""Machinery every conformance class shares: running a component's coroutines,
its start/close life, the capability gate and the checks common to all contracts.

The kit depends on pytest only. It does not need pytest-asyncio or anyio: each
check runs its whole scenario (start, calls, close) inside one ``asyncio.run``,
so a component's connections and tasks live and die on one event loop, exactly
as they do in the engine.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, ClassVar, NoReturn, TypeVar

import pytest

from crypto_bot_sdk._contracts import (
    CAPABILITY_METHODS,
    COMPONENT_NAME_PATTERN,
    Component,
    PluginConfig,
    PluginKind,
    RiskContext,
    promised_methods,
)
from crypto_bot_sdk._manifest import Manifest, parse_api_version
from crypto_bot_sdk._market_view import MarketView
from crypto_bot_sdk._oversight import OversightContext
from crypto_bot_sdk._version import API_VERSION

T = TypeVar("T")
C = TypeVar("C", bound=Component[Any])

ComponentFactory = Callable[[], Component[Any]]
"""A zero-argument callable returning a fresh, unstarted component."""


def run_async(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run one check's scenario on a private event loop and return its result."""

    async def main() -> T:
        return await scenario()

    return asyncio.run(main())


def missing_fixture(owner: str, fixture: str, hint: str) -> NoReturn:
    """Stop a check whose class needs a fixture the author has not overridden."""
    pytest.fail(
        f"{owner} needs the fixture {fixture!r}: override it in your test class "
        f"({hint}); see docs/plugin-guide/conformance.md",
        pytrace=False,
    )


def build_component(factory: ComponentFactory, contract: tuple[type[C], ...]) -> C:
    """Call the author's factory and make sure it produced the right contract.

    ``contract`` is a tuple of one class because mypy refuses an abstract class
    where ``type[C]`` is expected, and every contract is abstract.
    """
    component = factory()
    if not isinstance(component, contract):
        name = contract[0].__name__
        pytest.fail(
            f"component_factory returned {type(component).__qualname__}, which is not a "
            f"{name}; return an instance of your {name} subclass",
            pytrace=False,
        )
    return component


@asynccontextmanager
async def started(factory: ComponentFactory, contract: tuple[type[C], ...]) -> AsyncIterator[C]:
    """A fresh component, started, and closed again however the check ends."""
    component = build_component(factory, contract)
    await component.start()
    try:
        yield component
    finally:
        await component.close()


def market_fingerprint(view: MarketView, symbols: Iterable[str]) -> dict[str, Any]:
    """Everything ``view`` exposes for ``symbols``, as plain data to compare before and after.

    Comparing fingerprints catches a component that writes to the view it was
    lent (appends a bar, moves the clock) even when the view is not a model.
    """
    try:
        now: str | None = view.now.isoformat()
    except LookupError:
        now = None
    instruments = tuple(view.instruments())
    wanted = sorted({*symbols, *(inst.symbol for inst in instruments)})
    venues = sorted({inst.venue for inst in instruments})
    return {
        "now": now,
        "instruments": [inst.model_dump_json() for inst in instruments],
        "bars": {s: [bar.model_dump_json() for bar in view.bars(s)] for s in wanted},
        "last_price": {s: str(view.last_price(s)) for s in wanted},
        "books": {
            f"{s}@{v}": (book.model_dump_json() if (book := view.order_book(s, v)) else None)
            for s in wanted
            for v in venues
        },
    }


def changed_keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The keys of ``before`` whose value ``after`` no longer has, sorted: what a component
    changed of the fingerprint or :func:`lent_state` of something it was lent."""
    return sorted(key for key in before if before[key] != after.get(key))


def lent_state(context: RiskContext | OversightContext, symbols: Iterable[str]) -> dict[str, Any]:
    """A risk or oversight context as plain data to compare before and after it was lent.

    Its fields as ``context.<field>`` and its market's :func:`market_fingerprint` as
    ``market.<part>``, in one flat mapping, so :func:`changed_keys` names what changed
    the same way for a rule's context and an oversight component's.
    """
    fields = context.model_dump(exclude={"market"})
    market = market_fingerprint(context.market, symbols)
    return {
        **{f"context.{key}": value for key, value in fields.items()},
        **{f"market.{key}": value for key, value in market.items()},
    }


def missing_market_view(owner: str) -> NoReturn:
    """Stop a check whose class needs the ``market_view`` fixture (agents, selectors)."""
    missing_fixture(
        owner,
        "market_view",
        "e.g. crypto_bot_sdk.testing.market_view_from(bar_series('BTC/USDT', count=300))",
    )


def first_symbol(owner: str, view: MarketView) -> str:
    """The default ``symbol`` fixture of a check class reading a ``market_view``: the view's
    first instrument, or a failure naming the fixture to override when it lists none."""
    instruments = view.instruments()
    if not instruments:
        missing_fixture(
            owner,
            "symbol",
            "the market view lists no instruments to take one from; return e.g. 'BTC/USDT'",
        )
    return instruments[0].symbol


def is_finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def overrides(component: Component[Any], contract: type[Component[Any]], method: str) -> bool:
    """True if ``component``'s class replaces the contract's default ``method``."""
    own = inspect.getattr_static(type(component), method, None)
    default = inspect.getattr_static(contract, method, None)
    return own is not None and own is not default


class ContractConformance:
    """Checks every contract shares. Subclasses set :attr:`contract`.

    The class name does not start with ``Test``, so pytest collects its checks
    only through the author's ``Test...`` subclass.
    """

    contract: ClassVar[type[Component[Any]]]
    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.conformance]

    @pytest.fixture
    def manifest(self) -> Manifest:
        """Override: your plugin's manifest, e.g. ``Manifest.from_path(path_to_manifest_json)``."""
        missing_fixture(type(self).__name__, "manifest", "return your plugin's Manifest")

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        """Override: a zero-argument callable returning a fresh, unstarted component."""
        missing_fixture(
            type(self).__name__,
            "component_factory",
            "return a zero-argument callable building a fresh, unstarted component, "
            "e.g. lambda: MyComponent.from_config({...})",
        )

    @pytest.fixture(autouse=True)
    def _conformance_capability_gate(
        self, request: pytest.FixtureRequest, manifest: Manifest
    ) -> None:
        """Skip a check whose ``requires_capability`` names something the manifest lacks."""
        if not isinstance(manifest, Manifest):
            pytest.fail(
                f"the 'manifest' fixture returned {type(manifest).__qualname__}, not a "
                "crypto_bot_sdk.Manifest; build it with Manifest.from_path(...)",
                pytrace=False,
            )
        declared = set(manifest.capabilities)
        for mark in request.node.iter_markers("requires_capability"):
            lacking = [str(name) for name in mark.args if name not in declared]
            if lacking:
                pytest.skip(
                    f"manifest of {manifest.name!r} does not declare capability "
                    f"{', '.join(lacking)}"
                )

    # --- checks shared by every contract ---------------------------------------

    def test_manifest_declares_kind(self, manifest: Manifest) -> None:
        kind = self.contract.kind
        assert kind in manifest.kinds, (
            f"manifest of {manifest.name!r} declares kinds {[k.value for k in manifest.kinds]}, "
            f"not {kind.value!r}; add it to 'kinds'"
        )

    def test_manifest_api_version_fits_sdk(self, manifest: Manifest) -> None:
        major, minor, _ = parse_api_version(manifest.api_version)
        sdk_major, sdk_minor, _ = parse_api_version(API_VERSION)
        fits = major == sdk_major and minor <= sdk_minor
        assert fits, (
            f"manifest api_version {manifest.api_version} cannot run on the installed SDK "
            f"API {API_VERSION}: the major must match and the minor must not be newer"
        )

    def test_component_fulfils_contract(self, component_factory: ComponentFactory) -> None:
        component = build_component(component_factory, (self.contract,))
        cls = type(component)
        assert cls.kind is self.contract.kind, (
            f"{cls.__qualname__}.kind is {cls.kind!r}, expected {self.contract.kind!r}"
        )
        name = getattr(cls, "name", None)
        valid = isinstance(name, str) and COMPONENT_NAME_PATTERN.match(name) is not None
        assert valid, (
            f"{cls.__qualname__}.name is {name!r}; set a class attribute matching "
            f"{COMPONENT_NAME_PATTERN.pattern} (lower case, digits, '_' and '-')"
        )
        assert isinstance(component.config, cls.config_model), (
            f"{cls.__qualname__}.config is a {type(component.config).__qualname__}, not its "
            f"config_model {cls.config_model.__qualname__}"
        )
        assert issubclass(cls.config_model, PluginConfig), (
            f"{cls.__qualname__}.config_model must subclass crypto_bot_sdk.PluginConfig"
        )

    def test_declared_capabilities_are_implemented(
        self, manifest: Manifest, component_factory: ComponentFactory
    ) -> None:
        component = build_component(component_factory, (self.contract,))
        kind: PluginKind = self.contract.kind
        not_overridden = [
            f"{capability} (needs {method})"
            for capability, (cap_kind, _) in CAPABILITY_METHODS.items()
            if cap_kind is kind and capability in manifest.capabilities
            for method in promised_methods(capability)
            if not overrides(component, self.contract, method)
        ]
        assert not not_overridden, (
            f"{type(component).__qualname__} does not override the methods its manifest "
            f"promises: {', '.join(not_overridden)}"
        )
