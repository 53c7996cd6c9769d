"""``cryptobot ledger``: verify, inspect, prove, checkpoint, erase and export the audit ledger.

Only typer and the standard library are imported here; the ledger (pydantic,
cryptography, rfc8785, psycopg) loads inside each command, so ``cryptobot
--help`` stays fast. Exit codes: 0 fine, 1 the ledger or a proof failed
verification, 2 bad usage or configuration, 3 an erasure was refused (legal
hold), 4 any other ledger error, 5 the file (or schema) is not a ledger, or a
proof file is not a proof: empty, unrelated, damaged or half written.
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
NOT_A_LEDGER = 5
"""Exit code: what was given is not a ledger (or not a proof), as opposed to one that fails."""
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
    from crypto_bot_core.ledger.errors import NotALedgerError
    from crypto_bot_sdk import (
        ConfigError,
        CryptoBotError,
        ErasureRefusedError,
        LedgerIntegrityError,
    )

    try:
        yield
    except NotALedgerError as exc:
        raise _fail(str(exc), NOT_A_LEDGER) from exc
    except LedgerIntegrityError as exc:
        where = f" (first bad record: {exc.sequence})" if exc.sequence is not None else ""
        raise _fail(f"{exc}{where}", 1) from exc
    except ConfigError as exc:
        raise _fail(str(exc), 2) from exc
    except ErasureRefusedError as exc:
        raise _fail(str(exc), 3) from exc
    except CryptoBotError as exc:
        raise _fail(str(exc), 4) from exc
    except OSError as exc:
        raise _fail(f"{exc.filename or 'the ledger'}: {exc.strerror or exc}", 4) from exc


def _open(url: str, *, must_exist: bool = True, read_only: bool = False) -> Ledger:
    """The ledger at ``url``; ``read_only`` for commands that only look (nothing is
    created, repaired or written: a verifier must see the file as it is)."""
    from crypto_bot_core.ledger import open_ledger
    from crypto_bot_core.ledger.settings import is_postgres, sqlite_path

    if must_exist and not is_postgres(url):
        path = sqlite_path(url)
        if path is not None and not path.exists():
            raise _fail(f"there is no ledger at {path} (from {url}); check --url", 2)
        if path is not None and path.is_dir():
            raise _fail(f"{path} is a directory, not a ledger file (from {url})", NOT_A_LEDGER)
    return open_ledger(url, read_only=read_only)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


def _print_report(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        _print_json(report.to_dict())
    else:
        status = "OK" if report.ok else "FAILED"
        typer.echo(
            f"{report.source}: {report.records} records, {report.checkpoints} checkpoint(s) "
            f"({report.signatures_checked} signature(s) checked), "
            f"{report.published_checked} published checkpoint file(s), {report.receipts_checked} "
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
    *,
    url: UrlOption = DEFAULT_URL,
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Verify an exported bundle directory, offline."),
    ] = None,
    public_key: Annotated[
        list[Path] | None,
        typer.Option(
            "--public-key",
            "--trusted-key",
            help="Pinned public key (PEM, repeatable): the only key(s) signatures may verify "
            "with; keys beside the database or in the bundle are then ignored.",
        ),
    ] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A published checkpoint file, or a directory of them, to check the records "
            "against (repeatable); a run folder's checkpoint.json is found by itself.",
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Processes to hash with.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check protections, the chain, Merkle roots, checkpoints (stored and published) and
    their signatures, read-only; name the first bad record."""
    with _errors():
        pinned = _pinned(public_key or [])
        if bundle is not None:
            from crypto_bot_core.ledger import verify_bundle

            report = verify_bundle(bundle, trusted_keys=pinned)
        else:
            with _open(url, read_only=True) as ledger:
                report = ledger.verify(
                    workers=workers, trusted_keys=pinned, published=checkpoint or ()
                )
    _print_report(report, as_json)


def _pinned(paths: list[Path]) -> dict[str, Any] | None:
    """The pinned keys by fingerprint, or None when none is given."""
    if not paths:
        return None
    from crypto_bot_core.ledger.signing import key_id, load_public_key

    keys = {}
    for path in paths:
        key = load_public_key(str(path), f"--public-key {path}")
        keys[key_id(key)] = key
    return keys


