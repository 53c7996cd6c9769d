"""Root of the ``cryptobot`` CLI.

Each command group lives in its own module exposing ``app = typer.Typer(...)``
and is added here with ``add_typer``. Group modules import only typer and the
standard library at module level; anything heavier is imported inside the
command that needs it, so ``cryptobot --help`` stays fast.
"""

from __future__ import annotations

import typer

from crypto_bot_core import __version__
from crypto_bot_core.cli import backtest as backtest_commands
from crypto_bot_core.cli import config as config_commands
from crypto_bot_core.cli import ledger as ledger_commands
from crypto_bot_core.cli import plugin as plugin_commands
from crypto_bot_core.cli import plugins as plugins_commands
from crypto_bot_core.cli import risk as risk_commands
from crypto_bot_core.cli import run as run_commands
from crypto_bot_core.cli import serve as serve_commands

app = typer.Typer(
    name="cryptobot",
    help="crypto-bot: a plugin-first framework for automated crypto trading.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """crypto-bot: a plugin-first framework for automated crypto trading."""


@app.command()
def version() -> None:
    """Print the core, SDK and plugin API versions."""
    from crypto_bot_sdk import API_VERSION
    from crypto_bot_sdk import __version__ as sdk_version

    typer.echo(f"crypto-bot-core {__version__}")
    typer.echo(f"crypto-bot-sdk {sdk_version} (plugin API {API_VERSION})")


# Command groups are registered below, one line each.
app.add_typer(plugins_commands.app, name="plugins")
app.add_typer(plugin_commands.app, name="plugin")
app.add_typer(config_commands.app, name="config")
app.add_typer(ledger_commands.app, name="ledger")
app.add_typer(risk_commands.app, name="risk")
app.add_typer(serve_commands.app, name="serve")
app.command("run")(run_commands.run)
app.command("kill")(run_commands.kill)
app.command("backtest")(backtest_commands.backtest)


def main() -> None:
    app()
