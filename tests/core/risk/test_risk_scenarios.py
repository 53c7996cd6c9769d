"""The scenario language: the shipped files, and errors that name the key and the line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from crypto_bot_core.risk.scenario import (
    BanShock,
    ExchangeHaltShock,
    FundingShock,
    LiquidityShock,
    PriceShock,
)
from crypto_bot_core.risk.scenario_file import (
    ScenarioError,
    load_scenario,
    parse_scenario,
    shipped_scenarios,
)

SHIPPED = {
    "market-crash-30",
    "btc-crash-50",
    "exchange-outage",
    "regulatory-ban",
    "liquidity-removal-90",
    "funding-spike",
}


def problems(text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="bad.yaml")
    return [(p.key, p.line, p.message) for p in caught.value.problems]


def test_the_issue_scenarios_are_shipped_and_valid() -> None:
    found = {s.name: s.scenario for s in shipped_scenarios()}
    assert set(found) == SHIPPED
    crash = found["market-crash-30"]
    assert crash.price_factor("DOGE/USDT") == Decimal("0.70")
    assert crash.volatility_factor("BTC/USDT") == 2.5
    assert found["btc-crash-50"].price_factor("BTC/USDT:USDT") == Decimal("0.50")
    assert found["btc-crash-50"].price_factor("ETH/USDT") == Decimal(1)
    assert found["exchange-outage"].of_kind(ExchangeHaltShock)[0].largest
    ban = found["regulatory-ban"].of_kind(BanShock)[0]
    assert ban.hits("XRP/USDT", found["regulatory-ban"].groups)
    assert not ban.hits("BTC/USDT", found["regulatory-ban"].groups)
    assert found["liquidity-removal-90"].of_kind(LiquidityShock)[0].remove == Decimal("0.9")
    assert found["funding-spike"].of_kind(FundingShock)[0].periods == 9


def test_scenarios_load_by_name_or_path(tmp_path: Path) -> None:
    assert load_scenario("btc-crash-50").name == "btc-crash-50"
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nshocks:\n  - price: {move: -0.2, assets: [ETH]}\n")
    mine = load_scenario(path)
    assert mine.of_kind(PriceShock)[0].move == Decimal("-0.2")
    with pytest.raises(ScenarioError, match="no shipped scenario of that name; shipped: "):
        load_scenario("market-crash-99")


def test_price_moves_compose_in_file_order() -> None:
    scenario = parse_scenario(
        "name: two\ngroups: {majors: [BTC, ETH/USDT]}\nshocks:\n"
        "  - price: {move: -0.1, symbols: '*'}\n"
        "  - price: {move: -0.5, groups: [majors]}\n"
    )
    assert scenario.price_factor("BTC/USDT:USDT") == Decimal("0.45")
    assert scenario.price_factor("ETH/USDT") == Decimal("0.45")
    assert scenario.price_factor("ETH/USDT:USDT") == Decimal("0.9")  # the group names the spot
    assert scenario.price_factor("SOL/USDT") == Decimal("0.9")


def test_a_bad_value_names_its_key_and_line() -> None:
    text = (
        "name: crash\nshocks:\n  - volatility: {multiplier: 2, symbols: '*'}\n"
        "  - price:\n      move: -1.5\n      symbols: '*'\n"
    )
    assert problems(text) == [("shocks[1].price.move", 5, "Input should be greater than -1")]


def test_an_unknown_key_is_named_with_a_suggestion() -> None:
    text = "name: crash\nshocks:\n  - price: {move: -0.3, symbols: '*'}\n  - prce: {move: 1}\n"
    [(key, line, message)] = problems(text)
    assert (key, line) == ("shocks[1].prce", 4)
    assert message == "unknown key 'prce'; did you mean 'price'?"


def test_a_missing_field_and_a_missing_selector_are_named() -> None:
    text = "name: crash\nshocks:\n  - price: {symbols: '*'}\n  - liquidity: {remove: 0.5}\n"
    found = problems(text)
    assert ("shocks[0].price.move", 3, "Field required") in found
    assert any(
        key == "shocks[1].liquidity" and line == 4 and "say which markets" in message
        for key, line, message in found
    )


def test_an_undefined_group_and_a_bad_symbol_are_named() -> None:
    text = (
        "name: crash\ngroups:\n  alts: [SOL, btc-usdt/x]\nshocks:\n"
        "  - price: {move: -0.3, groups: [majors]}\n"
    )
    found = problems(text)
    assert found[0][:2] == ("groups.alts[1]", 3)
    assert "not a ccxt unified symbol" in found[0][2]
    assert found[1] == (
        "shocks[0].price.groups[0]",
        5,
        "group 'majors' is not defined under `groups` (alts)",
    )


def test_two_kinds_in_one_shock_and_bad_yaml_are_refused() -> None:
    [(key, line, message)] = problems(
        "name: x\nshocks:\n  - price: {move: -0.1, symbols: '*'}\n"
        "    funding: {rate: 0.01, symbols: '*'}\n"
    )
    assert (key, line) == ("shocks[0]", 3)
    assert "exactly one of" in message
    [(key, line, message)] = problems("name: x\nshocks: [\n")
    assert key == "<yaml>"
    assert line is not None
    assert message.startswith("not valid YAML")


def test_the_error_message_reads_file_line_key() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(
            "name: x\nshocks:\n  - ban: {assets: [XRP], venues: binance}\n", source="ban.yaml"
        )
    assert str(caught.value).startswith("ban.yaml:3:")
    assert "shocks[0].ban.venues: Input should be '*' or a valid tuple" in str(caught.value)
