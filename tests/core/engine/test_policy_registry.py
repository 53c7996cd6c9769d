"""The policy registry file and the blend of a policy's agents.

A registry is written by hand: every mistake in it (an undefined default, a symbol
naming a missing policy, an agent that is not configured, a file that is not YAML)
must come back as one ConfigError naming the file or key, before a run starts. The
blend is the one formula both decision paths use, so its figures are checked by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto_bot_core.engine.policy import PolicyRegistry, PolicySpec, blend, combine
from crypto_bot_sdk import ConfigError, Signal

TS = datetime(2024, 5, 1, tzinfo=UTC)
REGISTRY = {
    "policies": {
        "trend": {"agents": [{"agent": "ema", "weight": 1.0}]},
        "blend": {"agents": [{"agent": "ema", "weight": 0.6}, {"agent": "rsi", "weight": 0.4}]},
    },
    "symbols": {"ETH/USDT": "blend"},
    "default": "trend",
}


def test_a_registry_file_is_read_with_its_policies_symbols_and_default(tmp_path: Path) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(
        "policies:\n"
        "  trend: {agents: [{agent: ema}]}\n"
        "  blend: {agents: [{agent: ema, weight: 0.6}, {agent: rsi, weight: 0.4}],"
        " min_confidence: 0.2}\n"
        "symbols: {ETH/USDT: blend}\n"
        "default: trend\n",
        encoding="utf-8",
    )
    registry = PolicyRegistry.from_file(path)
    assert registry.default == "trend"
    assert registry.symbols == {"ETH/USDT": "blend"}
    assert [(a.agent, a.weight) for a in registry.policies["blend"].agents] == [
        ("ema", 0.6),
        ("rsi", 0.4),
    ]
    assert registry.policies["blend"].min_confidence == 0.2
    assert registry.policies["trend"].agents[0].weight == 1.0  # the default weight
    registry.check_agents(["ema", "rsi"])  # both are configured: nothing to refuse


def test_an_undefined_default_policy_is_named_with_the_defined_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        PolicyRegistry.from_mapping({**REGISTRY, "default": "meanrev"}, source="pol.yaml")
    assert str(caught.value) == (
        "pol.yaml: Value error, default policy 'meanrev' is not defined; "
        "defined: ['blend', 'trend']"
    )
    assert caught.value.key is None


def test_a_symbol_naming_an_undefined_policy_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        PolicyRegistry.from_mapping({**REGISTRY, "symbols": {"BTC/USDT": "carry"}})
    assert str(caught.value) == (
        "policies: Value error, symbols.BTC/USDT names policy 'carry', which is not defined; "
        "defined: ['blend', 'trend']"
    )


def test_a_bad_value_is_reported_at_its_key() -> None:
    bad = {
        "policies": {"trend": {"agents": [{"agent": "ema", "weight": 0}]}},
        "default": "trend",
    }
    with pytest.raises(ConfigError) as caught:
        PolicyRegistry.from_mapping(bad, source="pol.yaml")
    assert caught.value.key == "policies.trend.agents.0.weight"
    assert str(caught.value) == (
        "policies.trend.agents.0.weight: pol.yaml: Input should be greater than 0"
    )


def test_a_policy_using_an_unconfigured_agent_is_refused_at_its_key() -> None:
    registry = PolicyRegistry.from_mapping(REGISTRY)
    with pytest.raises(ConfigError) as caught:
        registry.check_agents(["ema"])
    assert caught.value.key == "policies.blend.agents"
    assert str(caught.value) == (
        "policies.blend.agents: policy uses agent 'rsi', which is not configured; "
        "configured agents: ['ema']"
    )


def test_a_missing_file_is_named_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as caught:
        PolicyRegistry.from_file(path)
    assert str(caught.value) == f"cannot read policy registry {path}: No such file or directory"


def test_a_file_that_is_not_yaml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("policies: {trend: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        PolicyRegistry.from_file(path)
    assert str(caught.value).startswith(f"policy registry {path} is not valid YAML: ")


@pytest.mark.parametrize("text", ["- trend\n- blend\n", "", "just words\n"])
def test_a_file_whose_top_level_is_not_a_mapping_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        PolicyRegistry.from_file(path)
    assert str(caught.value) == f"policy registry {path} must be a mapping at the top level"


# ---------------------------------------------------------------- the blend


BLEND = PolicySpec.model_validate(
    {"agents": [{"agent": "ema", "weight": 0.6}, {"agent": "rsi", "weight": 0.4}]}
)


def test_the_blend_weights_each_score_by_weight_times_confidence() -> None:
    # ema: 0.6 x 0.5 = 0.30 of weight-confidence at score 1.0;
    # rsi: 0.4 x 1.0 = 0.40 at score -0.5.
    # score = (0.30 x 1.0 + 0.40 x -0.5) / 0.70 = 0.10 / 0.70; confidence = 0.70 / 1.0.
    score, confidence = blend(BLEND, {"ema": (1.0, 0.5), "rsi": (-0.5, 1.0)}) or (0.0, 0.0)
    assert score == pytest.approx(1 / 7)
    assert confidence == pytest.approx(0.7)


def test_a_missing_member_lowers_the_confidence_by_its_weight() -> None:
    # Only ema answers: the score is ema's, the confidence 0.6 x 1.0 / 1.0 (rsi's 0.4 lost).
    assert blend(BLEND, {"ema": (0.8, 1.0), "rsi": None}) == pytest.approx((0.8, 0.6))
    assert blend(BLEND, {}) is None
    assert blend(BLEND, {"ema": (0.8, 0.0), "rsi": (0.3, 0.0)}) is None  # nobody is sure


def test_a_blend_below_the_policys_minimum_confidence_is_no_opinion() -> None:
    strict = BLEND.model_copy(update={"min_confidence": 0.65})
    assert blend(strict, {"ema": (0.8, 1.0)}) is None  # 0.6 < 0.65
    assert blend(strict, {"ema": (0.8, 1.0), "rsi": (0.8, 1.0)}) == pytest.approx((0.8, 1.0))


def _signal(agent: str, score: float, confidence: float, version: str | None) -> Signal:
    return Signal(
        agent=agent,
        symbol="ETH/USDT",
        ts=TS,
        score=score,
        confidence=confidence,
        model_version=version,
    )


def test_combine_builds_the_policys_signal_with_its_members_as_features() -> None:
    signals = {
        "ema": _signal("ema", 1.0, 0.5, "ema-3"),
        "rsi": _signal("rsi", -0.5, 1.0, None),
    }
    signal = combine("blend", BLEND, signals, "ETH/USDT", TS)
    assert signal is not None
    assert signal.agent == "policy:blend"
    assert (signal.symbol, signal.ts) == ("ETH/USDT", TS)
    assert signal.score == pytest.approx(1 / 7)
    assert signal.confidence == pytest.approx(0.7)
    assert signal.rationale == "policy blend: weighted blend of ema, rsi"
    assert signal.features == {
        "ema.score": 1.0,
        "ema.confidence": 0.5,
        "rsi.score": -0.5,
        "rsi.confidence": 1.0,
    }
    assert signal.model_version == "ema=ema-3"


def test_combine_without_any_member_signal_is_no_signal() -> None:
    assert combine("blend", BLEND, {}, "ETH/USDT", TS) is None


def test_combine_leaves_out_a_member_that_did_not_answer() -> None:
    signal = combine("blend", BLEND, {"rsi": _signal("rsi", -0.5, 1.0, "r1")}, "ETH/USDT", TS)
    assert signal is not None
    # rsi alone: its score, at confidence 0.4 x 1.0 / 1.0 (ema's weight lost).
    assert (signal.score, signal.confidence) == pytest.approx((-0.5, 0.4))
    assert signal.rationale == "policy blend: weighted blend of rsi"
    assert signal.features == {"rsi.score": -0.5, "rsi.confidence": 1.0}
    assert signal.model_version == "rsi=r1"
