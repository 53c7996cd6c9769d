"""Audit-ledger throughput: appends (one at a time and batched) and verification.

    .venv/bin/python bench/ledger.py [--records 50000] [--single 2000] [--batch 1000]
                                     [--verify-records 1000000] [--no-postgres]
    .venv/bin/python bench/ledger.py --engine-only [--orders 4096] [--profile]

The first section, "engine records", is what a backtest pays per ledger record:
the three records of an order as the engine writes them (``order.intent`` with
the whole decision, ``fill``, ``order.filled``), in 4,096-record transactions
the way ``engine.batching.BatchingLog`` commits them, in microseconds per
record. It sets the encoder the ledger uses against the reference path
(normalising walk, then the standard library's encoder or ``rfc8785``) in the
same process, and the append that builds a ``LedgerRecord`` per record
(``append_many``) against the one that returns nothing (``extend``).

Every append figure is set against "the same INSERTs without hashing": the same
records, wrapped the same way, serialised with ``json.dumps`` instead of RFC 8785,
with no hash, no chain lock and no head read, into a table of the same shape
(same indexes and triggers; on SQLite the same derived columns), one transaction
per record or per batch exactly like the ledger. On PostgreSQL the batched
baseline is printed twice: with COPY (what the ledger uses) and with executemany
INSERT. Targets (shared/TARGETS.md): batched PostgreSQL append >= 50% of the
plain rate; verify >= 1,000,000 records/s. The figures are printed, never asserted;
each is the best of ``--rounds`` runs, ledger and baseline alternating.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto_bot_core.engine.batching import BATCH_RECORDS, BatchingLog
from crypto_bot_core.ledger import LedgerSettings, open_ledger
from crypto_bot_core.ledger import canonical as canonical_module
from crypto_bot_core.ledger.canonical import format_ts, record_bytes
from crypto_bot_core.ledger.hashing import GENESIS, chain_hash
from crypto_bot_core.ledger.records import StoredRecord
from crypto_bot_core.ledger.signing import private_pem
from crypto_bot_core.ledger.stores.sqlite import SCHEMA as SQLITE_SCHEMA
from crypto_bot_sdk import LedgerRecord, RecordType

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
ZERO = bytes(32)


def fill(i: int) -> dict[str, Any]:
    """A fill as the engine records it: exact decimals, ids, venue, time."""
    return {
        "fill_id": f"paper-{i:09d}",
        "client_order_id": f"run42-{i // 2:06d}",
        "venue": "paper",
        "symbol": "BTC/USDT",
        "side": "buy" if i % 2 else "sell",
        "price": Decimal("43012.57") + i % 100,
        "quantity": Decimal("0.0125"),
        "fee": Decimal("0.53765712"),
        "fee_currency": "USDT",
        "liquidity": "taker",
        "ts": T0 + timedelta(minutes=i),
    }


def plain_body(seq: int, ts: str, payload: dict[str, Any]) -> bytes:
    doc = {"payload": payload, "seq": seq, "ts": ts, "type": RecordType.FILL.value}
    return json.dumps(doc, default=str, separators=(",", ":")).encode()


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def best_rates(rounds: int, count: int, runs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Records/s of each run, best of ``rounds``; the runs alternate within a round so a
    burst of load on a shared machine hits the ledger and its baseline alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, action in runs.items():
            best[name] = min(best[name], timed(action))
    return {name: rate(count, seconds) for name, seconds in best.items()}


def line(label: str, ledger_rate: float, baselines: list[tuple[str, float]]) -> None:
    parts = [f"  {label:<18} ledger {ledger_rate:>10,.0f} rec/s"]
    parts += [
        f"{name} {value:>10,.0f} rec/s (ratio {ledger_rate / value:.2f})"
        for name, value in baselines
    ]
    print("   ".join(parts), flush=True)


# --- SQLite ---------------------------------------------------------------------------


def bench_sqlite(directory: Path, records: int, single: int, batch: int, rounds: int) -> None:
    print(f"ledger append, SQLite (WAL, synchronous=NORMAL), {batch}-record batches", flush=True)
    settings = LedgerSettings(
        url=f"sqlite:///{directory / 'ledger.sqlite'}", sqlite_synchronous="NORMAL"
    )
    plain = sqlite3.connect(directory / "plain.sqlite", isolation_level=None)
    plain.execute("PRAGMA journal_mode = WAL")
    plain.execute("PRAGMA synchronous = NORMAL")
    plain.executescript(SQLITE_SCHEMA)  # the same table, indexes and triggers
    insert = "INSERT INTO ledger_records (seq, hash, body) VALUES (?, ?, ?)"
    with open_ledger(settings=settings) as ledger:
        seq = [0]

        def plain_single() -> None:
            for i in range(single):
                plain.execute("BEGIN IMMEDIATE")
                plain.execute(
                    insert,
                    (seq[0], ZERO, plain_body(seq[0], format_ts(datetime.now(UTC)), fill(i))),
                )
                plain.execute("COMMIT")
                seq[0] += 1

        one = best_rates(
            rounds,
            single,
            {
                "ledger": lambda: [ledger.append(RecordType.FILL, fill(i)) for i in range(single)],
                "plain INSERT": plain_single,
            },
        )
        line("one at a time", one.pop("ledger"), list(one.items()))

        def ledger_batches() -> None:
            for start in range(0, records, batch):
                ledger.append_many(
                    [(RecordType.FILL, fill(i)) for i in range(start, start + batch)]
                )

        def plain_batches() -> None:
            for start in range(0, records, batch):
                ts = format_ts(datetime.now(UTC))
                rows = [
                    (seq[0] + k, ZERO, plain_body(seq[0] + k, ts, fill(start + k)))
                    for k in range(batch)
                ]
                plain.execute("BEGIN IMMEDIATE")
                plain.executemany(insert, rows)
                plain.execute("COMMIT")
                seq[0] += batch

        batched = best_rates(
            rounds, records, {"ledger": ledger_batches, "plain INSERT": plain_batches}
        )
        line(f"batched ({batch})", batched.pop("ledger"), list(batched.items()))
    plain.close()


# --- engine-shaped records, batched like a backtest -------------------------------------


def _verdict(rule: str, reason: str, figures: dict[str, str]) -> dict[str, Any]:
    return {
        "action": "approve",
        "figures": figures,
        "quantity": None,
        "reason": reason,
        "rule": rule,
    }


def order_records(i: int) -> list[tuple[RecordType, dict[str, Any], datetime]]:
    """One order's three records, shaped like an EMA-crossover backtest's (see engine/orders.py).

    The intent carries the decision: the agent's signal with float features, four in
    five of them with an EMA spread below 1e-4 (the floats the standard library's
    encoder writes differently from RFC 8785), risk verdicts with decimals as text,
    and the routing evidence. Fill and status are JSON-mode dumps: strings only.
    """
    ts = T0 + timedelta(minutes=22 * i)
    stamp = ts.isoformat().replace("+00:00", "Z")
    close = 60_000 + (i * 7919 % 100_000) / 100
    spread = (3.2e-05 if i % 5 else 2.4e-04) * (1 + (i % 97) / 97)
    score = 0.0617 + (i % 13) / 1000
    qty = f"0.{16647208 + i % 1000:08d}"
    coid = f"cbca84e7a1e3-{i:06d}"
    signal = {
        "agent": "ema_crossover",
        "confidence": score + 7.8e-05,
        "features": {
            "bars_since_cross": i % 22,
            "close": close,
            "crossed": i % 2,
            "ema_fast": close * (1 + spread / 2),
            "ema_slow": close * (1 - spread / 2),
            "spread": spread,
            "volatility": 0.0007228183934182765 + (i % 11) * 1e-6,
            "z": 0.12364005421892427 + i % 7 / 100,
        },
        "model_version": None,
        "rationale": f"EMA(10) is above EMA(20) by {spread:.4%}: bullish",
        "score": score,
        "symbol": "BTC/USDT",
        "ts": stamp,
    }
    price = f"{close:.2f}"
    intent = {
        "client_order_id": coid,
        "intent_id": f"bench-backte-i{i:06d}",
        "policy": "all",
        "reason": f"policy:all score +{score:.3f} (confidence 0.06): target {qty} from 0",
        "request": {
            "client_order_id": coid,
            "intent_id": f"bench-backte-i{i:06d}",
            "order_type": "market",
            "post_only": False,
            "price": None,
            "quantity": qty,
            "reduce_only": False,
            "side": "buy" if i % 2 else "sell",
            "stop_price": None,
            "symbol": "BTC/USDT",
            "time_in_force": "GTC",
            "venue": "paper",
        },
        "signals": {"ema": signal},
        "combined": {
            "agent": "policy:all",
            "confidence": signal["confidence"],
            "features": {"ema.confidence": signal["confidence"], "ema.score": score},
            "model_version": None,
            "rationale": "policy all: weighted blend of ema",
            "score": score,
            "symbol": "BTC/USDT",
            "ts": stamp,
        },
        "model_versions": {},
        "risk_verdicts": [
            _verdict(
                "max_order_notional",
                "order notional 10,000 USDT is within the limit 25,000 USDT",
                {"limit": "25000", "notional": "9999.9994869704", "price": price},
            ),
            _verdict(
                "max_position",
                f"BTC/USDT position after the order {qty} is within the limit 0.49941",
                {"limit_notional": "30000", "position": "0", "position_after": qty},
            ),
            _verdict(
                "max_gross_exposure",
                "gross exposure after the order 10,000 USDT is within the limit",
                {"equity": "10000000", "gross_after": "9999.99948697", "limit": "10000000"},
            ),
            _verdict(
                "max_drawdown",
                "drawdown 0.00% is below the limit 50.00%",
                {"drawdown": "0", "equity": "10000000", "limit": "0.5"},
            ),
            _verdict("price_band", "a market order has no limit price", {}),
        ],
        "routing": {
            "quotes": {
                "paper": {"effective_price": "60094.158052", "price": price, "taker_fee": "0.0004"}
            },
            "reason": "best buy price after taker fees: paper 60094.158052",
            "venue": "paper",
        },
    }
    fill_payload = {
        "client_order_id": coid,
        "exchange_order_id": f"paper-{i}",
        "fee": "3.99999979478816",
        "fee_currency": "USDT",
        "fill_id": f"paper-fill-{i}",
        "liquidity": "taker",
        "price": price,
        "quantity": qty,
        "side": "buy" if i % 2 else "sell",
        "symbol": "BTC/USDT",
        "ts": stamp,
        "venue": "paper",
    }
    status = {
        "average_fill_price": price,
        "client_order_id": coid,
        "exchange_order_id": f"paper-{i}",
        "fill_id": f"paper-fill-{i}",
        "filled_quantity": qty,
        "reason": "",
        "status": "filled",
        "symbol": "BTC/USDT",
        "venue": "paper",
    }
    return [
        (RecordType.ORDER_INTENT, intent, ts),
        (RecordType.FILL, fill_payload, ts),
        (RecordType.ORDER_FILLED, status, ts),
    ]


def per_call_us(action: Callable[[Any], object], values: list[Any], rounds: int) -> float:
    """Best-of-``rounds`` microseconds per call of ``action`` over ``values``."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for value in values:
            action(value)
        best = min(best, time.perf_counter() - started)
    return best / len(values) * 1e6