@app.command("verify-proof")
def verify_proof(
    proof_file: Annotated[
        Path, typer.Argument(help="A proof printed by `ledger proof` or `ledger consistency`.")
    ],
    public_key: Annotated[
        list[Path],
        typer.Option(
            "--public-key",
            "--trusted-key",
            help="The ledger's public key (PEM) as published out of band (repeatable).",
        ),
    ],
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint you already trust (published file): the proof's must match it.",
        ),
    ] = None,
) -> None:
    """Check a proof file someone hands you, offline, against a pinned public key."""
    with _errors():
        from crypto_bot_core.ledger.checkpoints import read_checkpoint_file
        from crypto_bot_core.ledger.errors import NotALedgerError
        from crypto_bot_core.ledger.merkle import ProofError
        from crypto_bot_core.ledger.proofs import InclusionProof, proof_from_json

        try:
            doc = json.loads(proof_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise NotALedgerError(f"{proof_file} is not a ledger proof: {exc}") from exc
        proof = proof_from_json(doc, str(proof_file))
        trusted = _pinned(public_key) or {}
        proof.verify(trusted)
        if checkpoint is not None:
            anchor = read_checkpoint_file(checkpoint)
            if anchor.key_id not in trusted or not anchor.signature_ok(trusted[anchor.key_id]):
                raise ProofError(f"{checkpoint} is not signed by the given public key")
            mine = proof.checkpoint if isinstance(proof, InclusionProof) else proof.new
            if (mine.ledger_id, mine.tree_size, mine.root) != (
                anchor.ledger_id,
                anchor.tree_size,
                anchor.root,
            ):
                raise ProofError(
                    f"the proof leads to the checkpoint of size {mine.tree_size} (root "
                    f"{mine.root.hex()}), not to {checkpoint} (size {anchor.tree_size}, root "
                    f"{anchor.root.hex()}); ask for a proof against that checkpoint"
                )
    if isinstance(proof, InclusionProof):
        cp = proof.checkpoint
        typer.echo(
            f"OK: record {proof.sequence} is leaf {proof.sequence} of ledger {cp.ledger_id}'s "
            f"checkpoint of size {cp.tree_size} (root {cp.root.hex()}), signed at {cp.ts} by "
            f"key {cp.key_id}"
        )
    else:
        typer.echo(
            f"OK: ledger {proof.new.ledger_id}'s checkpoint of size {proof.new.tree_size} "
            f"(signed at {proof.new.ts}) extends the one of size {proof.old.tree_size} "
            f"(signed at {proof.old.ts}), both signed by trusted keys"
        )


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

    with _errors(), _open(url, read_only=True) as ledger:
        records = islice(ledger.records(start=start, end=end, types=types or None), limit)
        if as_json:
            for record in records:
                typer.echo(record.model_dump_json())
            return
        typer.echo(f"{'seq':>8}  {'ts (UTC)':<27}  {'type':<26}  {'hash':<12}  payload")
        starts = []
        for record in records:
            payload = json.dumps(record.payload, sort_keys=True, separators=(",", ":"))
            if len(payload) > 80:
                payload = payload[:77] + "..."
            ts = record.ts.isoformat().replace("+00:00", "Z")
            typer.echo(
                f"{record.sequence:>8}  {ts:<27}  {record.type.value:<26}  "
                f"{record.hash[:12]:<12}  {payload}"
            )
            if record.type.value == "system.start":
                starts.append(record)
        for record in starts:
            _print_plugins(record.sequence, record.payload)


def _print_plugins(sequence: int, payload: dict[str, Any]) -> None:
    """The plugin set a session's start record names (the table cuts payloads short)."""
    plugins = payload.get("plugins")
    run = payload.get("run_id", "?")
    if not isinstance(plugins, list):
        typer.echo(f"\nrun {run} (record {sequence}): no plugin set recorded")
        return
    typer.echo(f"\nplugins of run {run} (record {sequence}):")
    for plugin in plugins:
        if not isinstance(plugin, dict):
            continue
        digest = plugin.get("manifest_sha256") or "-"
        typer.echo(
            f"  {plugin.get('name', '?'):<24} {plugin.get('distribution') or '-'} "
            f"{plugin.get('distribution_version') or '-'}  manifest {plugin.get('version') or '-'}"
            f"  sha256 {digest}"
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
    with _errors(), _open(url, read_only=True) as ledger:
        _print_json(ledger.inclusion_proof(record, tree_size=checkpoint).to_json())


@app.command()
def consistency(
    old: Annotated[int, typer.Argument(help="Tree size of the older checkpoint.")],
    new: Annotated[int, typer.Argument(help="Tree size of the newer checkpoint.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Print (as JSON) and check the consistency proof between two checkpoints."""
    with _errors(), _open(url, read_only=True) as ledger:
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

    with _errors(), _open(url, read_only=True) as ledger:
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
