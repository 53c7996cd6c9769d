"""``mifir_transactions``: the ISO 20022 MiFIR transaction report of a period.

One file per period: a head.003 ``BizData`` envelope holding a head.001
business application header (``AppHdr``) and an auth.016 ``Document``
(FinancialInstrumentReportingTransactionReport) with one ``New`` transaction
per fill of a reportable instrument. The firm deals on own account (``DEAL``)
through algorithms: the investment decision (field 57) is the algorithm of
the policy behind the order, the execution (field 59) the routing algorithm.
A manual order names its person in field 57 (the one the ledger records as
having decided, identified through ``decision_persons``); a kill switch a
person pulled names that person in field 59 too, as the kill's orders are
executed as that person decided, not as an algorithm would.

The bytes are deterministic: the creation time in the header is the period's
end (not the wall clock), the message id is derived from the period and each
transaction id from the venue and fill id (so a correction can cancel it
later by the same id). The XSD checks shapes only; the check digits of every
LEI and ISIN are validated when the settings load (see ``identifiers``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crypto_bot_core.builtins.standard_reporters.executions import Execution, executions
from crypto_bot_core.builtins.standard_reporters.mifir_config import (
    DecisionPerson,
    InstrumentIdentification,
    MifirConfig,
    _decimal_fits,
)
from crypto_bot_core.builtins.standard_reporters.rendering import (
    artefact,
    check_format,
    iso_utc,
    period_filename,
)
from crypto_bot_sdk import (
    CryptoBotError,
    Fill,
    LedgerRecord,
    ReportArtefact,
    Reporter,
    ReportPeriod,
    Side,
)

if TYPE_CHECKING:
    from lxml import etree

HEAD_003 = "urn:iso:std:iso:20022:tech:xsd:head.003.001.01"
HEAD_001 = "urn:iso:std:iso:20022:tech:xsd:head.001.001.01"
HEADER_VERSION = "head.001.001.01"


class NothingToReportError(CryptoBotError):
    """The period holds no reportable transaction: an auth.016 file needs at least one."""


class ReportValidationError(CryptoBotError):
    """The rendered file does not validate against the configured schema."""


def _lxml() -> Any:
    try:
        from lxml import etree
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise CryptoBotError(
            "the MiFIR transaction report needs lxml: pip install 'crypto-bot-core[compliance]'"
        ) from exc
    return etree


def _number(value: Decimal, what: str, total: int, fraction: int) -> str:
    if not _decimal_fits(value, total, fraction):
        raise CryptoBotError(
            f"{what} {value} does not fit the report (at most {total} digits, {fraction} "
            "decimals); check the instrument's lot and tick sizes"
        )
    return format(value.normalize(), "f")


class _Builder:
    """Builds one BizData tree; one instance per render, nothing kept between renders."""

    def __init__(self, config: MifirConfig, etree: Any) -> None:
        self.config = config
        self.etree = etree
        self.ns = f"urn:iso:std:iso:20022:tech:xsd:{config.message_version}"

    def el(self, parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> Any:
        node = self.etree.SubElement(parent, f"{{{self.ns}}}{tag}", attrib=attrs or None)
        if text is not None:
            node.text = text
        return node

    def header(self, parent: etree._Element, period: ReportPeriod) -> None:
        app = self.etree.SubElement(parent, f"{{{HEAD_001}}}AppHdr", nsmap={None: HEAD_001})

        def party(tag: str, ident: str) -> None:
            node = self.etree.SubElement(app, f"{{{HEAD_001}}}{tag}")
            for name in ("OrgId", "Id", "OrgId", "Othr", "Id"):
                node = self.etree.SubElement(node, f"{{{HEAD_001}}}{name}")
            node.text = ident

        party("Fr", self.config.submitter)
        party("To", self.config.competent_authority)
        start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
        message_id = f"{self.config.message_id_prefix}{start:%Y%m%d%H%M}{end:%Y%m%d%H%M}"
        for tag, text in (
            ("BizMsgIdr", message_id),
            ("MsgDefIdr", self.config.message_version),
            ("CreDt", end.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ):
            self.etree.SubElement(app, f"{{{HEAD_001}}}{tag}").text = text

    def party(self, parent: etree._Element, tag: str, *, lei: str | None, mic: str) -> None:
        ident = self.el(self.el(self.el(parent, tag), "AcctOwnr"), "Id")
        if lei is not None:
            self.el(ident, "LEI", lei)
        else:
            self.el(ident, "MIC", mic)

    def transaction(
        self,
        report: etree._Element,
        fill: Fill,
        execution: Execution,
        instrument: InstrumentIdentification,
    ) -> None:
        config = self.config
        new = self.el(self.el(report, "Tx"), "New")
        digest = hashlib.sha256(f"{fill.venue}\x1f{fill.fill_id}".encode()).hexdigest()
        self.el(new, "TxId", f"{config.transaction_id_prefix}{digest[:40].upper()}")
        self.el(new, "ExctgPty", config.executing_entity_lei)
        self.el(new, "InvstmtPtyInd", "true" if config.investment_firm else "false")
        self.el(new, "SubmitgPty", config.submitter)
        venue = config.venue(fill.venue)
        ours = {"lei": config.executing_entity_lei, "mic": venue.mic}
        theirs = {"lei": venue.counterparty_lei, "mic": venue.mic}
        buyer, seller = (ours, theirs) if fill.side is Side.BUY else (theirs, ours)
        self.party(new, "Buyr", **buyer)
        self.party(new, "Sellr", **seller)
        self.el(self.el(new, "OrdrTrnsmssn"), "TrnsmssnInd", "false")
        tx = self.el(new, "Tx")
        self.el(tx, "TradDt", iso_utc(fill.ts))
        self.el(tx, "TradgCpcty", "DEAL")
        quantity = _number(fill.quantity, f"fill {fill.fill_id}: quantity", 18, 17)
        self.el(self.el(tx, "Qty"), "Unit", quantity)
        price = _number(fill.price, f"fill {fill.fill_id}: price", 18, 13)
        amount = self.el(self.el(self.el(tx, "Pric"), "Pric"), "MntryVal")
        self.el(amount, "Amt", price, Ccy=instrument.price_currency)
        self.el(tx, "TradVn", venue.mic)
        self.instrument(new, instrument)
        self.decision_maker(new, execution)
        self.executor(new, execution)
        self.el(self.el(new, "AddtlAttrbts"), "SctiesFincgTxInd", "false")

    def instrument(self, parent: etree._Element, instrument: InstrumentIdentification) -> None:
        node = self.el(parent, "FinInstrm")
        if instrument.isin is not None:
            self.el(node, "Id", instrument.isin)
            return
        described = instrument.description
        assert described is not None  # the config allows exactly one of the two
        other = self.el(node, "Othr")
        general = self.el(other, "FinInstrmGnlAttrbts")
        self.el(general, "FullNm", described.full_name)
        self.el(general, "ClssfctnTp", described.cfi)
        if described.notional_currency is not None:
            self.el(general, "NtnlCcy", described.notional_currency)
        derivative = self.el(other, "DerivInstrmAttrbts")
        if described.expiry is not None:
            self.el(derivative, "XpryDt", described.expiry.isoformat())
        multiplier = _number(described.price_multiplier, "price multiplier", 18, 17)
        self.el(derivative, "PricMltplr", multiplier)
        single = self.el(self.el(self.el(derivative, "UndrlygInstrm"), "Othr"), "Sngl")
        if described.underlying.isin is not None:
            self.el(single, "ISIN", described.underlying.isin)
        else:
            assert described.underlying.index is not None
            index = self.el(self.el(single, "Indx"), "Nm")
            self.el(self.el(index, "RefRate"), "Nm", described.underlying.index)
        self.el(derivative, "DlvryTp", described.delivery)

    def person_of(self, execution: Execution, field: str) -> DecisionPerson:
        """The person behind a manual order: the one the ledger names, as identified in
        ``decision_persons``, else ``manual_decision_person``."""
        config = self.config
        context = execution.context
        decided_by = context.decided_by if context is not None else None
        person = config.decision_persons.get(decided_by or "", config.manual_decision_person)
        if person is None:
            who = f" by {decided_by!r}" if decided_by else ""
            where = f"decision_persons[{decided_by!r}] or " if decided_by else ""
            raise CryptoBotError(
                f"order {execution.client_order_id} was placed manually{who}, and MiFIR "
                f"field {field} then names the person; set {where}manual_decision_person "
                "in the mifir_transactions settings"
            )
        return person

    def person(self, parent: etree._Element, person: DecisionPerson) -> None:
        prsn = self.el(parent, "Prsn")
        self.el(prsn, "CtryOfBrnch", person.country_of_branch)
        other = self.el(prsn, "Othr")
        self.el(other, "Id", person.id)
        scheme = self.el(other, "SchmeNm")
        if person.scheme == "CONCAT":
            self.el(scheme, "Prtry", "CONCAT")
        else:
            self.el(scheme, "Cd", person.scheme)

    def decision_maker(self, parent: etree._Element, execution: Execution) -> None:
        """Field 57: the person for a manual order, else the policy's algorithm."""
        config = self.config
        node = self.el(parent, "InvstmtDcsnPrsn")
        context = execution.context
        if context is not None and context.manual:
            self.person(node, self.person_of(execution, "57"))
            return
        policy = context.policy if context is not None else ""
        self.el(node, "Algo", config.algorithm_ids.get(policy, config.default_algorithm_id))

    def executor(self, parent: etree._Element, execution: Execution) -> None:
        """Field 59: the router's algorithm, except for a kill switch a person pulled: its
        orders close what is held, at market, where it is held - no algorithm chose how to
        execute them, the person's decision did."""
        node = self.el(parent, "ExctgPrsn")
        context = execution.context
        if context is not None and context.manual and context.kill_switch:
            self.person(node, self.person_of(execution, "59"))
            return
        self.el(node, "Algo", self.config.execution_algorithm_id)


