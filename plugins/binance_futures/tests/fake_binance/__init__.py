"""A fake Binance USDⓈ-M futures API on loopback, speaking the real wire format."""

from .faults import Fault, FaultKind
from .harness import API_KEY, API_SECRET, FakeBinanceServer, default_symbols
from .models import SymbolSpec
from .tls import BINANCE_HOSTS, Certificates, make_certificates

__all__ = [
    "API_KEY",
    "API_SECRET",
    "BINANCE_HOSTS",
    "Certificates",
    "FakeBinanceServer",
    "Fault",
    "FaultKind",
    "SymbolSpec",
    "default_symbols",
    "make_certificates",
]
