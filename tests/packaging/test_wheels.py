"""What the SDK and core wheels declare and ship.

The dependency direction of the design (SDK -> nothing of ours, three libraries;
core -> SDK, heavy libraries behind extras) is only real if the built metadata
says so; these tests read the wheels a user would install.
"""

from __future__ import annotations

import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

# The contract for the SDK: these three and nothing else at run time.
SDK_RUNTIME_DEPENDENCIES = {"pydantic", "pluggy", "packaging"}
# Libraries a user who never trains a model or talks to a real service must not pay for.
HEAVY = {
    "torch",
    "stable-baselines3",
    "mlflow",
    "ccxt",
    "shap",
    "catboost",
    "river",
    "scikit-learn",
    "kubernetes",
    "psycopg",
    "fastapi",
}
# The extras the issue names; others may be added next to them.
NAMED_EXTRAS = {"ml", "rl", "governance", "k8s", "postgres", "all"}
TORCH = Version("2.13.0")


def read_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode())


def wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def packages_in(files: set[str]) -> set[str]:
    """Top-level names a wheel installs, its .dist-info directory aside."""
    return {f.split("/", 1)[0] for f in files if ".dist-info/" not in f}


def without_marker(requirement: Requirement) -> str:
    copy = Requirement(str(requirement))
    copy.marker = None
    return str(copy)


def base_requirements(meta: Message) -> list[Requirement]:
    """Requirements installed without any extra (markers evaluated for this interpreter)."""
    reqs = [Requirement(line) for line in meta.get_all("Requires-Dist", [])]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def extra_requirements(meta: Message) -> dict[str, list[Requirement]]:
    """Each declared extra mapped to the requirements it adds over the base install."""
    reqs = [Requirement(line) for line in meta.get_all("Requires-Dist", [])]
    by_extra: dict[str, list[Requirement]] = {}
    for extra in meta.get_all("Provides-Extra", []):
        by_extra[extra] = [
            r
            for r in reqs
            if r.marker is not None
            and r.marker.evaluate({"extra": extra})
            and not r.marker.evaluate({"extra": ""})
        ]
    return by_extra


def torch_pin_problems(requirement: Requirement) -> list[str]:
    """Why a torch requirement would not resolve to the 2.13.0 CPU wheel, if it would not.

    Admitting 2.13.0 is not enough: a range that also admits a newer release lets
    pip pick the newest CUDA build (gigabytes). Only an upper bound at exactly
    2.13.0 (``==``, ``===`` or ``<=``) rules every newer release out.
    """
    problems = []
    if not requirement.specifier.contains(TORCH, prereleases=True):
        problems.append(f"{requirement} does not admit torch {TORCH}")
    bounded = any(
        spec.operator in {"==", "===", "<="}
        and not spec.version.endswith(".*")
        and Version(spec.version) == TORCH
        for spec in requirement.specifier
    )
    if not bounded:
        problems.append(f"{requirement} admits torch releases newer than {TORCH}")
    return problems


@pytest.mark.parametrize(
    ("line", "ok"),
    [
        ("torch==2.13.0", True),
        ("torch===2.13.0", True),
        ("torch>=2.1,<=2.13.0", True),
        ("torch", False),
        ("torch>=2.0", False),
        ("torch==2.13.*", False),
        ("torch~=2.13.0", False),
        ("torch<2.14", False),
        ("torch==2.12.0", False),
    ],
)
def test_torch_pin_check_tells_pinned_from_open_ranges(line: str, ok: bool) -> None:
    assert (torch_pin_problems(Requirement(line)) == []) is ok


@pytest.mark.slow
def test_sdk_wheel_requires_exactly_pydantic_pluggy_packaging(sdk_wheel: Path) -> None:
    meta = read_metadata(sdk_wheel)
    assert meta["Name"] == "crypto-bot-sdk"
    names = {canonicalize_name(r.name) for r in base_requirements(meta)}
    assert names == SDK_RUNTIME_DEPENDENCIES


@pytest.mark.slow
def test_sdk_wheel_ships_typing_marker_and_manifest_schema(sdk_wheel: Path) -> None:
    files = wheel_files(sdk_wheel)
    assert "crypto_bot_sdk/py.typed" in files
    assert "crypto_bot_sdk/manifest.schema.json" in files
    assert packages_in(files) == {"crypto_bot_sdk"}, "the SDK wheel ships its package, nothing else"


@pytest.mark.slow
def test_core_wheel_requires_the_sdk_and_keeps_heavy_libraries_behind_extras(
    core_wheel: Path,
) -> None:
    meta = read_metadata(core_wheel)
    assert meta["Name"] == "crypto-bot-core"
    base = {canonicalize_name(r.name): r for r in base_requirements(meta)}
    assert "crypto-bot-sdk" in base
    assert base.keys() & HEAVY == set(), "heavy libraries must sit behind extras (DESIGN rule 6)"

    extras = extra_requirements(meta)
    assert NAMED_EXTRAS - extras.keys() == set()
    behind_extras = {canonicalize_name(r.name) for reqs in extras.values() for r in reqs}
    assert HEAVY - behind_extras == set(), "each heavy library is offered through an extra"


@pytest.mark.slow
def test_every_torch_requirement_resolves_to_the_cpu_build(core_wheel: Path) -> None:
    meta = read_metadata(core_wheel)
    reqs = [Requirement(line) for line in meta.get_all("Requires-Dist", [])]
    torch_reqs = [r for r in reqs if canonicalize_name(r.name) == "torch"]
    rl = extra_requirements(meta)["rl"]
    assert any(canonicalize_name(r.name) == "torch" for r in rl), "the rl extra needs torch"
    problems = [p for r in torch_reqs for p in torch_pin_problems(r)]
    assert problems == []


@pytest.mark.slow
def test_all_extra_covers_every_other_runtime_extra(core_wheel: Path) -> None:
    extras = extra_requirements(read_metadata(core_wheel))
    in_all = {without_marker(r) for r in extras["all"]}
    missing = {
        f"{extra}: {without_marker(r)}"
        for extra, reqs in extras.items()
        if extra not in {"all", "dev"}
        for r in reqs
        if without_marker(r) not in in_all
    }
    assert missing == set()


@pytest.mark.slow
def test_core_wheel_ships_typing_marker_and_no_sdk_or_tests(core_wheel: Path) -> None:
    files = wheel_files(core_wheel)
    assert "crypto_bot_core/py.typed" in files
    assert packages_in(files) == {"crypto_bot_core"}
