"""crypto-bot core: the host that discovers plugins and assembles the trading system.

Importing this package must stay cheap: heavy libraries (torch, ccxt, mlflow...)
are imported inside the functions that use them (DESIGN rule 6).
"""

from crypto_bot_core._version import __version__

__all__ = ["__version__"]
