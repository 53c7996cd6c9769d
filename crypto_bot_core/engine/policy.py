"""Policies: named compositions of agents, and the choice of policy per symbol.

A policy is one agent or a weighted ensemble, listed in a YAML registry file:

.. code-block:: yaml

    policies:
      trend: {agents: [{agent: ema, weight: 1.0}]}
      blend: {agents: [{agent: ema, weight: 0.6}, {agent: rsi, weight: 0.4}]}
    symbols: {BTC/USDT: trend, ETH/USDT: blend}
    default: trend

Which policy trades a symbol is asked of a selector (:mod:`.selection`); the
blend of a policy's agents is :func:`blend` / :func:`combine` here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crypto_bot_core.support.trusted import build
from crypto_bot_sdk import (
    ConfigError,
    Signal,
)

__all__ = [
    "AgentWeight",
    "PolicyRegistry",
    "PolicySpec",
    "blend",
    "combine",
]


class AgentWeight(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str = Field(min_length=1, description="Name of an agent instance from the config.")
    weight: float = Field(default=1.0, gt=0)


class PolicySpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    agents: tuple[AgentWeight, ...] = Field(min_length=1)
    min_confidence: float = Field(default=0.0, ge=0, le=1)


class PolicyRegistry(BaseModel):
    """The parsed registry file; agent names are checked against the configured agents."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policies: dict[str, PolicySpec] = Field(min_length=1)
    symbols: dict[str, str] = Field(default_factory=dict)
    default: str

    @model_validator(mode="after")
    def _references_exist(self) -> PolicyRegistry:
        if self.default not in self.policies:
            raise ValueError(
                f"default policy {self.default!r} is not defined; defined: {sorted(self.policies)}"
            )
        for symbol, name in self.symbols.items():
            if name not in self.policies:
                raise ValueError(
                    f"symbols.{symbol} names policy {name!r}, which is not defined; "
                    f"defined: {sorted(self.policies)}"
                )
        return self

    def check_agents(self, agent_names: Sequence[str]) -> None:
        known = set(agent_names)
        for name, spec in self.policies.items():
            for weight in spec.agents:
                if weight.agent not in known:
                    raise ConfigError(
                        f"policy uses agent {weight.agent!r}, which is not configured; "
                        f"configured agents: {sorted(known)}",
                        key=f"policies.{name}.agents",
                    )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "policies") -> PolicyRegistry:
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{source}: {err['msg']}", key=key or None) from exc

    @classmethod
    def from_file(cls, path: Path) -> PolicyRegistry:
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read policy registry {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"policy registry {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"policy registry {path} must be a mapping at the top level")
        return cls.from_mapping(data, source=str(path))


def blend(
    spec: PolicySpec, scored: Mapping[str, tuple[float, float] | None]
) -> tuple[float, float] | None:
    """The policy's (score, confidence) from its members' (score, confidence), or None.

    Members missing from ``scored`` or mapped to None (no opinion, unavailable) drop
    out; the confidence falls with the weight that dropped out, so a policy running on
    half its agents is less sure of itself. The one blend formula: :func:`combine` uses
    it too, so a decision made from precomputed floats equals one made from signals.
    """
    total_weight = 0.0
    numerator = 0.0
    weight_conf = 0.0
    for member in spec.agents:
        total_weight += member.weight
        pair = scored.get(member.agent)
        if pair is None:
            continue
        wc = member.weight * pair[1]
        numerator += wc * pair[0]
        weight_conf += wc
    if weight_conf == 0.0:
        return None
    confidence = weight_conf / total_weight
    if confidence < spec.min_confidence:
        return None
    return max(-1.0, min(1.0, numerator / weight_conf)), min(1.0, confidence)


def combine(
    policy: str, spec: PolicySpec, signals: Mapping[str, Signal], symbol: str, ts: datetime
) -> Signal | None:
    """Blend the available agents' signals into one, weighted by weight x confidence
    (see :func:`blend`), with the members' scores as its features."""
    blended = blend(spec, {name: (s.score, s.confidence) for name, s in signals.items()})
    if blended is None:
        return None
    used: dict[str, float] = {}
    versions: list[str] = []
    for member in spec.agents:
        signal = signals.get(member.agent)
        if signal is None:
            continue
        used[f"{member.agent}.score"] = signal.score
        used[f"{member.agent}.confidence"] = signal.confidence
        if signal.model_version:
            versions.append(f"{member.agent}={signal.model_version}")
    return build(
        Signal,
        agent=f"policy:{policy}",
        symbol=symbol,
        ts=ts,
        score=blended[0],
        confidence=blended[1],
        rationale=f"policy {policy}: weighted blend of {', '.join(sorted(signals)) or 'no agents'}",
        features=used,
        model_version=";".join(versions) or None,
    )
