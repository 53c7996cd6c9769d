"""``cryptobot config``: check a config file, print its JSON Schema or the embedded default.

Module level imports only typer and the standard library (see ``cli/app.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="config",
    help="Validate config files and print the config schema.",
    no_args_is_help=True,
)


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {section.replace('_', ' ')}" for section, count in counts.items())


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="The YAML config file.", show_default=False)],
    schema_only: Annotated[
        bool,
        typer.Option(
            "--schema-only",
            help="Check the file's shape only, not its plugin addresses and settings.",
        ),
    ] = False,
) -> None:
    """Validate FILE (with CRYPTOBOT__... overrides); exit 1 naming each bad key and its line."""
    from crypto_bot_core.config import SECTION_KINDS, load_config, resolve_instances
    from crypto_bot_core.host import Host
    from crypto_bot_sdk import ConfigError

    try:
        loaded = load_config(file)
        if not schema_only:
            resolve_instances(loaded, Host().load())
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    config = loaded.config
    counts = {section: len(config.section(section)) for section in SECTION_KINDS}
    checked = "shape checked" if schema_only else "all instances checked against installed plugins"
    typer.echo(f"{file}: valid (mode {config.mode.value}; {_summary(counts)}; {checked})")


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the config file."""
    from crypto_bot_core.config import config_json_schema

    typer.echo(json.dumps(config_json_schema(), indent=2))


@app.command("default")
def default() -> None:
    """Print the embedded default config (used when no file is given), to start a file from."""
    from crypto_bot_core.config import default_config_text

    typer.echo(default_config_text(), nl=False)
