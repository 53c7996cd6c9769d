"""Turning config instances into components of loaded plugins.

Each ``{name, plugin, config}`` entry is looked up by address among the loaded
components of its section's kind, and its ``config`` is validated by the
component's own model (``Component.from_config``) through the plugin's fence.
The mode is checked against the exchanges: a backtest needs simulated venues
and a live run real ones. All problems are reported together, each with its
key and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crypto_bot_core.config.models import SECTION_KINDS, CryptoBotConfig, InstanceSpec, Mode
from crypto_bot_core.host.records import ComponentInfo, PluginStatus
from crypto_bot_core.host.registry import UnknownComponentError
from crypto_bot_core.support.yaml_errors import ConfigProblem, Loc, format_key, parse_key
from crypto_bot_sdk import Component, ConfigError, CryptoBotError, PluginKind

if TYPE_CHECKING:
    from crypto_bot_core.config.loader import LoadedConfig
    from crypto_bot_core.host import Host

SIMULATED = "simulated"
REQUIRED_SECTIONS = ("data_sources", "agents", "exchanges")


@dataclass(frozen=True, slots=True)
class ResolvedInstance:
    """One configured component, built from its validated settings (not started)."""

    section: str
    index: int
    spec: InstanceSpec
    component: ComponentInfo
    instance: Component[Any]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def key(self) -> str:
        return f"{self.section}[{self.index}]"

    @property
    def kind(self) -> PluginKind:
        return self.component.kind


@dataclass(frozen=True, slots=True)
class ResolvedConfig:
    config: CryptoBotConfig
    instances: tuple[ResolvedInstance, ...]

    def section(self, name: str) -> tuple[ResolvedInstance, ...]:
        """The instances of one section (``"agents"``...), in file order."""
        if name not in SECTION_KINDS:
            raise KeyError(f"{name!r} is not an instance section: {sorted(SECTION_KINDS)}")
        return tuple(i for i in self.instances if i.section == name)

    def by_name(self, section: str) -> dict[str, Component[Any]]:
        return {i.name: i.instance for i in self.section(section)}


def _strip_key(exc: ConfigError) -> str:
    text = str(exc)
    return text.removeprefix(f"{exc.key}: ") if exc.key else text


def _build(
    host: Host, spec: InstanceSpec, info: ComponentInfo, loc: Loc
) -> tuple[Component[Any] | None, Loc, str]:
    """The component, or ``None`` and the path and message of what is wrong with its config."""
    key = format_key((*loc, "config"))
    try:
        instance = host.fence(info.plugin).call(info.cls.from_config, spec.config, key=key)
    except ConfigError as exc:
        return None, parse_key(exc.key) if exc.key else (*loc, "config"), _strip_key(exc)
    except CryptoBotError as exc:
        return None, (*loc, "config"), str(exc)
    return instance, loc, ""


def _mode_problem(host: Host, mode: Mode, spec: InstanceSpec, info: ComponentInfo) -> str | None:
    manifests = [
        r.manifest
        for r in host.records_named(info.plugin)
        if r.status is PluginStatus.LOADED and r.manifest is not None
    ]
    simulated = any(SIMULATED in manifest.capabilities for manifest in manifests)
    if mode is Mode.BACKTEST and not simulated:
        return (
            f"mode backtest replays history against a simulated venue, but {spec.plugin!r} is a "
            f"real venue (its manifest does not declare capability {SIMULATED!r}); use mode "
            "paper or live for it, or a simulated exchange such as paper-exchange"
        )
    if mode is Mode.LIVE and simulated:
        return (
            f"mode live trades real money, but {spec.plugin!r} is a simulated venue; use mode "
            "paper instead, or configure a real exchange"
        )
    return None


def resolve_instances(
    loaded: LoadedConfig, host: Host, *, require_run_parts: bool = True
) -> ResolvedConfig:
    """Every instance built and checked; one :class:`ConfigFileError` lists all problems.

    ``require_run_parts``: a run needs at least one data source, agent and exchange.
    """
    config = loaded.config
    origin = loaded.origin
    problems: list[ConfigProblem] = []
    resolved: list[ResolvedInstance] = []
    for section, kind in SECTION_KINDS.items():
        specs = config.section(section)
        if require_run_parts and section in REQUIRED_SECTIONS and not specs:
            available = ", ".join(host.registry.addresses(kind)) or "none installed"
            problems.append(
                origin.problem(
                    (section,),
                    f"a run needs at least one {kind.value}; add an entry "
                    f"{{plugin: ADDRESS}} (available: {available})",
                )
            )
        for index, spec in enumerate(specs):
            loc: Loc = (section, index)
            try:
                info = host.resolve(kind, spec.plugin)
            except UnknownComponentError as exc:
                problems.append(origin.problem((*loc, "plugin"), str(exc)))
                continue
            if kind is PluginKind.EXCHANGE:
                mode_problem = _mode_problem(host, config.mode, spec, info)
                if mode_problem:
                    problems.append(origin.problem((*loc, "plugin"), mode_problem))
            instance, bad_loc, message = _build(host, spec, info, loc)
            if instance is None:
                problems.append(origin.problem(bad_loc, message))
                continue
            resolved.append(ResolvedInstance(section, index, spec, info, instance))
    if require_run_parts:
        problems.extend(_policy_problems(loaded))
        problems.extend(_data_venue_problems(loaded, resolved))
    if problems:
        raise origin.error(problems)
    return ResolvedConfig(config=config, instances=tuple(resolved))


def _declared_venues(config: object) -> set[str] | None:
    """The venues a data source's settings declare (``venues``, ``venue``, or its ``files``'
    ``venue``); None when they do not say (a feed whose venues only its instruments tell)."""
    venues = getattr(config, "venues", None)
    if isinstance(venues, list | tuple) and all(isinstance(v, str) for v in venues):
        return set(venues)
    venue = getattr(config, "venue", None)
    if isinstance(venue, str):
        return {venue}
    files = getattr(config, "files", None)
    if isinstance(files, list | tuple):
        found = {getattr(f, "venue", None) for f in files}
        if found and all(isinstance(v, str) for v in found):
            return {str(v) for v in found}
    return None


def _data_venue_problems(
    loaded: LoadedConfig, resolved: list[ResolvedInstance]
) -> list[ConfigProblem]:
    """Exchanges whose ``data_venue`` no data source holds: such a simulated venue would see
    no market event and trade nothing, while the run "completes". Checked only when every
    data source declares its venues in its settings (instruments are not asked here: a
    replay would read its files, a live feed the network)."""
    known: set[str] = set()
    for instance in resolved:
        if instance.section == "data_sources":
            declared = _declared_venues(instance.instance.config)
            if declared is None:
                return []
            known |= declared
    if not known:
        return []
    problems: list[ConfigProblem] = []
    for instance in resolved:
        if instance.section != "exchanges":
            continue
        wanted = getattr(instance.instance.config, "data_venue", None)
        if isinstance(wanted, str) and wanted not in known:
            problems.append(
                loaded.origin.problem(
                    (instance.section, instance.index, "config", "data_venue"),
                    f"data_venue {wanted!r} is no venue of the data (its venues: "
                    f"{', '.join(sorted(known))}): this venue would see no market event and "
                    "trade nothing. Name one of them, or leave data_venue out to match every "
                    "event",
                )
            )
    return problems


def _policy_problems(loaded: LoadedConfig) -> list[ConfigProblem]:
    """Policies that name agents or policies the config does not define.

    ``run`` refuses them when it assembles the engine; checked here too, so that
    ``config validate`` never calls valid a config that ``run`` refuses. The same
    merge as the run's: a policies file's definitions and mapping, then the inline ones.
    """
    from crypto_bot_core.engine.policy import PolicyRegistry

    config, origin = loaded.config, loaded.origin
    settings = config.policies
    agents = sorted(spec.name for spec in config.agents)
    problems: list[ConfigProblem] = []
    defined = set(settings.definitions)
    symbols: dict[str, str] = {}
    if settings.policies_file is not None:
        where: Loc = ("policies", "policies_file")
        try:
            registry = PolicyRegistry.from_file(settings.policies_file)
        except ConfigError as exc:
            return [origin.problem(where, str(exc))]
        defined.update(registry.policies)
        symbols = dict(registry.symbols)  # its default is one of its policies (checked there)
        for name, spec in registry.policies.items():
            if name in settings.definitions:
                continue  # replaced by the inline definition
            problems.extend(
                origin.problem(
                    where,
                    f"{settings.policies_file}: policy {name!r} uses agent {member.agent!r}, "
                    f"which is not configured; configured agents: {agents}",
                )
                for member in spec.agents
                if member.agent not in agents
            )
    for name, spec in settings.definitions.items():
        problems.extend(
            origin.problem(
                ("policies", "definitions", name, "agents", index, "agent"),
                f"policy {name!r} uses agent {member.agent!r}, which is not configured; "
                f"configured agents: {agents}",
            )
            for index, member in enumerate(spec.agents)
            if member.agent not in agents
        )
    if not defined:
        defined = {"all"}  # the run's one equal blend of every agent
    references: list[tuple[Loc, str]] = []
    if settings.default is not None:
        references.append((("policies", "default"), settings.default))
    symbols.update(settings.symbol_policies)
    references.extend(
        (
            ("policies", "symbol_policies", symbol)
            if symbol in settings.symbol_policies
            else ("policies", "policies_file"),
            policy,
        )
        for symbol, policy in symbols.items()
    )
    problems.extend(
        origin.problem(
            loc,
            f"names policy {policy!r}, which is not defined; defined: {sorted(defined)}",
        )
        for loc, policy in references
        if policy not in defined
    )
    return problems
