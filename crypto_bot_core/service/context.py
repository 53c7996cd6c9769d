"""What the service works with: the token verifier, the plugins, the ledger, the reporters.

Built once when the app starts. The reporters and (for an engine-less service)
the exchanges come from the bot's config file, resolved against the loaded
plugins exactly as ``cryptobot run`` resolves them, so the service serves the
reports the deployment configured and nothing is chosen by plugin name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crypto_bot_core.service.auth import TokenVerifier
from crypto_bot_core.service.control import EngineControl, probe_exchanges
from crypto_bot_core.service.settings import ServiceSettings
from crypto_bot_sdk import ConfigError, ExchangeAdapter, Reporter

if TYPE_CHECKING:
    from crypto_bot_core.host import Host
    from crypto_bot_core.ledger import Ledger


@dataclass
class ServiceContext:
    settings: ServiceSettings
    verifier: TokenVerifier
    host: Host
    ledger: Ledger
    reporters: dict[str, Reporter[Any]]
    control: EngineControl | None = None
    exchanges: dict[str, ExchangeAdapter[Any]] = field(default_factory=dict)
    registries: list[Any] = field(default_factory=list)
    started_exchanges: list[ExchangeAdapter[Any]] = field(default_factory=list)

    async def exchange_health(self) -> dict[str, str | None]:
        timeout = self.settings.readiness_timeout_s
        if self.control is not None:
            return await self.control.check_exchanges(timeout)
        return await probe_exchanges(self.exchanges, timeout)

    async def start(self) -> None:
        """Start the exchanges of an engine-less service (an attached engine has its own)."""
        for adapter in self.exchanges.values():
            await adapter.start()
            self.started_exchanges.append(adapter)

    async def close(self) -> None:
        for adapter in reversed(self.started_exchanges):
            await adapter.close()
        self.started_exchanges.clear()
        self.ledger.close()


def build_context(
    settings: ServiceSettings,
    *,
    host: Host | None = None,
    ledger: Ledger | None = None,
    control: EngineControl | None = None,
    registries: list[Any] | None = None,
) -> ServiceContext:
    from crypto_bot_core.config import default_config, load_config, resolve_instances
    from crypto_bot_core.host import Host

    key, algorithm = settings.verification_key()
    verifier = TokenVerifier(
        key,
        algorithm=algorithm,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway_s=settings.jwt_leeway_s,
        max_lifetime_s=settings.token_max_lifetime_s,
    )
    host = host or Host().load()
    loaded = load_config(settings.config_path) if settings.config_path else default_config()
    resolved = resolve_instances(loaded, host, require_run_parts=False)
    reporters = {i.name: i.instance for i in resolved.section("reporters")}
    exchanges: dict[str, ExchangeAdapter[Any]] = {}
    if control is None:
        for item in resolved.section("exchanges"):
            adapter = item.instance
            assert isinstance(adapter, ExchangeAdapter)
            exchanges[adapter.venue] = adapter
    if ledger is None:
        from crypto_bot_core.ledger import open_ledger

        url = settings.ledger_url or loaded.config.ledger.url
        if url is None:
            raise ConfigError(
                "the service has no ledger to read: set CRYPTOBOT_LEDGER_URL (or --ledger-url), "
                "or ledger.url in the config file",
                key="ledger_url",
            )
        ledger = open_ledger(url)
    return ServiceContext(
        settings=settings,
        verifier=verifier,
        host=host,
        ledger=ledger,
        reporters={name: r for name, r in reporters.items() if isinstance(r, Reporter)},
        control=control,
        exchanges=exchanges,
        registries=list(registries or ()),
    )
