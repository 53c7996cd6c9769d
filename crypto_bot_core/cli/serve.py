"""``cryptobot serve``: the HTTP service, and ``serve token`` / ``serve openapi`` beside it.

Only typer and the standard library load at import; FastAPI, uvicorn, PyJWT and
the rest (the ``service`` extra) load inside the commands. Exit codes: 0 fine,
2 bad usage or configuration.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="serve",
    help="The HTTP service: health, metrics, reports, ledger, kill switch (needs the "
    "'service' extra).",
)

_SUBJECT_PATH = re.compile(r"/subjects/[^/?]+")
_LIFETIME = re.compile(r"^(?P<count>[1-9]\d*)(?P<unit>[smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class RedactSubjects(logging.Filter):
    """Access-log lines name ``/subjects/<redacted>/erase``: a subject id is personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SUBJECT_PATH.sub("/subjects/<redacted>", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _settings(**overrides: Any) -> Any:
    from crypto_bot_core.service import ServiceSettings
    from crypto_bot_sdk import ConfigError

    try:
        return ServiceSettings.from_env(**overrides)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc


@app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    *,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Bot config (reporters, exchanges); env CRYPTOBOT_SERVICE_CONFIG.",
        ),
    ] = None,
    ledger_url: Annotated[
        str | None, typer.Option("--ledger-url", help="Ledger to read; env CRYPTOBOT_LEDGER_URL.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the API until Ctrl-C. Token key: CRYPTOBOT_SERVICE_JWT_SECRET or _PUBLIC_KEY."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from crypto_bot_core.config import ConfigFileError
    from crypto_bot_core.service import create_app
    from crypto_bot_sdk import CryptoBotError

    settings = _settings(config_path=config, ledger_url=ledger_url)
    try:
        application = create_app(settings)
    except (ConfigFileError, CryptoBotError) as exc:
        raise _fail(str(exc)) from exc
    logging.getLogger("uvicorn.access").addFilter(RedactSubjects())
    uvicorn.run(application, host=host, port=port, log_level=log_level)


def parse_lifetime(text: str) -> timedelta:
    match = _LIFETIME.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a lifetime; write a count and s, m, h or d (e.g. 8h)")
    try:
        return timedelta(**{_UNITS[match["unit"]]: int(match["count"])})
    except OverflowError:
        raise ValueError(f"{text!r} is longer than any lifetime a token can have") from None


@app.command()
def token(
    subject: Annotated[str, typer.Option(help="Who will use the token (its 'sub').")],
    scope: Annotated[
        list[str], typer.Option("--scope", "-s", help="A scope to grant (repeatable).")
    ],
    lifetime: Annotated[
        str,
        typer.Option(
            help="How long it is valid: 30m, 8h, 7d; at most the service's maximum, 90d "
            "unless CRYPTOBOT_SERVICE_TOKEN_MAX_LIFETIME_S says otherwise."
        ),
    ] = "1h",
    private_key: Annotated[
        Path | None,
        typer.Option(
            help="PEM private key (EdDSA/ES256/RS256); default: the HS256 secret in "
            "CRYPTOBOT_SERVICE_JWT_SECRET."
        ),
    ] = None,
) -> None:
    """Mint a bearer token for an operator or a dashboard; prints it on stdout."""
    from crypto_bot_core.service import ServiceSettings, mint_token
    from crypto_bot_sdk import ConfigError

    try:
        # The service refuses tokens living longer than its maximum: mint none.
        longest = ServiceSettings.token_max_lifetime()
    except ConfigError as exc:
        raise _fail(str(exc)) from exc

    issuer = os.environ.get("CRYPTOBOT_SERVICE_JWT_ISSUER", "cryptobot")
    audience = os.environ.get("CRYPTOBOT_SERVICE_JWT_AUDIENCE", "cryptobot-service")
    key: Any
    if private_key is not None:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            key = load_pem_private_key(private_key.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise _fail(f"cannot load the private key {private_key}: {exc}") from exc
    else:
        key = os.environ.get("CRYPTOBOT_SERVICE_JWT_SECRET")
        if not key:
            raise _fail(
                "no signing key: set CRYPTOBOT_SERVICE_JWT_SECRET (the service's HS256 secret) "
                "or pass --private-key"
            )
    try:
        minted = mint_token(
            key,
            subject=subject,
            scopes=tuple(scope),
            issuer=issuer,
            audience=audience,
            lifetime=parse_lifetime(lifetime),
            max_lifetime=longest,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(minted)


@app.command()
def openapi() -> None:
    """Print the service's OpenAPI document (JSON) without serving."""
    import secrets

    from crypto_bot_core.ledger import open_ledger
    from crypto_bot_core.service import ServiceSettings, create_app

    settings = ServiceSettings(jwt_secret=secrets.token_urlsafe(48))  # spec only, never served
    application = create_app(settings, ledger=open_ledger("sqlite://"))
    typer.echo(json.dumps(application.openapi(), indent=2, sort_keys=True))
