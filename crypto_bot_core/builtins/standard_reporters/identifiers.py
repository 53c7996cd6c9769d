"""Check digits and formats of the identifiers a MiFIR transaction report carries.

The XML schema only checks the *shape* of an LEI or an ISIN; a regulator's
validation rejects the file when a check digit is wrong, days after it was
sent. These checks run when the reporter's settings are loaded, so a typo in
an LEI or ISIN stops the configuration, not the submission.

* LEI (ISO 17442): 18 alphanumerics and 2 check digits; letters become 10..35
  and the whole number must be 1 modulo 97 (ISO 7064 MOD 97-10, as in IBANs).
* ISIN (ISO 6166): a 2-letter country prefix, 9 alphanumerics and a check
  digit; letters become 10..35 and the Luhn sum of the digit string, check
  digit included, must be a multiple of 10.
* MIC (ISO 10383): 4 alphanumerics (``XOFF`` for off-venue).
* CFI (ISO 10962): 6 letters whose first is one of the standard's categories.
"""

from __future__ import annotations

import re

_LEI = re.compile(r"^[A-Z0-9]{18}[0-9]{2}$")
_ISIN = re.compile(r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$")
_MIC = re.compile(r"^[A-Z0-9]{4}$")
_CFI = re.compile(r"^[A-Z]{6}$")
CFI_CATEGORIES = frozenset("ECDROFSHIJKLTM")
"""ISO 10962:2019 categories: equities, CIVs, debt, entitlements, listed options, futures,
swaps, non-listed options, spot, forwards, strategies, financing, referential, others."""


def _digits(text: str) -> str:
    """Letters to numbers (A=10 ... Z=35), digits unchanged, as one digit string."""
    return "".join(str(int(char, 36)) for char in text)


def lei_problem(value: str) -> str | None:
    """Why ``value`` is not a valid LEI, or ``None`` when it is one."""
    if not _LEI.match(value):
        return (
            f"{value!r} is not an LEI: an LEI is 20 characters, 18 upper-case letters or digits "
            "followed by 2 check digits (ISO 17442)"
        )
    if int(_digits(value)) % 97 != 1:
        expected = 98 - int(_digits(value[:18] + "00")) % 97
        return (
            f"{value!r} is not a valid LEI: its check digits are {value[18:]} but ISO 17442 "
            f"(MOD 97-10) gives {expected:02d} for {value[:18]}; check the LEI against the "
            "GLEIF record"
        )
    return None


def isin_problem(value: str) -> str | None:
    """Why ``value`` is not a valid ISIN, or ``None`` when it is one."""
    if not _ISIN.match(value):
        return (
            f"{value!r} is not an ISIN: an ISIN is 12 characters, a 2-letter country code, "
            "9 letters or digits and 1 check digit (ISO 6166)"
        )
    expected = isin_check_digit(value[:11])
    if int(value[11]) != expected:
        return (
            f"{value!r} is not a valid ISIN: its check digit is {value[11]} but the Luhn "
            f"algorithm gives {expected} for {value[:11]}; check the ISIN against the "
            "instrument's reference data (FIRDS)"
        )
    return None


def isin_check_digit(body: str) -> int:
    """The Luhn check digit for the first 11 characters of an ISIN."""
    digits = [int(d) for d in _digits(body)]
    total = 0
    # Doubling starts at the rightmost digit of the body (the check digit is not there yet).
    for position, digit in enumerate(reversed(digits)):
        value = digit * 2 if position % 2 == 0 else digit
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def mic_problem(value: str) -> str | None:
    if not _MIC.match(value):
        return (
            f"{value!r} is not a MIC: a market identifier code is 4 upper-case letters or "
            "digits (ISO 10383); use XOFF for a transaction not executed on a trading venue"
        )
    return None


def cfi_problem(value: str) -> str | None:
    if not _CFI.match(value):
        return f"{value!r} is not a CFI code: it is 6 upper-case letters (ISO 10962)"
    if value[0] not in CFI_CATEGORIES:
        return (
            f"{value!r} is not a CFI code: its category {value[0]!r} is not one of "
            f"{', '.join(sorted(CFI_CATEGORIES))} (ISO 10962)"
        )
    return None


def require(problem: str | None) -> None:
    """Raise ``ValueError(problem)`` when there is one (for pydantic validators)."""
    if problem is not None:
        raise ValueError(problem)
