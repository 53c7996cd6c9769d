"""The built-in paper exchange: the simulated venue of backtests and paper trading.

See ``docs/builtins/paper-exchange.md`` for its matching rules, fee and
slippage formulas, and the snapshot format.
"""

from crypto_bot_core.builtins.paper_exchange.config import (
    DerivedInstruments,
    InstrumentSpec,
    PaperExchangeConfig,
)
from crypto_bot_core.builtins.paper_exchange.exchange import PaperExchange

__all__ = ["DerivedInstruments", "InstrumentSpec", "PaperExchange", "PaperExchangeConfig"]
