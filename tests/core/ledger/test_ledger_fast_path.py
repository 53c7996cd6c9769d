"""The ledger's fast encoder and batched appends write exactly what the reference path writes.

* ``canonical_json`` (walk that only checks + one C encoder, orjson or the standard
  library) against ``canonical_payload`` (the normalising walk) and ``rfc8785`` on
  hypothesis-generated payloads: same bytes, or the same refusal.
* ``append_many``, ``extend``, ``extend_prepared`` and the engine's ``BatchingLog``
  against records appended one at a time, and against the chain computed
  independently with ``rfc8785`` and ``hashlib``: same rows, byte for byte, on
  SQLite and PostgreSQL.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crypto_bot_core.ledger as ledger_package
from crypto_bot_core.engine.batching import BatchingLog
from crypto_bot_core.ledger import Ledger, LedgerSettings, PayloadError, open_ledger
from crypto_bot_core.ledger import canonical as canonical_module
from crypto_bot_core.ledger.canonical import (
    canonical_json,
    canonical_payload,
    format_ts,
    normalise,
)
from crypto_bot_core.ledger.hashing import CHAIN_TAG, GENESIS
from crypto_bot_sdk import LedgerRecord, RecordType

ENCODERS = ["orjson", "json"]


@pytest.fixture(params=ENCODERS)
def encoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with each C encoder behind ``canonical_json``."""
    if request.param == "orjson":
        if not canonical_module._orjson_agrees():
            pytest.skip("orjson is not installed (or disagrees with RFC 8785) here")
        chosen = canonical_module._orjson_fast
    else:
        chosen = canonical_module._json_fast
    monkeypatch.setattr(canonical_module, "_ENCODER", [chosen])
    return str(request.param)


# --- payloads ---------------------------------------------------------------------------

TINY_AND_HUGE = [
    0.0,
    -0.0,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1e-7,
    1.5e-7,
    9.99e-7,
    1e-6,
    3.2e-6,
    -8.936930535267144e-06,
    1e-5,
    3.2e-05,
    9.9999e-5,
    1e-4,
    0.1,
    1.0,
    -2.0,
    2.0**53,
    2.0**53 + 2,
    9.999e15,
    1e16,
    1.2345678901234568e17,
    1e21,
    1e22,
    -3e21,
    1.7976931348623157e308,
]

floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(TINY_AND_HUGE),
    st.floats(min_value=-1e-3, max_value=1e-3, allow_nan=False),
    st.floats(min_value=1e14, max_value=1e23),
)
texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet='abcxyz_\x00\x1f\x7f"\\/\u2028\u00e9\u20ac\U0001f600\ue000', max_size=8),
    st.sampled_from(["\ud800", "a\udfffb", "subject_ref", "\x00deadbeef:0\x00"]),
)
keys = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ABC0123", min_size=1, max_size=10),
    texts,
    st.sampled_from(["subject_ref", "\ue000", "\U0001f600", "a\U0001f600", "a\uffff"]),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.integers(),
    floats,
    texts,
    st.decimals(min_value=-(10**15), max_value=10**15, allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal("NaN"), Decimal("-Infinity"), float("nan"), float("inf")]),
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
    ),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),  # naive
)
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(keys, children, max_size=5),
        st.dictionaries(st.integers(0, 3), children, min_size=1, max_size=2),  # refused
    ),
    max_leaves=16,
)
payloads = st.dictionaries(keys, values, max_size=8)


def _reference(payload: Any) -> bytes | str:
    """The reference path's bytes, or its refusal message."""
    try:
        produced, plain = canonical_payload(payload)
    except PayloadError as exc:
        return str(exc)
    assert produced == rfc8785.dumps(plain)
    return produced


def _fast(payload: Any) -> bytes | str:
    try:
        return canonical_json(payload)
    except PayloadError as exc:
        return str(exc)


FAST_ENCODERS = [canonical_module._json_fast]
if canonical_module._orjson_agrees():
    FAST_ENCODERS.append(canonical_module._orjson_fast)


