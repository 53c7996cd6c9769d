"""Time budgets of plugin calls, and what a failing data source does to the session.

Every plugin call goes through a fence (:mod:`crypto_bot_core.host.fence`)
with one of these budgets. They are per plugin kind, not per plugin, because
what a budget protects is the engine's loop: a tick must not wait a minute for
an agent, a risk rule must not stall an order, a quiet feed must be noticed.
The defaults live in :data:`~crypto_bot_core.host.fence.DEFAULT_BUDGETS` so an
engine built without a config file uses the same numbers.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from crypto_bot_core.host.fence import DEFAULT_BUDGETS


class DataSourceFailure(StrEnum):
    """What a session does when a data source's stream raises, hangs or emits garbage."""

    STOP = "stop"
    """End the session with an error naming the source, and a non-zero exit code."""
    DEGRADE = "degrade"
    """Drop that source, record an alert in the ledger, carry on with the others."""


class PluginBudgets(BaseModel):
    """Seconds each kind of plugin call may take (``budgets:`` in the config file)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    agent: PositiveFloat = Field(
        default=DEFAULT_BUDGETS["agent"],
        description="One agent evaluation; past it the agent is dropped for the tick.",
    )
    selector: PositiveFloat = Field(
        default=DEFAULT_BUDGETS["selector"],
        description="One policy selection (the meta-learner) per symbol and tick.",
    )
    risk_rule: PositiveFloat = Field(
        default=DEFAULT_BUDGETS["risk_rule"],
        description="One risk rule check; a rule that overruns is recorded, its verdict applies.",
    )
    exchange: PositiveFloat = Field(
        default=DEFAULT_BUDGETS["exchange"],
        description="One exchange call (submit, cancel, fetches); a submit past it is looked "
        "up by its client order id before any resend.",
    )
    data_source: PositiveFloat = Field(
        default=DEFAULT_BUDGETS["data_source"],
        description="The wait for each event of a data source's stream; must exceed the "
        "longest quiet gap of a live feed (its bar interval).",
    )
    reporter: PositiveFloat = Field(
        default=DEFAULT_BUDGETS["reporter"], description="One report rendered by a reporter."
    )
    notifier: PositiveFloat = Field(
        default=DEFAULT_BUDGETS["notifier"], description="One alert delivered by a notifier."
    )
    observer: PositiveFloat = Field(
        default=DEFAULT_BUDGETS["observer"],
        description="One observation hook call (signal, order update, fill, ledger record).",
    )
    oversight: PositiveFloat = Field(
        default=DEFAULT_BUDGETS["oversight"],
        description="One review of the book by an oversight component (risk monitor, "
        "arbitrage guard); one that fails or overruns is recorded once and skipped.",
    )
    loop: PositiveFloat = Field(
        default=DEFAULT_BUDGETS["loop"],
        description="Liveness: /healthz fails when the engine's loop has not completed a tick "
        "for this long (a wait for a data source's next event counts as progress up to the "
        "data_source budget).",
    )

    @model_validator(mode="after")
    def _loop_outlasts_a_tick(self) -> PluginBudgets:
        # A tick may legitimately wait one agent and one exchange call; a loop budget
        # shorter than either would fail liveness on a healthy, merely slow tick.
        slowest = max(self.agent, self.exchange)
        if self.loop <= slowest:
            raise ValueError(
                f"loop budget {self.loop:g} s must exceed the agent and exchange budgets "
                f"({slowest:g} s): one tick may wait that long without being stuck"
            )
        return self
