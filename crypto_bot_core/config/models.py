"""The shape of the one config file: which plugin instances run, with which settings.

Every model is frozen and rejects unknown keys, so a typo is an error that
names the key, never a silently ignored setting. Instance ``config`` mappings
are kept raw here: they are validated against each component's own
``config_model`` once the plugins are loaded (see :mod:`.resolve`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from crypto_bot_core.config.budgets import DataSourceFailure, PluginBudgets
from crypto_bot_core.engine.currencies import CurrencySettings
from crypto_bot_core.engine.policy import PolicySpec
from crypto_bot_core.engine.sizing import SizingConfig
from crypto_bot_core.risk.arbitrage import ArbitrageSettings
from crypto_bot_core.risk.monitor import RiskMonitorSettings
from crypto_bot_sdk import PluginKind, UtcDatetime

ADDRESS_PATTERN = r"^[a-z][a-z0-9-]{0,62}(:[a-z][a-z0-9_-]{0,62})?$"
INSTANCE_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$"
LEDGER_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")
_PLACEHOLDER_NAME = "unnamed"


class Mode(StrEnum):
    BACKTEST = "backtest"
    PAPER = "paper"
    LIVE = "live"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _midnight(value: Any) -> Any:
    # YAML reads ``2024-01-01`` as a date; a run boundary means that day's start in UTC.
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


RunTime = Annotated[UtcDatetime, BeforeValidator(_midnight)]


def _empty_is_mapping(value: Any) -> Any:
    # ``config:`` with nothing after it reads as null in YAML; it means "no settings".
    return {} if value is None else value


class RunSettings(_Section):
    start: RunTime | None = Field(
        default=None, description="First event time to process (backtest); a date means 00:00 UTC."
    )
    end: RunTime | None = Field(default=None, description="Stop before this time (exclusive).")
    duration: timedelta | None = Field(
        default=None,
        description="Run length instead of `end` (seconds or ISO 8601, e.g. P30D).",
    )
    run_dir: Path = Field(
        default=Path("runs"),
        description="Where run artefacts go; relative paths are relative to the working directory.",
    )
    seed: int = Field(default=0, ge=0, description="Seed of every random generator of the run.")

    @model_validator(mode="after")
    def _window(self) -> RunSettings:
        if self.end is not None and self.duration is not None:
            raise ValueError("set either end or duration, not both")
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValueError(f"duration {self.duration} must be positive")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(
                f"end {self.end.isoformat()} must be after start {self.start.isoformat()}"
            )
        return self


class LedgerSettings(_Section):
    url: str | None = Field(
        default=None,
        description="sqlite:///PATH or postgresql://USER@HOST/DB; unset: ledger.sqlite in run_dir.",
    )
    checkpoints: bool | Literal["auto"] = Field(
        default="auto",
        description="Sign checkpoints during and at the end of every run: auto (wherever a "
        "signing key is available: always on SQLite, on PostgreSQL with "
        "CRYPTOBOT_LEDGER_SIGNING_KEY), true (refuse to run without one) or false.",
    )
    checkpoint_every_records: int | None = Field(
        default=10_000, ge=1, description="Sign a checkpoint after this many records (null: off)."
    )
    checkpoint_every_seconds: float | None = Field(
        default=60.0, gt=0, description="Sign a checkpoint after this many seconds (null: off)."
    )
    checkpoint_publish: Path | None = Field(
        default=None,
        description="Directory (outside the database) that receives every checkpoint, in a "
        "folder per ledger id; the run folder always gets the latest as checkpoint.json.",
    )

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(LEDGER_SCHEMES):
            raise ValueError(
                f"ledger url {url!r} is not supported; use sqlite:///PATH or "
                "postgresql://USER@HOST:PORT/DB"
            )
        return url


class InstanceSpec(_Section):
    """One configured component: ``{name, plugin, config}``."""

    name: str = Field(
        # Always filled from ``plugin`` when omitted (see _default_name); the default
        # only exists so the JSON Schema does not demand a name.
        default=_PLACEHOLDER_NAME,
        description="Instance name, unique in its section; defaults to the component's name.",
        json_schema_extra={"pattern": INSTANCE_NAME_PATTERN},
    )
    plugin: str = Field(
        description="Component address: <plugin>, or <plugin>:<component> when the plugin "
        "offers several of this kind.",
        json_schema_extra={"pattern": ADDRESS_PATTERN},
    )
    config: Annotated[dict[str, Any], BeforeValidator(_empty_is_mapping)] = Field(
        default_factory=dict, description="Settings, checked against the component's model."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(INSTANCE_NAME_PATTERN, value):
            raise ValueError(
                f"{value!r} is not an instance name; use letters, digits, '_', '.' or '-', "
                "starting with a letter (at most 63 characters)"
            )
        return value

    @field_validator("plugin")
    @classmethod
    def _address(cls, value: str) -> str:
        if not re.match(ADDRESS_PATTERN, value):
            raise ValueError(
                f"{value!r} is not a component address; write <plugin> or "
                "<plugin>:<component> in lowercase, e.g. paper-exchange or "
                "technical-agents:ema_crossover (`cryptobot plugins list` shows them)"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and "name" not in data and isinstance(data.get("plugin"), str):
            derived = data["plugin"].rpartition(":")[2]
            # A bad address is reported on ``plugin``; don't report it again as a bad name.
            valid = re.match(INSTANCE_NAME_PATTERN, derived) is not None
            return {**data, "name": derived if valid else _PLACEHOLDER_NAME}
        return data


class PolicySettings(_Section):
    """Named agent compositions and which one trades each symbol.

    Either inline (``definitions`` + ``default``) or in a registry file
    (``policies_file``, the same keys as :class:`PolicyRegistry`); inline
    definitions add to the file's and ``symbol_policies`` overrides its mapping.
    With neither, every configured agent forms one equal-weight policy ``all``.
    """

    policies_file: Path | None = Field(
        default=None, description="YAML policy registry (named agent compositions)."
    )
    definitions: dict[str, PolicySpec] = Field(
        default_factory=dict, description="Policy name -> {agents: [{agent, weight}]}."
    )
    default: str | None = Field(default=None, description="Policy for unmapped symbols.")
    symbol_policies: dict[str, str] = Field(
        default_factory=dict, description="Symbol -> policy name, overriding the registry file."
    )


SECTION_KINDS: dict[str, PluginKind] = {
    "data_sources": PluginKind.DATASOURCE,
    "agents": PluginKind.AGENT,
    "exchanges": PluginKind.EXCHANGE,
    "risk_rules": PluginKind.RISKRULE,
    "reporters": PluginKind.REPORTER,
    "selector": PluginKind.SELECTOR,
    "oversight": PluginKind.OVERSIGHT,
    "notifiers": PluginKind.NOTIFIER,
}
"""Config section -> the plugin kind its instances must be (``selector`` holds at most one)."""

LEGACY_OVERSIGHT: dict[str, str] = {
    "risk_monitor": "standard-oversight:risk_monitor",
    "arbitrage": "standard-oversight:arbitrage",
}
"""Deprecated sections -> the built-in oversight component each one configures."""


class CryptoBotConfig(_Section):
    """The whole config file."""

    mode: Mode = Field(default=Mode.BACKTEST, description="backtest, paper or live.")
    run: RunSettings = Field(default_factory=RunSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    data_sources: tuple[InstanceSpec, ...] = ()
    agents: tuple[InstanceSpec, ...] = ()
    exchanges: tuple[InstanceSpec, ...] = ()
    risk_rules: tuple[InstanceSpec, ...] = ()
    reporters: tuple[InstanceSpec, ...] = ()
    policies: PolicySettings = Field(default_factory=PolicySettings)
    sizing: SizingConfig = Field(
        default_factory=SizingConfig, description="How signals become order sizes."
    )
    portfolio: CurrencySettings = Field(
        default_factory=CurrencySettings,
        description="The currency the portfolio is valued in (base_currency) and the "
        "currencies taken as equal (pegged); other currencies convert at market prices.",
    )
    selector: InstanceSpec | None = Field(
        default=None,
        description="The policy selector (a `selector` plugin, e.g. fixed-selector or a "
        "meta-learner) asked every decision tick which policy trades each symbol; unset: the "
        "`policies` section's mapping. The mapping also decides whenever the selector fails.",
    )
    oversight: tuple[InstanceSpec, ...] = Field(
        default=(),
        description="Oversight components (`oversight` plugins) that review the whole book "
        "every tick: their alerts are recorded, their paired intents traded all or none.",
    )
    notifiers: tuple[InstanceSpec, ...] = Field(
        default=(),
        description="Notifiers (`notifier` plugins) every recorded alert is sent to, each with "
        "the `budgets.notifier` time budget, off the engine's tick.",
    )
    risk_monitor: RiskMonitorSettings | None = Field(
        default=None,
        description="Deprecated: an `oversight` entry `standard-oversight:risk_monitor` named "
        "risk_monitor with these settings. Portfolio VaR/ES/stress limits watched every `every`.",
    )
    arbitrage: ArbitrageSettings | None = Field(
        default=None,
        description="Deprecated: an `oversight` entry `standard-oversight:arbitrage` named "
        "arbitrage with these settings. Hedged pairs when a cross-venue spread beats fees.",
    )
    budgets: PluginBudgets = Field(
        default_factory=PluginBudgets,
        description="Seconds each kind of plugin call may take (agents, risk rules, venues...).",
    )
    data_source_failure: DataSourceFailure = Field(
        default=DataSourceFailure.STOP,
        description="stop: end the session naming the failed data source; degrade: drop it, "
        "record an alert and continue with the other sources.",
    )

    def duplicate_names(self) -> list[tuple[tuple[str | int, ...], str]]:
        """``(path, message)`` for each instance whose name repeats an earlier one in its section.

        Checked by the loader rather than a validator so the error can point at
        the repeated ``name`` key itself, not at the whole section.
        """
        found: list[tuple[tuple[str | int, ...], str]] = []
        for section in SECTION_KINDS:
            seen: dict[str, int] = {}
            for index, spec in enumerate(self.section(section)):
                if spec.name in seen:
                    found.append(
                        (
                            (section, index, "name"),
                            f"{section}[{seen[spec.name]}] is already named {spec.name!r}; "
                            "give each instance its own name",
                        )
                    )
                else:
                    seen[spec.name] = index
        return found

    def section(self, name: str) -> tuple[InstanceSpec, ...]:
        """The instances of section ``name``: ``selector`` as zero or one, and ``oversight``
        followed by the deprecated ``risk_monitor``/``arbitrage`` sections' translations."""
        if name not in SECTION_KINDS:
            raise KeyError(f"{name!r} is not an instance section: {sorted(SECTION_KINDS)}")
        if name == "selector":
            return () if self.selector is None else (self.selector,)
        specs: tuple[InstanceSpec, ...] = getattr(self, name)
        if name == "oversight":
            specs = (*specs, *self._legacy_oversight())
        return specs

    def _legacy_oversight(self) -> tuple[InstanceSpec, ...]:
        """The deprecated sections as the oversight entries they stand for (same settings)."""
        found = []
        for section, address in LEGACY_OVERSIGHT.items():
            settings: BaseModel | None = getattr(self, section)
            if settings is not None:
                config = settings.model_dump(mode="json", exclude_unset=True)
                found.append(InstanceSpec(name=section, plugin=address, config=config))
        return tuple(found)

    @model_validator(mode="after")
    def _legacy_names_free(self) -> CryptoBotConfig:
        taken = {spec.name: index for index, spec in enumerate(self.oversight)}
        for section in LEGACY_OVERSIGHT:
            if getattr(self, section) is not None and section in taken:
                raise ValueError(
                    f"`{section}:` is deprecated and becomes an oversight entry named "
                    f"{section!r}, but oversight[{taken[section]}] already has that name; "
                    f"move the settings of `{section}:` into that entry's config"
                )
        return self