class MifirTransactionReporter(Reporter[MifirConfig]):
    """The period's reportable fills as one ISO 20022 BizData file (head.003/head.001/auth.016)."""

    name = "mifir_transactions"
    config_model = MifirConfig
    formats = ("xml",)

    def __init__(self, config: MifirConfig) -> None:
        super().__init__(config)
        self._schema: Any = None

    def reportable(
        self, records: Sequence[LedgerRecord], period: ReportPeriod
    ) -> list[tuple[Fill, Execution, InstrumentIdentification]]:
        """Fills to report, oldest first; refuses a symbol neither identified nor excluded."""
        found = []
        for execution in executions(records, period):
            for fill in execution.fills:
                if self.config.excluded(fill.symbol):
                    continue
                instrument = self.config.instruments.get(fill.symbol)
                if instrument is None:
                    raise CryptoBotError(
                        f"fill {fill.fill_id} is in {fill.symbol!r}, which has no instrument "
                        f"identification: add instruments[{fill.symbol!r}] with an 'isin' or a "
                        "'description' (MiFIR fields 42-56) and a 'price_currency', or list the "
                        "symbol in exclude_symbols (or set exclude_spot) if it is not a MiFID "
                        "financial instrument"
                    )
                found.append((fill, execution, instrument))
        found.sort(key=lambda item: (item[0].ts, item[0].venue, item[0].fill_id))
        return found

    def render(
        self, records: Sequence[LedgerRecord], period: ReportPeriod, fmt: str
    ) -> ReportArtefact:
        check_format("MiFIR transaction report", fmt, self.formats)
        reportable = self.reportable(records, period)
        if not reportable:
            raise NothingToReportError(
                f"no reportable transaction from {iso_utc(period.start)} to "
                f"{iso_utc(period.end)}: an auth.016 report needs at least one, so there is "
                "nothing to submit for this period"
            )
        etree = _lxml()
        builder = _Builder(self.config, etree)
        root = etree.Element(f"{{{HEAD_003}}}BizData", nsmap={None: HEAD_003})
        builder.header(etree.SubElement(root, f"{{{HEAD_003}}}Hdr"), period)
        payload = etree.SubElement(root, f"{{{HEAD_003}}}Pyld")
        document = etree.SubElement(payload, f"{{{builder.ns}}}Document", nsmap={None: builder.ns})
        report = builder.el(document, "FinInstrmRptgTxRpt")
        for fill, execution, instrument in reportable:
            builder.transaction(report, fill, execution, instrument)
        content: bytes = etree.tostring(
            root, xml_declaration=True, encoding="UTF-8", pretty_print=True
        )
        if self.config.schema_path is not None:
            self._validate(etree, content)
        filename = period_filename(self.config.filename_prefix, period, "xml")
        return artefact(self.name, filename, "xml", content, period)

    def _validate(self, etree: Any, content: bytes) -> None:
        path = self.config.schema_path
        if self._schema is None:
            try:
                self._schema = etree.XMLSchema(etree.parse(str(path)))
            except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
                raise CryptoBotError(
                    f"cannot load the schema {path} named by schema_path: {exc}"
                ) from exc
        document = etree.fromstring(content)
        if not self._schema.validate(document):
            first = self._schema.error_log[0]
            raise ReportValidationError(
                f"the MiFIR report does not validate against {path}: line {first.line}: "
                f"{first.message} ({len(self._schema.error_log)} error(s))"
            )
