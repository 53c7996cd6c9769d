"""Where the ledger's keys come from: configuration, or the embedded default beside the file.

Keys are resolved lazily, so a process that only appends (the PostgreSQL writer
role) needs neither the signing key nor the subject secret: separation of duties
is possible. For the embedded SQLite default with nothing configured, a signing
key (``<db>.signing-key.pem``) and a subject secret (``<db>.subject-secret``)
are generated on first use beside the database file, readable by their owner
only (0600). An in-memory ledger gets throw-away keys: nothing it signs outlives
the process anyway.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto_bot_core.ledger.settings import (
    PUBLIC_KEY_ENV,
    SIGNING_KEY_ENV,
    SUBJECT_SECRET_ENV,
    LedgerSettings,
    is_postgres,
    sqlite_path,
)
from crypto_bot_core.ledger.signing import (
    create_private_key_file,
    key_id,
    load_private_key,
    load_public_key,
    public_pem,
    write_secret_file,
)
from crypto_bot_sdk import ConfigError

_MIN_SECRET = 16


def embedded_key_paths(settings: LedgerSettings) -> tuple[Path, Path] | None:
    """(signing key, subject secret) files of the embedded default, or None off SQLite files."""
    if is_postgres(settings.url):
        return None
    db = sqlite_path(settings.url)
    if db is None:
        return None
    return db.with_name(db.name + ".signing-key.pem"), db.with_name(db.name + ".subject-secret")


class KeyRing:
    def __init__(self, settings: LedgerSettings) -> None:
        self.settings = settings
        self._signing: Ed25519PrivateKey | None = None
        self._secret: bytes | None = None
        self._ephemeral = not is_postgres(settings.url) and sqlite_path(settings.url) is None

    def signing_key(self) -> Ed25519PrivateKey:
        if self._signing is None:
            self._signing = self._load_signing_key(create=True)
            if self._signing is None:
                raise ConfigError(
                    "no signing key is configured; set it to an Ed25519 private key "
                    "(PEM text or a PEM file path; `openssl genpkey -algorithm ed25519`)",
                    key=SIGNING_KEY_ENV,
                )
        return self._signing

    def _load_signing_key(self, *, create: bool) -> Ed25519PrivateKey | None:
        configured = self.settings.signing_key
        if configured is not None:
            return load_private_key(configured.get_secret_value(), SIGNING_KEY_ENV)
        if self._ephemeral:
            return Ed25519PrivateKey.generate() if create else None
        paths = embedded_key_paths(self.settings)
        if paths is None:
            return None
        key_file = paths[0]
        if not key_file.exists():
            if not create:
                return None
            create_private_key_file(key_file)  # or another process just did
        key = load_private_key(str(key_file), f"{SIGNING_KEY_ENV} (default {key_file})")
        public_file = key_file.with_name(key_file.name.replace(".pem", ".pub.pem"))
        if create and not public_file.exists():  # a verifier writes nothing beside the data
            write_secret_file(public_file, public_pem(key.public_key()))
            public_file.chmod(0o644)
        return key

    def trusted_keys(self) -> dict[str, Ed25519PublicKey]:
        """Keys whose signatures verification accepts.

        Pinned public keys (``CRYPTOBOT_LEDGER_PUBLIC_KEY``), when there are any, are
        the only keys found in configuration that count, together with a configured
        signing key's public half. The embedded default key lying beside the database
        is trusted only when nothing is pinned: whoever can rewrite the database can
        usually replace that file too, so pinning the original key must exclude it.
        """
        trusted = self.pinned_keys()
        if self.settings.signing_key is not None or not trusted:
            own = self._signing or self._load_signing_key(create=False)
            if own is not None:
                self._signing = own
                trusted[key_id(own.public_key())] = own.public_key()
        return trusted

    def pinned_keys(self) -> dict[str, Ed25519PublicKey]:
        """The configured public keys alone (empty when none is configured)."""
        trusted: dict[str, Ed25519PublicKey] = {}
        for index, value in enumerate(self.settings.public_keys):
            key = load_public_key(value, f"{PUBLIC_KEY_ENV} (public_keys[{index}])")
            trusted[key_id(key)] = key
        return trusted

    def own_key(self) -> dict[str, Ed25519PublicKey]:
        """The signing key's public half, when one is configured or beside the database."""
        own = self._signing or self._load_signing_key(create=False)
        if own is None:
            return {}
        self._signing = own
        return {key_id(own.public_key()): own.public_key()}

    def subject_secret(self) -> bytes:
        if self._secret is None:
            self._secret = self._load_secret()
        return self._secret

    def _load_secret(self) -> bytes:
        configured = self.settings.subject_secret
        if configured is not None:
            value = configured.get_secret_value().encode()
            if len(value) < _MIN_SECRET:
                raise ConfigError(
                    f"is {len(value)} bytes; use at least {_MIN_SECRET} random bytes "
                    "(for example `openssl rand -hex 32`)",
                    key=SUBJECT_SECRET_ENV,
                )
            return value
        if self._ephemeral:
            return secrets.token_bytes(32)
        paths = embedded_key_paths(self.settings)
        if paths is None:
            raise ConfigError(
                "no subject secret is configured; set it to at least 32 random bytes "
                "(`openssl rand -hex 32`): subject references and the vault depend on it",
                key=SUBJECT_SECRET_ENV,
            )
        secret_file = paths[1]
        if not secret_file.exists():
            write_secret_file(secret_file, secrets.token_hex(32).encode())
        try:
            return secret_file.read_bytes().strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the default subject secret {secret_file} ({exc.strerror})",
                key=SUBJECT_SECRET_ENV,
            ) from exc
