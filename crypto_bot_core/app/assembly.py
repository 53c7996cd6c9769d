"""Assembling an engine from the config file and the loaded plugins.

Everything here is by configuration: which data sources, agents, venues,
rules and reporters run comes from the YAML file (or the embedded default),
resolved against whatever plugins the host loaded. No part is special-cased
by name, built-ins included.

:func:`assemble` is the one builder of an :class:`Engine`: whatever a caller
needs different from the configuration (the service's telemetry and its timed
ledger, a progress callback, the venue state store and kill file of a durable
run, a scenario's wrapped data sources, a resumed run's id) is passed to it as
an option and given to the engine's constructor. Nobody sets a field of a
built engine, so what an engine runs with is all in one call.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
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
from crypto_bot_core.engine.durability import VenueStateStore, write_atomically
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.observers import (
    AlertFanout,
    NotifierSlot,
    Observers,
    alert_record,
    notifier_failure_record,
)
from crypto_bot_core.engine.orders import AuditLog
from crypto_bot_core.engine.oversight import Oversight, Watcher
from crypto_bot_core.engine.policy import AgentWeight, PolicyRegistry, PolicySpec
from crypto_bot_core.engine.risk import RiskPipeline
from crypto_bot_core.engine.selection import FencedSelector, PolicySelector
from crypto_bot_core.engine.streams import GuardedSources, degraded_record
from crypto_bot_core.host import Host, PluginRecord, PluginStatus
from crypto_bot_core.observability.metrics import MetricsSink, NullMetrics
from crypto_bot_sdk import (
    Agent,
    ConfigError,
    DataSource,
    ExchangeAdapter,
    Notifier,
    Reporter,
    RiskRule,
)
from crypto_bot_sdk import Oversight as SdkOversight
from crypto_bot_sdk import PolicySelector as SdkPolicySelector


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


def default_run_dir(config: CryptoBotConfig, run_id: str) -> Path:
    """Where a run's folder is when the caller names none: ``run.run_dir / run_id``.

    Public so the runner can know the folder (for its kill file) before it assembles.
    """
    return config.run.run_dir / run_id


def ledger_url_for(config: CryptoBotConfig, run_dir: Path) -> str:
    """The configured ledger, or the run folder's own SQLite file.

    Public so a resume can open the ledger, and read the run id from it, before it
    assembles the engine that continues the run.
    """
    return config.ledger.url or f"sqlite:///{(run_dir / 'ledger.sqlite').as_posix()}"


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
    wrap_ledger: Callable[[AuditLog], AuditLog] | None = None,
    wrap_sources: Callable[[DataSource[Any]], DataSource[Any]] | None = None,
    metrics: MetricsSink | None = None,
    yield_every_tick: bool = False,
    on_progress: Callable[[datetime], None] | None = None,
    save_venue_state: bool = False,
    kill_requested: Callable[[], str | None] | None = None,
) -> Assembled:
    """Resolve the config against ``host`` and build an :class:`Engine` whole (not started).

    ``ledger`` or ``ledger_factory`` (called with the ledger URL) gives the audit log;
    ``wrap_ledger`` wraps it (the service times every append). ``wrap_sources`` wraps
    each configured data source (a stress scenario's shocked replay). ``metrics``,
    ``yield_every_tick``, ``on_progress`` and ``kill_requested`` go to the engine as
    they are. ``save_venue_state`` keeps the simulated venues' state under
    ``run_dir/venues`` (paper and live runs, so they can be resumed); it is a flag
    rather than a store because the store needs the venues, built only in here.
    """
    resolved = resolve_instances(loaded, host)
    config = resolved.config
    run_id = run_id or new_run_id(config.mode)
    run_dir = run_dir or default_run_dir(config, run_id)
    ledger_url = ledger_url_for(config, run_dir)
    if ledger is None:
        if ledger_factory is None:
            raise ValueError("assemble() needs a ledger or a ledger_factory")
        run_dir.mkdir(parents=True, exist_ok=True)
        ledger = ledger_factory(ledger_url)
    raw_ledger = ledger
    plugins = _audit_trail(
        raw_ledger, host, config, run_dir, run_id, opened=ledger_factory is not None
    )
    if wrap_ledger is not None:
        ledger = wrap_ledger(ledger)

    budgets = config.budgets
    source_items = resolved.section("data_sources")
    plain_sources: list[DataSource[Any]] = [
        _typed(i.instance, DataSource, i.key) for i in source_items
    ]
    if wrap_sources is not None:
        plain_sources = [wrap_sources(source) for source in plain_sources]
    # The sources' streams are fenced per item with the data-source budget; a failing
    # source ends the run with its name, or is dropped (``data_source_failure: degrade``)
    # with an alert in the ledger the engine holds then (looked up late, like observers).
    data_sources = GuardedSources(
        plain_sources,
        names=[i.name for i in source_items],
        fences=[host.fence_for(i.instance) for i in source_items],
        budget_per_item=budgets.data_source,
        on_failure=config.data_source_failure.value,
        on_degraded=lambda name, error: engine.ledger.append(*degraded_record(name, error)),
    )
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
    rule_fences = {}
    for item in resolved.section("risk_rules"):
        rules.append((item.name, _typed(item.instance, RiskRule, item.key)))
        rule_fences[item.name] = host.fence_for(item.instance)

    clock: Clock = WallClock() if config.mode is Mode.LIVE else SimulatedClock()
    oversight = _oversight(resolved, host, lambda: engine.ledger)
    # A failing observer is recorded in the ledger the engine holds when it fails (the
    # kernel may have batched it by then), so the callback looks the engine up late.
    engine: Engine
    observers = Observers(
        host,
        lambda hook, error: engine.ledger.append(*alert_record(hook, error)),
        budget=budgets.observer,
    )
    engine = Engine(
        run_id=run_id,
        data_sources=data_sources,
        agents=agents,
        exchanges=exchanges,
        policies=policy_registry(loaded, list(agents)),
        risk=RiskPipeline(rules, fences=rule_fences, budget=budgets.risk_rule),
        ledger=ledger,
        sizing=config.sizing,
        currencies=config.portfolio,
        clock=clock,
        mode=config.mode.value,
        on_progress=on_progress,
        agent_fences={
            name: host.fence_for(agent).with_budget(budgets.agent)
            for name, agent in agents.items()
        },
        exchange_fences={venue: host.fence_for(a) for venue, a in exchanges.items()},
        exchange_budget=budgets.exchange,
        state_store=VenueStateStore(run_dir / "venues", exchanges) if save_venue_state else None,
        kill_requested=kill_requested,
        metrics=metrics if metrics is not None else NullMetrics(),
        selector=_selector(resolved, host),
        oversight=oversight,
        observers=observers if observers.active else None,
        yield_every_tick=yield_every_tick,
        plugins=tuple(plugins),
    )
    subscribe = getattr(raw_ledger, "subscribe", None)
    if observers.wants("cryptobot_ledger_record") and callable(subscribe):
        subscribe(lambda record: observers.emit("cryptobot_ledger_record", record=record))
    if oversight is not None and oversight.notifiers is not None:
        if not callable(subscribe):
            raise ConfigError(
                "notifiers hear of alerts from the ledger, and this run's ledger "
                f"({type(raw_ledger).__name__}) cannot be listened to; use the audit ledger",
                key="notifiers",
            )
        subscribe(oversight.notifiers.record)
    start, end = _window(loaded)
    reporters = {i.name: _typed(i.instance, Reporter, i.key) for i in resolved.section("reporters")}
    return Assembled(engine, resolved, run_dir, ledger_url, start, end, reporters)


PLUGINS_FILE = "plugins.json"


def _audit_trail(
    ledger: object, host: Host, config: CryptoBotConfig, run_dir: Path, run_id: str, *, opened: bool
) -> list[dict[str, Any]]:
    """Start the run's checkpoints and write its plugin set; return the set for the engine.

    A ledger ``opened`` by this assembly and refused here (no signing key under
    ``checkpoints: true``) is closed before the refusal: nobody else holds it.
    """
    try:
        _checkpoint_run(ledger, config, run_dir)
    except BaseException:
        close = getattr(ledger, "close", None)
        if opened and callable(close):
            close()
        raise
    plugins = plugin_set(host)
    if run_dir.is_dir():
        _write_plugins(run_dir, run_id, plugins)
    return plugins


def plugin_set(host: Host) -> list[dict[str, Any]]:
    """The plugins the host loaded, as the run records them: which code decided.

    Name, distribution and its version, the manifest's version and the SHA-256 of
    the manifest file (of its canonical JSON for a plugin registered in code), so
    an auditor can tell later which build of each plugin produced the decisions.
    """
    found = []
    for record in host.records:
        if record.status is not PluginStatus.LOADED:
            continue
        found.append(
            {
                "name": record.name,
                "distribution": record.distribution,
                "distribution_version": record.distribution_version,
                "version": record.version,
                "manifest_sha256": _manifest_digest(record),
            }
        )
    return found


def _manifest_digest(record: PluginRecord) -> str | None:
    if record.manifest_path is not None:
        try:
            return hashlib.sha256(Path(record.manifest_path).read_bytes()).hexdigest()
        except OSError:
            pass  # gone since it was loaded: fall back to what was loaded
    if record.manifest is None:
        return None
    text = json.dumps(record.manifest.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _write_plugins(run_dir: Path, run_id: str, plugins: list[dict[str, Any]]) -> None:
    """``plugins.json`` in the run folder: the set this session loaded (the ledger's start
    record of every session, a resumed one included, holds its own)."""
    text = json.dumps({"run_id": run_id, "plugins": plugins}, indent=2, sort_keys=True) + "\n"
    write_atomically(run_dir / PLUGINS_FILE, text)


def _checkpoint_run(ledger: object, config: CryptoBotConfig, run_dir: Path) -> None:
    """Have the audit ledger sign checkpoints during the run and at its end (``ledger:``).

    The latest is published in the run folder (``checkpoint.json``) and, when
    ``checkpoint_publish`` is set, in that directory. With ``checkpoints: auto`` a
    ledger that has no signing key (a PostgreSQL writer role, whose checkpoints a
    checkpointer signs) runs without; with ``true`` the run is refused instead.
    """
    settings = config.ledger
    start = getattr(ledger, "checkpoint_during_run", None)
    if settings.checkpoints is False or not callable(start):
        return
    from crypto_bot_core.ledger import CheckpointPolicy

    policy = CheckpointPolicy(
        every_records=settings.checkpoint_every_records,
        every_seconds=settings.checkpoint_every_seconds,
        latest_file=run_dir / "checkpoint.json" if run_dir.is_dir() else None,
        publish_dir=settings.checkpoint_publish,
    )
    try:
        start(policy)
    except ConfigError as exc:
        if settings.checkpoints is True:
            raise ConfigError(
                f"{exc}; or set ledger.checkpoints to auto or false", key="ledger.checkpoints"
            ) from exc


def _typed(instance: object, contract: type, key: str) -> Any:
    # The resolver already matched kinds; this guards the engine's assumptions anyway.
    if not isinstance(instance, contract):
        raise ConfigError(f"is not a {contract.__name__}", key=key)
    return instance


def _selector(resolved: ResolvedConfig, host: Host) -> FencedSelector | None:
    """The configured selector behind its fence, or None: the registry's mapping decides."""
    budget = resolved.config.budgets.selector
    for item in resolved.section("selector"):
        selector: PolicySelector = _typed(item.instance, SdkPolicySelector, item.key)
        return FencedSelector(
            selector, instance=item.name, fence=host.fence_for(selector), budget=budget
        )
    return None


def _oversight(
    resolved: ResolvedConfig, host: Host, ledger: Callable[[], AuditLog]
) -> Oversight | None:
    """The oversight components and the notifiers the config asks for (the deprecated
    ``risk_monitor:`` and ``arbitrage:`` sections among the former), or None.

    ``ledger`` gives the engine's ledger when a notifier's failure is recorded: by then
    the kernel may have wrapped it in its batching log.
    """
    watchers = [
        Watcher(
            item.name,
            _typed(item.instance, SdkOversight, item.key),
            host.fence_for(item.instance),
        )
        for item in resolved.section("oversight")
    ]
    slots = [
        NotifierSlot(
            item.name, _typed(item.instance, Notifier, item.key), host.fence_for(item.instance)
        )
        for item in resolved.section("notifiers")
    ]
    if not watchers and not slots:
        return None
    fanout = None
    if slots:
        fanout = AlertFanout(
            slots,
            budget=resolved.config.budgets.notifier,
            record_failure=lambda slot, kind, detail: ledger().append(
                *notifier_failure_record(slot, kind, detail)
            ),
        )
    return Oversight(
        watchers=watchers, notifiers=fanout, budget=resolved.config.budgets.oversight
    )
