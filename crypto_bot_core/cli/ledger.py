"""``cryptobot ledger``: verify, inspect, prove, checkpoint, erase and export the audit ledger.

Only typer and the standard library are imported here; the ledger (pydantic,
cryptography, rfc8785, psycopg) loads inside each command, so ``cryptobot
--help`` stays fast. Exit codes: 0 fine, 1 the ledger or a proof failed
verification, 2 bad usage or configuration, 3 an erasure was refused (legal
hold), 4 any other ledger error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from crypto_bot_core.ledger import Ledger, VerifyReport

URL_ENV = "CRYPTOBOT_LEDGER_URL"
DEFAULT_URL = "sqlite:///./cryptobot-ledger.sqlite"

app = typer.Typer(
    name="ledger",
    help="The audit ledger: verify, show, prove, checkpoint, erase, export.",
    no_args_is_help=True,
)

UrlOption = Annotated[
    str,
    typer.Option(
        "--url", envvar=URL_ENV, help="Ledger URL: sqlite:///PATH or postgresql://USER@HOST/DB."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the ledger's exceptions into a message and an exit code."""
    from crypto_bot_sdk import (
        ConfigError,
        CryptoBotError,
        ErasureRefusedError,
        LedgerIntegrityError,
    )

    try:
        yield
    except LedgerIntegrityError as exc:
        where = f" (first bad record: {exc.sequence})" if exc.sequence is not None else ""
        raise _fail(f"{exc}{where}", 1) from exc
    except ConfigError as exc:
        raise _fail(str(exc), 2) from exc
    except ErasureRefusedError as exc:
        raise _fail(str(exc), 3) from exc
    except CryptoBotError as exc:
        raise _fail(str(exc), 4) from exc


def _open(url: str, *, must_exist: bool = True) -> Ledger:
    from crypto_bot_core.ledger import open_ledger
    from crypto_bot_core.ledger.settings import is_postgres, sqlite_path

    if must_exist and not is_postgres(url):
        path = sqlite_path(url)
        if path is not None and not path.exists():
            raise _fail(f"there is no ledger at {path} (from {url}); check --url", 2)
    return open_ledger(url)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


