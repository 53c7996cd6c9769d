"""Every pluggy hook the host calls, in one typed module.

A plugin's entry point names a module (or object) holding ``@hookimpl``
functions. The one hook every plugin implements is
:func:`cryptobot_components`; the others let plugins observe the engine
(exporters, alert observers). Implementations may accept fewer arguments than the
spec lists (pluggy passes only those named), so adding an argument later does
not break anyone: contracts grow only by adding.

Each hook's docstring says the API version that added it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from crypto_bot_sdk._contracts import Component
    from crypto_bot_sdk._decisions import Alert, LedgerRecord, Signal
    from crypto_bot_sdk._orders import Fill, Order

PROJECT_NAME = "crypto_bot"
ENTRY_POINT_GROUP = "crypto_bot.plugins"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- registration ------------------------------------------------------------


@hookspec
def cryptobot_components() -> Sequence[type[Component[Any]]]:
    """Return the component classes (contract subclasses) this plugin provides.

    Added in API 1.0.0. Every plugin implements it; the host checks each class
    against the contract of its kind and against the plugin's manifest.
    """
    raise NotImplementedError


# --- observation -------------------------------------------------------------


@hookspec
def cryptobot_engine_started(run_id: str, mode: str) -> None:
    """The engine started a run; ``mode`` is ``backtest``, ``paper`` or ``live``.

    Added in API 1.0.0.
    """


@hookspec
def cryptobot_engine_stopped(run_id: str, reason: str) -> None:
    """The engine stopped a run, normally or after the kill switch. Added in API 1.0.0."""


@hookspec
def cryptobot_signal(signal: Signal) -> None:
    """An agent produced a signal. Added in API 1.0.0."""


@hookspec
def cryptobot_order_update(order: Order) -> None:
    """An order changed state (after the change was written to the ledger). Added in API 1.0.0."""


@hookspec
def cryptobot_fill(fill: Fill) -> None:
    """A fill was booked (after it was written to the ledger). Added in API 1.0.0."""


@hookspec
def cryptobot_alert(alert: Alert) -> None:
    """A high-severity event needs a human: observer plugins may deliver it.

    Since API 1.1 the ``notifier`` kind (:class:`crypto_bot_sdk.Notifier`) is the typed
    contract for delivering alerts; this hook stays and is still called. Added in API 1.0.0.
    """


@hookspec
def cryptobot_ledger_record(record: LedgerRecord) -> None:
    """A record was appended to the audit ledger (for exporters). Added in API 1.0.0."""
