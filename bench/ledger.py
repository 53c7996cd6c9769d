"""Audit-ledger throughput: appends (one at a time and batched) and verification.

    .venv/bin/python bench/ledger.py [--records 50000] [--single 2000] [--batch 1000]
                                     [--verify-records 1000000] [--no-postgres]

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
import json
import os
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

from crypto_bot_core.ledger import LedgerSettings, open_ledger
from crypto_bot_core.ledger.canonical import format_ts
from crypto_bot_core.ledger.signing import private_pem
from crypto_bot_core.ledger.stores.sqlite import SCHEMA as SQLITE_SCHEMA
from crypto_bot_sdk import RecordType

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
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f}", flush=True)
    key = private_pem(Ed25519PrivateKey.generate()).decode()
    with tempfile.TemporaryDirectory(prefix="cryptobot-bench-") as tmp:
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
