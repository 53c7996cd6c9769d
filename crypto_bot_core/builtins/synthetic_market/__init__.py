"""Built-in plugin ``synthetic-market``: a deterministic, seeded market for backtests and demos.

Several symbols (spot and perpetual) on several venues, with regime switching,
GARCH volatility clustering, mean-reverting cross-venue spreads and volume that
follows volatility. See ``docs/builtins/synthetic_market.md``.
"""

from crypto_bot_core.builtins.synthetic_market.config import SyntheticMarketConfig
from crypto_bot_core.builtins.synthetic_market.source import SyntheticMarket

__all__ = ["SyntheticMarket", "SyntheticMarketConfig"]
