"""Wheels built once per session from the working tree, for the packaging tests.

The tests inspect the wheels a user would install, not the source tree, because
what ships (metadata, data files, markers) is decided by the build backend.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def build_wheel(project_dir: Path, out_dir: Path) -> Path:
    """Build one project's wheel without dependencies or network (hatchling is in dev)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            str(project_dir),
            "-w",
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"building {project_dir} failed:\n{result.stderr}"
    wheels = sorted(out_dir.glob("*.whl"))
    assert len(wheels) == 1, f"expected one wheel from {project_dir}, got {wheels}"
    return wheels[0]


@pytest.fixture(scope="session")
def sdk_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(REPO_ROOT / "crypto_bot_sdk", tmp_path_factory.mktemp("sdk-wheel"))


@pytest.fixture(scope="session")
def core_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(REPO_ROOT, tmp_path_factory.mktemp("core-wheel"))
