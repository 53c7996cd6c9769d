"""``cryptobot plugin``: start a plugin project (``cryptobot plugins`` inspects installed ones).

Only typer and the standard library are imported here; the scaffold (and with it
the SDK) loads inside the command, so ``cryptobot --help`` stays fast.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="plugin",
    help="Create a plugin project: package, manifest, tests, Dockerfile, README.",
    no_args_is_help=True,
)


class Kind(StrEnum):
    """The contract kinds, spelled as ``crypto_bot_sdk.PluginKind`` spells them (a test
    keeps the two equal; the SDK is not imported here to keep the CLI quick to start)."""

    DATASOURCE = "datasource"
    AGENT = "agent"
    EXCHANGE = "exchange"
    RISKRULE = "riskrule"
    REPORTER = "reporter"
    SELECTOR = "selector"
    OVERSIGHT = "oversight"
    NOTIFIER = "notifier"


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


@app.command("new")
def new(
    name: Annotated[
        str,
        typer.Argument(
            help="Plugin name: lower-case letters, digits and '-' (e.g. my-agent). It becomes "
            "the manifest name, the entry-point name and the address in config files.",
            show_default=False,
        ),
    ],
    kind: Annotated[
        Kind,
        typer.Option("--kind", help="The contract the component implements.", show_default=False),
    ],
    directory: Annotated[
        Path,
        typer.Option("--dir", help="Where to create the project folder NAME/."),
    ] = Path(),
    package: Annotated[
        str | None,
        typer.Option(
            "--package", help="Python package name (default: cryptobot_<name with _>)."
        ),
    ] = None,
    license_id: Annotated[
        str, typer.Option("--license", help="SPDX licence of the plugin.")
    ] = "Apache-2.0",
) -> None:
    """Write a plugin project whose tests (the SDK's conformance kit) pass as generated."""
    from crypto_bot_core.scaffold import ScaffoldError, new_plugin
    from crypto_bot_core.scaffold.generate import COMFORTABLE_NAME_LENGTH, LINE_LENGTH

    try:
        result = new_plugin(
            kind.value, name, directory, package=package, license_id=license_id
        )
    except ScaffoldError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    root = _shown(result.root)
    names = result.names
    arg = root if root.startswith(("/", ".")) else f"./{root}"
    typer.echo(
        f"created {root}/: {kind.value} plugin {names.plugin!r} "
        f"(distribution {names.distribution}, package {names.package}, "
        f"class {names.component_class})"
    )
    for path in result.files:
        typer.echo(f"  {_shown(path)}")
    if len(names.plugin) > COMFORTABLE_NAME_LENGTH:
        typer.echo(
            f"note: with a name over {COMFORTABLE_NAME_LENGTH} characters some generated lines "
            f"may pass {LINE_LENGTH} characters; `ruff format {arg}` rewraps them"
        )
    typer.echo("\nnext:")
    typer.echo(f"  pip install -e {arg}    # install it next to crypto-bot")
    typer.echo(f"  python -m pytest {arg}  # the conformance kit and the plugin's own tests")
    typer.echo(f"  cryptobot plugins list  # {names.plugin} shows as loaded")