@settings(
    max_examples=700, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(payload=payloads)
def test_the_fast_encoder_equals_the_reference(payload: dict[str, Any]) -> None:
    before = repr(payload)
    expected = _reference(payload)
    for chosen in FAST_ENCODERS:
        canonical_module._ENCODER[:] = [chosen]
        try:
            assert _fast(payload) == expected, chosen.__name__
        finally:
            canonical_module._ENCODER.clear()
    assert repr(payload) == before  # the caller's payload is never changed


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # the fixture only picks the encoder, the same for every example
@given(
    numbers=st.lists(floats, min_size=1, max_size=6),
    nested=st.booleans(),
)
def test_floats_of_every_magnitude(encoder: str, numbers: list[float], nested: bool) -> None:
    payload: dict[str, Any] = {"n": numbers, "first": numbers[0]}
    if nested:
        payload = {"signals": {"ema": {"features": payload}}, "id": "x"}
    assert canonical_json(payload) == rfc8785.dumps(normalise(payload)[0])


def test_engine_shaped_payloads_take_the_fast_way(
    encoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(payload: Any) -> Any:
        raise AssertionError("the reference path was taken")

    payloads = [payload for i in range(300) for _, payload, _ in engine_records(i)]
    expected = [rfc8785.dumps(normalise(p)[0]) for p in payloads]
    monkeypatch.setattr(canonical_module, "canonical_payload", refuse)
    assert [canonical_json(p) for p in payloads] == expected


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ({"a": {"subject_ref": "sr_" + "0" * 64}}, "a nested subject reference is refused"),
        ({"é": 1}, "non-ASCII keys sort by UTF-16 code units in RFC 8785"),
        ({"x": "€"}, "non-ASCII output is left to the reference"),
        ({"x": float("nan")}, "NaN is refused"),
        ({"x": [Decimal("sNaN")]}, "a NaN decimal is refused"),
        ({"x": 2**60}, "big ints become strings"),
        ({"x": datetime(2024, 1, 1)}, "naive times are refused"),
        ({"x": {1: "a"}}, "int keys are refused"),
        ({"x": 1e-9, "t": "\x00{nonce}:0\x00"}, "a placeholder look-alike"),
    ],
)
def test_what_the_fast_path_leaves_to_the_reference(
    encoder: str, payload: dict[str, Any], why: str
) -> None:
    nonce = canonical_module._SENTINEL_NONCE
    payload = {k: v.format(nonce=nonce) if isinstance(v, str) else v for k, v in payload.items()}
    assert _fast(payload) == _reference(payload), why
    fast = canonical_module._orjson_fast if encoder == "orjson" else canonical_module._json_fast
    assert fast(payload) is None, why


def test_a_disagreeing_orjson_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    if canonical_module._orjson is None:
        pytest.skip("orjson is not installed here")
    real = canonical_module._orjson_dumps

    def exponent_for_small(value: Any, **kwargs: Any) -> bytes:
        return bytes(real(value, **kwargs)).replace(b"0.0001", b"1e-4")

    monkeypatch.setattr(canonical_module, "_orjson_dumps", exponent_for_small)
    monkeypatch.setattr(canonical_module, "_ENCODER", [])
    assert not canonical_module._orjson_agrees()
    assert canonical_module.fast_encoder_name() == "json"


# --- batched appends equal one-by-one appends --------------------------------------------

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def engine_records(i: int) -> list[tuple[RecordType, dict[str, Any], datetime]]:
    """An order's three records as a backtest writes them (see bench/ledger.py)."""
    ts = T0 + timedelta(minutes=22 * i)
    spread = (8.9e-06, 3.2e-05, 2.4e-04, 0.0)[i % 4] * (1 + i / 1000)
    close = 60_000 + (i % 3) * 0.25  # a third are integral floats (written as ints)
    signal = {
        "agent": "ema_crossover",
        "confidence": 0.06182002710946213 + i / 1e4,
        "features": {
            "bars_since_cross": i % 22,
            "close": close,
            "spread": spread,
            "ema_fast": close * (1 + spread / 2),
            "volatility": 0.0007228183934182765,
        },
        "model_version": None,
        "rationale": "EMA(10) above EMA(20): bullish",
        "score": 1.0 if i % 7 == 0 else 0.0617 + i / 1e5,
        "symbol": "BTC/USDT",
        "ts": ts.isoformat(),
    }
    intent = {
        "client_order_id": f"run-{i:06d}",
        "intent_id": f"i{i:06d}",
        "policy": "all",
        "reason": f"policy:all score +0.062: target 0.{i:08d} from 0",
        "request": {"quantity": f"0.{i:08d}", "price": None, "reduce_only": False},
        "signals": {"ema": signal},
        "risk_verdicts": [
            {"action": "approve", "figures": {"limit": "25000"}, "quantity": None, "rule": "r1"},
            {"action": "approve", "figures": {}, "quantity": None, "rule": "price_band"},
        ],
        "routing": {"quotes": {"paper": {"price": f"{close:.2f}"}}, "venue": "paper"},
    }
    fill = {
        "fill_id": f"paper-fill-{i}",
        "price": Decimal(f"{close:.2f}"),
        "quantity": Decimal("0.0125"),
        "ts": ts,
    }
    status = {"client_order_id": f"run-{i:06d}", "status": "filled", "reason": ""}
    return [
        (RecordType.ORDER_INTENT, intent, ts),
        (RecordType.FILL, fill, ts),
        (RecordType.ORDER_FILLED, status, ts),
    ]


