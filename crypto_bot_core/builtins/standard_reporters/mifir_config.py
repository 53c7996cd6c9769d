"""Settings of the MiFIR transaction report: who reports, to whom, and how instruments are named.

Everything the ledger cannot know lives here: the firm's LEI, the competent
authority, the MIC of each venue and how each symbol is identified as a
financial instrument. Identifiers are checked when the settings load (LEI and
ISIN check digits, MIC and CFI formats), so a typo stops the configuration
with the key that holds it, not the regulator's validation days later.

Instrument identification follows MiFIR (RTS 22, Annex I): an instrument with
an ISIN is reported by it (field 41); one without -- most crypto derivatives,
which trade outside EU venues and have no ISIN -- by its description (fields
42 to 56: full name, CFI, notional currency, price multiplier, underlying,
expiry, delivery type). Spot crypto-assets are not MiFID financial
instruments and are not reported under MiFIR (MiCA covers them); list them in
``exclude_symbols`` or set ``exclude_spot``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from crypto_bot_core.builtins.standard_reporters.identifiers import (
    cfi_problem,
    isin_problem,
    lei_problem,
    mic_problem,
    require,
)
from crypto_bot_sdk import PluginConfig, parse_symbol

MESSAGE_VERSIONS = ("auth.016.001.01", "auth.016.001.02", "auth.016.001.03")
"""auth.016.001.01 is the version ESMA's usage guideline accepts; the later ISO versions
are offered for authorities that take them. The envelope (head.003.001.01) and the header
(head.001.001.01) do not change with it."""
MessageVersion = Literal["auth.016.001.01", "auth.016.001.02", "auth.016.001.03"]
ALGO_PATTERN = r"^[A-Z0-9]{1,50}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
PERSON_ID_PATTERN = re.compile(
    r"^(([A-Z]{2}[A-Z0-9]{1,33})|([A-Z]{2}[0-9]{8}[A-Z][A-Z#]{4}[A-Z][A-Z#]{4})"
    r"|(FI[A-Z0-9\-+]{1,33})|(LV[A-Z0-9\-]{1,33}))$"
)


def _lei(value: str) -> str:
    require(lei_problem(value))
    return value


def _decimal_fits(value: Decimal, total: int, fraction: int) -> bool:
    """Whether ``value`` fits an XSD decimal with ``totalDigits``/``fractionDigits``."""
    _sign, digits, exponent = value.normalize().as_tuple()
    assert isinstance(exponent, int)
    places = max(-exponent, 0)
    width = len(digits) + max(exponent, 0)
    return width <= total and places <= fraction


class Underlying(PluginConfig):
    """What a derivative without an ISIN is on: an ISIN, or the name of an index or rate."""

    isin: str | None = Field(default=None, description="The underlying's ISIN.")
    index: str | None = Field(
        default=None,
        min_length=1,
        max_length=25,
        description="Name of the underlying index or reference price (at most 25 characters), "
        "e.g. 'BTC/USD' for a bitcoin perpetual.",
    )

    @field_validator("isin")
    @classmethod
    def _isin(cls, value: str | None) -> str | None:
        if value is not None:
            require(isin_problem(value))
        return value

    @model_validator(mode="after")
    def _one(self) -> Underlying:
        if (self.isin is None) == (self.index is None):
            raise ValueError("give the underlying either an 'isin' or an 'index', exactly one")
        return self


class InstrumentDescription(PluginConfig):
    """MiFIR fields 42-56 for an instrument that has no ISIN (a crypto derivative)."""

    full_name: str = Field(min_length=1, max_length=350, description="Field 42: full name.")
    cfi: str = Field(description="Field 43: ISO 10962 CFI code, e.g. FFICSX for a future.")
    notional_currency: str | None = Field(
        default=None, pattern=CURRENCY_PATTERN, description="Field 44: ISO 4217 currency."
    )
    price_multiplier: Decimal = Field(
        default=Decimal(1), gt=0, description="Field 46: units of the underlying per contract."
    )
    underlying: Underlying = Field(description="Fields 47-48: the underlying.")
    expiry: date | None = Field(default=None, description="Field 52: none for a perpetual.")
    delivery: Literal["CASH", "PHYS", "OPTL"] = Field(
        default="CASH", description="Field 55: delivery type; perpetuals settle in cash."
    )

    @field_validator("cfi")
    @classmethod
    def _cfi(cls, value: str) -> str:
        require(cfi_problem(value))
        return value

    @field_validator("price_multiplier")
    @classmethod
    def _multiplier(cls, value: Decimal) -> Decimal:
        if not _decimal_fits(value, 18, 17):
            raise ValueError(
                f"price_multiplier {value} has more than 18 digits or 17 decimals, more than "
                "the report can carry"
            )
        return value


class InstrumentIdentification(PluginConfig):
    """How one symbol is reported: by ISIN or by description, and in which currency."""

    isin: str | None = Field(default=None, description="Field 41, when the instrument has one.")
    description: InstrumentDescription | None = Field(
        default=None, description="Fields 42-56, for an instrument without an ISIN."
    )
    price_currency: str = Field(
        pattern=CURRENCY_PATTERN,
        description="ISO 4217 currency of the price (field 34). USDT or USDC are not ISO 4217 "
        "codes: the firm decides, and documents, which currency a stablecoin quote is "
        "reported in (USD for USDT and USDC, for instance).",
    )

    @field_validator("isin")
    @classmethod
    def _isin(cls, value: str | None) -> str | None:
        if value is not None:
            require(isin_problem(value))
        return value

    @model_validator(mode="after")
    def _one(self) -> InstrumentIdentification:
        if (self.isin is None) == (self.description is None):
            raise ValueError(
                "identify the instrument by 'isin' or by 'description' (MiFIR fields 42-56, "
                "for instruments without an ISIN), exactly one of them"
            )
        return self


class VenueIdentification(PluginConfig):
    """A venue as the report names it: its MIC and, when known, the counterparty's LEI."""

    mic: str = Field(
        default="XOFF",
        description="Field 36: the venue's MIC; XOFF for a venue that is not an EU trading "
        "venue (most crypto exchanges).",
    )
    counterparty_lei: str | None = Field(
        default=None,
        description="LEI of the counterparty (the exchange acting as principal); without it "
        "the counterparty is identified by the MIC.",
    )

    @field_validator("mic")
    @classmethod
    def _mic(cls, value: str) -> str:
        require(mic_problem(value))
        return value

    @field_validator("counterparty_lei")
    @classmethod
    def _lei(cls, value: str | None) -> str | None:
        return _lei(value) if value is not None else None


