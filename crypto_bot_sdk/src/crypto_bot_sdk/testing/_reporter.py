"""Conformance checks of the Reporter contract: every format renders, byte for byte
the same each time, from the requested period's records only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, ClassVar

import pytest

from crypto_bot_sdk._contracts import Component, Reporter
from crypto_bot_sdk._decisions import LedgerRecord, ReportArtefact, ReportPeriod
from crypto_bot_sdk._errors import CryptoBotError
from crypto_bot_sdk.testing._fakes import FIXED_NOW
from crypto_bot_sdk.testing._ledger import LedgerChain, sample_trading_records, shifted_outside
from crypto_bot_sdk.testing._support import (
    ComponentFactory,
    ContractConformance,
    build_component,
    run_async,
    started,
)


def _render_all(
    factory: ComponentFactory, records: Sequence[LedgerRecord], period: ReportPeriod
) -> tuple[str, dict[str, ReportArtefact]]:
    """The reporter's name and one artefact per declared format, from a fresh instance."""

    async def scenario() -> tuple[str, dict[str, ReportArtefact]]:
        async with started(factory, (Reporter,)) as reporter:
            artefacts = {}
            for fmt in reporter.formats:
                artefact = reporter.render(records, period, fmt)
                assert isinstance(artefact, ReportArtefact), (
                    f"render(..., {fmt!r}) returned a {type(artefact).__qualname__}, "
                    "not a crypto_bot_sdk.ReportArtefact"
                )
                artefacts[fmt] = artefact
            return reporter.name, artefacts

    return run_async(scenario)


def _first_difference(one: bytes, other: bytes) -> str:
    index = next((i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), None)
    if index is None:
        return f"lengths {len(one)} and {len(other)}"
    window = slice(index, index + 40)
    return f"first difference at byte {index}: {one[window]!r} vs {other[window]!r}"


class ReporterConformance(ContractConformance):
    """Checks of a :class:`~crypto_bot_sdk.Reporter`.

    Override ``manifest`` and ``component_factory``; ``ledger_records`` and
    ``period`` default to a sample trading day (:func:`sample_trading_records`)
    starting at sequence 100, so the kit can put records before and after the
    period. Give your own when the reporter needs other record types.
    """

    contract: ClassVar[type[Component[Any]]] = Reporter

    @pytest.fixture
    def period(self) -> ReportPeriod:
        """Override: the period to report on."""
        return ReportPeriod(start=FIXED_NOW, end=FIXED_NOW + timedelta(days=1))

    @pytest.fixture
    def ledger_records(self, period: ReportPeriod) -> Sequence[LedgerRecord]:
        """Override: the ledger records to render (start above sequence 0 if you can)."""
        return sample_trading_records(
            start=period.start, orders=6, chain=LedgerChain(start_sequence=100)
        )

    @pytest.fixture
    def kit_artefacts(
        self,
        component_factory: ComponentFactory,
        ledger_records: Sequence[LedgerRecord],
        period: ReportPeriod,
    ) -> tuple[str, dict[str, ReportArtefact]]:
        """The kit's own: one artefact per declared format (do not override)."""
        return _render_all(component_factory, ledger_records, period)

    def test_formats_declared(self, component_factory: ComponentFactory) -> None:
        formats = type(build_component(component_factory, (Reporter,))).formats
        named = bool(formats) and all(isinstance(f, str) and f for f in formats)
        assert named, (
            f"formats is {formats!r}; declare a non-empty tuple of format names, e.g. ('json',)"
        )
        assert len(set(formats)) == len(formats), f"formats {formats!r} repeats a name"

    def test_every_format_renders(
        self, kit_artefacts: tuple[str, dict[str, ReportArtefact]], period: ReportPeriod
    ) -> None:
        name, artefacts = kit_artefacts
        for fmt, artefact in artefacts.items():
            assert artefact.content, f"the {fmt!r} report is empty"
            assert artefact.reporter == name, (
                f"the {fmt!r} artefact names reporter {artefact.reporter!r}, not {name!r}"
            )
            assert artefact.period == period, (
                f"the {fmt!r} artefact covers {artefact.period}, but {period} was asked for"
            )

    def test_same_records_same_bytes(
        self,
        component_factory: ComponentFactory,
        ledger_records: Sequence[LedgerRecord],
        period: ReportPeriod,
        kit_artefacts: tuple[str, dict[str, ReportArtefact]],
    ) -> None:
        _, first = kit_artefacts

        async def twice() -> dict[str, bytes]:
            async with started(component_factory, (Reporter,)) as reporter:
                for fmt in reporter.formats:
                    reporter.render(ledger_records, period, fmt)
                return {
                    fmt: reporter.render(ledger_records, period, fmt).content
                    for fmt in reporter.formats
                }

        same_instance = run_async(twice)
        fresh = _render_all(component_factory, ledger_records, period)[1]
        fresh_instance = {fmt: artefact.content for fmt, artefact in fresh.items()}
        for fmt, artefact in first.items():
            for label, again in (("the same", same_instance), ("a fresh", fresh_instance)):
                assert again[fmt] == artefact.content, (
                    f"rendering the {fmt!r} report again from {label} instance changed its "
                    f"bytes ({_first_difference(artefact.content, again[fmt])}); a report "
                    "must not depend on the wall clock, randomness or earlier calls"
                )

    def test_records_outside_period_ignored(
        self,
        component_factory: ComponentFactory,
        ledger_records: Sequence[LedgerRecord],
        period: ReportPeriod,
        kit_artefacts: tuple[str, dict[str, ReportArtefact]],
    ) -> None:
        before, after = shifted_outside(ledger_records, period.start, period.end)
        widened = [*before, *ledger_records, *after]
        _, artefacts = _render_all(component_factory, widened, period)
        for fmt, artefact in kit_artefacts[1].items():
            assert artefacts[fmt].content == artefact.content, (
                f"adding {len(before)} record(s) before and {len(after)} at or after the period "
                f"changed the {fmt!r} report "
                f"({_first_difference(artefact.content, artefacts[fmt].content)}); "
                "a report covers [start, end) only"
            )

    def test_records_unchanged(
        self,
        component_factory: ComponentFactory,
        ledger_records: Sequence[LedgerRecord],
        period: ReportPeriod,
    ) -> None:
        before = [record.model_dump() for record in ledger_records]
        _render_all(component_factory, ledger_records, period)
        assert [record.model_dump() for record in ledger_records] == before, (
            "render changed the ledger records it was given"
        )

    def test_unknown_format_refused(
        self,
        component_factory: ComponentFactory,
        ledger_records: Sequence[LedgerRecord],
        period: ReportPeriod,
    ) -> None:
        async def scenario() -> None:
            async with started(component_factory, (Reporter,)) as reporter:
                try:
                    reporter.render(ledger_records, period, "no-such-format")
                except CryptoBotError:
                    return
            pytest.fail(
                "render(..., 'no-such-format') did not refuse a format missing from "
                "formats; raise a crypto_bot_sdk error (e.g. ConfigError) naming the format",
                pytrace=False,
            )

        run_async(scenario)
