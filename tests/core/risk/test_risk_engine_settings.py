"""The risk-engine rules refuse settings that contradict each other, at load time.

A limit that cannot be met (no budget at all, a minimum above the maximum, more
observations required than the window holds) or a symbol the venues would never
quote must stop the run before it starts, with the key and the reason, not make the
rule reject every order later.
"""

from __future__ import annotations

from typing import Any

import pytest

from crypto_bot_core.builtins.risk_engine import DynamicMargin, PortfolioVar, StressLimit
from crypto_bot_sdk import ConfigError

DYNAMIC = {"base_notional": "10000", "target_atr": "0.02"}


@pytest.mark.parametrize(
    ("rule", "settings", "key", "message"),
    [
        (
            PortfolioVar,
            {"budget": "1000", "min_observations": 300, "lookback": 100},
            "config",
            "config: invalid settings for riskrule 'portfolio_var': <root>: Value error, "
            "min_observations 300 exceeds lookback 100",
        ),
        (
            PortfolioVar,
            {},
            "config",
            "config: invalid settings for riskrule 'portfolio_var': <root>: Value error, "
            "set budget, budget_fraction or both",
        ),
        (
            StressLimit,
            {"scenarios": ["market-crash-30"]},
            "config",
            "config: invalid settings for riskrule 'stress_limit': <root>: Value error, "
            "set max_loss, max_loss_fraction or both",
        ),
        (
            DynamicMargin,
            {**DYNAMIC, "min_multiplier": "3"},
            "config",
            "config: invalid settings for riskrule 'dynamic_margin': <root>: Value error, "
            "min_multiplier 3 exceeds max_multiplier 2",
        ),
        (
            DynamicMargin,
            {**DYNAMIC, "per_symbol": {"BTCUSDT": "5000"}},
            "config.per_symbol",
            "config.per_symbol: invalid settings for riskrule 'dynamic_margin': per_symbol: "
            "Value error, symbol 'BTCUSDT' is not a ccxt unified symbol; write BASE/QUOTE for "
            "spot or BASE/QUOTE:SETTLE for a perpetual, upper case (e.g. 'BTC/USDT:USDT')",
        ),
    ],
)
def test_contradictory_or_unusable_settings_are_refused_with_key_and_reason(
    rule: Any, settings: dict[str, object], key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        rule.from_config(settings)
    assert caught.value.key == key
    assert str(caught.value) == message


def test_consistent_settings_load_with_their_values() -> None:
    margin = DynamicMargin.from_config(
        {**DYNAMIC, "per_symbol": {"ETH/USDT": "4000"}, "min_multiplier": "0.5"}
    )
    limit, multiplier = margin.limit_for("ETH/USDT", 0.04)
    # ETH's own base of 4,000 at half the multiplier (2% target / 4% ATR).
    assert (str(limit), str(multiplier)) == ("2000.0", "0.5")
    limit, multiplier = margin.limit_for("BTC/USDT", 0.0)  # no range at all: the maximum
    assert (str(limit), str(multiplier)) == ("20000", "2")
    var = PortfolioVar.from_config({"budget_fraction": "0.02", "lookback": 120})
    assert (str(var.config.budget_fraction), var.config.lookback) == ("0.02", 120)
    assert var.config.budget is None
    stress = StressLimit.from_config({"scenarios": ["market-crash-30"], "max_loss": "500"})
    assert (str(stress.config.max_loss), stress.config.max_loss_fraction) == ("500", None)
