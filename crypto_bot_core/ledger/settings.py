"""Ledger configuration: where it lives, which keys sign and verify, which rules hold data.

Secrets come from the environment (or files they name), never from code:

==================================  =================================================
``CRYPTOBOT_LEDGER_URL``            ``sqlite:///PATH`` (default) or ``postgresql://…``
``CRYPTOBOT_LEDGER_SIGNING_KEY``    Ed25519 private key: PEM text or a PEM file path
``CRYPTOBOT_LEDGER_PUBLIC_KEY``     trusted verification key: PEM text or file path
``CRYPTOBOT_LEDGER_SUBJECT_SECRET`` HMAC secret for pseudonymous subject references
``CRYPTOBOT_LEDGER_CHECKPOINT_URL`` connection used to write checkpoints (its own role)
``CRYPTOBOT_LEDGER_CHECKPOINT_DIR`` directory receiving a signed file per checkpoint
``CRYPTOBOT_LEDGER_SYNCHRONOUS``    SQLite durability: FULL (default), NORMAL or OFF
``CRYPTOBOT_LEDGER_RETENTION``      retention rules as a JSON list
==================================  =================================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from crypto_bot_sdk import ConfigError, RecordType

DEFAULT_URL = "sqlite:///./cryptobot-ledger.sqlite"
URL_ENV = "CRYPTOBOT_LEDGER_URL"
SIGNING_KEY_ENV = "CRYPTOBOT_LEDGER_SIGNING_KEY"
PUBLIC_KEY_ENV = "CRYPTOBOT_LEDGER_PUBLIC_KEY"
SUBJECT_SECRET_ENV = "CRYPTOBOT_LEDGER_SUBJECT_SECRET"
CHECKPOINT_URL_ENV = "CRYPTOBOT_LEDGER_CHECKPOINT_URL"
CHECKPOINT_DIR_ENV = "CRYPTOBOT_LEDGER_CHECKPOINT_DIR"
SYNCHRONOUS_ENV = "CRYPTOBOT_LEDGER_SYNCHRONOUS"
RETENTION_ENV = "CRYPTOBOT_LEDGER_RETENTION"


class RetentionRule(BaseModel):
    """A reason to keep a subject's records: erasure is refused while the rule holds.

    Either a *period* after the subject's latest record of ``record_types``
    (record keeping, e.g. MiFID II: 5 years after the last order) or a fixed
    ``until`` (a litigation hold), optionally limited to named ``subjects``
    (subject references or raw identifiers).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    record_types: tuple[RecordType, ...] = ()
    years: int = Field(default=0, ge=0, le=100)
    days: int = Field(default=0, ge=0)
    until: datetime | None = None
    subjects: tuple[str, ...] = ()

    @field_validator("until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # a date in configuration means UTC
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> RetentionRule:
        period = self.years > 0 or self.days > 0
        if period == (self.until is not None):
            raise ValueError(
                f"retention rule {self.name!r}: give either a period (years/days after the "
                "subject's last matching record) or a fixed 'until', exactly one of them"
            )
        return self

    def expiry(self, last_record: datetime | None) -> datetime | None:
        """When this rule stops holding a subject whose last matching record is ``last_record``."""
        if self.until is not None:
            return self.until
        if last_record is None:
            return None
        year = last_record.year + self.years
        try:
            shifted = last_record.replace(year=year)
        except ValueError:  # 29 February in a year without one
            shifted = last_record.replace(year=year, month=3, day=1)
        return shifted + timedelta(days=self.days)


class LedgerSettings(BaseModel):
    """Everything the ledger reads from configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = DEFAULT_URL
    signing_key: SecretStr | None = None
    public_keys: tuple[str, ...] = ()
    subject_secret: SecretStr | None = None
    checkpoint_url: str | None = None
    checkpoint_dir: Path | None = None
    retention: tuple[RetentionRule, ...] = ()
    sqlite_synchronous: Literal["FULL", "NORMAL", "OFF"] = "FULL"
    busy_timeout_s: float = Field(default=60.0, gt=0)
    partition_months_ahead: int = Field(default=3, ge=0, le=120)

    @field_validator("url", "checkpoint_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(
            ("sqlite://", "postgresql://", "postgres://")
        ):
            raise ValueError(
                f"{value!r} is not a ledger URL; use sqlite:///PATH or "
                "postgresql://USER@HOST:PORT/DB"
            )
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> LedgerSettings:
        """Settings from ``CRYPTOBOT_LEDGER_*`` variables; keyword overrides (not None) win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        simple = {
            "url": URL_ENV,
            "signing_key": SIGNING_KEY_ENV,
            "subject_secret": SUBJECT_SECRET_ENV,
            "checkpoint_url": CHECKPOINT_URL_ENV,
            "checkpoint_dir": CHECKPOINT_DIR_ENV,
            "sqlite_synchronous": SYNCHRONOUS_ENV,
        }
        for field, variable in simple.items():
            if env.get(variable):
                values[field] = env[variable]
        if env.get(PUBLIC_KEY_ENV):
            values["public_keys"] = (env[PUBLIC_KEY_ENV],)
        if env.get(RETENTION_ENV):
            try:
                values["retention"] = json.loads(env[RETENTION_ENV])
            except json.JSONDecodeError as exc:
                raise ConfigError(f"is not a JSON list of rules: {exc}", key=RETENTION_ENV) from exc
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "ledger"
            raise ConfigError(first["msg"], key=f"ledger.{where}") from exc


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:`` URL, or None for an in-memory ledger."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        return None
    if not url.startswith("sqlite:///"):
        raise ConfigError(f"{url!r} is not a sqlite:///PATH URL", key="ledger.url")
    return Path(url.removeprefix("sqlite:///")).expanduser()


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))
