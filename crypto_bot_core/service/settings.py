"""Settings of the HTTP service, from ``CRYPTOBOT_SERVICE_*`` variables or the CLI's options.

==========================================  ===============================================
``CRYPTOBOT_SERVICE_JWT_SECRET``            HS256 shared secret (at least 32 bytes)
``CRYPTOBOT_SERVICE_JWT_PUBLIC_KEY``        PEM public key (text or file path): EdDSA/ES256/RS256
``CRYPTOBOT_SERVICE_JWT_ISSUER``            expected ``iss`` (default ``cryptobot``)
``CRYPTOBOT_SERVICE_JWT_AUDIENCE``          expected ``aud`` (default ``cryptobot-service``)
``CRYPTOBOT_SERVICE_TOKEN_MAX_LIFETIME_S``  longest token lifetime accepted (default 90 days)
``CRYPTOBOT_SERVICE_CONFIG``                the bot's YAML config (reporters, exchanges)
``CRYPTOBOT_SERVICE_METRICS_PUBLIC``        ``true`` (default) or ``false``: /metrics needs a token
``CRYPTOBOT_LEDGER_URL``                    the ledger to read (also the ledger's own setting)
==========================================  ===============================================

Exactly one of the secret and the public key must be set: a service without a
key would have to run open, and it refuses to.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from crypto_bot_core.service.auth import MAX_TOKEN_LIFETIME
from crypto_bot_sdk import ConfigError

ENV = "CRYPTOBOT_SERVICE_"
MIN_SECRET_BYTES = 32


class ServiceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = Field(default=None, description="PEM text or a file path.")
    jwt_issuer: str = "cryptobot"
    jwt_audience: str = "cryptobot-service"
    jwt_leeway_s: float = Field(default=30.0, ge=0, le=600)
    token_max_lifetime_s: float = Field(
        default=MAX_TOKEN_LIFETIME.total_seconds(), gt=0, allow_inf_nan=False
    )
    config_path: Path | None = None
    ledger_url: str | None = None
    metrics_public: bool = True
    report_lookback_days: int = Field(
        default=7,
        ge=0,
        le=3650,
        description="Records this many days before a report's period are read too, so a fill "
        "finds the decision behind it (orders placed earlier).",
    )
    max_report_days: int = Field(default=366, ge=1, le=3660)
    readiness_timeout_s: float = Field(default=5.0, gt=0, le=120)
    kill_timeout_s: float = Field(default=60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _one_key(self) -> ServiceSettings:
        if (self.jwt_secret is None) == (self.jwt_public_key is None):
            raise ValueError(
                f"set exactly one token key: {ENV}JWT_SECRET (HS256, at least "
                f"{MIN_SECRET_BYTES} bytes) or {ENV}JWT_PUBLIC_KEY (PEM, EdDSA/ES256/RS256); "
                "the service does not run without authentication"
            )
        if self.jwt_secret is not None:
            size = len(self.jwt_secret.get_secret_value().encode())
            if size < MIN_SECRET_BYTES:
                raise ValueError(
                    f"{ENV}JWT_SECRET has {size} bytes; use at least {MIN_SECRET_BYTES} "
                    "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return self

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> ServiceSettings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in ("jwt_secret", "jwt_public_key", "jwt_issuer", "jwt_audience"):
            if env.get(ENV + field.upper()):
                values[field] = env[ENV + field.upper()]
        if env.get(ENV + "TOKEN_MAX_LIFETIME_S"):
            values["token_max_lifetime_s"] = env[ENV + "TOKEN_MAX_LIFETIME_S"]
        if env.get(ENV + "CONFIG"):
            values["config_path"] = env[ENV + "CONFIG"]
        if env.get(ENV + "METRICS_PUBLIC"):
            values["metrics_public"] = env[ENV + "METRICS_PUBLIC"]
        if env.get("CRYPTOBOT_LEDGER_URL"):
            values["ledger_url"] = env["CRYPTOBOT_LEDGER_URL"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "service"
            raise ConfigError(first["msg"].removeprefix("Value error, "), key=where) from exc

    @classmethod
    def token_max_lifetime(cls, environ: Mapping[str, str] | None = None) -> timedelta:
        """The longest token lifetime a service started with ``environ`` accepts.

        ``cryptobot serve token`` mints nothing longer; it needs no key settings for
        that, so this reads the one variable, checked as the service checks it.
        """
        env = os.environ if environ is None else environ
        name = ENV + "TOKEN_MAX_LIFETIME_S"
        text = env.get(name)
        if not text:
            return MAX_TOKEN_LIFETIME
        try:
            seconds = float(text)
        except ValueError:
            seconds = float("nan")
        if not seconds > 0 or seconds == float("inf"):
            raise ConfigError(f"must be a positive number of seconds, not {text!r}", key=name)
        return timedelta(seconds=seconds)

    def verification_key(self) -> tuple[Any, str]:
        """The key tokens are checked with, and its algorithm."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value(), "HS256"
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        from crypto_bot_core.service.auth import key_algorithm

        assert self.jwt_public_key is not None
        text = self.jwt_public_key
        if "-----BEGIN" not in text:
            try:
                text = Path(text).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"cannot read the public key file {self.jwt_public_key!r}: {exc}",
                    key=ENV + "JWT_PUBLIC_KEY",
                ) from exc
        try:
            key = load_pem_public_key(text.encode())
        except ValueError as exc:
            raise ConfigError(
                f"is not a PEM public key: {exc}", key=ENV + "JWT_PUBLIC_KEY"
            ) from exc
        try:
            return key, key_algorithm(key)
        except ValueError as exc:
            raise ConfigError(str(exc), key=ENV + "JWT_PUBLIC_KEY") from exc
