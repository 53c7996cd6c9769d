"""Building real wheels and laying them out as plugin images' init containers would.

A bundle is ``<staging>/<plugin>/`` with ``wheels/*.whl``, ``SHA256SUMS`` (and
optionally ``SHA256SUMS.sig`` and a copy of ``manifest.json``), exactly what
``cp -R /plugin/. /staging/<plugin>/`` of a plugin image made from
``host/plugin-image/Dockerfile`` leaves behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from plugin_dists import PluginProject, write_project

ROOT = Path(__file__).resolve().parents[2]
CRYPTOBOT = Path(sys.executable).with_name("cryptobot")


def pip_wheel(project_dirs: Iterable[Path], out: Path) -> list[Path]:
    """Build every project's wheel (no dependencies, no isolation) into ``out`` in one pip run."""
    dirs = [str(d) for d in project_dirs]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-w",
            str(out),
            *dirs,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip wheel failed:\n{result.stdout}\n{result.stderr}")
    return sorted(out.glob("*.whl"))


def write_projects(
    root: Path, projects: Sequence[PluginProject], dependencies: Mapping[str, Sequence[str]]
) -> list[Path]:
    """Write the projects; ``dependencies[distribution]`` replaces the default requirement list."""
    dirs = []
    for project in projects:
        directory = write_project(root, project)
        deps = dependencies.get(project.distribution)
        if deps is not None:
            pyproject = directory / "pyproject.toml"
            text = pyproject.read_text()
            default = 'dependencies = ["crypto-bot-sdk>=0.1,<0.2"]'
            if default not in text:
                raise RuntimeError(
                    f"plugin_dists no longer writes {default!r}; update write_projects"
                )
            text = text.replace(default, f"dependencies = {json.dumps(list(deps))}")
            pyproject.write_text(text)
        dirs.append(directory)
    return dirs


def write_library(root: Path, distribution: str, package: str, version: str) -> Path:
    """A plain (non-plugin) library project, for dependency wheels."""
    directory = root / f"lib-{distribution}-{version}"
    (directory / package).mkdir(parents=True)
    (directory / package / "__init__.py").write_text(f'VERSION = "{version}"\n')
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{distribution}"\nversion = "{version}"\n\n'
        f'[tool.hatch.build.targets.wheel]\npackages = ["{package}"]\n'
    )
    return directory


def sha256_hex(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stage(
    staging: Path,
    name: str,
    wheels: Sequence[Path],
    *,
    recorded: Mapping[str, str] | None = None,
    manifest: Mapping[str, Any] | None = None,
    sign_with: Ed25519PrivateKey | None = None,
) -> Path:
    """Lay out ``<staging>/<name>/``; ``recorded`` overrides digests written to SHA256SUMS."""
    bundle = staging / name
    (bundle / "wheels").mkdir(parents=True)
    lines = []
    for wheel in wheels:
        shutil.copy2(wheel, bundle / "wheels" / wheel.name)
        digest = (recorded or {}).get(wheel.name, sha256_hex(wheel))
        lines.append(f"{digest}  {wheel.name}\n")
    sums = "".join(lines).encode()
    (bundle / "SHA256SUMS").write_bytes(sums)
    if manifest is not None:
        (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2))
    if sign_with is not None:
        (bundle / "SHA256SUMS.sig").write_bytes(sign_with.sign(sums))
    return bundle


def public_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def write_lock(path: Path, plugins: Sequence[Mapping[str, Any]], **signatures: Any) -> Path:
    path.write_text(json.dumps({"plugins": list(plugins), "signatures": signatures}))
    return path


def repo_plugin_dirs() -> list[Path]:
    """``plugins/<name>/`` directories of this repository that are buildable projects."""
    return sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))


def plugin_entry_name(project_dir: Path) -> str:
    """The plugin name (entry point name in group crypto_bot.plugins) of a project."""
    data = tomllib.loads((project_dir / "pyproject.toml").read_text())
    (name,) = data["project"]["entry-points"]["crypto_bot.plugins"].keys()
    return str(name)


def run_cryptobot(*args: str, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    """``cryptobot ARGS`` in a subprocess whose PYTHONPATH is the install target."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOBOT")}
    environ["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(CRYPTOBOT), *args],
        capture_output=True,
        text=True,
        check=False,
        env=environ,
        timeout=120,
    )
