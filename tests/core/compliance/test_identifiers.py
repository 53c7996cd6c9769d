"""LEI (ISO 17442, MOD 97-10) and ISIN (ISO 6166, Luhn) check digits, and MIC / CFI shapes."""

from __future__ import annotations

import pytest

from crypto_bot_core.builtins.standard_reporters import (
    cfi_problem,
    isin_check_digit,
    isin_problem,
    lei_problem,
    mic_problem,
)

# Published LEIs: GLEIF itself, Deutsche Bank AG, Bloomberg Finance L.P.
VALID_LEIS = ["506700GE1G29325QX363", "7LTWFZYICNSX8D621K86", "5493001KJTIIGC8Y1R12"]
# Published ISINs: Apple, Bayer, BAE Systems, Treasury Corp. of Victoria (letters in the body).
VALID_ISINS = ["US0378331005", "DE000BAY0017", "GB0002634946", "AU0000XVGZA3"]


@pytest.mark.parametrize("lei", VALID_LEIS)
def test_published_leis_are_valid(lei: str) -> None:
    assert lei_problem(lei) is None


@pytest.mark.parametrize(
    ("lei", "expected"),
    [
        # one digit changed: 63 -> 64
        ("506700GE1G29325QX364", "check digits are 64 but ISO 17442 (MOD 97-10) gives 63"),
        # two body characters swapped
        ("506700GE1G29325XQ363", "is not a valid LEI"),
        # the ESMA example's placeholder has the right shape but not the right digits
        ("TESTLEI0000000000001", "gives 38 for TESTLEI00000000000"),
    ],
)
def test_wrong_check_digits_are_named(lei: str, expected: str) -> None:
    problem = lei_problem(lei)
    assert problem is not None
    assert expected in problem


@pytest.mark.parametrize(
    "lei", ["506700GE1G29325QX36", "506700ge1g29325qx363", "506700GE1G29325QX3A"]
)
def test_malformed_lei_is_refused_for_its_shape(lei: str) -> None:
    problem = lei_problem(lei)
    assert problem is not None
    assert "is not an LEI: an LEI is 20 characters" in problem


@pytest.mark.parametrize("isin", VALID_ISINS)
def test_published_isins_are_valid(isin: str) -> None:
    assert isin_problem(isin) is None
    assert isin_check_digit(isin[:11]) == int(isin[11])


def test_isin_check_digit_worked_by_hand() -> None:
    # US037833100: U=30 S=28 -> "3028037833100"; doubling every other digit from the
    # right: 0->0 0 1->2 3 3->6 8 7->14(5) 3 0->0 8 2->4 0 3->6 = 45 -> check 5
    assert isin_check_digit("US037833100") == 5


@pytest.mark.parametrize(
    ("isin", "expected"),
    [
        ("US0378331006", "check digit is 6 but the Luhn algorithm gives 5 for US037833100"),
        ("XX0000000000", "gives 2 for XX000000000"),
        ("US037833100", "is not an ISIN"),
        ("1S0378331005", "is not an ISIN"),
    ],
)
def test_wrong_isins_are_named(isin: str, expected: str) -> None:
    problem = isin_problem(isin)
    assert problem is not None
    assert expected in problem


def test_mic_and_cfi_shapes() -> None:
    assert mic_problem("XOFF") is None
    assert "use XOFF" in (mic_problem("xoff") or "")
    assert cfi_problem("FFICSX") is None
    assert "category 'Z'" in (cfi_problem("ZZZZZZ") or "")
    assert "6 upper-case letters" in (cfi_problem("FFIC") or "")
