"""Fixtures of the deployment tests: real wheels of test plugins, built once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from plugin_dists import NEVER_IMPORT, PluginProject, manifest_for

from .staging import pip_wheel, write_library, write_projects

GOOD = PluginProject(
    "cbt-deploy-good", "cbt_deploy_good", "cbt-deploy-good", manifest_for("cbt-deploy-good")
)
TAMPERED = PluginProject(
    "cbt-deploy-tampered",
    "cbt_deploy_tampered",
    "cbt-deploy-tampered",
    manifest_for("cbt-deploy-tampered"),
)
INCOMPATIBLE = PluginProject(
    "cbt-deploy-old-core",
    "cbt_deploy_old_core",
    "cbt-deploy-old-core",
    manifest_for("cbt-deploy-old-core", compatible_core_version=">=0.0.1,<0.1"),
    module_source=NEVER_IMPORT,
)
WITH_DEP = PluginProject(
    "cbt-deploy-with-dep",
    "cbt_deploy_with_dep",
    "cbt-deploy-with-dep",
    manifest_for("cbt-deploy-with-dep"),
)
CONFLICTING = PluginProject(
    "cbt-deploy-conflict",
    "cbt_deploy_conflict",
    "cbt-deploy-conflict",
    manifest_for("cbt-deploy-conflict"),
)
MISSING_DEP = PluginProject(
    "cbt-deploy-missing-dep",
    "cbt_deploy_missing_dep",
    "cbt-deploy-missing-dep",
    manifest_for("cbt-deploy-missing-dep"),
)
SHADOWING = PluginProject(
    "cbt-deploy-shadow", "cbt_deploy_shadow", "cbt-deploy-shadow", manifest_for("cbt-deploy-shadow")
)
IMPOSTOR = PluginProject(
    "cbt-deploy-impostor",
    "cbt_deploy_impostor",
    "technical-agents",
    manifest_for("technical-agents"),
    module_source=NEVER_IMPORT,
)
UNKNOWN_CAPABILITY = PluginProject(
    "cbt-deploy-unknown-cap",
    "cbt_deploy_unknown_cap",
    "cbt-deploy-unknown-cap",
    manifest_for("cbt-deploy-unknown-cap", capabilities=["teleport"]),
    module_source=NEVER_IMPORT,
)
PROJECTS = (
    GOOD,
    TAMPERED,
    INCOMPATIBLE,
    WITH_DEP,
    CONFLICTING,
    MISSING_DEP,
    SHADOWING,
    IMPOSTOR,
    UNKNOWN_CAPABILITY,
)
DEPENDENCIES = {
    WITH_DEP.distribution: ["crypto-bot-sdk>=0.1,<0.2", "cbt-deploy-helper==1.0.0"],
    CONFLICTING.distribution: ["crypto-bot-sdk>=0.1,<0.2", "cbt-deploy-helper==2.0.0"],
    MISSING_DEP.distribution: ["crypto-bot-sdk>=0.1,<0.2", "cbt-deploy-absent>=1"],
}


@dataclass(frozen=True)
class Wheels:
    """The built wheels by distribution (``cbt_deploy_good``) or ``dist-version`` for libraries."""

    by_name: dict[str, Path]

    def __getitem__(self, key: str) -> Path:
        return self.by_name[key]


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Wheels:
    work = tmp_path_factory.mktemp("deploy-wheels")
    dirs = write_projects(work / "src", PROJECTS, DEPENDENCIES)
    dirs += [
        write_library(work / "src", "cbt-deploy-helper", "cbt_deploy_helper", "1.0.0"),
        # A wheel claiming a library the host already has, in another version.
        write_library(work / "src", "rfc8785", "cbt_fake_rfc8785", "0.0.1"),
        # Another distribution shipping the same package directory as the helper.
        write_library(work / "src", "cbt-deploy-helper-fork", "cbt_deploy_helper", "1.0.0"),
    ]
    built = pip_wheel(dirs, work / "wheels")
    # pip builds one version of a distribution per run: the conflicting helper on its own.
    helper2 = write_library(work / "src", "cbt-deploy-helper", "cbt_deploy_helper", "2.0.0")
    built += pip_wheel([helper2], work / "wheels-2")
    dirs.append(helper2)
    by_name: dict[str, Path] = {}
    plugins = {project.distribution.replace("-", "_") for project in PROJECTS}
    for path in built:
        dist, version = path.name.split("-")[:2]
        by_name[dist if dist in plugins else f"{dist}-{version}"] = path
    assert len(by_name) == len(dirs), sorted(by_name)
    return Wheels(by_name)
