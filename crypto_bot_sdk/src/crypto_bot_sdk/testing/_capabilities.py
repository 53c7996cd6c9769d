"""The capabilities a manifest may declare and what the conformance kit does with each.

A capability either promises an optional method (listed in the SDK's
``CAPABILITY_METHODS``; the host refuses a plugin that declares it without
overriding the method) or selects behaviour checks. Capabilities the kit does
not know are allowed, so a plugin built for a newer minor API still runs the
checks this SDK has; ``docs/plugin-guide/contracts.md`` lists them all and a
test keeps that list and this one in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto_bot_sdk._contracts import CAPABILITY_METHODS, PluginKind


@dataclass(frozen=True, slots=True)
class Capability:
    name: str
    kinds: tuple[PluginKind, ...]
    meaning: str
    method: str | None = None


def _method_capability(name: str, meaning: str) -> Capability:
    kind, method = CAPABILITY_METHODS[name]
    return Capability(name, (kind,), meaning, method)


_SIMULATED = "(simulated venues, API 1.1)"


_X = (PluginKind.EXCHANGE,)

CAPABILITIES: dict[str, Capability] = {
    cap.name: cap
    for cap in (
        _method_capability("history", "history() returns stored events of one symbol"),
        _method_capability("positions", "fetch_positions() reports derivative positions"),
        _method_capability("order_book", "fetch_order_book() returns a depth snapshot"),
        _method_capability("fees", "fetch_fees() returns maker and taker rates"),
        _method_capability("leverage", "set_leverage() sets a derivative market's leverage"),
        _method_capability("fill_stream", "fill_stream() pushes own fills as they happen"),
        _method_capability("simulated", "on_market_event() matches resting orders (paper)"),
        _method_capability(
            "sync_submit", f"submit_order_sync() places an order without a coroutine {_SIMULATED}"
        ),
        _method_capability(
            "fills_by_order", f"fills_of_order() lists one order's fills {_SIMULATED}"
        ),
        _method_capability(
            "adopt_symbols", f"adopt_instruments() makes the data's symbols tradable {_SIMULATED}"
        ),
        _method_capability(
            "state_snapshot",
            f"snapshot_state() and restore_state() save and reload the venue {_SIMULATED}",
        ),
        _method_capability(
            "settle_funding", f"settle_funding() charges perpetual funding {_SIMULATED}"
        ),
        _method_capability(
            "precompute",
            "precompute() scores consecutive blocks of bars exactly as evaluate() would, bar by "
            "bar (API 1.1)",
        ),
        _method_capability(
            "explain", "explain() gives each feature's contribution to a signal (API 1.1)"
        ),
        Capability("order.market", _X, "market orders (always checked)"),
        Capability("order.limit", _X, "limit orders (always checked)"),
        Capability("order.stop", _X, "stop (stop-market) orders"),
        Capability("order.stop_limit", _X, "stop-limit orders"),
        Capability("order.take_profit", _X, "take-profit (market) orders"),
        Capability("order.take_profit_limit", _X, "take-profit-limit orders"),
        Capability("post_only", _X, "post-only limit orders rest and never take"),
        Capability("reduce_only", _X, "reduce-only orders never open or grow a position"),
        Capability("partial_fills", _X, "orders can fill in parts and report each part"),
        Capability(
            "deterministic",
            (PluginKind.AGENT, PluginKind.DATASOURCE, PluginKind.SELECTOR, PluginKind.OVERSIGHT),
            "fresh instances give the same output for the same input: an agent the same "
            "signal, a data source the same events over a window, a selector the same "
            "choice, an oversight component the same outcomes (seeded, no wall clock)",
        ),
    )
}
"""Every capability the kit knows, by name."""
