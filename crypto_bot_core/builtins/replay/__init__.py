"""Built-in plugin ``replay``: recorded OHLCV bars and trades from CSV or Parquet, validated.

Files use ccxt's column names; unsorted, duplicate or missing rows, NaN,
non-positive prices and inconsistent candles are refused with the file and
row named. Files are streamed a block at a time, never held; ``blocks()``
also offers the stream with float columns. See ``docs/builtins/replay.md``.
"""

from crypto_bot_core.builtins.replay.chunks import BarColumns
from crypto_bot_core.builtins.replay.config import ReplayConfig, ReplayFile
from crypto_bot_core.builtins.replay.source import ReplayBlock, ReplaySource

__all__ = ["BarColumns", "ReplayBlock", "ReplayConfig", "ReplayFile", "ReplaySource"]
