"""Canonical JSON (RFC 8785) for ledger payloads and records.

A hash is only reproducible if every party serialises a record to the same
bytes, so payloads are first *normalised* into plain JSON values under fixed
rules, then canonicalised:

* ``Decimal`` becomes its exact decimal string (``Decimal("0.10")`` -> ``"0.10"``):
  money never passes through binary floating point;
* integers beyond I-JSON's exact range (+-(2**53 - 1)) become decimal strings,
  because a JSON reader in another language would silently round them;
* finite floats stay numbers and take RFC 8785's (ECMAScript) form, so ``1.0``
  is written ``1``; NaN and infinities are refused, they have no JSON form;
* aware ``datetime`` becomes ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, naive ones
  are refused (a ledger time without a zone is unprovable);
* enums become their value, UUIDs and dates their string, pydantic models their
  JSON-mode dump; mappings need string keys; sets and bytes are refused
  (no defined order / no JSON type).

The ``rfc8785`` library is the reference canonicaliser. Because it is pure Python
(tens of microseconds a record), payloads whose values fall in a domain where the
standard library's C JSON encoder (sorted keys, no spaces, no ASCII escaping)
produces byte-identical output -- ASCII keys, no floats outside [1e-4, 1e16) --
take that encoder instead; everything else goes to ``rfc8785``. The tests compare
both paths byte for byte on seeded random payloads.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import rfc8785

from crypto_bot_sdk import LedgerError

_INT_MAX = 2**53 - 1
_FAST_FLOAT_MIN = 1e-4
_FAST_FLOAT_MAX = 1e16
SUBJECT_KEY = "subject_ref"
"""The payload key under which a record names its data subject (top level only)."""

_encode_fast = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode


class PayloadError(LedgerError, ValueError):
    """A payload value has no exact canonical JSON form."""


def format_ts(ts: datetime) -> str:
    """The ledger's one time format: UTC, microseconds, ``Z``."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise PayloadError(
            f"timestamp {ts.isoformat()} has no time zone; pass an aware datetime "
            "such as datetime(..., tzinfo=UTC)"
        )
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class _Bad(PayloadError):
    """A refused value; the path to it is filled in while the walk unwinds."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        self.path: list[str] = []
        super().__init__(problem)

    def located(self) -> PayloadError:
        where = "payload" + "".join(self.path)
        return PayloadError(f"{where} {self.problem}")


class _Walk:
    """One pass over a payload: builds the plain-JSON copy and notes whether the fast path fits.

    Exact-type checks come first because this runs for every value of every
    record; subclasses (StrEnum, IntEnum, OrderedDict...) take the slower branch.
    """

    __slots__ = ("fast", "odd_floats")

    def __init__(self) -> None:
        self.fast = True
        self.odd_floats = False
        """Floats outside the range where ``repr`` is ECMAScript's form (the only such case)."""

    def value(self, value: Any) -> Any:
        kind = type(value)
        if kind is str or value is None or kind is bool:
            return value
        if kind is int:
            return value if -_INT_MAX <= value <= _INT_MAX else str(value)
        if kind is Decimal:
            if not value.is_finite():
                raise _Bad(f"is {value}; only finite decimals can be recorded")
            return format(value, "f")
        if kind is float:
            return self._float(value)
        if kind is dict:
            return self.mapping(value, nested=True)
        if kind is list or kind is tuple:
            out = []
            for index, item in enumerate(value):
                try:
                    out.append(self.value(item))
                except _Bad as bad:
                    bad.path.insert(0, f"[{index}]")
                    raise
            return out
        return self._other(value)

    def mapping(self, value: Mapping[Any, Any], *, nested: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for raw_key, item in value.items():
            key = raw_key
            if type(key) is not str:
                if not isinstance(key, str):
                    raise _Bad(
                        f"has the key {key!r} of type {type(key).__name__}; "
                        "JSON object keys must be strings"
                    )
                key = str.__str__(key)
            if not key.isascii():
                self.fast = False
            if nested and key == SUBJECT_KEY:
                bad = _Bad(
                    "is a subject reference below the top level; put it at the top of "
                    "the payload, where the ledger indexes it for erasure and retention"
                )
                bad.path.append(f".{key}")
                raise bad
            try:
                out[key] = self.value(item)
            except _Bad as bad:
                bad.path.insert(0, f".{key}")
                raise
        return out

    def _float(self, value: float) -> Any:
        if not math.isfinite(value):
            raise _Bad(
                f"is {value!r}; JSON has no NaN or infinity: record a finite number, "
                "or a string such as 'inf' with a documented meaning"
            )
        if value.is_integer():
            if abs(value) <= _INT_MAX:
                return int(value)  # RFC 8785 writes 2.0 as 2; so does int.
            self.odd_floats = True  # repr would write 9999000000000000.0
        elif not _FAST_FLOAT_MIN <= abs(value) < _FAST_FLOAT_MAX:
            self.odd_floats = True  # repr switches to exponent form where ECMAScript does not
        return value

    def _other(self, value: Any) -> Any:
        """Subclasses of the JSON types (StrEnum, IntEnum, OrderedDict...), then foreign types."""
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, Enum):
            return self.value(value.value)
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, int):
            return self.value(int(value))
        if isinstance(value, float):
            return self._float(float(value))
        if isinstance(value, Decimal):
            return self.value(Decimal(value))
        if isinstance(value, Mapping):
            return self.mapping(value, nested=True)
        if isinstance(value, list | tuple):
            return self.value(list(value))
        return self._foreign(value)

    def _foreign(self, value: Any) -> Any:
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise _Bad(
                    f"is the naive timestamp {value.isoformat()}; pass an aware datetime "
                    "such as datetime(..., tzinfo=UTC)"
                )
            return format_ts(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, UUID):
            return str(value)
        dump = getattr(value, "model_dump", None)
        if callable(dump):  # a pydantic model: its JSON mode already writes decimals as text
            return self.value(dump(mode="json"))
        if isinstance(value, bytes | bytearray | memoryview):
            raise _Bad("is bytes; encode it as hex or base64 text first")
        if isinstance(value, set | frozenset):
            raise _Bad("is a set, which has no order; pass a sorted list")
        raise _Bad(
            f"has the type {type(value).__name__}, which has no canonical JSON form; "
            "pass str, int, Decimal, float, bool, None, datetime, list or a mapping"
        )


