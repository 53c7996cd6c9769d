"""Assembling an engine from the config file and the loaded plugins.

Everything here is by configuration: which data sources, agents, venues,
rules and reporters run comes from the YAML file (or the embedded default),
resolved against whatever plugins the host loaded. No part is special-cased
by name, built-ins included.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crypto_bot_core.config import (
    CryptoBotConfig,
    LoadedConfig,
    Mode,
    ResolvedConfig,
    resolve_instances,
)
from crypto_bot_core.engine.clock import Clock, SimulatedClock, WallClock
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.observers import Observers, alert_record
from crypto_bot_core.engine.orders import AuditLog
from crypto_bot_core.engine.oversight import Oversight
from crypto_bot_core.engine.policy import AgentWeight, PolicyRegistry, PolicySpec
from crypto_bot_core.engine.risk import RiskPipeline
from crypto_bot_core.host import Host
from crypto_bot_sdk import (
    Agent,
    ConfigError,
    DataSource,
    ExchangeAdapter,
    Reporter,
    RiskRule,
    RiskVerdict,
)


@dataclass
class Assembled:
    """An engine ready to start, with what the run needs around it."""

    engine: Engine
    resolved: ResolvedConfig
    run_dir: Path
    ledger_url: str
    start: datetime | None
    end: datetime | None
    reporters: dict[str, Reporter[Any]]


def new_run_id(mode: Mode, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    return f"{mode.value}-{stamp}-{secrets.token_hex(2)}"


def policy_registry(loaded: LoadedConfig, agent_names: list[str]) -> PolicyRegistry:
    """The registry from the file and/or inline definitions; one equal blend if neither."""
    settings = loaded.config.policies
    definitions: dict[str, PolicySpec] = {}
    default: str | None = None
    symbols: dict[str, str] = {}
    if settings.policies_file is not None:
        from_file = PolicyRegistry.from_file(settings.policies_file)
        definitions.update(from_file.policies)
        default, symbols = from_file.default, dict(from_file.symbols)
    definitions.update(settings.definitions)
    symbols.update(settings.symbol_policies)
    default = settings.default or default
    if not definitions:
        definitions = {"all": PolicySpec(agents=tuple(AgentWeight(agent=a) for a in agent_names))}
    if default is None:
        default = next(iter(definitions))
    registry = PolicyRegistry.from_mapping(
        {"policies": definitions, "symbols": symbols, "default": default}, source="policies"
    )
    registry.check_agents(agent_names)
    return registry


def _window(loaded: LoadedConfig) -> tuple[datetime | None, datetime | None]:
    run = loaded.config.run
    end = run.end
    if end is None and run.duration is not None and run.start is not None:
        end = run.start + run.duration
    return run.start, end


def assemble(
    loaded: LoadedConfig,
    host: Host,
    *,
    ledger: AuditLog | None = None,
    ledger_factory: Callable[[str], AuditLog] | None = None,
    run_id: str | None = None,
    run_dir: Path | None = None,
) -> Assembled:
    """Resolve the config against ``host`` and wire an :class:`Engine` (not yet started)."""
    resolved = resolve_instances(loaded, host)
    config = resolved.config
    run_id = run_id or new_run_id(config.mode)
    run_dir = run_dir or config.run.run_dir / run_id
    ledger_url = config.ledger.url or f"sqlite:///{(run_dir / 'ledger.sqlite').as_posix()}"
    if ledger is None:
        if ledger_factory is None:
            raise ValueError("assemble() needs a ledger or a ledger_factory")
        run_dir.mkdir(parents=True, exist_ok=True)
        ledger = ledger_factory(ledger_url)

    data_sources: list[DataSource[Any]] = [
        _typed(i.instance, DataSource, i.key) for i in resolved.section("data_sources")
    ]
    agents = {i.name: _typed(i.instance, Agent, i.key) for i in resolved.section("agents")}
    exchanges: dict[str, ExchangeAdapter[Any]] = {}
    for item in resolved.section("exchanges"):
        adapter: ExchangeAdapter[Any] = _typed(item.instance, ExchangeAdapter, item.key)
        if adapter.venue in exchanges:
            raise ConfigError(
                f"venue {adapter.venue!r} is configured twice; give each exchange its own venue",
                key=f"{item.key}.config.venue",
            )
        exchanges[adapter.venue] = adapter

    rules: list[tuple[str, RiskRule[Any]]] = []
    fences = {}
    for item in resolved.section("risk_rules"):
        rules.append((item.name, _typed(item.instance, RiskRule, item.key)))
        fences[item.name] = host.fence_for(item.instance)

    def fenced(name: str, call: Callable[[], RiskVerdict]) -> RiskVerdict:
        return fences[name].call(call)

    clock: Clock = WallClock() if config.mode is Mode.LIVE else SimulatedClock()
    engine = Engine(
        run_id=run_id,
        data_sources=data_sources,
        agents=agents,
        exchanges=exchanges,
        policies=policy_registry(loaded, list(agents)),
        risk=RiskPipeline(rules, fence=fenced),
        ledger=ledger,
        sizing=config.sizing,
        clock=clock,
        mode=config.mode.value,
        agent_fences={name: host.fence_for(agent) for name, agent in agents.items()},
        oversight=_oversight(config, host),
    )
    observers = Observers(
        host, lambda hook, error: engine.ledger.append(*alert_record(hook, error))
    )
    if observers.active:
        engine.observers = observers
        subscribe = getattr(ledger, "subscribe", None)
        if observers.wants("cryptobot_ledger_record") and callable(subscribe):
            subscribe(lambda record: observers.emit("cryptobot_ledger_record", record=record))
    start, end = _window(loaded)
    reporters = {i.name: _typed(i.instance, Reporter, i.key) for i in resolved.section("reporters")}
    return Assembled(engine, resolved, run_dir, ledger_url, start, end, reporters)


def _typed(instance: object, contract: type, key: str) -> Any:
    # The resolver already matched kinds; this guards the engine's assumptions anyway.
    if not isinstance(instance, contract):
        raise ConfigError(f"is not a {contract.__name__}", key=key)
    return instance


def _oversight(config: CryptoBotConfig, host: Host) -> Oversight | None:
    """The risk monitor and arbitrage guard the config asks for, if any."""
    if config.risk_monitor is None and config.arbitrage is None:
        return None
    from crypto_bot_core.risk.arbitrage import ArbitrageDetector
    from crypto_bot_core.risk.monitor import MonitorLimits, RiskMonitor

    monitor = None
    if config.risk_monitor is not None:
        limits = MonitorLimits.model_validate(config.risk_monitor.model_dump(exclude={"every"}))
        monitor = RiskMonitor(limits)
    return Oversight(
        monitor=monitor,
        monitor_every=config.risk_monitor.every if config.risk_monitor else timedelta(hours=1),
        arbitrage=ArbitrageDetector(config.arbitrage) if config.arbitrage else None,
        notifier=host,
    )
