"""Ed25519 keys and domain-tagged signatures for checkpoints and erasure receipts.

Every signature covers ``DOMAIN || statement`` where the domain names what is
signed, so a signature over a checkpoint can never be replayed as a receipt (or
the other way round). Keys are identified by the SHA-256 of their raw public
bytes, which a verifier can compare with a fingerprint published out of band.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto_bot_sdk import ConfigError, LedgerError

CHECKPOINT_DOMAIN = b"cryptobot.ledger.checkpoint.v1\n"
RECEIPT_DOMAIN = b"cryptobot.ledger.erasure-receipt.v1\n"


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_pem(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_text(value: str, setting: str) -> bytes:
    """PEM given inline, or the path of a file holding it."""
    if value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    path = Path(value).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the key file {str(path)!r} ({exc.strerror}); give a readable "
            "PEM file path or the PEM text itself",
            key=setting,
        ) from exc


def load_private_key(value: str, setting: str) -> Ed25519PrivateKey:
    pem = _pem_text(value, setting)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"is not an unencrypted PEM private key ({exc}); generate one with "
            "`openssl genpkey -algorithm ed25519`",
            key=setting,
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(
            f"holds a {type(key).__name__}; the ledger signs with Ed25519 keys "
            "(`openssl genpkey -algorithm ed25519`)",
            key=setting,
        )
    return key


def load_public_key(value: str | bytes, setting: str) -> Ed25519PublicKey:
    pem = value if isinstance(value, bytes) else _pem_text(value, setting)
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"is not a PEM public key ({exc})", key=setting) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"holds a {type(key).__name__}, not an Ed25519 key", key=setting)
    return key


def create_private_key_file(path: Path) -> bool:
    """Put a new key in a file only its owner can read (0600); False if one is already there."""
    return write_secret_file(path, private_pem(Ed25519PrivateKey.generate()))


def write_secret_file(path: Path, data: bytes) -> bool:
    """Create ``path`` (0600) holding ``data``, complete or not at all; never overwrite.

    The bytes go to a private temporary file that is then hard-linked into
    place, so a process racing to create the same default key either wins or
    finds the other's complete file. Returns False when the file already existed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError as exc:
            raise LedgerError(f"cannot create the key file {path}: {exc}") from exc
        return True
    finally:
        temporary.unlink(missing_ok=True)


def sign(private_key: Ed25519PrivateKey, domain: bytes, statement: bytes) -> bytes:
    return private_key.sign(domain + statement)


def signature_valid(
    public_key: Ed25519PublicKey, domain: bytes, statement: bytes, signature: bytes
) -> bool:
    try:
        public_key.verify(signature, domain + statement)
    except InvalidSignature:
        return False
    return True
