"""The published ``manifest.schema.json``: generated from the model, shipped as package
data, and as strict as the model on the checks JSON Schema can express."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from crypto_bot_sdk import Manifest, ManifestError, manifest_json_schema

REPO_ROOT = Path(__file__).resolve().parents[2]

GOOD: dict[str, Any] = {
    "name": "defi-tvl",
    "version": "0.3.1",
    "kinds": ["datasource"],
    "api_version": "1.0.0",
    "compatible_core_version": ">=0.1,<0.2",
    "capabilities": ["history"],
    "license": "MIT",
    "config_schema": {"type": "object", "properties": {"chains": {"type": "array"}}},
}


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    text = (files("crypto_bot_sdk") / "manifest.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_published_file_equals_generated_schema(published: dict[str, Any]) -> None:
    assert published == manifest_json_schema()
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(published)


def test_generator_check_mode_agrees_with_the_file() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts/gen_manifest_schema.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_good_manifest_is_valid(published: dict[str, Any]) -> None:
    Draft202012Validator(published).validate(GOOD)
    Manifest.from_mapping(GOOD)


@pytest.mark.parametrize(
    ("changes", "path", "keyword"),
    [
        ({"name": "DeFi TVL"}, ["name"], "pattern"),
        ({"kinds": ["oracle"]}, ["kinds", 0], "enum"),
        ({"kinds": ["agent", "agent"]}, ["kinds"], "uniqueItems"),
        ({"capabilities": ["history", "history"]}, ["capabilities"], "uniqueItems"),
        ({"api_version": "1.0"}, ["api_version"], "pattern"),
        ({"license": ""}, ["license"], "minLength"),
        ({"homepage": "example.org"}, ["homepage"], "anyOf"),
        ({"version": 3}, ["version"], "type"),
        ({"surprise": True}, [], "additionalProperties"),
    ],
)
def test_bad_manifests_are_rejected_by_schema_and_model(
    published: dict[str, Any], changes: dict[str, Any], path: list[str | int], keyword: str
) -> None:
    bad = {**GOOD, **changes}
    errors = list(Draft202012Validator(published).iter_errors(bad))
    assert [(list(e.absolute_path), e.validator) for e in errors] == [(path, keyword)]
    with pytest.raises(ManifestError, match="is invalid"):
        Manifest.from_mapping(bad)


def test_missing_required_field_is_rejected(published: dict[str, Any]) -> None:
    bad = {k: v for k, v in GOOD.items() if k != "compatible_core_version"}
    (error,) = Draft202012Validator(published).iter_errors(bad)
    assert error.validator == "required"
    assert "'compatible_core_version' is a required property" in error.message


def test_an_observer_only_manifest_declares_no_kinds(published: dict[str, Any]) -> None:
    observer = {**GOOD, "kinds": []}
    Draft202012Validator(published).validate(observer)
    assert Manifest.from_mapping(observer).kinds == ()
