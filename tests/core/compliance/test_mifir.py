"""The ISO 20022 MiFIR transaction report: schema-valid, identifiers checked, deterministic."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from compliance.ledger_fixtures import (
    DRIVER,
    NINE,
    PERIOD,
    Chain,
    schemas_or_skip,
    trading_day,
)
from crypto_bot_core.builtins.standard_reporters import (
    MESSAGE_VERSIONS,
    MifirTransactionReporter,
    NothingToReportError,
    ReportValidationError,
    isin_check_digit,
)
from crypto_bot_sdk import ConfigError, CryptoBotError, ReportPeriod, Side

FIRM = "506700GE1G29325QX363"
EXCHANGE = "7LTWFZYICNSX8D621K86"
ETN_BODY = "XS0CRYPTBTC"
ETN = ETN_BODY + str(isin_check_digit(ETN_BODY))
PERPETUAL: dict[str, Any] = {
    "price_currency": "USD",
    "description": {
        "full_name": "Bitcoin / Tether perpetual swap",
        "cfi": "FFICSX",
        "notional_currency": "USD",
        "underlying": {"index": "BTC/USD"},
    },
}
SETTINGS: dict[str, Any] = {
    "executing_entity_lei": FIRM,
    "competent_authority": "FR",
    "algorithm_ids": {"trend": "TREND1"},
    "venues": {"alpha": {"mic": "XOFF", "counterparty_lei": EXCHANGE}},
    "instruments": {
        "BTC/USDT": {"isin": ETN, "price_currency": "USD"},
        "ETH/USDT": {"isin": "US0378331005", "price_currency": "EUR"},
        "BTC/USDT:USDT": PERPETUAL,
    },
}


def _ns(version: str = "auth.016.001.01") -> dict[str, str]:
    return {
        "h3": "urn:iso:std:iso:20022:tech:xsd:head.003.001.01",
        "h1": "urn:iso:std:iso:20022:tech:xsd:head.001.001.01",
        "a": f"urn:iso:std:iso:20022:tech:xsd:{version}",
    }


def _render(records: Any = None, **overrides: Any) -> bytes:
    reporter = MifirTransactionReporter.from_config({**SETTINGS, **overrides})
    artefact = reporter.render(trading_day() if records is None else records, PERIOD, "xml")
    assert artefact.media_type == "application/xml"
    return artefact.content


def _xpath(node: etree._Element, expression: str) -> list[Any]:
    found = node.xpath(expression, namespaces=_ns())
    assert isinstance(found, list)
    return found


def _schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def _driver_for(version: str, tmp_path: Path) -> Path:
    """A driver like ../shared's, importing the ISO catalogue's auth.016 of ``version``."""
    schemas = schemas_or_skip()
    auth = (
        schemas / "esma-mifir" / "auth.016.001.01_ESMAUG_Reporting_1.1.0.xsd"
        if version == "auth.016.001.01"
        else schemas / "iso-catalogue" / f"{version}.xsd"
    )
    imports = [
        ("head.003.001.01", schemas / "esma-mifir" / "head.003.001.01.xsd"),
        ("head.001.001.01", schemas / "esma-mifir" / "head.001.001.01_ESMAUG_1.0.0.xsd"),
        (version, auth),
    ]
    lines = "".join(
        f'<xs:import namespace="urn:iso:std:iso:20022:tech:xsd:{ns}" '
        f'schemaLocation="{path.as_uri()}"/>'
        for ns, path in imports
    )
    driver = tmp_path / f"driver-{version}.xsd"
    driver.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        f'targetNamespace="urn:local:test-driver">{lines}</xs:schema>'
    )
    return driver


def test_report_validates_against_the_esma_schemas() -> None:
    schemas_or_skip()
    content = _render()
    document = etree.fromstring(content)
    schema = _schema(DRIVER)
    assert schema.validate(document), schema.error_log
    # The same file with one wrong value is refused: the check is real.
    broken = content.replace(b"<TradVn>XOFF</TradVn>", b"<TradVn>off</TradVn>", 1)
    assert not schema.validate(etree.fromstring(broken))


def test_transactions_carry_the_fills_parties_and_instruments() -> None:
    root = etree.fromstring(_render())
    ns = _ns()
    header = root.find("h3:Hdr/h1:AppHdr", ns)
    assert header is not None
    assert header.findtext("h1:Fr/h1:OrgId/h1:Id/h1:OrgId/h1:Othr/h1:Id", namespaces=ns) == FIRM
    assert header.findtext("h1:To/h1:OrgId/h1:Id/h1:OrgId/h1:Othr/h1:Id", namespaces=ns) == "FR"
    assert header.findtext("h1:MsgDefIdr", namespaces=ns) == "auth.016.001.01"
    assert header.findtext("h1:BizMsgIdr", namespaces=ns) == "CB202406010000202406020000"
    assert header.findtext("h1:CreDt", namespaces=ns) == "2024-06-02T00:00:00Z"
    txs = root.findall("h3:Pyld/a:Document/a:FinInstrmRptgTxRpt/a:Tx/a:New", ns)
    # a1, b1 (same second: alpha before beta), a2, c1, e1; the fills outside the day are out
    summary = [
        (
            tx.findtext("a:Tx/a:TradDt", namespaces=ns),
            tx.findtext("a:Tx/a:Qty/a:Unit", namespaces=ns),
            tx.findtext("a:Tx/a:Pric/a:Pric/a:MntryVal/a:Amt", namespaces=ns),
            tx.find("a:Tx/a:Pric/a:Pric/a:MntryVal/a:Amt", ns).get("Ccy"),  # type: ignore[union-attr]
            tx.findtext("a:InvstmtDcsnPrsn/a:Algo", namespaces=ns),
        )
        for tx in txs
    ]
    assert summary == [
        ("2024-06-01T09:00:01.000000Z", "0.24", "2000", "EUR", "CRYPTOBOT"),
        ("2024-06-01T09:00:01.000000Z", "0.5", "100.05", "USD", "TREND1"),
        ("2024-06-01T09:00:02.000000Z", "0.5", "100.09", "USD", "TREND1"),
        ("2024-06-01T10:00:01.000000Z", "0.2", "99.65", "USD", "CRYPTOBOT"),
        ("2024-06-01T10:00:02.000000Z", "1", "101", "USD", "TREND1"),
    ]
    sell_b, buy_a1 = txs[0], txs[1]
    # our sell on alpha: the exchange (an LEI is configured for alpha) buys, we sell
    assert sell_b.findtext("a:Buyr/a:AcctOwnr/a:Id/a:LEI", namespaces=ns) == EXCHANGE
    assert sell_b.findtext("a:Sellr/a:AcctOwnr/a:Id/a:LEI", namespaces=ns) == FIRM
    # our buy on beta (no LEI configured): the counterparty is named by the venue's MIC
    assert buy_a1.findtext("a:Buyr/a:AcctOwnr/a:Id/a:LEI", namespaces=ns) == FIRM
    assert buy_a1.findtext("a:Sellr/a:AcctOwnr/a:Id/a:MIC", namespaces=ns) == "XOFF"
    assert buy_a1.findtext("a:FinInstrm/a:Id", namespaces=ns) == ETN
    assert buy_a1.findtext("a:ExctgPrsn/a:Algo", namespaces=ns) == "CRYPTOBOTROUTER"
    ids = [tx.findtext("a:TxId", namespaces=ns) for tx in txs]
    assert len(set(ids)) == 5
    assert all(i is not None and len(i) == 40 and i.isalnum() and i.isupper() for i in ids)
    perpetual = txs[4].find("a:FinInstrm/a:Othr", ns)
    assert perpetual is not None
    assert perpetual.findtext("a:FinInstrmGnlAttrbts/a:ClssfctnTp", namespaces=ns) == "FFICSX"
    assert (
        perpetual.findtext(
            "a:DerivInstrmAttrbts/a:UndrlygInstrm/a:Othr/a:Sngl/a:Indx/a:Nm/a:RefRate/a:Nm",
            namespaces=ns,
        )
        == "BTC/USD"
    )


def test_transaction_ids_are_stable_and_prefixed() -> None:
    first = _render(transaction_id_prefix="CB01")
    again = _render(transaction_id_prefix="CB01")
    assert first == again
    ids = _xpath(etree.fromstring(first), "//a:TxId/text()")
    assert all(str(i).startswith("CB01") and len(str(i)) == 44 for i in ids)


@pytest.mark.parametrize("version", MESSAGE_VERSIONS)
def test_every_message_version_validates(version: str, tmp_path: Path) -> None:
    driver = _driver_for(version, tmp_path)
    content = _render(
        message_version=version,
        schema_path=str(driver),
        instruments={
            **SETTINGS["instruments"],
            "BTC/USDT:USDT": {
                **PERPETUAL,
                "description": {**PERPETUAL["description"], "expiry": "2024-12-27"},
            },
        },
    )
    root = etree.fromstring(content)
    assert root.findtext("h3:Hdr/h1:AppHdr/h1:MsgDefIdr", namespaces=_ns()) == version
    assert root.find("h3:Pyld/a:Document", _ns(version)) is not None
    assert _schema(driver).validate(root)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"executing_entity_lei": "506700GE1G29325QX364"},
            r"executing_entity_lei: .*check digits are 64 but ISO 17442 \(MOD 97-10\) gives 63",
        ),
        (
            {"venues": {"beta": {"counterparty_lei": "ABC"}}},
            r"venues.beta.counterparty_lei: .*'ABC' is not an LEI",
        ),
        (
            {"instruments": {"BTC/USDT": {"isin": "US0378331006", "price_currency": "USD"}}},
            r"instruments.BTC/USDT.isin: .*check digit is 6 but the Luhn algorithm gives 5",
        ),
        (
            {"instruments": {"BTC/USDT": {"price_currency": "USD"}}},
            r"identify the instrument by 'isin' or by 'description'",
        ),
        (
            {"instruments": {"BTC/USDT": {"isin": ETN, "price_currency": "USDT"}}},
            r"price_currency",
        ),
        ({"message_version": "auth.016.001.09"}, r"message_version"),
        ({"competent_authority": "France"}, r"competent_authority"),
    ],
)
def test_wrong_identifiers_are_refused_with_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MifirTransactionReporter.from_config({**SETTINGS, **settings})


def test_symbol_without_identification_is_refused_unless_excluded() -> None:
    instruments = {"BTC/USDT:USDT": PERPETUAL}
    with pytest.raises(CryptoBotError, match=r"fill b1 is in 'ETH/USDT', which has no instrument"):
        _render(instruments=instruments)
    root = etree.fromstring(_render(instruments=instruments, exclude_spot=True))
    assert len(_xpath(root, "//a:New")) == 1
    only_eth_out = _render(
        instruments={**instruments, "BTC/USDT": {"isin": ETN, "price_currency": "USD"}},
        exclude_symbols=["ETH/USDT"],
    )
    assert len(_xpath(etree.fromstring(only_eth_out), "//a:New")) == 4


def test_empty_period_has_nothing_to_submit() -> None:
    later = ReportPeriod(start=PERIOD.end + timedelta(days=1), end=PERIOD.end + timedelta(days=2))
    reporter = MifirTransactionReporter.from_config(SETTINGS)
    with pytest.raises(NothingToReportError, match="nothing to submit"):
        reporter.render(trading_day(), later, "xml")


def test_manual_orders_name_the_decision_maker() -> None:
    schemas_or_skip()
    chain = Chain()
    chain.routed_order(
        "M",
        symbol="BTC/USDT:USDT",
        side=Side.SELL,
        venue="beta",
        ts=NINE,
        extra={"origin": "manual"},
    )
    chain.fill(
        "m1",
        "M",
        symbol="BTC/USDT:USDT",
        venue="beta",
        side=Side.SELL,
        qty="2",
        price="100",
        ts=NINE,
    )
    with pytest.raises(CryptoBotError, match="order M was placed manually"):
        _render(chain.records)
    person = {"country_of_branch": "FR", "id": "FR19800101JOHN#DOE##", "scheme": "CONCAT"}
    content = _render(chain.records, manual_decision_person=person)
    root = etree.fromstring(content)
    ns = _ns()
    assert root.xpath("//a:InvstmtDcsnPrsn/a:Prsn/a:Othr/a:Id/text()", namespaces=ns) == [
        person["id"]
    ]
    assert _schema(DRIVER).validate(root), _schema(DRIVER).error_log
    with pytest.raises(ConfigError, match="not an RTS 22 person identifier"):
        MifirTransactionReporter.from_config(
            {**SETTINGS, "manual_decision_person": {**person, "id": "john doe"}}
        )


def test_schema_path_checks_every_file() -> None:
    schemas = schemas_or_skip()
    assert _render(schema_path=str(DRIVER)).startswith(b"<?xml")
    header_only = schemas / "esma-mifir" / "head.001.001.01_ESMAUG_1.0.0.xsd"
    with pytest.raises(ReportValidationError, match="does not validate against"):
        _render(schema_path=str(header_only))
    with pytest.raises(CryptoBotError, match="cannot load the schema"):
        _render(schema_path=str(schemas / "README.md"))


def test_values_beyond_the_schema_precision_are_refused() -> None:
    chain = Chain()
    chain.routed_order("P", symbol="BTC/USDT:USDT", side=Side.BUY, venue="beta", ts=NINE)
    chain.fill(
        "p1",
        "P",
        symbol="BTC/USDT:USDT",
        venue="beta",
        side=Side.BUY,
        qty="0.000000000000000001",
        price="100",
        ts=NINE,
    )
    with pytest.raises(CryptoBotError, match="fill p1: quantity 1E-18 does not fit the report"):
        _render(chain.records)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="has no format 'csv'; choose one of xml"):
        MifirTransactionReporter.from_config(SETTINGS).render(trading_day(), PERIOD, "csv")