def bench_engine_records(
    directory: Path, orders: int, rounds: int, profile: bool, pg_admin: str | None
) -> None:
    """Microseconds per record: canonical JSON by payload type, then whole batched appends."""
    items = [record for i in range(orders) for record in order_records(i)]
    count = len(items)
    print(
        f"engine records: {orders:,} orders = {count:,} records (intent, fill, status), "
        f"best of {rounds}",
        flush=True,
    )
    reference = canonical_module.canonical_payload  # normalising walk + stdlib / rfc8785
    fast = getattr(canonical_module, "canonical_json", None)  # the encoder the ledger uses
    name = getattr(canonical_module, "fast_encoder_name", lambda: "-")()
    print(f"  canonical JSON, payloads built beforehand (ledger encoder: {name})", flush=True)
    for kind in (RecordType.ORDER_INTENT, RecordType.FILL, RecordType.ORDER_FILLED):
        payloads = [payload for k, payload, _ in items if k is kind]
        ref_us = per_call_us(reference, payloads, rounds)
        text = f"    {kind.value:<13} reference {ref_us:7.1f} us"
        if fast is not None:
            assert all(fast(p) == reference(p)[0] for p in payloads)
            fast_us = per_call_us(fast, payloads, rounds)
            text += f"   ledger encoder {fast_us:6.1f} us   ({ref_us / fast_us:.1f}x)"
        print(text, flush=True)

    build_wall, build_cpu = best_seconds(rounds, lambda: [order_records(i) for i in range(orders)])
    print(
        f"  batched appends, {BATCH_RECORDS:,}-record transactions; each run builds the "
        f"payloads as it goes, like the engine ({build_wall / count * 1e6:.1f} us/record, "
        "subtracted); wall clock, and CPU time of this process (steadier on a shared machine)",
        flush=True,
    )
    runs: dict[str, Callable[[Any], object]] = {
        "reference (the append before)": lambda ledger: _in_batches(
            orders, lambda chunk: reference_append_many(ledger, chunk)
        ),
        "append_many (records built)": lambda ledger: _in_batches(orders, ledger.append_many),
        "BatchingLog (engine path)": lambda ledger: _batching(ledger, orders),
    }
    if hasattr(open_ledger(settings=LedgerSettings(url="sqlite:///:memory:")), "extend"):
        runs["extend (no records)"] = lambda ledger: _in_batches(orders, ledger.extend)
    backends: dict[str, Callable[[], str | None]] = {
        "SQLite file": lambda: f"sqlite:///{directory / f'engine-{uuid.uuid4().hex}.sqlite'}",
        "SQLite in memory": lambda: "sqlite:///:memory:",
    }
    if pg_admin is not None:
        backends["PostgreSQL"] = lambda: None  # a scratch database per run
    for backend, url_of in backends.items():
        heads = set()
        for label, run in runs.items():
            wall = cpu = float("inf")
            for _ in range(rounds):
                with _engine_ledger(url_of(), pg_admin) as ledger:
                    started, started_cpu = time.perf_counter(), time.process_time()
                    run(ledger)
                    wall = min(wall, time.perf_counter() - started)
                    cpu = min(cpu, time.process_time() - started_cpu)
                    head = ledger.head()
                    heads.add(head.hash if head is not None else None)
            print(
                f"    {backend:<17} {label:<30} wall {(wall - build_wall) / count * 1e6:6.1f} "
                f"us/record   CPU {(cpu - build_cpu) / count * 1e6:6.1f} us/record",
                flush=True,
            )
        assert len(heads) == 1, f"the runs on {backend} wrote different chains"
    if profile:
        with _engine_ledger("sqlite:///:memory:", None) as ledger:
            profiler = cProfile.Profile()
            profiler.enable()
            _batching(ledger, orders)
            profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def best_seconds(rounds: int, action: Callable[[], object]) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of ``rounds`` runs of ``action``."""
    wall = cpu = float("inf")
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return wall, cpu


@contextmanager
def _engine_ledger(url: str | None, pg_admin: str | None) -> Iterator[Any]:
    if url is not None:
        with open_ledger(settings=LedgerSettings(url=url, sqlite_synchronous="NORMAL")) as ledger:
            yield ledger
        return
    assert pg_admin is not None
    with scratch_database(pg_admin) as db, open_ledger(f"{db}?schema=ledger") as ledger:
        yield ledger


def _in_batches(orders: int, write: Callable[[list[Any]], object]) -> None:
    """Build the orders' records and hand them over in batch-sized lists."""
    per_batch = BATCH_RECORDS // 3
    for start in range(0, orders, per_batch):
        write(
            [
                record
                for i in range(start, min(orders, start + per_batch))
                for record in order_records(i)
            ]
        )


