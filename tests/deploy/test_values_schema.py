"""values.schema.json: bad values fail at install time with a message naming the key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .chart import example, render, validate_schema

helm = pytest.importorskip("helm_python", reason="helm-python-sdk has no wheel for this platform")


def _with_plugin(**entry: Any) -> dict[str, Any]:
    values = example("three-plugins")
    values["plugins"] = [*values["plugins"], entry]
    return values


def _worker_pool(**changes: Any) -> dict[str, Any]:
    values = copy.deepcopy(example("gpu-workers"))
    values["workers"]["pools"][0].update(changes)
    return values


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "plugin without image": (
        _with_plugin(name="my-plugin", config={}),
        "at '/plugins/3': missing property 'image'",
    ),
    "plugin image with neither tag nor digest": (
        _with_plugin(name="my-plugin", image={"repository": "r.example.com/p"}),
        "at '/plugins/3/image'",
    ),
    "plugin image tagged latest": (
        _with_plugin(name="my-plugin", image={"repository": "r.example.com/p", "tag": "latest"}),
        "at '/plugins/3/image/tag'",
    ),
    "plugin name not a plugin name": (
        _with_plugin(name="My_Plugin", image={"repository": "r.example.com/p", "tag": "1.0.0"}),
        "at '/plugins/3/name'",
    ),
    "plugin digest pin that is no digest": (
        _with_plugin(
            name="my-plugin",
            image={"repository": "r.example.com/p", "tag": "1.0.0"},
            sha256={"my_plugin-1.0.0-py3-none-any.whl": "abc"},
        ),
        "at '/plugins/3/sha256/my_plugin-1.0.0-py3-none-any.whl'",
    ),
    "plugin config in an unknown section": (
        _with_plugin(
            name="my-plugin",
            image={"repository": "r.example.com/p", "tag": "1.0.0"},
            config={"strategies": []},
        ),
        "at '/plugins/3/config'",
    ),
    "negative API replicas": (
        {"api": {"replicas": -1}},
        "at '/api/replicas': minimum: got -1, want 0",
    ),
    "negative worker replicas": (_worker_pool(replicas=-2), "at '/workers/pools/0/replicas'"),
    "two engines": ({"engine": {"replicas": 2}}, "at '/engine/replicas': maximum: got 2, want 1"),
    "an autoscaled engine": (
        {
            "engine": {
                "autoscaling": {
                    "enabled": True,
                    "minReplicas": 1,
                    "maxReplicas": 3,
                    "targetCPUUtilizationPercentage": 50,
                }
            }
        },
        "at '/engine/autoscaling/enabled'",
    ),
    "a PDB above 100%": (
        {"api": {"pdb": {"enabled": True, "minAvailable": "120%"}}},
        "at '/api/pdb/minAvailable'",
    ),
    "a writable root filesystem": (
        {"containerSecurityContext": {"readOnlyRootFilesystem": False}},
        "at '/containerSecurityContext/readOnlyRootFilesystem'",
    ),
    "root pods": (
        {"podSecurityContext": {"runAsNonRoot": False}},
        "at '/podSecurityContext/runAsNonRoot'",
    ),
    "a live canary": (
        {
            "canary": {"enabled": True, "weight": 10, "stableRelease": "crypto-bot"},
            "config": {"mode": "live"},
        },
        "at '/config/mode'",
    ),
    "a canary without its stable release": (
        {"canary": {"enabled": True}},
        "at '/canary/stableRelease': minLength: got 0, want 1",
    ),
    "required signatures without keys": (
        {"pluginSignatures": {"required": True}},
        "at '/pluginSignatures/publicKeys': minItems: got 0, want 1",
    ),
    "an unknown top-level key": ({"plugin": []}, "additional properties 'plugin' not allowed"),
    "a typo in a component": (
        {"api": {"replica": 3}},
        "additional properties 'replica' not allowed",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_schema_rejects(case: str) -> None:
    values, message = BAD[case]
    with pytest.raises(helm.HelmValuesError) as caught:
        validate_schema(values)
    assert message in str(caught.value)


def test_rendering_bad_values_fails_before_any_template() -> None:
    """`helm install`/`template` stop on the schema, naming the key, as a user would see it."""
    values, _ = BAD["plugin without image"]
    with pytest.raises(helm.HelmError) as caught:
        render(values)
    text = str(caught.value)
    assert "values don't meet the specifications of the schema" in text
    assert "at '/plugins/3': missing property 'image'" in text


@pytest.mark.parametrize(
    "values",
    [
        {},
        example("three-plugins"),
        example("three-plugins", "canary"),
        example("gpu-workers"),
        {"engine": {"replicas": 0}, "api": {"enabled": False}},  # a paused engine
        _with_plugin(
            name="my-plugin",
            image={"repository": "r.example.com/p", "digest": "sha256:" + "a" * 64},
        ),
    ],
)
def test_schema_accepts_good_values(values: dict[str, Any]) -> None:
    validate_schema(values)
