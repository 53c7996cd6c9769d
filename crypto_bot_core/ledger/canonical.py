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

Two paths produce the same bytes:

* the **reference path**, :func:`canonical_payload`: the normalising walk above
  builds a plain copy of the payload, then ``rfc8785`` (the reference
  canonicaliser, pure Python) or, where its output is byte-identical, the standard
  library's C encoder writes it (ASCII keys; floats outside [1e-4, 1e16) written
  by :func:`ecmascript_number`). About 75 microseconds for an engine's order
  intent, most of it the walk and the copy.
* the **ledger's encoder**, :func:`canonical_json`, which every append uses: a
  walk that only *checks* the common shapes (exact ``dict``/``list``/``tuple``,
  ``str``, ``int`` within I-JSON's range, ``bool``, ``None``, finite floats,
  ``Decimal`` and aware ``datetime``), copying a container only where a value
  must change (an integral float becomes an int), then one C encoder call:
  ``orjson`` when it is installed and agrees with :func:`ecmascript_number` and
  the standard library on a self-check, else the standard library's encoder with
  placeholders for the floats it writes differently. Anything it cannot vouch for
  (other types, non-ASCII output, NaN, a nested ``subject_ref``, big ints, a
  placeholder look-alike) goes to the reference path, which also produces every
  error message. About 10 microseconds for the same intent with ``orjson``.

The tests compare both paths, with either C encoder, against ``rfc8785`` on
seeded random and hypothesis-generated payloads.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import rfc8785

from crypto_bot_sdk import LedgerError