def _batching(ledger: Any, orders: int) -> None:
    """What a backtest does: each order's records appended as they are made, batched."""
    log = BatchingLog(ledger)
    for i in range(orders):
        for kind, payload, ts in order_records(i):
            log.append(kind, payload, ts=ts)
    log.flush()


def reference_append_many(ledger: Any, items: list[Any]) -> list[LedgerRecord]:
    """The batched append as it was before the fast path, from the same public pieces:
    the reference encoder with its normalised copy, a ``StoredRecord`` per row and a
    ``LedgerRecord`` per record. Same transaction, same bytes, same chain."""
    prepared = []
    for kind, payload, stamp in items:
        payload_json, plain = canonical_module.canonical_payload(payload)
        prepared.append((RecordType(kind), payload_json, plain, format_ts(stamp)))
    with ledger.store.write() as tx:
        head = tx.head()
        seq, prev = (head[0] + 1, head[1]) if head is not None else (0, GENESIS)
        rows = []
        for kind, payload_json, _, stamp in prepared:
            body = record_bytes(payload_json, seq, stamp, kind.value)
            digest = chain_hash(prev, body)
            rows.append(StoredRecord(seq, stamp, kind.value, None, prev, digest, body))
            prev, seq = digest, seq + 1
        tx.insert(rows)
    return [
        LedgerRecord.model_construct(
            sequence=row.seq,
            ts=datetime.fromisoformat(row.ts),
            type=item[0],
            payload=item[2],
            prev_hash=row.prev_hash.hex(),
            hash=row.hash.hex(),
        )
        for row, item in zip(rows, prepared, strict=True)
    ]


