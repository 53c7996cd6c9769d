"""The SDK installs and imports on its own, in a fresh virtual environment.

A plugin author runs ``pip install crypto-bot-sdk`` and nothing else; if the SDK
quietly needed the core, numpy or pytest, their plugin would break on install.
So this builds the SDK wheel, installs only it into a new venv (its three
dependencies come from the package index), and looks at what got installed.
"""

from __future__ import annotations

import json
import subprocess
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import crypto_bot_sdk

SDK_RUNTIME_DEPENDENCIES = {"pydantic", "pluggy", "packaging"}
# What `python -m venv` itself puts into a new environment.
VENV_SEED = {"pip", "setuptools"}

LIST_DISTRIBUTIONS = """
import importlib.metadata as md, json
print(json.dumps({d.metadata["Name"]: d.requires or [] for d in md.distributions()}))
"""

IMPORT_SDK = """
import json, sys
import crypto_bot_sdk
print(json.dumps({
    "version": crypto_bot_sdk.__version__,
    "api_version": crypto_bot_sdk.API_VERSION,
    "exports": sorted(crypto_bot_sdk.__all__),
    "modules": sorted({m.split(".")[0] for m in sys.modules}),
    "testing_loaded": "crypto_bot_sdk.testing" in sys.modules,
}))
"""


def holds_here(req: Requirement, extras: frozenset[str]) -> bool:
    """Whether pip installs ``req`` on this interpreter when ``extras`` were asked for."""
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": extra}) for extra in {"", *extras})


def dependency_closure(root: str, requires: dict[str, list[str]]) -> set[str]:
    """Every distribution ``root`` needs, following requirements whose markers hold here.

    ``requires`` maps canonical distribution names to their Requires-Dist lines.
    A requirement asking for extras of its target pulls in that target's
    extra-only requirements too. A needed distribution that is not installed
    raises, naming it, since pip should have installed it.
    """
    needed: set[str] = set()
    pending: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        needed.add(name)
        if name not in requires:
            raise AssertionError(f"{name} is required but was not installed")
        for line in requires[name]:
            req = Requirement(line)
            if holds_here(req, extras):
                pending.append((canonicalize_name(req.name), frozenset(req.extras)))
    return needed


def test_closure_follows_markers_and_extras() -> None:
    requires = {
        "app": ["lib[speed]>=1", "win-only; sys_platform == 'nonexistent'", "opt; extra == 'x'"],
        "lib": ["core", "fast; extra == 'speed'"],
        "core": [],
        "fast": [],
        "win-only": [],
        "opt": [],
    }
    assert dependency_closure("app", requires) == {"app", "lib", "core", "fast"}
    with pytest.raises(AssertionError, match="missing is required"):
        dependency_closure("app", {**requires, "lib": ["missing"]})


def run(python: Path, *args: str) -> str:
    result = subprocess.run(
        [str(python), *args], capture_output=True, text=True, check=False, timeout=600
    )
    assert result.returncode == 0, f"{python} {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_sdk_alone_in_a_fresh_venv(sdk_wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    assert python.exists()
    # No --no-index: the three dependencies come from the index like for any user.
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(sdk_wheel))

    installed: dict[str, list[str]] = {
        str(canonicalize_name(name)): lines
        for name, lines in json.loads(run(python, "-c", LIST_DISTRIBUTIONS)).items()
    }
    sdk_direct = {
        canonicalize_name(req.name)
        for req in map(Requirement, installed["crypto-bot-sdk"])
        if holds_here(req, frozenset())
    }
    assert sdk_direct == SDK_RUNTIME_DEPENDENCIES

    closure = dependency_closure("crypto-bot-sdk", installed)
    assert set(installed) == closure | VENV_SEED
    assert {"crypto-bot-core", "numpy", "pytest"} & set(installed) == set()

    report = json.loads(run(python, "-c", IMPORT_SDK))
    assert report["version"] == crypto_bot_sdk.__version__ == sdk_wheel.name.split("-")[1]
    assert report["api_version"] == crypto_bot_sdk.API_VERSION
    assert report["exports"] == sorted(crypto_bot_sdk.__all__)
    assert report["testing_loaded"] is False, "import crypto_bot_sdk must not load the test kit"
    assert "crypto_bot_core" not in report["modules"]
