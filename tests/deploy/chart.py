"""Rendering the chart offline with Helm's own engine, and validating what it renders.

``helm-python-sdk`` binds Helm's Go SDK (no cluster, no network, no ``helm``
binary); ``kubernetes-validate`` carries the official Kubernetes OpenAPI-derived
JSON schemas. CRD kinds are not in those schemas: the ServiceMonitor is checked
against ``schemas/servicemonitor-monitoring.coreos.com-v1.json``, written here
from the prometheus-operator API reference; any other kind fails the check.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .staging import ROOT

CHART = ROOT / "helm" / "crypto-bot"
EXAMPLES = CHART / "examples"
SCHEMAS = Path(__file__).with_name("schemas")
KUBE_VERSIONS = ("1.27.0", "1.37.0")
"""The chart's lowest supported Kubernetes (Chart.yaml kubeVersion) and the newest schemas."""
RELEASE = "crypto-bot"
NAMESPACE = "trading"

Doc = dict[str, Any]


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of ``-f`` files: maps merge key by key, anything else is replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def example(*names: str) -> dict[str, Any]:
    """The example values files ``names`` (without .yaml), merged left to right like ``-f``."""
    values: dict[str, Any] = {}
    for name in names:
        values = deep_merge(values, yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()) or {})
    return values


def render(values: Mapping[str, Any] | None = None, *, release: str = RELEASE) -> list[Doc]:
    """The manifests ``helm template`` would print for ``values``, parsed."""
    import helm_python as helm

    with helm.Chart.load(str(CHART)) as chart:
        rendered = chart.render(dict(values or {}), name=release, namespace=NAMESPACE)
    docs: list[Doc] = []
    for path, text in sorted(rendered.items()):
        if not path.endswith(".yaml"):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def lint(values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    import helm_python as helm

    report: dict[str, Any] = helm.lint(
        str(CHART), dict(values or {}), strict=True, namespace=NAMESPACE, kube_version="v1.27.0"
    )
    return report


def validate_schema(values: Mapping[str, Any]) -> None:
    """Helm's own check of ``values.schema.json`` (raises ``helm_python.HelmValuesError``)."""
    import helm_python as helm

    with helm.Chart.load(str(CHART)) as chart:
        chart.validate_schema(dict(values))


@cache
def _crd_validator(kind: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / f"{kind.lower()}-monitoring.coreos.com-v1.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def kube_problems(docs: Iterable[Doc], versions: Sequence[str] = KUBE_VERSIONS) -> list[str]:
    """Every schema violation of ``docs``, strict (unknown fields rejected), per version."""
    import kubernetes_validate  # type: ignore[import-untyped]  # ships no type information

    problems: list[str] = []
    for doc in docs:
        where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if doc.get("apiVersion") == "monitoring.coreos.com/v1":
            problems.extend(
                f"{where}: {error.json_path}: {error.message}"
                for error in _crd_validator(doc["kind"]).iter_errors(doc)
            )
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                problems.append(f"{where} (Kubernetes {version}): {exc.json_path}: {exc.message}")
            except kubernetes_validate.SchemaNotFoundError as exc:
                problems.append(f"{where}: {exc.message}")
    return problems


def of_kind(docs: Iterable[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: Iterable[Doc], kind: str, name: str) -> Doc:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def pod_spec(deployment: Doc) -> Doc:
    spec: Doc = deployment["spec"]["template"]["spec"]
    return spec


def config_of(docs: Iterable[Doc]) -> dict[str, Any]:
    configmap = named(docs, "ConfigMap", f"{RELEASE}-config")
    loaded: dict[str, Any] = yaml.safe_load(configmap["data"]["config.yaml"])
    return loaded


def lock_of(docs: Iterable[Doc]) -> dict[str, Any]:
    configmap = named(docs, "ConfigMap", f"{RELEASE}-config")
    loaded: dict[str, Any] = json.loads(configmap["data"]["plugins.json"])
    return loaded


def diff_paths(old: Any, new: Any, path: str = "") -> list[str]:
    """Paths where ``old`` and ``new`` differ; lists are compared element by element."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(old.keys() | new.keys()):
            if key not in old or key not in new:
                out.append(f"{path}.{key}")
            else:
                out.extend(diff_paths(old[key], new[key], f"{path}.{key}"))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            p
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for p in diff_paths(a, b, f"{path}[{i}]")
        ]
    return [] if old == new else [path]


def by_identity(docs: Iterable[Doc]) -> dict[str, Doc]:
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}
