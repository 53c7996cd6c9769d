"""Canonical JSON: the fast path must be byte-identical to the rfc8785 reference."""

from __future__ import annotations

import random
import string
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any
from uuid import UUID

import pytest
import rfc8785

from crypto_bot_core.ledger import canonical as canonical_module
from crypto_bot_core.ledger.canonical import (
    PayloadError,
    canonical_payload,
    format_ts,
    normalise,
    parse_ts,
    record_bytes,
)
from crypto_bot_sdk import RecordType


def _float(rng: random.Random) -> float:
    choice = rng.randrange(6)
    if choice == 0:
        return float(rng.randint(-(2**60), 2**60))  # integral, some beyond 2**53
    if choice == 1:
        return rng.uniform(-1, 1) * 10.0 ** rng.randint(-30, 30)  # any magnitude
    if choice == 2:
        return round(rng.uniform(0, 100), rng.randint(0, 8))
    if choice == 3:
        return rng.choice(
            [0.1, 1e-7, 1e21, 1e-4, 9.999e15, 1e16, 5e-324, -0.0, 1.7976931348623157e308]
        )
    return rng.random()


def _text(rng: random.Random) -> str:
    alphabet = string.printable + "äöü€\u2028\u0000\u001f\U0001f600\ue000\ufb33"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def _value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return rng.randint(-(2**70), 2**70) if rng.random() < 0.2 else rng.randint(-1000, 1000)
    if kind == 1:
        return _float(rng)
    if kind == 2:
        return _text(rng)
    if kind == 3:
        return Decimal(rng.randint(-(10**12), 10**12)).scaleb(-rng.randint(0, 10))
    if kind == 4:
        return rng.choice([True, False, None])
    if kind == 5:
        return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(10**13))
    if kind == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_key(rng): _value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def _key(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return _text(rng) or "k"
    return "".join(rng.choice(string.ascii_letters + "_") for _ in range(rng.randint(1, 10)))


def test_fast_path_is_byte_identical_to_rfc8785() -> None:
    rng = random.Random(8785)
    fast_used = 0
    for _ in range(3000):
        payload = {_key(rng): _value(rng, 0) for _ in range(rng.randint(1, 8))}
        payload.pop("subject_ref", None)
        plain, fast = normalise(payload)
        produced, _ = canonical_payload(payload)
        assert produced == rfc8785.dumps(plain)
        fast_used += fast
    assert 500 < fast_used < 3000  # both paths were exercised


def test_values_are_normalised_to_exact_json() -> None:
    class Side(StrEnum):
        BUY = "buy"

    class Level(IntEnum):
        HIGH = 3

    payload = {
        "qty": Decimal("0.010"),
        "big": 2**60,
        "limit": 2**53 - 1,
        "score": 0.25,
        "whole": 2.0,
        "tiny": 1e-7,
        "side": Side.BUY,
        "level": Level.HIGH,
        "when": datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2))),
        "day": date(2024, 5, 6),
        "id": UUID(int=1),
        "tags": ("a", "b"),
    }
    produced, plain = canonical_payload(payload)
    assert plain["qty"] == "0.010"
    assert plain["big"] == "1152921504606846976"
    assert plain["limit"] == 2**53 - 1
    assert plain["whole"] == 2
    assert plain["when"] == "2024-05-06T05:08:09.123456Z"
    assert produced == (
        b'{"big":"1152921504606846976","day":"2024-05-06","id":"00000000-0000-0000-0000-'
        b'000000000001","level":3,"limit":9007199254740991,"qty":"0.010","score":0.25,'
        b'"side":"buy","tags":["a","b"],"tiny":1e-7,"when":"2024-05-06T05:08:09.123456Z",'
        b'"whole":2}'
    )


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"px": float("nan")}, "payload.px is nan"),
        ({"a": [1, {"b": float("inf")}]}, "payload.a[1].b is inf"),
        ({"qty": Decimal("NaN")}, "payload.qty is NaN"),
        ({"t": datetime(2024, 1, 1)}, "payload.t is the naive timestamp"),
        ({"raw": b"\x00"}, "payload.raw is bytes"),
        ({"s": {1, 2}}, "payload.s is a set"),
        ({"m": {1: "x"}}, "payload.m has the key 1 of type int"),
        ({"o": object()}, "payload.o has the type object"),
        ({"nested": {"subject_ref": "sr_x"}}, "payload.nested.subject_ref is a subject reference"),
    ],
)
def test_values_without_exact_json_are_refused_with_their_path(
    payload: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(PayloadError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        canonical_payload(payload)


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(PayloadError, match="cannot be canonicalised"):
        canonical_payload({"text": "\ud800"})


def test_record_bytes_are_the_canonical_form_of_the_whole_record() -> None:
    payload_json, plain = canonical_payload({"z": 1, "a": "x"})
    ts = format_ts(datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    produced = record_bytes(payload_json, 42, ts, RecordType.ORDER_FILLED.value)
    expected = rfc8785.dumps(
        {"payload": plain, "seq": 42, "ts": ts, "type": RecordType.ORDER_FILLED.value}
    )
    assert produced == expected
    assert parse_ts(ts) == datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)


def test_ecmascript_numbers_match_the_reference_on_every_magnitude() -> None:
    rng = random.Random(20261121)
    values = [0.0, -0.0, 5e-324, 1.7976931348623157e308, 1e21, 1e-7, 123e-20, 2.0**60]
    for exponent in range(-320, 308, 3):
        values.append(rng.uniform(1, 10) * 10.0**exponent)
        values.append(-rng.uniform(1, 10) * 10.0**exponent)
    for value in values:
        assert canonical_module.ecmascript_number(value) == rfc8785.dumps(value).decode(), value


def test_payloads_with_tiny_and_huge_floats_take_the_fast_way_and_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload: dict[str, Any] = {
        "score": 2.5e-5,
        "nested": [{"big": -3e21}, 1e-7, 0.5],
        "note": "ok",
    }
    calls: list[object] = []
    real = rfc8785.dumps

    def counting(value: Any) -> bytes:
        calls.append(value)
        return real(value)

    monkeypatch.setattr(rfc8785, "dumps", counting)
    encoded, _ = canonical_module.canonical_payload(payload)
    assert calls == []  # no detour through the reference encoder
    assert encoded == real(payload)
    assert encoded == b'{"nested":[{"big":-3e+21},1e-7,0.5],"note":"ok","score":0.000025}'


def test_a_string_that_looks_like_a_placeholder_falls_back_to_the_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(canonical_module, "_SENTINEL_NONCE", "feedc0de")
    payload: dict[str, Any] = {"tiny": 1e-9, "trap": "\x00feedc0de:0\x00"}
    encoded, _ = canonical_module.canonical_payload(payload)
    assert encoded == rfc8785.dumps(payload)
