"""Built-in plugin ``replay``: recorded OHLCV bars and trades from CSV or Parquet, validated.

Files use ccxt's column names; unsorted, duplicate or missing rows, NaN,
non-positive prices and inconsistent candles are refused with the file and
row named. See ``docs/builtins/replay.md``.
"""

from crypto_bot_core.builtins.replay.config import ReplayConfig, ReplayFile
from crypto_bot_core.builtins.replay.source import ReplaySource

__all__ = ["ReplayConfig", "ReplayFile", "ReplaySource"]