def _items(ledger_for_refs: Ledger, orders: int) -> list[tuple[RecordType, dict[str, Any], Any]]:
    items: list[tuple[RecordType, dict[str, Any], Any]] = []
    for i in range(orders):
        items.extend(engine_records(i))
        if i % 9 == 4:  # a record naming its data subject, and one in another time zone
            items.append(
                (
                    RecordType.ALERT,
                    {"subject_ref": ledger_for_refs.subjects.ref(f"c-{i}"), "title": "t"},
                    T0.astimezone(timezone(timedelta(hours=2))) + timedelta(minutes=i),
                )
            )
    return items


def _rows(ledger: Ledger) -> list[tuple[int, bytes, bytes]]:
    last = ledger.store.last()
    end = last.seq + 1 if last is not None else 0
    return [
        (int(seq), bytes(digest), bytes(body))
        for page in ledger.store.chain_pages(0, end)
        for seq, digest, body in page
    ]


def _independent_chain(items: list[tuple[RecordType, dict[str, Any], Any]]) -> list[Any]:
    """The rows computed from the definition: rfc8785 of the normalised record, SHA-256 chain."""
    rows = []
    prev = GENESIS
    for seq, (kind, payload, ts) in enumerate(items):
        record: dict[str, Any] = {
            "payload": normalise(payload)[0],
            "seq": seq,
            "ts": format_ts(ts),
            "type": kind.value,
        }
        body = rfc8785.dumps(record)
        prev = hashlib.sha256(CHAIN_TAG + prev + body).digest()
        rows.append((seq, prev, body))
    return rows


def _append_many(ledger: Ledger, items: list[Any]) -> None:
    for start in range(0, len(items), 50):
        ledger.append_many(items[start : start + 50])


def _extend(ledger: Ledger, items: list[Any]) -> None:
    for start in range(0, len(items), 64):
        ledger.extend(items[start : start + 64])


def _extend_prepared(ledger: Ledger, items: list[Any]) -> None:
    ledger.extend_prepared([ledger.prepare(item) for item in items])


def _through_batching_log(ledger: Ledger, items: list[Any]) -> None:
    log = BatchingLog(ledger, batch=37)
    for kind, payload, ts in items:
        log.append(kind, payload, ts=ts)
    assert log.flushes == len(items) // 37
    log.flush()