# --- PostgreSQL -------------------------------------------------------------------------


@contextmanager
def scratch_database(admin: str) -> Iterator[str]:
    import psycopg

    name = f"cryptobot_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bench_postgres(
    admin: str, records: int, single: int, batch: int, *, key: str, rounds: int
) -> None:
    import psycopg

    print(f"ledger append, PostgreSQL (COPY for batches), {batch}-record batches", flush=True)
    columns = "seq, ts, type, subject_ref, hash, body"
    values = "%s, %s::timestamptz, %s, %s, %s, %s"
    with scratch_database(admin) as db:
        ledger = open_ledger(settings=LedgerSettings(url=f"{db}?schema=ledger", signing_key=key))
        open_ledger(settings=LedgerSettings(url=f"{db}?schema=plain")).close()  # same DDL
        conn = psycopg.connect(db, autocommit=True)
        table = "plain.ledger_records"
        seq = [0]

        def row(i: int, ts: str) -> tuple[Any, ...]:
            body = plain_body(seq[0], ts, fill(i))
            seq[0] += 1
            return (seq[0] - 1, ts, RecordType.FILL.value, None, ZERO, body)

        def plain_single() -> None:
            for i in range(single):
                with conn.transaction():
                    conn.execute(
                        f"INSERT INTO {table} ({columns}) VALUES ({values})",
                        row(i, format_ts(datetime.now(UTC))),
                    )

        one = best_rates(
            rounds,
            single,
            {
                "ledger": lambda: [ledger.append(RecordType.FILL, fill(i)) for i in range(single)],
                "plain INSERT": plain_single,
            },
        )
        line("one at a time", one.pop("ledger"), list(one.items()))

        def ledger_batches() -> None:
            for start in range(0, records, batch):
                ledger.append_many(
                    [(RecordType.FILL, fill(i)) for i in range(start, start + batch)]
                )

        def plain_copy() -> None:
            for start in range(0, records, batch):
                ts = format_ts(datetime.now(UTC))
                rows = [row(start + k, ts) for k in range(batch)]
                with (
                    conn.transaction(),
                    conn.cursor() as cur,
                    cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
                ):
                    for values in rows:
                        copy.write_row(values)

        def plain_insert() -> None:
            for start in range(0, records, batch):
                ts = format_ts(datetime.now(UTC))
                rows = [row(start + k, ts) for k in range(batch)]
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({values})", rows)

        batched = best_rates(
            rounds,
            records,
            {"ledger": ledger_batches, "plain COPY": plain_copy, "plain INSERT": plain_insert},
        )
        ledger_batched = batched.pop("ledger")
        line(f"batched ({batch})", ledger_batched, list(batched.items()))
        target = "met" if ledger_batched >= 0.5 * batched["plain COPY"] else "NOT met"
        print(
            f"  target: batched append >= 50% of the same COPY without hashing: {target}",
            flush=True,
        )
        conn.close()
        ledger.close()


