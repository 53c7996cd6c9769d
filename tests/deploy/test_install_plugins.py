"""The init step against real wheels: good, tampered and incompatible plugins, then the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from crypto_bot_core.deploy.install_plugins import REPORT_FILENAME, install_plugins, main
from crypto_bot_core.deploy.resolution import host_distributions

from .conftest import Wheels
from .staging import (
    ROOT,
    pip_wheel,
    plugin_entry_name,
    repo_plugin_dirs,
    run_cryptobot,
    sha256_hex,
    stage,
    write_lock,
)

SCRIPT = ROOT / "host" / "init" / "install_plugins.py"


def _tamper(wheel: Path, into: Path) -> Path:
    """A copy of ``wheel`` whose plugin module was replaced after the build (RECORD untouched)."""
    into.mkdir(parents=True, exist_ok=True)
    altered = into / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(altered, "w") as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith("/plugin.py"):
                data += b"\nimport os  # injected after the image was built\n"
            out.writestr(item, data)
    return altered


def _acceptance_staging(tmp_path: Path, wheels: Wheels) -> tuple[Path, Path]:
    staging = tmp_path / "staging"
    stage(staging, "cbt-deploy-good", [wheels["cbt_deploy_good"]])
    original = wheels["cbt_deploy_tampered"]
    altered = _tamper(original, tmp_path / "altered")
    # SHA256SUMS was written at image build time, from the original wheel.
    stage(
        staging,
        "cbt-deploy-tampered",
        [altered],
        recorded={altered.name: sha256_hex(original)},
    )
    stage(staging, "cbt-deploy-old-core", [wheels["cbt_deploy_old_core"]])
    lock = write_lock(
        tmp_path / "plugins.json",
        [
            {"name": "cbt-deploy-good"},
            {"name": "cbt-deploy-tampered"},
            {"name": "cbt-deploy-old-core"},
        ],
    )
    return staging, lock


@pytest.mark.slow
def test_script_installs_the_good_plugin_refuses_the_others_and_the_host_lists_it(
    tmp_path: Path, wheels: Wheels
) -> None:
    staging, lock = _acceptance_staging(tmp_path, wheels)
    target = tmp_path / "target"
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--staging",
            str(staging),
            "--target",
            str(target),
            "--lock",
            str(lock),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "installed plugin cbt-deploy-good 1.2.0 (agent; no signature check)" in result.stdout
    assert "1 plugin(s) installed (1 wheel(s))" in result.stdout
    original = sha256_hex(wheels["cbt_deploy_tampered"])
    assert "REFUSED plugin cbt-deploy-tampered:" in result.stderr
    assert f"but SHA256SUMS records {original}" in result.stderr
    assert "fails its own RECORD check" in result.stderr
    assert "REFUSED plugin cbt-deploy-old-core:" in result.stderr
    assert "compatible_core_version '>=0.0.1,<0.1' excludes crypto-bot-core 0.1.0" in result.stderr
    assert "cbt-deploy-good" not in result.stderr

    # Only the good plugin's files landed; nothing of the refused ones.
    installed = sorted(p.name for p in target.iterdir())
    assert installed == [REPORT_FILENAME, "cbt_deploy_good", "cbt_deploy_good-1.2.0.dist-info"]
    assert (
        target / "cbt_deploy_good" / "__pycache__"
    ).is_dir()  # compiled: the runtime FS is read-only
    report = json.loads((target / REPORT_FILENAME).read_text())
    assert [p["name"] for p in report["plugins"]] == ["cbt-deploy-good"]
    assert sorted(report["refused"]) == ["cbt-deploy-old-core", "cbt-deploy-tampered"]

    listing = run_cryptobot("plugins", "list", "--json", pythonpath=target)
    assert listing.returncode == 0, listing.stderr
    records = {r["name"]: r for r in json.loads(listing.stdout)}
    assert records["cbt-deploy-good"]["status"] == "loaded"
    assert records["cbt-deploy-good"]["distribution"] == "cbt-deploy-good"
    assert "cbt-deploy-tampered" not in records
    assert "cbt-deploy-old-core" not in records
    table = run_cryptobot("plugins", "list", pythonpath=target)
    row = next(line for line in table.stdout.splitlines() if line.startswith("cbt-deploy-good"))
    assert row.split()[:5] == ["cbt-deploy-good", "1.2.0", "agent", ">=1.0,<2", "loaded"]


def test_allow_refused_exits_zero_with_the_same_install(tmp_path: Path, wheels: Wheels) -> None:
    staging, lock = _acceptance_staging(tmp_path, wheels)
    target = tmp_path / "target"
    args = ["--staging", str(staging), "--target", str(target), "--lock", str(lock)]
    assert main([*args, "--allow-refused"]) == 0
    assert (target / "cbt_deploy_good" / "manifest.json").is_file()
    assert not list(target.glob("cbt_deploy_tampered*"))
    # A retried init container finds its own earlier install and starts again from empty.
    assert main(args) == 1
    assert sorted(p.name for p in target.glob("cbt_deploy_*")) == [
        "cbt_deploy_good",
        "cbt_deploy_good-1.2.0.dist-info",
    ]


def test_refuses_a_target_it_did_not_write(
    tmp_path: Path, wheels: Wheels, capsys: pytest.CaptureFixture[str]
) -> None:
    staging = tmp_path / "staging"
    stage(staging, "cbt-deploy-good", [wheels["cbt_deploy_good"]])
    target = tmp_path / "target"
    target.mkdir()
    (target / "precious.txt").write_text("not ours")
    assert main(["--staging", str(staging), "--target", str(target)]) == 2
    assert (
        f"target {target} is not empty and was not written by this install step"
        in capsys.readouterr().err
    )
    assert (target / "precious.txt").read_text() == "not ours"


def test_without_a_lock_every_staged_bundle_is_wanted(tmp_path: Path, wheels: Wheels) -> None:
    staging = tmp_path / "staging"
    stage(staging, "cbt-deploy-good", [wheels["cbt_deploy_good"]])
    report = install_plugins(staging, tmp_path / "target")
    assert [p.name for p in report.plugins] == ["cbt-deploy-good"]
    assert report.refused == {}
    assert [w.filename for w in report.installed] == [wheels["cbt_deploy_good"].name]


REPO_PLUGINS = repo_plugin_dirs()


@pytest.mark.slow
@pytest.mark.parametrize("project", REPO_PLUGINS, ids=[p.name for p in REPO_PLUGINS])
def test_each_plugin_of_this_repository_installs_and_loads(tmp_path: Path, project: Path) -> None:
    """The wheel built from ``plugins/<name>/`` goes through the step and the host loads it."""
    name = plugin_entry_name(project)
    (wheel,) = pip_wheel([project], tmp_path / "wheels")
    stage(tmp_path / "staging", name, [wheel])
    target = tmp_path / "target"
    # The development environment has the plugin installed editable; the host image has not.
    dist = canonicalize_name(wheel.name.split("-")[0])
    host = {k: v for k, v in host_distributions(sys.path).items() if k != dist}
    report = install_plugins(tmp_path / "staging", target, host=host)
    assert report.refused == {}
    assert [p.name for p in report.plugins] == [name]

    inspected = run_cryptobot("plugins", "inspect", name, "--json", pythonpath=target)
    assert inspected.returncode == 0, inspected.stderr
    data = json.loads(inspected.stdout)
    assert data["status"] == "loaded", data
    assert Path(data["manifest_path"]).is_relative_to(target)
    assert data["version"] == report.plugins[0].manifest.version
