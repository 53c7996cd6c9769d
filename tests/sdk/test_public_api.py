"""The SDK's public surface, pinned: changing it must be a deliberate edit of this file.

Plugins build against these names: adding one is a minor API bump, removing or
renaming one a major bump (docs/plugin-guide/versioning.md).
"""

from __future__ import annotations

import pytest

import crypto_bot_sdk
import crypto_bot_sdk.testing

SDK_PUBLIC = [
    "API_VERSION",
    "Agent",
    "AgentUnavailableError",
    "Alert",
    "AlertSeverity",
    "AuthenticationError",
    "Balance",
    "Bar",
    "BookLevel",
    "CAPABILITY_METHODS",
    "CONTRACTS",
    "ClockSkewError",
    "Component",
    "ConfigError",
    "CryptoBotError",
    "DataSource",
    "DataSourceError",
    "DuplicateOrderError",
    "DuplicatePluginError",
    "ENTRY_POINT_GROUP",
    "ErasureRefusedError",
    "ExchangeAdapter",
    "ExchangeError",
    "ExchangeUnavailableError",
    "FeeSchedule",
    "Fill",
    "FrozenModel",
    "IllegalTransitionError",
    "InMemoryMarketView",
    "IncompatiblePluginError",
    "Instrument",
    "InstrumentKind",
    "InsufficientFundsError",
    "InvalidOrderError",
    "LedgerError",
    "LedgerIntegrityError",
    "LedgerRecord",
    "Liquidity",
    "MANIFEST_FILENAME",
    "Manifest",
    "ManifestError",
    "MarketEvent",
    "MarketView",
    "MetricPoint",
    "ModelValidationError",
    "Money",
    "NonNegativeMoney",
    "NotSupportedError",
    "ORDER_TRANSITIONS",
    "Order",
    "OrderBook",
    "OrderError",
    "OrderIntent",
    "OrderNotFoundError",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "PROJECT_NAME",
    "PluginConfig",
    "PluginContractError",
    "PluginError",
    "PluginKind",
    "PluginLoadError",
    "PortfolioSnapshot",
    "Position",
    "PositiveMoney",
    "PrecisionError",
    "RateLimitedError",
    "RecordType",
    "ReportArtefact",
    "ReportPeriod",
    "Reporter",
    "RiskContext",
    "RiskError",
    "RiskRule",
    "RiskVerdict",
    "Side",
    "Signal",
    "TERMINAL_STATUSES",
    "TimeInForce",
    "Trade",
    "UtcDatetime",
    "VerdictAction",
    "__version__",
    "compatibility_problems",
    "hookimpl",
    "hookspec",
    "manifest_json_schema",
    "parse_api_version",
    "parse_symbol",
]

TESTING_PUBLIC = [
    "AgentConformance",
    "CAPABILITIES",
    "Capability",
    "ComponentFactory",
    "DEFAULT_VENUE",
    "DataSourceConformance",
    "DriveMarket",
    "ExchangeAdapterConformance",
    "FIXED_NOW",
    "GENESIS_HASH",
    "LedgerChain",
    "PartialFillScenario",
    "ReporterConformance",
    "RiskRuleConformance",
    "StaticRiskContext",
    "StreamWindow",
    "bar_series",
    "make_instrument",
    "make_intent",
    "market_view_from",
    "run_async",
    "sample_trading_records",
    "timeframe_delta",
]


@pytest.mark.parametrize(
    ("module", "expected"),
    [(crypto_bot_sdk, SDK_PUBLIC), (crypto_bot_sdk.testing, TESTING_PUBLIC)],
    ids=["crypto_bot_sdk", "crypto_bot_sdk.testing"],
)
def test_public_names_are_exactly_the_pinned_list(module: object, expected: list[str]) -> None:
    exported = list(getattr(module, "__all__"))  # noqa: B009 - both modules, one test
    assert sorted(exported) == expected
    assert len(set(exported)) == len(exported), "a name is exported twice"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], f"__all__ names that do not exist: {missing}"


def test_typing_marker_ships_with_the_package() -> None:
    from importlib.resources import files

    assert (files("crypto_bot_sdk") / "py.typed").is_file()