# --- verification --------------------------------------------------------------------


def build(url: str, count: int, key: str) -> None:
    settings = LedgerSettings(url=url, sqlite_synchronous="OFF", signing_key=key)
    with open_ledger(settings=settings) as ledger:
        for start in range(0, count, 10_000):
            size = min(10_000, count - start)
            ledger.append_many([(RecordType.FILL, fill(i)) for i in range(start, start + size)])
            if start < count // 3 <= start + size or start + size == count:
                ledger.checkpoint()


def bench_verify(label: str, url: str, count: int, key: str, rounds: int) -> None:
    started = time.perf_counter()
    build(url, count, key)
    print(
        f"verify, {label}: {count:,} records built in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    cpus = os.cpu_count() or 1
    with open_ledger(settings=LedgerSettings(url=url, signing_key=key)) as ledger:
        for workers in sorted({1, cpus}):
            reports = [ledger.verify(workers=workers) for _ in range(rounds)]
            assert all(r.ok for r in reports), [r.problems for r in reports]
            report = min(reports, key=lambda r: r.elapsed_s)
            print(
                f"  {workers} process(es): {report.records:,} records, {report.checkpoints} "
                f"checkpoints in {report.elapsed_s:.2f} s = {report.rate:,.0f} records/s",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000, help="records per batched run")
    parser.add_argument("--single", type=int, default=2_000, help="records appended one at a time")
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--verify-records", type=int, default=1_000_000)
    parser.add_argument("--postgres-verify-records", type=int, default=300_000)
    parser.add_argument(
        "--pg-admin", default=PG_ADMIN, help="an admin URL; a scratch database is made"
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each; the best counts")
    parser.add_argument("--orders", type=int, default=4096, help="orders in the engine section")
    parser.add_argument("--engine-only", action="store_true", help="only the engine section")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine path")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f}", flush=True)
    key = private_pem(Ed25519PrivateKey.generate()).decode()
    with tempfile.TemporaryDirectory(prefix="cryptobot-bench-") as tmp:
        pg = None if args.no_postgres else args.pg_admin
        bench_engine_records(Path(tmp), args.orders, args.rounds, args.profile, pg)
        if args.engine_only:
            return
        bench_sqlite(Path(tmp), args.records, args.single, args.batch, args.rounds)
        if not args.no_postgres:
            bench_postgres(
                args.pg_admin, args.records, args.single, args.batch, key=key, rounds=args.rounds
            )
        verify_db = f"sqlite:///{Path(tmp) / 'verify.sqlite'}"
        bench_verify("SQLite", verify_db, args.verify_records, key, args.rounds)
        if not args.no_postgres and args.postgres_verify_records:
            with scratch_database(args.pg_admin) as db:
                pg_url = f"{db}?schema=ledger"
                bench_verify("PostgreSQL", pg_url, args.postgres_verify_records, key, args.rounds)
    print(
        f"target: verify >= 1,000,000 records/s (load average now {os.getloadavg()[0]:.2f})",
        flush=True,
    )


if __name__ == "__main__":
    main()
