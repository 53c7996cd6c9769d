"""The Helm chart: lint, render and strict schema validation of default and example values."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .chart import (
    NAMESPACE,
    RELEASE,
    Doc,
    by_identity,
    config_of,
    diff_paths,
    example,
    kube_problems,
    lint,
    lock_of,
    named,
    of_kind,
    pod_spec,
    render,
)
from .staging import CRYPTOBOT

pytest.importorskip("helm_python", reason="helm-python-sdk has no wheel for this platform")

VALUE_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "no-plugins": example("no-plugins"),
    "three-plugins": example("three-plugins"),
    "canary": example("three-plugins", "canary"),
    "gpu-workers": example("gpu-workers"),
    "active-active-east": example("three-plugins", "active-active-east"),
    "active-active-west": example("three-plugins", "active-active-west"),
}
THREE = ["binance-futures", "defi-tvl", "azure-sentiment"]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Doc]]:
    return {name: render(values) for name, values in VALUE_SETS.items()}


@pytest.mark.parametrize("name", VALUE_SETS)
def test_helm_lint_is_clean(name: str) -> None:
    report = lint(VALUE_SETS[name])
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("name", VALUE_SETS)
def test_every_manifest_passes_strict_schema_validation(
    name: str, rendered: dict[str, list[Doc]]
) -> None:
    docs = rendered[name]
    assert kube_problems(docs) == []
    kinds = {doc["kind"] for doc in docs}
    assert {"ConfigMap", "Deployment", "Service", "ServiceMonitor", "NetworkPolicy"} <= kinds


def test_strict_validation_does_reject_unknown_and_mistyped_fields(
    rendered: dict[str, list[Doc]],
) -> None:
    docs = rendered["three-plugins"]
    engine = named(docs, "Deployment", f"{RELEASE}-engine")
    # kubernetes-validate reports one error per document: break one thing at a time.
    unknown_field = yaml.safe_load(yaml.safe_dump(engine))
    pod_spec(unknown_field)["initContainers"][0]["imagePullPolicie"] = "Always"
    problems = kube_problems([unknown_field])
    assert len(problems) == 2, problems  # once per Kubernetes version
    assert "(Kubernetes 1.27.0): $.spec.template.spec.initContainers[0]" in problems[0]
    assert "'imagePullPolicie' was unexpected" in problems[0]
    wrong_type = yaml.safe_load(yaml.safe_dump(engine))
    pod_spec(wrong_type)["containers"][0]["ports"][0]["containerPort"] = "http"
    problems = kube_problems([wrong_type])
    assert any("'http' is not of type 'integer'" in p for p in problems), problems
    monitor = yaml.safe_load(yaml.safe_dump(of_kind(docs, "ServiceMonitor")[0]))
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    monitor["spec"]["endpoints"][0]["scrapeTimeout"] = "ten seconds"
    problems = kube_problems([monitor])
    assert any("intervall" in p for p in problems), problems
    assert any("ten seconds" in p for p in problems), problems
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert kube_problems([unknown]) == [
        "Widget/w: Couldn't find schema for kind Widget with api version example.com/v1 "
        f"for kubernetes version {version}"
        for version in ("1.27", "1.37")
    ]


def _init_names(deployment: Doc) -> list[str]:
    return [c["name"] for c in pod_spec(deployment)["initContainers"]]


def test_three_plugins_give_one_init_container_each_plus_the_install_step(
    rendered: dict[str, list[Doc]],
) -> None:
    docs = rendered["three-plugins"]
    deployments = of_kind(docs, "Deployment")
    assert sorted(d["metadata"]["name"] for d in deployments) == [
        f"{RELEASE}-api",
        f"{RELEASE}-engine",
    ]
    for deployment in deployments:
        spec = pod_spec(deployment)
        assert _init_names(deployment) == [f"plugin-{p}" for p in THREE] + ["install-plugins"]
        binance = spec["initContainers"][0]
        assert binance["image"] == (
            "registry.example.com/crypto-bot/binance-futures@sha256:"
            "0b9d2f1e3c4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344"
        )
        assert spec["initContainers"][1]["image"] == (
            "registry.example.com/crypto-bot/defi-tvl@sha256:"
            "5d2e8f41a9c07b36e1f4d8a2c6b0e9f3a7d5c1b8e4f2a6d0c9b3e7f1a5d8c2b4"
        )
        assert binance["command"] == ["cp", "-R", "/plugin/.", "/staging/"]
        assert binance["volumeMounts"] == [
            {"name": "plugin-staging", "mountPath": "/staging", "subPath": "binance-futures"}
        ]
        install = spec["initContainers"][-1]
        assert install["command"][:3] == ["python", "-m", "crypto_bot_core.deploy.install_plugins"]
        assert "--lock=/etc/cryptobot/plugins.json" in install["command"]
        main = spec["containers"][0]
        assert {"name": "plugins", "mountPath": "/opt/cryptobot/plugins", "readOnly": True} in main[
            "volumeMounts"
        ]
    lock = lock_of(docs)
    assert [p["name"] for p in lock["plugins"]] == THREE
    assert lock["plugins"][0]["sha256"] == {
        "cryptobot_binance_futures-0.1.0-py3-none-any.whl": (
            "3c1f6e2a9d8b7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e"
        )
    }
    assert lock["signatures"]["required"] is True
    assert lock["signatures"]["public_keys"][0].startswith("-----BEGIN PUBLIC KEY-----")
    config = config_of(docs)
    assert config["exchanges"][-1] == {
        "name": "binance",
        "plugin": "binance-futures",
        "config": {"testnet": True, "symbols": ["BTC/USDT:USDT", "ETH/USDT:USDT"]},
    }
    assert config["data_sources"][-1]["plugin"] == "defi-tvl"
    assert config["agents"][-1]["plugin"] == "azure-sentiment:sentiment"  # given, not defaulted


def test_adding_a_plugin_adds_its_init_container_and_config_and_nothing_else() -> None:
    three = example("three-plugins")
    two = {**three, "plugins": three["plugins"][:2]}
    before, after = by_identity(render(two)), by_identity(render(three))
    assert before.keys() == after.keys()
    changed: dict[str, list[str]] = {}
    for key in before:
        paths = diff_paths(before[key], after[key])
        if paths:
            changed[key] = paths
    pod = ".spec.template"
    assert changed == {
        "ConfigMap/crypto-bot-config": [".data.config.yaml", ".data.plugins.json"],
        "Deployment/crypto-bot-api": [
            f"{pod}.metadata.annotations.checksum/config",
            f"{pod}.spec.initContainers",
        ],
        "Deployment/crypto-bot-engine": [
            f"{pod}.metadata.annotations.checksum/config",
            f"{pod}.spec.initContainers",
        ],
    }
    for name in ("crypto-bot-api", "crypto-bot-engine"):
        old = pod_spec(before[f"Deployment/{name}"])["initContainers"]
        new = pod_spec(after[f"Deployment/{name}"])["initContainers"]
        assert new[:2] == old[:2], "existing init containers unchanged"
        assert new[3:] == old[2:], "the install step unchanged"
        assert new[2]["name"] == "plugin-azure-sentiment"
        assert new[2]["image"] == (
            "registry.example.com/crypto-bot/azure-sentiment@sha256:"
            "9a4c2e7f1b5d8c3a6e0f4b9d2c7a1e5f8b3d6c0a4e9f2b7d1c5a8e3f6b0d4c9a"
        )
    old_config = config_of(list(before.values()))
    new_config = config_of(list(after.values()))
    assert diff_paths(old_config, new_config) == [".agents"]
    assert new_config["agents"][:-1] == old_config["agents"]
    assert new_config["agents"][-1]["name"] == "sentiment"
    old_lock, new_lock = lock_of(list(before.values())), lock_of(list(after.values()))
    assert new_lock["plugins"] == [*old_lock["plugins"], {"name": "azure-sentiment", "sha256": {}}]
    assert new_lock["signatures"] == old_lock["signatures"]


def test_containers_are_locked_down(rendered: dict[str, list[Doc]]) -> None:
    for name, docs in rendered.items():
        for deployment in of_kind(docs, "Deployment"):
            spec = pod_spec(deployment)
            assert spec["securityContext"]["runAsNonRoot"] is True, name
            assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            assert spec["automountServiceAccountToken"] is False
            for container in spec["initContainers"] + spec["containers"]:
                context = container["securityContext"]
                assert context["readOnlyRootFilesystem"] is True
                assert context["allowPrivilegeEscalation"] is False
                assert context["capabilities"] == {"drop": ["ALL"]}
                assert "limits" in container["resources"], container["name"]
            for plugin_init in spec["initContainers"][:-1]:
                # Plugin images run no code of the host and see no secrets.
                assert "env" not in plugin_init
                assert "envFrom" not in plugin_init
                assert plugin_init["volumeMounts"][0]["name"] == "plugin-staging"


def test_probes_pdbs_and_autoscalers(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["gpu-workers"]
    for deployment in of_kind(docs, "Deployment"):
        main = pod_spec(deployment)["containers"][0]
        assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    pdbs = {
        d["metadata"]["name"]: d["spec"]["minAvailable"]
        for d in of_kind(docs, "PodDisruptionBudget")
    }
    assert pdbs == {f"{RELEASE}-{c}": "80%" for c in ("engine", "api", "worker-cpu", "worker-gpu")}
    hpas = {d["metadata"]["name"]: d["spec"] for d in of_kind(docs, "HorizontalPodAutoscaler")}
    assert sorted(hpas) == [f"{RELEASE}-api", f"{RELEASE}-worker-cpu", f"{RELEASE}-worker-gpu"]
    metrics = hpas[f"{RELEASE}-worker-cpu"]["metrics"]
    assert metrics[0]["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 75},
    }
    assert [
        (m["pods"]["metric"]["name"], m["pods"]["target"]["averageValue"]) for m in metrics[1:]
    ] == [
        ("agent_latency_seconds", "250m"),
        ("order_queue_length", "20"),
    ]
    assert f"{RELEASE}-engine" not in hpas
    engine = named(docs, "Deployment", f"{RELEASE}-engine")
    assert engine["spec"]["replicas"] == 1
    assert engine["spec"]["strategy"] == {"type": "Recreate"}
    assert "replicas" not in named(docs, "Deployment", f"{RELEASE}-api")["spec"]  # the HPA owns it


def test_gpu_worker_pool(rendered: dict[str, list[Doc]]) -> None:
    gpu = pod_spec(named(rendered["gpu-workers"], "Deployment", f"{RELEASE}-worker-gpu"))
    main = gpu["containers"][0]
    assert main["resources"]["limits"] == {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}
    assert main["args"][-2:] == ["--pool", "gpu"]
    assert gpu["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert gpu["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    cpu = pod_spec(named(rendered["gpu-workers"], "Deployment", f"{RELEASE}-worker-cpu"))
    assert "nvidia.com/gpu" not in cpu["containers"][0]["resources"]["limits"]


def test_canary_is_a_weighted_second_release(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["canary"]
    (ingress,) = of_kind(docs, "Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/canary"] == "true"
    assert annotations["nginx.ingress.kubernetes.io/canary-weight"] == "10"
    assert ingress["spec"]["rules"][0]["host"] == "api.crypto-bot.example.com"
    for deployment in of_kind(docs, "Deployment"):
        assert (
            deployment["spec"]["template"]["metadata"]["labels"]["crypto-bot.dev/track"] == "canary"
        )
    assert config_of(docs)["mode"] == "paper"
    assert not of_kind(rendered["three-plugins"], "Ingress")


def test_active_active_clusters_trade_disjoint_symbols(rendered: dict[str, list[Doc]]) -> None:
    east, west = rendered["active-active-east"], rendered["active-active-west"]
    symbols = [set(config_of(d)["data_sources"][0]["config"]["symbols"]) for d in (east, west)]
    assert symbols[0] == {"BTC/USDT", "ETH/USDT"}
    assert symbols[1] == {"SOL/USDT", "XRP/USDT"}
    for docs, cluster in ((east, "east"), (west, "west")):
        engine = named(docs, "Deployment", f"{RELEASE}-engine")
        assert engine["metadata"]["labels"]["crypto-bot.dev/cluster"] == cluster
        env = {e["name"]: e["value"] for e in pod_spec(engine)["containers"][0]["env"]}
        assert env["CRYPTOBOT_CLUSTER"] == cluster
        relabel = of_kind(docs, "ServiceMonitor")[0]["spec"]["endpoints"][0]["relabelings"]
        assert {"action": "replace", "targetLabel": "cluster", "replacement": cluster} in relabel
        egress = named(docs, "NetworkPolicy", f"{RELEASE}-egress")["spec"]["egress"]
        assert {
            "to": [{"ipBlock": {"cidr": "10.20.0.0/24"}}],
            "ports": [{"protocol": "TCP", "port": 5432}],
        } in egress


def test_secrets_reach_host_containers_only_by_reference(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["three-plugins"]
    assert not of_kind(docs, "Secret")
    main = pod_spec(named(docs, "Deployment", f"{RELEASE}-engine"))["containers"][0]
    assert main["envFrom"] == [{"secretRef": {"name": "crypto-bot-exchange-keys"}}]
    created = render({"secrets": {"create": True, "values": {"BINANCE_FUTURES_API_KEY": "k"}}})
    (secret,) = of_kind(created, "Secret")
    assert secret["stringData"] == {"BINANCE_FUTURES_API_KEY": "k"}
    main = pod_spec(named(created, "Deployment", f"{RELEASE}-engine"))["containers"][0]
    assert main["envFrom"] == [{"secretRef": {"name": f"{RELEASE}-secrets"}}]
    assert (
        "envFrom"
        not in pod_spec(named(render({}), "Deployment", f"{RELEASE}-engine"))["containers"][0]
    )


@pytest.mark.slow
def test_default_config_is_a_valid_cryptobot_config(
    tmp_path: Path, rendered: dict[str, list[Doc]]
) -> None:
    """What the chart renders by default is accepted by `cryptobot config validate`."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config_of(rendered["default"])))
    result = subprocess.run(
        [str(CRYPTOBOT), "config", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_release_and_namespace_reach_the_manifests(rendered: dict[str, list[Doc]]) -> None:
    monitor = of_kind(rendered["default"], "ServiceMonitor")[0]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    other = render({}, release="bot-b")
    assert {d["metadata"]["name"] for d in of_kind(other, "Deployment")} == {
        "bot-b-crypto-bot-engine",
        "bot-b-crypto-bot-api",
    }


@pytest.mark.parametrize("version", ["1.27.0", "1.37.0"])
def test_kubernetes_validate_cli_strict_passes_the_three_plugin_render(
    tmp_path: Path, version: str, rendered: dict[str, list[Doc]]
) -> None:
    """The acceptance check as a platform engineer would run it on `helm template` output."""
    manifests = tmp_path / "three-plugins.yaml"
    manifests.write_text(yaml.safe_dump_all(rendered["three-plugins"]))
    cli = Path(CRYPTOBOT).with_name("kubernetes-validate")
    result = subprocess.run(
        [str(cli), "--strict", "-k", version, str(manifests)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.startswith("ERROR")]
    passed = [line for line in lines if line.startswith("INFO") and " passed for resource " in line]
    assert len(passed) == len(rendered["three-plugins"]) - 1
    # The CRD it has no schema for is the one checked by kube_problems against our schema.
    assert [line for line in lines if line.startswith("WARN")] == [
        f"WARN {manifests} Couldn't find schema for kind ServiceMonitor with api version "
        f"monitoring.coreos.com/v1 for kubernetes version {version.rsplit('.', 1)[0]}"
    ]
