"""The chart, the plugin-image layout and the install step agree: one pod's start, replayed here.

From the Deployment the chart renders, each plugin init container's command is
run against a directory laid out like a plugin image (``/plugin``), into its
``subPath`` of the staging volume; then the install step's command, with the
``plugins.json`` the chart rendered. Only the paths are moved under tmp_path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from plugin_dists import manifest_for

from .chart import RELEASE, named, pod_spec, render
from .conftest import Wheels
from .staging import run_cryptobot, sha256_hex

pytest.importorskip("helm_python", reason="helm-python-sdk has no wheel for this platform")

DIGEST = "sha256:" + "d" * 64
"""Plugin images are pinned by digest (the chart's default requires it); any digest renders."""


def _plugin_image(root: Path, wheels: list[Path], manifest: dict[str, Any]) -> Path:
    """A directory laid out as host/plugin-image/Dockerfile builds ``/plugin``."""
    plugin = root / "plugin"
    (plugin / "wheels").mkdir(parents=True)
    for wheel in wheels:
        shutil.copy2(wheel, plugin / "wheels" / wheel.name)
    sums = "".join(f"{sha256_hex(w)}  {w.name}\n" for w in wheels)
    (plugin / "SHA256SUMS").write_text(sums)
    (plugin / "manifest.json").write_text(json.dumps(manifest))
    return plugin


def _moved(args: list[str], moves: dict[str, str]) -> list[str]:
    """``args`` with each path prefix in ``moves`` replaced (the pod's paths under tmp_path)."""
    out = []
    for arg in args:
        moved = arg
        for old, new in moves.items():
            moved = moved.replace(old, new)
        out.append(moved)
    return out


@pytest.mark.slow
def test_a_pod_start_installs_the_plugins_the_values_list(tmp_path: Path, wheels: Wheels) -> None:
    good, with_dep = wheels["cbt_deploy_good"], wheels["cbt_deploy_with_dep"]
    helper = wheels["cbt_deploy_helper-1.0.0"]
    values = {
        "plugins": [
            {
                "name": "cbt-deploy-good",
                "image": {"repository": "registry.example.com/cbt-deploy-good", "digest": DIGEST},
                "sha256": {good.name: sha256_hex(good)},
                "config": {"agents": [{"name": "constant", "config": {"threshold": 0.7}}]},
            },
            {
                "name": "cbt-deploy-with-dep",
                "image": {
                    "repository": "registry.example.com/cbt-deploy-with-dep",
                    "digest": DIGEST,
                },
            },
        ]
    }
    docs = render(values)
    spec = pod_spec(named(docs, "Deployment", f"{RELEASE}-engine"))
    configmap = named(docs, "ConfigMap", f"{RELEASE}-config")
    etc = tmp_path / "etc-cryptobot"
    etc.mkdir()
    for key, text in configmap["data"].items():
        (etc / key).write_text(text)
    staging, target = tmp_path / "staging", tmp_path / "target"
    images = {
        "cbt-deploy-good": _plugin_image(
            tmp_path / "img-good", [good], manifest_for("cbt-deploy-good")
        ),
        "cbt-deploy-with-dep": _plugin_image(
            tmp_path / "img-dep", [with_dep, helper], manifest_for("cbt-deploy-with-dep")
        ),
    }
    *plugin_inits, install = spec["initContainers"]
    assert [c["name"] for c in plugin_inits] == [
        "plugin-cbt-deploy-good",
        "plugin-cbt-deploy-with-dep",
    ]
    for init in plugin_inits:
        name = init["name"].removeprefix("plugin-")
        (mount,) = init["volumeMounts"]
        subdir = staging / mount["subPath"]
        subdir.mkdir(parents=True)  # the kubelet creates a subPath that does not exist yet
        moves = {"/plugin/": f"{images[name]}/", "/staging/": f"{subdir}/"}
        command = _moved(init["command"], moves)
        subprocess.run(command, check=True, timeout=60)
    command = _moved(
        install["command"],
        {
            "/staging": str(staging),
            "/opt/cryptobot/plugins": str(target),
            "/etc/cryptobot": str(etc),
        },
    )
    assert command[0] == "python"
    result = subprocess.run(
        [sys.executable, *command[1:]], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "2 plugin(s) installed (3 wheel(s))" in result.stdout

    listing = run_cryptobot("plugins", "list", "--json", pythonpath=target)
    status = {r["name"]: r["status"] for r in json.loads(listing.stdout)}
    assert status["cbt-deploy-good"] == "loaded"
    assert status["cbt-deploy-with-dep"] == "loaded"
    # The config the chart rendered names the plugin's component, with plugin defaulted.
    validated = run_cryptobot("config", "validate", str(etc / "config.yaml"), pythonpath=target)
    assert validated.returncode == 0, validated.stdout + validated.stderr
