"""The conformance kit: contract checks a plugin author runs from their own pytest suite.

Subclass the class for your contract in a ``Test...`` class, override its
fixtures (the manifest, a factory of fresh components, and what the contract
needs: an instrument, a market view, intents...), and pytest runs every check
that applies, selected by the capabilities your manifest declares::

    class TestMyExchange(ExchangeAdapterConformance):
        @pytest.fixture
        def manifest(self) -> Manifest:
            return Manifest.from_path(Path(my_plugin.__file__).with_name("manifest.json"))
        ...

The kit imports pytest, so import it from test code only; the SDK itself does
not depend on pytest. ``docs/plugin-guide/conformance.md`` has a full example.
"""

from crypto_bot_sdk.testing._agent import AgentConformance
from crypto_bot_sdk.testing._capabilities import CAPABILITIES, Capability
from crypto_bot_sdk.testing._datasource import DataSourceConformance, StreamWindow
from crypto_bot_sdk.testing._exchange import ExchangeAdapterConformance
from crypto_bot_sdk.testing._exchange_support import DriveMarket, PartialFillScenario
from crypto_bot_sdk.testing._fakes import (
    DEFAULT_VENUE,
    FIXED_NOW,
    StaticRiskContext,
    bar_series,
    make_instrument,
    make_intent,
    market_view_from,
    timeframe_delta,
)
from crypto_bot_sdk.testing._ledger import GENESIS_HASH, LedgerChain, sample_trading_records
from crypto_bot_sdk.testing._notifier import DeliveredAlerts, NotifierConformance, sample_alerts
from crypto_bot_sdk.testing._oversight import OversightConformance
from crypto_bot_sdk.testing._reporter import ReporterConformance
from crypto_bot_sdk.testing._riskrule import RiskRuleConformance
from crypto_bot_sdk.testing._selector import PolicySelectorConformance
from crypto_bot_sdk.testing._support import ComponentFactory, run_async

__all__ = [
    "CAPABILITIES",
    "DEFAULT_VENUE",
    "FIXED_NOW",
    "GENESIS_HASH",
    "AgentConformance",
    "Capability",
    "ComponentFactory",
    "DataSourceConformance",
    "DeliveredAlerts",
    "DriveMarket",
    "ExchangeAdapterConformance",
    "LedgerChain",
    "NotifierConformance",
    "OversightConformance",
    "PartialFillScenario",
    "PolicySelectorConformance",
    "ReporterConformance",
    "RiskRuleConformance",
    "StaticRiskContext",
    "StreamWindow",
    "bar_series",
    "make_instrument",
    "make_intent",
    "market_view_from",
    "run_async",
    "sample_alerts",
    "sample_trading_records",
    "timeframe_delta",
]