def normalise(payload: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The payload as plain JSON values, and whether the fast encoder is exact for it."""
    plain, walk = _normalise(payload)
    return plain, walk.fast and not walk.odd_floats


def _normalise(payload: Mapping[str, Any]) -> tuple[dict[str, Any], _Walk]:
    if not isinstance(payload, Mapping):
        raise PayloadError(f"a ledger payload must be a mapping, not {type(payload).__name__}")
    walk = _Walk()
    try:
        plain = walk.mapping(payload, nested=False)
    except _Bad as bad:
        raise bad.located() from None
    return plain, walk


def ecmascript_number(value: float) -> str:
    """ECMAScript's ``Number::toString`` of a finite float: the number form RFC 8785 prescribes.

    Python's ``repr`` and ECMAScript choose the same shortest round-tripping digits;
    they differ only in where they switch to exponent form and how they write it.
    """
    if value == 0:
        return "0"
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point  # value = 0.digits x 10**n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    power = n - 1
    mark = "e+" if power > 0 else "e-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return sign + head + mark + str(abs(power))


_SENTINEL_NONCE = secrets.token_hex(8)


def _floats_as_sentinels(value: Any, numbers: list[str]) -> Any:
    """A copy of ``value`` with every float replaced by a unique placeholder string."""
    if type(value) is float:
        numbers.append(ecmascript_number(value))
        return f"\x00{_SENTINEL_NONCE}:{len(numbers) - 1}\x00"
    if type(value) is dict:
        return {k: _floats_as_sentinels(v, numbers) for k, v in value.items()}
    if type(value) is list:
        return [_floats_as_sentinels(v, numbers) for v in value]
    return value


def _encode_with_odd_floats(plain: dict[str, Any]) -> bytes | None:
    """The fast encoder's bytes with ECMAScript numbers put in place of placeholders.

    ``None`` if a placeholder did not come out exactly once (a string that happened
    to look like one), so the caller falls back to the reference canonicaliser.
    """
    numbers: list[str] = []
    text = _encode_fast(_floats_as_sentinels(plain, numbers))
    pattern = re.compile(r'"\\u0000' + _SENTINEL_NONCE + r':(\d+)\\u0000"')
    seen: list[int] = []

    def number(match: re.Match[str]) -> str:
        index = int(match.group(1))
        seen.append(index)
        return numbers[index]

    out = pattern.sub(number, text)
    if sorted(seen) != list(range(len(numbers))):
        return None
    return out.encode("utf-8")


def canonical_payload(payload: Mapping[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """RFC 8785 bytes of a payload, and the plain JSON value they encode."""
    plain, walk = _normalise(payload)
    try:
        if walk.fast:
            if not walk.odd_floats:
                return _encode_fast(plain).encode("utf-8"), plain
            # Only some floats stand in the way of the fast encoder: write those
            # ourselves (checked against rfc8785 in the tests) instead of paying
            # the pure-Python reference encoder for the whole payload.
            encoded = _encode_with_odd_floats(plain)
            if encoded is not None:
                return encoded, plain
        return rfc8785.dumps(plain), plain
    except (UnicodeEncodeError, rfc8785.CanonicalizationError) as exc:
        raise PayloadError(f"payload cannot be canonicalised: {exc}") from exc


def canonical(value: Any) -> bytes:
    """RFC 8785 bytes of an already plain JSON value (statements the ledger itself builds)."""
    return rfc8785.dumps(value)


def record_bytes(payload_json: bytes, seq: int, ts: str, type_value: str) -> bytes:
    """The canonical record ``{"payload":…,"seq":…,"ts":…,"type":…}``.

    Keys sort as payload < seq < ts < type, and seq, ts and type are written
    without escapes, so plain concatenation *is* the RFC 8785 form of the record;
    a test checks it against ``rfc8785.dumps`` of the whole object.
    """
    return b'{"payload":%b%b' % (payload_json, record_suffix(seq, ts, type_value))


def record_suffix(seq: int, ts: str, type_value: str) -> bytes:
    """The tail of a record's bytes that the indexed columns must reproduce."""
    return b',"seq":%d,"ts":"%b","type":"%b"}' % (seq, ts.encode(), type_value.encode())


def parse_record(body: bytes) -> dict[str, Any]:
    value = json.loads(body)
    if not isinstance(value, dict):
        raise LedgerError(f"stored record is not a JSON object: {body[:80]!r}")
    return value
