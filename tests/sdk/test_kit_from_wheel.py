"""The kit works the way a plugin author gets it: from the SDK wheel, in a fresh venv.

Building the wheel, installing it with pytest only, and running the guide's
example there checks what an editable checkout cannot: that the kit and the
schema ship in the wheel, that the ``pytest11`` entry point loads the kit's
plugin by itself (markers registered under ``--strict-markers``), and that
nothing warns under ``-W error``.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from crypto_bot_sdk import API_VERSION, __version__

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "plugin-guide" / "conformance.md"


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, cwd=cwd
    )


@pytest.mark.slow
def test_guide_example_passes_against_the_installed_wheel(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                "--no-build-isolation", REPO_ROOT / "crypto_bot_sdk", "-w", wheels)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("crypto_bot_sdk-*.whl")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    installed = run(python, "-m", "pip", "install", "--quiet", wheel, "pytest>=8")
    assert installed.returncode == 0, installed.stderr

    project = tmp_path / "plugin"
    project.mkdir()
    example = GUIDE.read_text(encoding="utf-8").split("## A complete example", 1)[1]
    code = example.split("```python\n", 1)[1].split("```", 1)[0]
    (project / "test_conformance.py").write_text(code, encoding="utf-8")
    (project / "pytest.ini").write_text(
        "[pytest]\nfilterwarnings = error\naddopts = --strict-markers --strict-config\n",
        encoding="utf-8",
    )
    result = run(python, "-W", "error", "-m", "pytest", "-p", "no:cacheprovider", "-m",
                 "conformance", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 passed" in result.stdout
    assert f"crypto-bot-sdk {__version__} (plugin API {API_VERSION})" in result.stdout

    schema = run(python, "-c", "from importlib.resources import files; "
                 "print((files('crypto_bot_sdk') / 'manifest.schema.json').is_file())")
    assert schema.stdout.strip() == "True"