def _optional_orjson() -> Any:
    """orjson if installed (the exchanges extra brings it), else None: the standard library
    then does its work, more slowly, with the same bytes."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - depends on the installed extras
        return None
    return orjson


_orjson: Any = _optional_orjson()

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


# --- the ledger's encoder ------------------------------------------------------------


class _Fallback(Exception):
    """The fast encoder cannot vouch for this payload; the reference path decides."""


_SUBJECT_TOKEN = b'"subject_ref":'
"""How a ``subject_ref`` key appears in encoded bytes. Inside a JSON string a quote is
always escaped, so these bytes occur exactly once per object key of that name."""


def _scan_dict(container: dict[Any, Any], numbers: list[str], low: float) -> dict[Any, Any]:
    """``container`` if the C encoder writes it canonically as it is, else a fixed copy.

    Both C encoders write a finite, non-integral float in ECMAScript's form only
    above a magnitude (``low``: 1e-4 for the standard library's ``repr``, 1e-5 for
    orjson, see :func:`_orjson_agrees`); smaller ones become placeholder strings
    whose ECMAScript form is appended to ``numbers`` and swapped in after encoding
    (:func:`_swap_numbers`). Integral floats become ints (``2.0`` -> ``2``, as the
    reference walk does), or placeholders beyond 2**53. NaN, infinities, ints
    beyond I-JSON's range and any other type raise :class:`_Fallback`; ``Decimal``
    and ``datetime`` stay for :func:`_default`. A container is copied only where a
    value changes: the caller's payload is never modified. Keys are not looked at
    (orjson refuses non-string keys itself; see :func:`_str_keys`).
    """
    scanned: dict[Any, Any] = _scan(container, container.items(), dict, numbers, low)
    return scanned


def _scan(
    container: Any,
    entries: Iterable[tuple[Any, Any]],
    copy: Callable[[Any], Any],
    numbers: list[str],
    low: float,
) -> Any:
    """The scan of :func:`_scan_dict` over ``entries``, a dict's items or a list's (or
    tuple's) ``enumerate``; a changed ``container`` is ``copy``-ed (a list for a tuple)
    and the copy set by key.

    One loop serves dicts and lists alike, so the two cannot come to disagree on what
    the encoders write canonically; the most frequent types are tested first, as this
    loop visits every value of every record (about a hundred in an order intent).
    """
    out = None
    for key, item in entries:
        kind = type(item)
        if kind is str:
            continue
        if kind is float:
            # finite, not integral (NaN and infinities give NaN), and in the encoder's range
            if item % 1.0 > 0.0 and (
                low <= item < _FAST_FLOAT_MAX or -_FAST_FLOAT_MAX < item <= -low
            ):
                continue
            new: Any = _odd_float(item, numbers)
        elif item is None or kind is bool or kind is Decimal or kind is datetime:
            continue
        elif kind is dict or kind is list or kind is tuple:
            new = (
                _scan(item, item.items(), dict, numbers, low)
                if kind is dict
                else _scan(item, enumerate(item), list, numbers, low)
            )
            if new is item:
                continue
        elif kind is int:
            if not -_INT_MAX <= item <= _INT_MAX:
                raise _Fallback
            continue
        else:
            raise _Fallback
        if out is None:
            out = copy(container)
        out[key] = new
    return container if out is None else out


def _str_keys(value: Any) -> bool:
    """Whether every key in ``value`` is a ``str`` (the standard library's encoder writes int,
    float, bool and None keys as strings instead of refusing them)."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str for key in value) and all(map(_str_keys, value.values()))
    if kind is list or kind is tuple:
        return all(map(_str_keys, value))
    return True


def _odd_float(value: float, numbers: list[str]) -> int | str:
    """An int for an integral float within 2**53, else a placeholder for its ECMAScript form."""
    if value % 1.0 == 0.0 and -_INT_MAX <= value <= _INT_MAX:
        return int(value)  # RFC 8785 writes 2.0 as 2; so does int (and -0.0 as 0).
    if not math.isfinite(value):
        raise _Fallback
    numbers.append(ecmascript_number(value))
    return f"\x00{_SENTINEL_NONCE}:{len(numbers) - 1}\x00"


_MARKER = f"\\u0000{_SENTINEL_NONCE}:".encode()
"""How a placeholder's prefix comes out of either encoder (NUL is written ``\\u0000``)."""


def _swap_numbers(encoded: bytes, numbers: list[str]) -> bytes | None:
    """Put each number in place of its placeholder; None if a string looks like one."""
    if encoded.count(_MARKER) != len(numbers):
        return None
    for index, number in enumerate(numbers):
        encoded = encoded.replace(b'"%b%d\\u0000"' % (_MARKER, index), number.encode(), 1)
    return encoded


def _default(value: Any) -> str:
    """The two non-JSON types the fast encoders write themselves, exactly as the walk does."""
    kind = type(value)
    if kind is Decimal:
        if value.is_finite():
            return format(value, "f")
    elif kind is datetime and value.utcoffset() is not None:
        return format_ts(value)
    raise _Fallback


_encode_fast_default = json.JSONEncoder(
    ensure_ascii=False,
    allow_nan=False,
    sort_keys=True,
    separators=(",", ":"),
    default=_default,
).encode


def _json_fast(payload: dict[str, Any]) -> bytes | None:
    """The standard library's C encoder on a checked payload; None: use the reference path."""
    numbers: list[str] = []
    try:
        text = _encode_fast_default(_scan_dict(payload, numbers, _FAST_FLOAT_MIN))
    except (_Fallback, ValueError, TypeError):
        return None
    if not _str_keys(payload):
        return None
    # Non-ASCII output may hold keys whose RFC 8785 order (UTF-16) differs from Python's.
    if not text.isascii():
        return None
    return _checked(text.encode("ascii"), payload, numbers)


def _checked(encoded: bytes, payload: dict[str, Any], numbers: list[str]) -> bytes | None:
    if numbers:
        swapped = _swap_numbers(encoded, numbers)
        if swapped is None:
            return None
        encoded = swapped
    if encoded.count(_SUBJECT_TOKEN) != (SUBJECT_KEY in payload):
        return None  # a subject reference below the top level: refused by the reference
    return encoded


_ORJSON_FLOAT_MIN = 1e-5
"""orjson writes [1e-6, 1e-5) in exponent form where ECMAScript does not (orjson 3.13)."""

if _orjson is not None:
    _ORJSON_OPTIONS = (
        _orjson.OPT_SORT_KEYS | _orjson.OPT_STRICT_INTEGER | _orjson.OPT_PASSTHROUGH_DATETIME
    )
    _orjson_dumps = _orjson.dumps
    _OrjsonError: type[Exception] = _orjson.JSONEncodeError
    loads_json: Callable[[bytes], Any] = _orjson.loads
else:  # pragma: no cover - depends on the installed extras
    _ORJSON_OPTIONS = 0
    _OrjsonError = TypeError
    loads_json = json.loads
"""Parse JSON bytes (orjson's parser where installed: the payloads of returned records)."""


def _orjson_fast(payload: dict[str, Any]) -> bytes | None:
    """orjson on a checked payload; None: use the reference path."""
    numbers: list[str] = []
    try:
        encoded: bytes = _orjson_dumps(
            _scan_dict(payload, numbers, _ORJSON_FLOAT_MIN),
            default=_default,
            option=_ORJSON_OPTIONS,
        )
    except (_Fallback, _OrjsonError):  # from _default, or orjson's own refusals
        return None
    if not encoded.isascii():
        return None
    return _checked(encoded, payload, numbers)


def _orjson_agrees() -> bool:
    """Whether this orjson writes what RFC 8785 prescribes for everything it is given.

    Its float formatting is a library choice that could change between versions, so
    it is checked on every decimal magnitude it is given floats of (from 1e-5 up;
    smaller ones never reach it), with its string escapes, separators and key order,
    before the ledger relies on it; any difference leaves the standard library's
    encoder in charge.
    """
    if _orjson is None:  # pragma: no cover - depends on the installed extras
        return False
    floats = [
        sign * mantissa * 10.0**exponent
        for exponent in range(-325, 309)
        for mantissa in (1.0, 1.2345678901234567, 9.87654321)
        for sign in (1.0, -1.0)
    ]
    floats = [f for f in floats if abs(f) >= _ORJSON_FLOAT_MIN and f % 1.0 > 0.0]
    text = "".join(chr(c) for c in range(128)) + '"\\/'
    sample = {"b": [floats, text, 2**53 - 1, -(2**53) + 1, True, None], "a": {"z": 0, "y": ""}}
    expected = (
        '{"a":{"y":"","z":0},"b":[['
        + ",".join(ecmascript_number(f) for f in floats)
        + "],"
        + _encode_fast(text)
        + ",9007199254740991,-9007199254740991,true,null]}"
    ).encode()
    try:
        return bool(_orjson_dumps(sample, option=_ORJSON_OPTIONS) == expected)
    except _OrjsonError:  # pragma: no cover
        return False


_ENCODER: list[Callable[[dict[str, Any]], bytes | None]] = []
"""The fast encoder in use, chosen on first use (:func:`_orjson_agrees` takes a millisecond);
the tests put :func:`_json_fast` here to run the standard library's path."""


def fast_encoder_name() -> str:
    """``"orjson"`` or ``"json"``: which C encoder :func:`canonical_json` uses here."""
    return "orjson" if _encoder() is _orjson_fast else "json"


def _encoder() -> Callable[[dict[str, Any]], bytes | None]:
    if not _ENCODER:
        _ENCODER.append(_orjson_fast if _orjson_agrees() else _json_fast)
    return _ENCODER[0]


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of a payload: what the ledger hashes and stores.

    The same bytes as ``canonical_payload(payload)[0]``, without the plain copy the
    ledger does not need; payloads outside the fast encoder's domain, and every
    payload that must be refused, take the reference path.
    """
    if type(payload) is dict:
        encoded = (_ENCODER[0] if _ENCODER else _encoder())(payload)
        if encoded is not None:
            return encoded
    return canonical_payload(payload)[0]


def canonical(value: Any) -> bytes:
    """RFC 8785 bytes of an already plain JSON value (statements the ledger itself builds)."""
    return rfc8785.dumps(value)


RECORD_FORMAT = b'{"payload":%b,"seq":%d,"ts":"%b","type":"%b"}'
"""A record's bytes from (payload bytes, seq, ts bytes, type bytes); see :func:`record_bytes`."""


def record_bytes(payload_json: bytes, seq: int, ts: str, type_value: str) -> bytes:
    """The canonical record ``{"payload":…,"seq":…,"ts":…,"type":…}``.

    Keys sort as payload < seq < ts < type, and seq, ts and type are written
    without escapes, so plain concatenation *is* the RFC 8785 form of the record;
    a test checks it against ``rfc8785.dumps`` of the whole object.
    """
    return RECORD_FORMAT % (payload_json, seq, ts.encode(), type_value.encode())


def record_suffix(seq: int, ts: str, type_value: str) -> bytes:
    """The tail of a record's bytes that the indexed columns must reproduce."""
    return b',"seq":%d,"ts":"%b","type":"%b"}' % (seq, ts.encode(), type_value.encode())


def parse_record(body: bytes) -> dict[str, Any]:
    """The stored record as JSON; a row edited into something else is a :class:`LedgerError`."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LedgerError(f"stored record is not JSON ({exc}): {bytes(body[:80])!r}") from exc
    if not isinstance(value, dict):
        raise LedgerError(f"stored record is not a JSON object: {body[:80]!r}")
    return value
