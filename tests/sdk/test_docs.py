"""The plugin guide keeps up with the code: every contract method and hook appears in
``docs/plugin-guide/contracts.md`` with its current signature, every capability the
kit knows is listed there, and every relative link of every page resolves (the site
build in ``tests/docs/test_site.py`` checks the rendered guide as well)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import crypto_bot_sdk.testing as kit
from crypto_bot_sdk import CONTRACTS, PROJECT_NAME, Component
from crypto_bot_sdk import hookspecs as specs_module
from crypto_bot_sdk.testing import CAPABILITIES

pytest_plugins = ["pytester"]

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugin-guide"
CONTRACTS_MD = GUIDE / "contracts.md"
CONFORMANCE_MD = GUIDE / "conformance.md"
KIT_CLASSES = [
    kit.DataSourceConformance,
    kit.AgentConformance,
    kit.ExchangeAdapterConformance,
    kit.RiskRuleConformance,
    kit.ReporterConformance,
    kit.PolicySelectorConformance,
    kit.OversightConformance,
    kit.NotifierConformance,
]


def signature_text(name: str, func: Callable[..., Any], *, bound: bool) -> str:
    """``async submit_order(request: OrderRequest) -> Order``, as the guide writes it."""
    signature = inspect.signature(func)
    parameters = list(signature.parameters.values())[1 if bound else 0 :]
    parts: list[str] = []
    star_written = False
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and not star_written:
            parts.append("*")
            star_written = True
        text = parameter.name
        if parameter.annotation is not inspect.Parameter.empty:
            text += f": {parameter.annotation}"
        if parameter.default is not inspect.Parameter.empty:
            text += f" = {parameter.default!r}"
        parts.append(text)
    returns = signature.return_annotation
    prefix = "async " if inspect.iscoroutinefunction(func) else ""
    suffix = "" if returns is inspect.Signature.empty else f" -> {returns}"
    return f"{prefix}{name}({', '.join(parts)}){suffix}"


def contract_members(contract: type[Component[Any]]) -> Iterator[tuple[str, str]]:
    """(member name, its documented form) for the public API a contract defines itself."""
    for name in vars(contract).get("__annotations__", {}):
        if not name.startswith("_") and name not in vars(contract):
            yield name, f"`{name}`"
    for name, member in vars(contract).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property) and member.fget is not None:
            returns = inspect.signature(member.fget).return_annotation
            yield name, f"{name}: {returns}"
        elif isinstance(member, classmethod):
            yield name, signature_text(name, member.__func__, bound=True)
        elif inspect.isfunction(member):
            yield name, signature_text(name, member, bound=True)
        elif name in {"kind", "formats", "warmup_bars", "config_model"}:
            yield name, f"`{name}`"


def documented_items() -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    contracts: list[type[Component[Any]]] = [Component, *CONTRACTS.values()]
    for contract in contracts:
        prefix = contract.__name__
        items += [(f"{prefix}.{name}", text) for name, text in contract_members(contract)]
    for name, func in vars(specs_module).items():
        if callable(func) and hasattr(func, f"{PROJECT_NAME}_spec"):
            items.append((f"hook {name}", signature_text(name, func, bound=False)))
    items += [(f"capability {name}", f"`{name}`") for name in CAPABILITIES]
    return items


@pytest.fixture(scope="module")
def guide_text() -> str:
    return CONTRACTS_MD.read_text(encoding="utf-8")


def test_every_contract_member_hook_and_capability_is_documented(guide_text: str) -> None:
    missing = [f"{label}: {text}" for label, text in documented_items() if text not in guide_text]
    assert not missing, (
        f"{CONTRACTS_MD.name} lacks these (write each exactly as shown):\n" + "\n".join(missing)
    )


def test_the_documented_set_is_not_trivially_small() -> None:
    labels = [label for label, _ in documented_items()]
    assert "ExchangeAdapter.submit_order" in labels
    assert "Component.from_config" in labels
    assert "hook cryptobot_components" in labels
    assert "capability partial_fills" in labels
    assert "PolicySelector.select" in labels
    assert "Oversight.review" in labels
    assert "Notifier.notify" in labels
    assert "Agent.precompute" in labels
    assert "ExchangeAdapter.restore_state" in labels
    assert "capability state_snapshot" in labels
    assert len(labels) >= 70


def test_signature_text_format() -> None:
    from crypto_bot_sdk import ExchangeAdapter

    assert signature_text("fetch_order_book", ExchangeAdapter.fetch_order_book, bound=True) == (
        "async fetch_order_book(symbol: str, depth: int = 20) -> OrderBook"
    )


GUIDE_PAGES = sorted(path.name for path in GUIDE.glob("*.md"))


def test_the_guide_has_its_pages() -> None:
    assert {"contracts.md", "versioning.md", "conformance.md", "tutorial.md"} <= set(GUIDE_PAGES)


@pytest.mark.parametrize("page", GUIDE_PAGES)
def test_guide_pages_exist_and_link_targets_resolve(page: str) -> None:
    text = (GUIDE / page).read_text(encoding="utf-8")
    for target in [part.split(")")[0] for part in text.split("](")[1:]]:
        if target.startswith(("http://", "https://", "#")):
            continue
        path = (GUIDE / target.split("#")[0]).resolve()
        assert path.exists(), f"{page} links to {target}, which does not exist"


def test_every_kit_check_is_described_in_the_conformance_guide() -> None:
    text = CONFORMANCE_MD.read_text(encoding="utf-8")
    checks = {name for cls in KIT_CLASSES for name in dir(cls) if name.startswith("test_")}
    assert len(checks) >= 40
    missing = sorted(name for name in checks if f"`{name}" not in text)
    assert not missing, f"conformance.md does not describe: {missing}"


def test_the_complete_example_runs_and_passes(pytester: pytest.Pytester) -> None:
    text = CONFORMANCE_MD.read_text(encoding="utf-8")
    section = text.split("## A complete example", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    pytester.makeini("[pytest]\nfilterwarnings = error\naddopts = --strict-markers\n")
    pytester.makepyfile(test_conformance=example)
    result = pytester.runpytest("-p", "no:cacheprovider")
    # The agent declares neither precompute nor explain: those three checks are skipped.
    result.assert_outcomes(passed=9, skipped=3)
