"""Digests and signatures of the wheels a plugin image hands over.

Two records protect a plugin's wheels on their way from the image into the host:

* ``SHA256SUMS``, written when the plugin image is built, in the format of
  GNU ``sha256sum`` (``<64 hex digits><two spaces or " *"><file name>`` per line);
  every wheel must be listed and match. The deployer may also pin digests in the
  Helm values (``plugins[].sha256``), which must match as well: those come from
  whoever deploys, not from the image, so an altered image cannot forge them.
* optionally ``SHA256SUMS.sig``, an Ed25519 signature (RFC 8032) of the exact
  bytes of ``SHA256SUMS``, as 64 raw bytes or their base64 text (what
  ``openssl pkeyutl -sign -rawin`` writes, optionally base64-encoded). Signing the
  list of digests signs every wheel it lists, the pattern of signify/minisign and
  of Debian's ``Release`` files. Trusted keys are PEM ``PUBLIC KEY`` blocks.

Why not sigstore: verifying a sigstore bundle offline still needs the Fulcio
and Rekor trust roots and a bundle made by the public-good instance, which
these machines (and many clusters) cannot reach; a plain Ed25519 key that the
platform team controls works air-gapped and is verified by ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

SUMS_FILENAME = "SHA256SUMS"
SIGNATURE_FILENAME = "SHA256SUMS.sig"
_SUM_LINE = re.compile(r"^(?P<digest>[0-9a-fA-F]{64}) [ *](?P<name>\S(?:.*\S)?)$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class IntegrityError(ValueError):
    """A digest list, signature or key is malformed; the message says which and where."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file's bytes."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def parse_sums(text: str, *, source: str) -> dict[str, str]:
    """``SHA256SUMS`` text -> ``{file name: lowercase hex digest}``."""
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _SUM_LINE.match(line)
        if match is None:
            raise IntegrityError(
                f"{source} line {number} is not '<sha256 hex>  <file name>': {line!r}"
            )
        name = match["name"]
        if "/" in name:
            name = name.rsplit("/", 1)[1]  # `sha256sum wheels/x.whl` style paths
        if name in sums:
            raise IntegrityError(f"{source} lists {name} twice")
        sums[name] = match["digest"].lower()
    return sums


def normalise_digest(value: str, *, where: str) -> str:
    """``sha256:<hex>`` or ``<hex>`` -> lowercase hex; :class:`IntegrityError` otherwise."""
    digest = value.removeprefix("sha256:").lower()
    if not _HEX64.match(digest):
        raise IntegrityError(f"{where}: {value!r} is not a SHA-256 digest (64 hex digits)")
    return digest


def _load_key(pem: str, index: int) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise IntegrityError(
            f"trusted key #{index + 1} is not a PEM public key: {exc}; give the "
            "'-----BEGIN PUBLIC KEY-----' block of an Ed25519 key"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise IntegrityError(
            f"trusted key #{index + 1} is a {type(key).__name__}, not an Ed25519 key; "
            "plugin signatures are Ed25519 (openssl genpkey -algorithm ed25519)"
        )
    return key


def _signature_bytes(raw: bytes, *, source: str) -> bytes:
    if len(raw) == 64:
        return raw
    try:
        decoded = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise IntegrityError(
            f"{source} is neither a 64-byte Ed25519 signature nor its base64 text"
        ) from exc
    if len(decoded) != 64:
        raise IntegrityError(
            f"{source} decodes to {len(decoded)} bytes; an Ed25519 signature has 64"
        )
    return decoded


@dataclass(frozen=True)
class SigningPolicy:
    """Which keys the deployer trusts, and whether every plugin must be signed by one."""

    public_keys_pem: Sequence[str] = ()
    required: bool = False
    _keys: tuple[Ed25519PublicKey, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = tuple(_load_key(pem, i) for i, pem in enumerate(self.public_keys_pem))
        if self.required and not keys:
            raise IntegrityError(
                "signatures are required but no trusted public key is configured; "
                "set pluginSignatures.publicKeys in the values"
            )
        object.__setattr__(self, "_keys", keys)

    def problems(self, sums: bytes, signature: bytes | None, *, source: str) -> list[str]:
        """Why ``signature`` over ``sums`` is not acceptable; empty when it is (or isn't needed)."""
        if signature is None:
            if self.required:
                return [
                    f"no {SIGNATURE_FILENAME} in {source}, and the deployment requires signed "
                    "plugins; sign SHA256SUMS with a trusted Ed25519 key when building the image"
                ]
            return []
        if not self._keys:
            return [] if not self.required else [f"no trusted key to check {source}"]
        try:
            sig = _signature_bytes(signature, source=f"{source}/{SIGNATURE_FILENAME}")
        except IntegrityError as exc:
            return [str(exc)]
        for key in self._keys:
            try:
                key.verify(sig, sums)
            except InvalidSignature:
                continue
            return []
        return [
            f"{SIGNATURE_FILENAME} in {source} is not a valid signature of its {SUMS_FILENAME} "
            f"by any of the {len(self._keys)} trusted key(s); the image was altered or signed "
            "with another key"
        ]
