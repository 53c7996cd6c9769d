"""crypto-bot plugin: Binance USDⓈ-M perpetual futures as an ExchangeAdapter, on ccxt."""

__version__ = "0.1.0"
