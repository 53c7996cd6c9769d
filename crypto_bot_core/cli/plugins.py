"""``cryptobot plugins``: what is installed, what loaded, and why the rest did not.

Only typer and the standard library are imported here; the host (and with it
pydantic and the SDK) loads inside each command, so ``cryptobot --help`` stays fast.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from crypto_bot_core.host import Host, PluginRecord

app = typer.Typer(
    name="plugins",
    help="List, inspect and diagnose installed plugins.",
    no_args_is_help=True,
)


def _start_host() -> Host:
    from crypto_bot_core.host import Host
    from crypto_bot_sdk import ConfigError

    try:
        return Host().load()
    except ConfigError as exc:  # a malformed switch such as CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD=2
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _row(record: PluginRecord) -> list[str]:
    dist = record.distribution or "(in code)"
    if record.distribution_version:
        dist += f" {record.distribution_version}"
    return [
        record.name,
        record.version or "-",
        ",".join(kind.value for kind in record.kinds) or "-",
        record.api_range or "-",
        record.status.value,
        dist,
    ]


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@app.command("list")
def list_plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List every discovered plugin: name, kinds, version, API range, status and reason."""
    host = _start_host()
    records = host.records
    if as_json:
        typer.echo(json.dumps([record.to_dict() for record in records], indent=2))
        return
    if not records:
        typer.echo("no plugins found (entry-point group crypto_bot.plugins)")
        return
    header = ["NAME", "VERSION", "KINDS", "API", "STATUS", "DISTRIBUTION"]
    typer.echo(_table([header, *(_row(record) for record in records)]))
    for record in records:
        if record.message:
            typer.echo(f"\nrefused: {record.message}")
        elif record.reason:
            typer.echo(f"\n{record.status.value}: {record.name}: {record.reason}")


def _inspect_data(record: PluginRecord) -> dict[str, Any]:
    data = record.to_dict()
    data["manifest"] = record.manifest.model_dump(mode="json") if record.manifest else None
    data["manifest_path"] = record.manifest_path
    data["components"] = [c.to_dict(with_schema=True) for c in record.components]
    return data


def _print_inspection(data: dict[str, Any]) -> None:
    typer.echo(f"{data['name']} {data['version'] or ''}".rstrip())
    for label, key in (
        ("status", "status"),
        ("reason", "reason"),
        ("remedy", "remedy"),
        ("distribution", "distribution"),
        ("entry point", "entry_point"),
        ("manifest", "manifest_path"),
        ("kinds", "kinds"),
        ("API", "api_version"),
        ("runs on API", "api_range"),
        ("runs on core", "compatible_core_version"),
        ("capabilities", "capabilities"),
    ):
        value = data[key]
        if value in (None, []):
            continue
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        typer.echo(f"  {label + ':':<14}{shown}")
    manifest = data["manifest"]
    if manifest and manifest.get("description"):
        typer.echo(f"  {'description:':<14}{manifest['description']}")
    for component in data["components"]:
        typer.echo(
            f"\n  {component['kind']} {component['name']}  (address: {component['address']}, "
            f"class {component['class']})"
        )
        schema = json.dumps(component["config_schema"], indent=2)
        typer.echo("    config schema:\n" + "\n".join(f"      {ln}" for ln in schema.splitlines()))


@app.command("inspect")
def inspect_plugin(
    name: Annotated[str, typer.Argument(help="The plugin's name (see `cryptobot plugins list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one plugin: manifest, components with their config schemas, capabilities, status."""
    host = _start_host()
    records = host.records_named(name)
    if not records:
        known = ", ".join(sorted({r.name for r in host.records})) or "none"
        typer.echo(f"error: no plugin named {name!r} is installed; installed: {known}", err=True)
        raise typer.Exit(1)
    inspected = [_inspect_data(record) for record in records]
    if as_json:
        typer.echo(json.dumps(inspected[0] if len(inspected) == 1 else inspected, indent=2))
        return
    for index, data in enumerate(inspected):
        if index:
            typer.echo("")
        _print_inspection(data)


@app.command("doctor")
def doctor() -> None:
    """Check every plugin; exit 1 if any is refused, with each reason and what to do."""
    from crypto_bot_core import __version__
    from crypto_bot_core.host import PluginStatus
    from crypto_bot_sdk import API_VERSION

    host = _start_host()
    typer.echo(f"crypto-bot-core {__version__}, plugin API {API_VERSION}")
    selection = host.selection
    if selection.only is not None or not selection.autoload:
        only = ",".join(sorted(selection.only)) if selection.only is not None else "unset"
        autoload = "on" if selection.autoload else "off"
        typer.echo(f"selection: CRYPTOBOT_PLUGINS={only}, autoload {autoload}")
    counts = dict.fromkeys(PluginStatus, 0)
    for record in host.records:
        counts[record.status] += 1
        where = f" ({record.distribution})" if record.distribution else ""
        if record.status is PluginStatus.LOADED:
            typer.echo(f"ok        {record.name} {record.version}{where}")
        elif record.status is PluginStatus.DISABLED:
            typer.echo(f"disabled  {record.name}{where}: {record.reason}")
        else:
            typer.echo(f"REFUSED   {record.message}")
            typer.echo(f"          what to do: {record.remedy}")
    typer.echo(
        f"{counts[PluginStatus.LOADED]} loaded, {counts[PluginStatus.REFUSED]} refused, "
        f"{counts[PluginStatus.DISABLED]} disabled"
    )
    if counts[PluginStatus.REFUSED]:
        raise typer.Exit(1)
