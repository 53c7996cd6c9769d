"""Conformance checks of the Oversight contract: well-formed alerts and pairs about what the
context shows, unique intent ids, the context left alone, and (for ``deterministic``
components) the same outcomes from fresh instances."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from crypto_bot_sdk._component import Component
from crypto_bot_sdk._oversight import Oversight, OversightContext, OversightOutcome
from crypto_bot_sdk.testing._support import (
    ComponentFactory,
    ContractConformance,
    changed_keys,
    lent_state,
    missing_fixture,
    run_async,
    started,
)


def _reviews(
    factory: ComponentFactory, contexts: Sequence[OversightContext]
) -> list[OversightOutcome]:
    """One fresh, started component's outcome for each context, in order."""

    async def scenario() -> list[OversightOutcome]:
        async with started(factory, (Oversight,)) as component:
            outcomes = []
            for context in contexts:
                pending = component.review(context)
                if not inspect.isawaitable(pending):
                    pytest.fail(
                        f"review returned {pending!r}, not an awaitable: declare it "
                        "'async def review(self, context)'",
                        pytrace=False,
                    )
                outcome = await pending
                assert isinstance(outcome, OversightOutcome), (
                    f"review returned a {type(outcome).__qualname__}, not a "
                    "crypto_bot_sdk.OversightOutcome"
                )
                outcomes.append(outcome)
            return outcomes

    return run_async(scenario)


def _plain(outcome: OversightOutcome) -> dict[str, Any]:
    return {
        "alerts": [alert.model_dump(mode="json") for alert in outcome.alerts],
        "pairs": [
            {
                "legs": [leg.model_dump(mode="json") for leg in pair.legs],
                "evidence": dict(pair.evidence),
            }
            for pair in outcome.pairs
        ],
    }


def _state(contexts: Sequence[OversightContext]) -> list[dict[str, Any]]:
    symbols = sorted(
        {i.symbol for c in contexts for i in c.market.instruments()}
        | {p.symbol for c in contexts for p in c.portfolio.positions}
    )
    return [lent_state(context, symbols) for context in contexts]


class OversightConformance(ContractConformance):
    """Checks of an :class:`~crypto_bot_sdk.Oversight` component (kind ``oversight``).

    Override ``manifest``, ``component_factory`` and ``oversight_contexts``: the
    ticks one component reviews in order (it may keep state between them, as a
    monitor remembers what is in breach), among which it raises at least one
    alert or pair, so the checks have something to look at.
    ``StaticRiskContext().with_...().build_oversight(fees={...})`` builds one.
    Components declaring ``deterministic`` are also checked to give the same
    outcomes from fresh instances.
    """

    contract: ClassVar[type[Component[Any]]] = Oversight

    @pytest.fixture
    def oversight_contexts(self) -> Sequence[OversightContext]:
        """Override: the contexts to review in order, at least one of which raises something."""
        missing_fixture(
            type(self).__name__,
            "oversight_contexts",
            "a list of OversightContexts in time order, e.g. "
            "[StaticRiskContext().with_market(view).build_oversight(fees={'a': '0.001'})]",
        )

    @pytest.fixture
    def kit_outcomes(
        self, component_factory: ComponentFactory, oversight_contexts: Sequence[OversightContext]
    ) -> list[OversightOutcome]:
        """The kit's own: one outcome per context from one fresh instance (do not override)."""
        if not oversight_contexts:
            missing_fixture(type(self).__name__, "oversight_contexts", "it returned none")
        return _reviews(component_factory, oversight_contexts)

    def test_something_raised(self, kit_outcomes: list[OversightOutcome]) -> None:
        assert any(kit_outcomes), (
            f"the component raised no alert and no pair over {len(kit_outcomes)} context(s), "
            "so its outcomes cannot be checked; add to 'oversight_contexts' a tick where it acts"
        )

    def test_alerts_well_formed(
        self,
        kit_outcomes: list[OversightOutcome],
        oversight_contexts: Sequence[OversightContext],
    ) -> None:
        for index, (context, outcome) in enumerate(
            zip(oversight_contexts, kit_outcomes, strict=True)
        ):
            for alert in outcome.alerts:
                assert alert.ts <= context.ts, (
                    f"review {index} raised {alert.title!r} at {alert.ts.isoformat()}, after "
                    f"the context's time {context.ts.isoformat()}: no alerts from the future"
                )
                named = bool(alert.source.strip()) and bool(alert.title.strip())
                assert named, f"review {index} raised an alert without source or title: {alert!r}"

    def test_pairs_trade_listed_instruments(
        self,
        kit_outcomes: list[OversightOutcome],
        oversight_contexts: Sequence[OversightContext],
    ) -> None:
        for index, (context, outcome) in enumerate(
            zip(oversight_contexts, kit_outcomes, strict=True)
        ):
            listed = {(i.symbol, i.venue) for i in context.market.instruments()}
            for pair in outcome.pairs:
                for leg in pair.legs:
                    assert (leg.symbol, leg.venue) in listed, (
                        f"review {index}: leg {leg.intent_id!r} trades {leg.symbol}@{leg.venue}, "
                        "which the context's market does not list"
                    )
                    assert leg.ts <= context.ts, (
                        f"review {index}: leg {leg.intent_id!r} is stamped "
                        f"{leg.ts.isoformat()}, after the context's time"
                    )

    def test_intent_ids_unique(self, kit_outcomes: list[OversightOutcome]) -> None:
        ids = [leg.intent_id for o in kit_outcomes for pair in o.pairs for leg in pair.legs]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        assert not repeated, (
            f"intent ids {repeated} are used more than once; the ledger links orders to their "
            "intent by id, so every leg of every review needs its own"
        )

    def test_inputs_unchanged(
        self, component_factory: ComponentFactory, oversight_contexts: Sequence[OversightContext]
    ) -> None:
        before = _state(oversight_contexts)
        _reviews(component_factory, oversight_contexts)
        after = _state(oversight_contexts)
        changed = [
            f"context {index}: {key}"
            for index, (one, two) in enumerate(zip(before, after, strict=True))
            for key in changed_keys(one, two)
        ]
        assert not changed, f"review changed the contexts it was lent: {changed}"

    @pytest.mark.requires_capability("deterministic")
    def test_fresh_instances_agree(
        self,
        component_factory: ComponentFactory,
        oversight_contexts: Sequence[OversightContext],
        kit_outcomes: list[OversightOutcome],
    ) -> None:
        again = _reviews(component_factory, oversight_contexts)
        for index, (one, two) in enumerate(zip(kit_outcomes, again, strict=True)):
            assert _plain(one) == _plain(two), (
                f"review {index} differs between two fresh instances; the manifest declares "
                "'deterministic'"
            )