class DecisionPerson(PluginConfig):
    """The person who decides manual orders (field 57), identified as RTS 22 article 6 asks."""

    country_of_branch: str = Field(pattern=r"^[A-Z]{2}$")
    id: str = Field(description="National identifier (NIDN), passport (CCPT) or CONCAT code.")
    scheme: Literal["NIDN", "CCPT", "CONCAT"] = "NIDN"

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not PERSON_ID_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not an RTS 22 person identifier: a 2-letter country code then "
                "the national identifier, or the CONCAT code"
            )
        return value


class MifirConfig(PluginConfig):
    """Settings of the ``mifir_transactions`` reporter."""

    executing_entity_lei: str = Field(description="Field 4: the firm's LEI.")
    submitting_entity_lei: str | None = Field(
        default=None, description="Field 6: who submits (an ARM); default: the firm itself."
    )
    competent_authority: str = Field(
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166 country code of the receiving authority (the header's To).",
    )
    message_version: MessageVersion = Field(
        default="auth.016.001.01", description=f"One of {', '.join(MESSAGE_VERSIONS)}."
    )
    message_id_prefix: str = Field(default="CB", pattern=r"^[A-Z0-9]{0,11}$")
    transaction_id_prefix: str = Field(default="", pattern=r"^[A-Z0-9]{0,12}$")
    investment_firm: bool = Field(default=True, description="Field 5.")
    default_algorithm_id: str = Field(
        default="CRYPTOBOT", pattern=ALGO_PATTERN, description="Field 57 for any policy."
    )
    algorithm_ids: dict[str, str] = Field(
        default_factory=dict, description="Policy name -> field 57 algorithm id."
    )
    execution_algorithm_id: str = Field(
        default="CRYPTOBOTROUTER", pattern=ALGO_PATTERN, description="Field 59."
    )
    manual_decision_person: DecisionPerson | None = Field(
        default=None,
        description="Fields 57 (and 59 for the kill switch) for manual orders whose decider "
        "is not in decision_persons; required if such an order is reported.",
    )
    decision_persons: dict[str, DecisionPerson] = Field(
        default_factory=dict,
        description="Who decided a manual order, as the ledger names them (the service "
        "token's subject, the CLI user of `cryptobot kill`) -> that person's RTS 22 "
        "identification, for fields 57 and 59.",
    )
    venues: dict[str, VenueIdentification] = Field(default_factory=dict)
    default_venue: VenueIdentification = Field(default_factory=VenueIdentification)
    instruments: dict[str, InstrumentIdentification] = Field(default_factory=dict)
    exclude_symbols: tuple[str, ...] = Field(
        default=(), description="Symbols that are not MiFID financial instruments."
    )
    exclude_spot: bool = Field(
        default=False, description="Leave out every spot symbol (BASE/QUOTE)."
    )
    schema_path: Path | None = Field(
        default=None,
        description="XSD to validate every file against before it is returned (the "
        "mifir-file-driver.xsd importing ESMA's schemas); needs lxml.",
    )
    filename_prefix: str = Field(
        default="mifir-transactions", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
    )

    @field_validator("executing_entity_lei")
    @classmethod
    def _executing(cls, value: str) -> str:
        return _lei(value)

    @field_validator("submitting_entity_lei")
    @classmethod
    def _submitting(cls, value: str | None) -> str | None:
        return _lei(value) if value is not None else None

    @field_validator("algorithm_ids")
    @classmethod
    def _algos(cls, value: dict[str, str]) -> dict[str, str]:
        for policy, algo in value.items():
            if not re.match(ALGO_PATTERN, algo):
                raise ValueError(
                    f"algorithm_ids[{policy!r}] is {algo!r}; an algorithm id is 1-50 upper-case "
                    "letters or digits"
                )
        return value

    @field_validator("instruments")
    @classmethod
    def _symbols(
        cls, value: dict[str, InstrumentIdentification]
    ) -> dict[str, InstrumentIdentification]:
        for symbol in value:
            try:
                parse_symbol(symbol)
            except ValueError as exc:
                raise ValueError(f"instruments: {exc}") from None
        return value

    @property
    def submitter(self) -> str:
        return self.submitting_entity_lei or self.executing_entity_lei

    def venue(self, name: str) -> VenueIdentification:
        return self.venues.get(name, self.default_venue)

    def excluded(self, symbol: str) -> bool:
        return symbol in self.exclude_symbols or (
            self.exclude_spot and parse_symbol(symbol)[2] is None
        )