def _print_report(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        _print_json(report.to_dict())
    else:
        status = "OK" if report.ok else "FAILED"
        typer.echo(
            f"{report.source}: {report.records} records, {report.checkpoints} checkpoint(s) "
            f"({report.signatures_checked} signature(s) checked), {report.receipts_checked} "
            f"erasure receipt(s) -- {status} in {report.elapsed_s:.3f} s "
            f"({report.rate:,.0f} records/s)"
        )
        if report.head_hash:
            typer.echo(f"chain head: {report.head_hash}")
        for note in report.notes:
            typer.echo(f"note: {note}")
    if not report.ok:
        problem = report.first_problem()
        first = report.first_bad
        lead = f"first bad record: {first}" if first is not None else "integrity failure"
        typer.echo(f"{lead}: {problem.message if problem else ''}", err=True)
        for other in report.problems:
            where = f"record {other.sequence}" if other.sequence is not None else "ledger"
            typer.echo(f"  - [{other.kind}] {where}: {other.message}", err=True)
        raise typer.Exit(1)


@app.command()
def verify(
    url: UrlOption = DEFAULT_URL,
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Verify an exported bundle directory, offline."),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="Trusted public key (PEM) for --bundle."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Processes to hash with.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the chain, Merkle roots and checkpoint signatures; name the first bad record."""
    with _errors():
        if bundle is not None:
            from crypto_bot_core.ledger import verify_bundle

            report = verify_bundle(bundle, public_key=public_key)
        else:
            with _open(url) as ledger:
                report = ledger.verify(workers=workers)
    _print_report(report, as_json)


@app.command()
def show(
    *,
    url: UrlOption = DEFAULT_URL,
    start: Annotated[int, typer.Option(help="First sequence number.")] = 0,
    end: Annotated[int | None, typer.Option(help="Stop before this sequence number.")] = None,
    types: Annotated[
        list[str] | None, typer.Option("--type", help="Only this record type (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many records.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Print records (a table, or one JSON object per line with --json)."""
    from itertools import islice

    with _errors(), _open(url) as ledger:
        records = islice(ledger.records(start=start, end=end, types=types or None), limit)
        if as_json:
            for record in records:
                typer.echo(record.model_dump_json())
            return
        typer.echo(f"{'seq':>8}  {'ts (UTC)':<27}  {'type':<26}  {'hash':<12}  payload")
        for record in records:
            payload = json.dumps(record.payload, sort_keys=True, separators=(",", ":"))
            if len(payload) > 80:
                payload = payload[:77] + "..."
            ts = record.ts.isoformat().replace("+00:00", "Z")
            typer.echo(
                f"{record.sequence:>8}  {ts:<27}  {record.type.value:<26}  "
                f"{record.hash[:12]:<12}  {payload}"
            )


@app.command()
def proof(
    record: Annotated[int, typer.Argument(help="Sequence number of the record.")],
    url: UrlOption = DEFAULT_URL,
    checkpoint: Annotated[
        int | None, typer.Option(help="Tree size of the checkpoint (default: the latest).")
    ] = None,
) -> None:
    """Print (as JSON) and check the Merkle inclusion proof of one record."""
    with _errors(), _open(url) as ledger:
        _print_json(ledger.inclusion_proof(record, tree_size=checkpoint).to_json())


@app.command()
def consistency(
    old: Annotated[int, typer.Argument(help="Tree size of the older checkpoint.")],
    new: Annotated[int, typer.Argument(help="Tree size of the newer checkpoint.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Print (as JSON) and check the consistency proof between two checkpoints."""
    with _errors(), _open(url) as ledger:
        _print_json(ledger.consistency_proof(old, new).to_json())


@app.command()
def checkpoint(url: UrlOption = DEFAULT_URL) -> None:
    """Sign a checkpoint of the ledger as it is now."""
    with _errors(), _open(url) as ledger:
        cp = ledger.checkpoint()
        doc = cp.to_json()
        doc.pop("compact")
        _print_json(doc)


@app.command()
def erase(
    subject: Annotated[str, typer.Argument(help="The subject's identifier or its sr_ reference.")],
    url: UrlOption = DEFAULT_URL,
    reason: Annotated[str, typer.Option(help="Reason code for the receipt.")] = "gdpr-art17",
    request_id: Annotated[
        str | None, typer.Option("--request-id", help="Ticket or request number.")
    ] = None,
) -> None:
    """Destroy a data subject's personal data and append a signed erasure receipt."""
    with _errors(), _open(url) as ledger:
        result = ledger.subjects.erase(subject, reason=reason, request_id=request_id)
        _print_json(
            {
                "receipt_record": result.receipt.sequence,
                "receipt": result.receipt.payload,
                "vault_rows_deleted": result.vault_rows_deleted,
                "key_destroyed": result.key_destroyed,
                "purge": result.purge,
            }
        )


@app.command("export")
def export_(
    to: Annotated[Path, typer.Option("--to", help="New directory for the bundle.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Write a self-contained bundle (records, checkpoints, public key) for offline checks."""
    from crypto_bot_core.ledger import export_bundle

    with _errors(), _open(url) as ledger:
        manifest = export_bundle(ledger, to)
    typer.echo(
        f"exported {manifest['records']} records and {manifest['checkpoints']} checkpoint(s) "
        f"to {to}; key fingerprint(s): {', '.join(manifest['key_ids']) or 'none'}"
    )


@app.command()
def init(
    url: UrlOption = DEFAULT_URL,
    writer_role: Annotated[
        str | None, typer.Option("--writer-role", help="PostgreSQL role that appends.")
    ] = None,
    checkpointer_role: Annotated[
        str | None, typer.Option("--checkpointer-role", help="PostgreSQL role that checkpoints.")
    ] = None,
    months_ahead: Annotated[int, typer.Option(help="Monthly partitions to create ahead.")] = 3,
) -> None:
    """Create the ledger (PostgreSQL: schema, partitions, roles; run as the owner, monthly)."""
    with _errors():
        from crypto_bot_core.ledger.settings import is_postgres

        if is_postgres(url):
            from crypto_bot_core.ledger.stores.postgres import initialise

            for note in initialise(
                url,
                writer_role=writer_role,
                checkpointer_role=checkpointer_role,
                months_ahead=months_ahead,
            ):
                typer.echo(note)
            return
        if writer_role or checkpointer_role:
            raise _fail("roles exist only on PostgreSQL; drop --writer-role/--checkpointer-role", 2)
        with _open(url, must_exist=False) as ledger:
            typer.echo(f"ledger {ledger.ledger_id} ready at {url}")


@app.command()
def purge(url: UrlOption = DEFAULT_URL) -> None:
    """Physically remove erased vault data (PostgreSQL: VACUUM FULL, as the tables' owner)."""
    with _errors(), _open(url) as ledger:
        typer.echo(ledger.store.purge())