WRITERS: dict[str, Callable[[Ledger, list[Any]], None]] = {
    "append_many": _append_many,
    "extend": _extend,
    "extend_prepared": _extend_prepared,
    "BatchingLog": _through_batching_log,
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_batched_appends_equal_one_by_one_appends(
    encoder: str,
    writer: str,
    backend_url: str,
    settings_for: Callable[..., LedgerSettings],
    tmp_path: Path,
) -> None:
    one_by_one_url = f"sqlite:///{tmp_path / 'one-by-one.sqlite'}"
    with open_ledger(settings=settings_for(one_by_one_url)) as single:
        items = _items(single, 40)
        returned = [single.append(kind, payload, ts=ts) for kind, payload, ts in items]
        expected = _rows(single)
        assert returned == [single.get(n) for n in range(len(items))]
    assert expected == _independent_chain(items)

    with open_ledger(settings=settings_for(backend_url)) as batched:
        WRITERS[writer](batched, items)
        assert _rows(batched) == expected
        assert batched.verify(require_signatures=False).ok
        (named,) = batched.records(subject="c-4")  # the subject_ref column was filled
        assert named.type is RecordType.ALERT


def test_returned_records_are_the_ones_read_back(
    encoder: str, settings_for: Callable[..., LedgerSettings], sqlite_url: str
) -> None:
    seen: list[LedgerRecord] = []
    with open_ledger(settings=settings_for(sqlite_url)) as ledger:
        ledger.subscribe(seen.append)
        items = _items(ledger, 5)
        returned = ledger.append_many(items[:6])
        ledger.extend(items[6:])
        assert returned == seen[:6]
        assert seen == list(ledger.records())
        assert returned[0].payload["signals"]["ema"]["features"]["spread"] == 8.9e-06
        assert returned[1].payload["price"] == "60000.00"
        assert returned[0].payload["signals"]["ema"]["features"]["close"] == 60000
        assert returned[0].payload["signals"]["ema"]["score"] == 1


def test_a_bad_payload_is_refused_at_its_append_and_the_batch_survives(
    sqlite_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    with open_ledger(settings=settings_for(sqlite_url)) as ledger:
        log = BatchingLog(ledger, batch=10)
        log.append(RecordType.ALERT, {"n": 1}, ts=T0)
        with pytest.raises(PayloadError, match=r"payload\.x is nan"):
            log.append(RecordType.ALERT, {"x": float("nan")}, ts=T0)
        with pytest.raises(PayloadError, match="has no time zone"):
            log.append(RecordType.ALERT, {"n": 2}, ts=datetime(2024, 1, 1))
        log.append(RecordType.ALERT, {"n": 3}, ts=T0)
        log.close()
    with open_ledger(settings=settings_for(sqlite_url)) as reopened:
        assert [r.payload["n"] for r in reopened.records()] == [1, 3]


class _ItemsOnly:
    """A ledger with only append_many / extend (no prepare): the log hands items over."""

    def __init__(self, with_extend: bool) -> None:
        self.calls: list[tuple[str, list[Any]]] = []
        if with_extend:
            self.extend = lambda items: self.calls.append(("extend", list(items)))

    def append(
        self, type: RecordType, payload: Mapping[str, Any], *, ts: datetime | None = None
    ) -> None:
        raise AssertionError("not used")

    def append_many(self, items: Sequence[Any]) -> None:
        self.calls.append(("append_many", list(items)))


@pytest.mark.parametrize("with_extend", [True, False])
def test_the_batching_log_uses_what_the_ledger_has(with_extend: bool) -> None:
    target = _ItemsOnly(with_extend)
    log = BatchingLog(target, batch=2)
    for n in range(3):
        log.append(RecordType.ALERT, {"n": n}, ts=T0)
    log.flush()
    method = "extend" if with_extend else "append_many"
    assert [name for name, _ in target.calls] == [method, method]
    assert [len(items) for _, items in target.calls] == [2, 1]


def test_one_append_is_committed_when_it_returns(
    backend_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    """The paper/live path: one transaction per record, visible to another connection."""
    with open_ledger(settings=settings_for(backend_url)) as ledger:
        record = ledger.append(RecordType.ALERT, {"score": 3.2e-05, "n": 1.0}, ts=T0)
        with open_ledger(settings=settings_for(backend_url)) as other:
            assert other.get(record.sequence) == record
        assert record.payload == {"score": 3.2e-05, "n": 1}


# --- no import cycles inside the ledger package ----------------------------------------


def _module_edges() -> dict[str, set[str]]:
    root = Path(ledger_package.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                subs = [f"{node.module}.{alias.name}" for alias in node.names]
                found = [t for t in subs if t in modules]
                targets = found if found else [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            edges[name] |= {t for t in targets if t in modules and t != name}
    return edges


def test_no_module_of_the_ledger_imports_one_that_imports_it_back() -> None:
    """Every import counts, also those under TYPE_CHECKING or inside functions; the
    package's own ``__init__`` is left out (importing a submodule imports it anyway)."""
    edges = _module_edges()
    package = ledger_package.__name__
    cycles = []
    for start in edges:
        if start == package:
            continue
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in edges[node] - {package}:
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in path:
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []
    chain = f"{package}.chain"
    for module in ("audit", "subjects", "bundle"):
        assert f"{package}.ledger" not in edges[f"{package}.{module}"]
    assert f"{package}.ledger" not in edges[chain]
