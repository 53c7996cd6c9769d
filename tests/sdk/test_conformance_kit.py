"""The conformance kit passes correct reference plugins and fails broken ones on the
exact checks each breaks.

The kit's classes run the way a plugin author runs them: as ``Test...``
subclasses in a test module of their own suite, here a fresh pytest session
(``pytester``) with ``--strict-markers`` and ``filterwarnings = error``. The
reference plugins live in ``kit_reference/``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent

INNER_INI = """
[pytest]
filterwarnings = error
addopts = --strict-markers --strict-config -p no:cacheprovider
"""


@dataclass
class Outcome:
    passed: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    skip_reasons: dict[str, str] = field(default_factory=dict)


def conformance_module(
    kit_class: str, fixtures: str, module: str, classes: dict[str, str], extra: str = ""
) -> str:
    """A test module holding one ``Test<name>`` class per component, as an author writes it."""
    components = ", ".join(sorted(set(classes.values())))
    lines = [
        "import pytest",
        f"from crypto_bot_sdk.testing import {kit_class}",
        f"from kit_reference.{module} import {components}",
        f"from kit_reference.fixtures import {fixtures}, manifest_for",
        "",
    ]
    for test_class, component in classes.items():
        lines += [
            f"class {test_class}({fixtures}, {kit_class}):",
            "    @pytest.fixture",
            "    def component_factory(self):",
            f"        return {component}.from_config",
            "",
        ]
    return "\n".join(lines) + extra


def run_kit(pytester: pytest.Pytester, source: str) -> dict[str, Outcome]:
    """Run ``source`` in a fresh session; outcomes per test class, by test name."""
    pytester.syspathinsert(HERE)
    pytester.makeini(INNER_INI)
    pytester.makepyfile(test_plugin_conformance=source)
    recorder = pytester.inline_run()
    collect_failures = [r for r in recorder.getreports("pytest_collectreport") if r.failed]
    assert not collect_failures, collect_failures[0].longreprtext
    outcomes: dict[str, Outcome] = defaultdict(Outcome)
    for report in recorder.getreports("pytest_runtest_logreport"):
        _, test_class, name = report.nodeid.split("::")
        outcome = outcomes[test_class]
        if report.failed:
            outcome.failed.add(name)
        elif report.skipped:
            outcome.skipped.add(name)
            outcome.skip_reasons[name] = str(report.longrepr)
        elif report.when == "call":
            outcome.passed.add(name)
    return dict(outcomes)


SHARED_CHECKS = {
    "test_manifest_declares_kind",
    "test_manifest_api_version_fits_sdk",
    "test_component_fulfils_contract",
    "test_declared_capabilities_are_implemented",
}

EXCHANGE_CHECKS = SHARED_CHECKS | {
    "test_instruments_loaded",
    "test_balances_returned",
    "test_resting_limit_order_rests",
    "test_submit_is_idempotent_by_client_order_id",
    "test_resend_after_fill_does_not_trade_again",
    "test_reused_id_with_other_parameters_refused",
    "test_cancel_resting_order",
    "test_unknown_order_not_found",
    "test_quantity_off_lot_grid_refused",
    "test_price_off_tick_grid_refused",
    "test_unknown_symbol_refused",
    "test_market_order_fills_after_drive_market",
    "test_partial_fill_reported",
    "test_triggered_order_rests_and_cancels[stop]",
    "test_triggered_order_rests_and_cancels[stop_limit]",
    "test_triggered_order_rests_and_cancels[take_profit]",
    "test_triggered_order_rests_and_cancels[take_profit_limit]",
    "test_post_only_order_rests",
    "test_reduce_only_never_opens_a_position",
    "test_optional_method_works[order_book]",
    "test_optional_method_works[fees]",
    "test_optional_method_works[fill_stream]",
}
SIMULATED_CHECKS = {
    "test_sync_submit_is_submit",
    "test_fills_of_order_match_fetch_fills",
    "test_adopted_instruments_are_listed",
    "test_state_survives_snapshot_and_restore",
    "test_flat_account_pays_no_funding",
    "test_match_event_is_on_market_event",
    "test_closed_orders_are_forgotten",
}
EXCHANGE_UNDECLARED = {
    "test_optional_method_works[positions]",
    "test_optional_method_works[leverage]",
} | SIMULATED_CHECKS


def test_exchange_kit_passes_reference_and_fails_broken(pytester: pytest.Pytester) -> None:
    overclaiming = """
class TestOverclaiming(ExchangeFixtures, ExchangeAdapterConformance):
    @pytest.fixture
    def manifest(self):
        return manifest_for("memory-exchange", "exchange", "positions")
"""
    source = conformance_module(
        "ExchangeAdapterConformance",
        "ExchangeFixtures",
        "exchange",
        {
            "TestReference": "MemoryExchange",
            "TestNonIdempotent": "NonIdempotentExchange",
            "TestLax": "LaxExchange",
            "TestForgetful": "ForgetfulExchange",
        },
        overclaiming,
    )
    results = run_kit(pytester, source)

    reference = results["TestReference"]
    assert reference.failed == set()
    assert reference.passed == EXCHANGE_CHECKS
    assert reference.skipped == EXCHANGE_UNDECLARED
    assert "does not declare capability positions" in reference.skip_reasons[
        "test_optional_method_works[positions]"
    ]

    assert results["TestNonIdempotent"].failed == {
        "test_submit_is_idempotent_by_client_order_id",
        "test_resend_after_fill_does_not_trade_again",
        "test_reused_id_with_other_parameters_refused",
    }
    assert results["TestLax"].failed == {
        "test_quantity_off_lot_grid_refused",
        "test_price_off_tick_grid_refused",
        "test_unknown_symbol_refused",
        "test_unknown_order_not_found",
        "test_reduce_only_never_opens_a_position",
    }
    assert results["TestForgetful"].failed == {
        "test_cancel_resting_order",
        "test_partial_fill_reported",
    }
    # Declaring a capability the adapter does not implement fails, and capability-gated
    # checks it did not declare are skipped.
    overclaimed = results["TestOverclaiming"]
    assert overclaimed.failed == {
        "test_declared_capabilities_are_implemented",
        "test_optional_method_works[positions]",
    }
    assert "test_partial_fill_reported" in overclaimed.skipped
    for name in ("TestNonIdempotent", "TestLax", "TestForgetful"):
        outcome = results[name]
        assert outcome.passed == EXCHANGE_CHECKS - outcome.failed, name


AGENT_CHECKS = SHARED_CHECKS | {
    "test_signal_is_well_formed",
    "test_score_and_confidence_bounded",
    "test_same_input_same_signal",
    "test_fresh_instances_agree",
    "test_market_view_not_mutated",
}
AGENT_CAPABILITY_CHECKS = {
    "test_precompute_matches_evaluate",
    "test_signal_from_score_keeps_the_score",
    "test_explain_gives_finite_contributions",
}


def test_agent_kit_passes_reference_and_fails_broken(pytester: pytest.Pytester) -> None:
    source = conformance_module(
        "AgentConformance",
        "AgentFixtures",
        "components",
        {
            "TestReference": "MomentumAgent",
            "TestRandom": "RandomAgent",
            "TestUnbounded": "UnboundedAgent",
            "TestPeeking": "PeekingAgent",
        },
    )
    results = run_kit(pytester, source)
    assert results["TestReference"].passed == AGENT_CHECKS
    assert results["TestReference"].failed == set()
    assert results["TestReference"].skipped == AGENT_CAPABILITY_CHECKS
    assert results["TestRandom"].failed == {
        "test_same_input_same_signal",
        "test_fresh_instances_agree",
    }
    assert results["TestUnbounded"].failed == {
        "test_signal_is_well_formed",
        "test_score_and_confidence_bounded",
    }
    # Writing to the view also changes what the agent sees next, so its signals drift too.
    assert results["TestPeeking"].failed == {
        "test_market_view_not_mutated",
        "test_same_input_same_signal",
        "test_fresh_instances_agree",
    }


def test_agent_capability_checks_pass_reference_and_fail_broken(
    pytester: pytest.Pytester,
) -> None:
    source = conformance_module(
        "AgentConformance",
        "PrecomputingAgentFixtures",
        "components",
        {
            "TestReference": "PrecomputingMomentum",
            "TestBlockBound": "BlockBoundMomentum",
            "TestVague": "VagueMomentum",
            "TestUndeclared": "MomentumAgent",
        },
    )
    results = run_kit(pytester, source)
    reference = results["TestReference"]
    assert reference.passed == AGENT_CHECKS | AGENT_CAPABILITY_CHECKS
    assert reference.failed | reference.skipped == set()
    # Forgetting the window at each block is invisible in one block, visible in small ones.
    assert results["TestBlockBound"].failed == {"test_precompute_matches_evaluate"}
    assert results["TestVague"].failed == {"test_explain_gives_finite_contributions"}
    # The manifest promises precompute and explain; the plain agent overrides neither.
    undeclared = results["TestUndeclared"]
    assert "test_declared_capabilities_are_implemented" in undeclared.failed
    assert "test_precompute_matches_evaluate" in undeclared.failed


def test_simulated_venue_checks_pass_reference_and_fail_broken(
    pytester: pytest.Pytester,
) -> None:
    source = conformance_module(
        "ExchangeAdapterConformance",
        "SimulatedExchangeFixtures",
        "exchange",
        {
            "TestReference": "SimulatedMemoryExchange",
            "TestAmnesiac": "AmnesiacExchange",
            "TestFeelessSync": "FeelessSyncExchange",
            "TestHoarding": "HoardingExchange",
        },
    )
    results = run_kit(pytester, source)
    reference = results["TestReference"]
    assert reference.failed == set()
    assert reference.passed == EXCHANGE_CHECKS | SIMULATED_CHECKS
    assert results["TestAmnesiac"].failed == {"test_state_survives_snapshot_and_restore"}
    # Fills are compared field by field: a fee lost on the synchronous path is caught.
    assert results["TestFeelessSync"].failed == {"test_match_event_is_on_market_event"}
    assert results["TestHoarding"].failed == {"test_closed_orders_are_forgotten"}
    for name in ("TestAmnesiac", "TestFeelessSync", "TestHoarding"):
        outcome = results[name]
        assert outcome.passed == (EXCHANGE_CHECKS | SIMULATED_CHECKS) - outcome.failed, name


DATASOURCE_CHECKS = SHARED_CHECKS | {
    "test_stream_yields_market_events",
    "test_timestamps_non_decreasing",
    "test_no_duplicate_events",
    "test_instruments_cover_event_symbols",
    "test_window_respected",
    "test_history_returns_one_symbol_in_window",
    "test_fresh_instances_replay_identically",
}


def test_datasource_kit_passes_reference_and_fails_broken(pytester: pytest.Pytester) -> None:
    source = conformance_module(
        "DataSourceConformance",
        "DataSourceFixtures",
        "components",
        {"TestReference": "SyntheticBars", "TestStuttering": "StutteringBars"},
    )
    results = run_kit(pytester, source)
    assert results["TestReference"].passed == DATASOURCE_CHECKS
    assert results["TestReference"].failed | results["TestReference"].skipped == set()
    assert results["TestStuttering"].failed == {
        "test_timestamps_non_decreasing",
        "test_no_duplicate_events",
    }


RISKRULE_CHECKS = SHARED_CHECKS | {
    "test_verdicts_name_the_rule",
    "test_some_intent_refused_or_resized",
    "test_every_refusal_explained",
    "test_resize_shrinks_the_order",
    "test_same_verdicts_in_any_order",
    "test_inputs_unchanged",
}


def test_riskrule_kit_passes_reference_and_fails_broken(pytester: pytest.Pytester) -> None:
    source = conformance_module(
        "RiskRuleConformance",
        "RiskRuleFixtures",
        "components",
        {
            "TestReference": "MaxNotionalRule",
            "TestImpure": "ImpureRule",
            "TestMutating": "MutatingRule",
            "TestUnexplained": "UnexplainedRule",
        },
    )
    results = run_kit(pytester, source)
    assert results["TestReference"].passed == RISKRULE_CHECKS
    assert results["TestReference"].failed | results["TestReference"].skipped == set()
    assert results["TestImpure"].failed == {"test_same_verdicts_in_any_order"}
    assert results["TestMutating"].failed == {"test_inputs_unchanged"}
    assert results["TestUnexplained"].failed == {
        "test_verdicts_name_the_rule",
        "test_every_refusal_explained",
    }


REPORTER_CHECKS = SHARED_CHECKS | {
    "test_formats_declared",
    "test_every_format_renders",
    "test_same_records_same_bytes",
    "test_records_outside_period_ignored",
    "test_records_unchanged",
    "test_unknown_format_refused",
}


def test_reporter_kit_passes_reference_and_fails_broken(pytester: pytest.Pytester) -> None:
    source = conformance_module(
        "ReporterConformance",
        "ReporterFixtures",
        "components",
        {
            "TestReference": "FillsReporter",
            "TestStamped": "StampedReporter",
            "TestUnfiltered": "UnfilteredReporter",
        },
    )
    results = run_kit(pytester, source)
    assert results["TestReference"].passed == REPORTER_CHECKS
    assert results["TestReference"].failed | results["TestReference"].skipped == set()
    # A report that differs on every render also differs from the widened-ledger render.
    assert results["TestStamped"].failed == {
        "test_same_records_same_bytes",
        "test_records_outside_period_ignored",
    }
    assert results["TestUnfiltered"].failed == {"test_records_outside_period_ignored"}


SELECTOR_CHECKS = SHARED_CHECKS | {
    "test_choice_is_one_of_the_policies",
    "test_single_policy_is_chosen",
    "test_rewards_accepted_and_choices_stay_valid",
    "test_market_view_not_mutated",
    "test_fresh_instances_agree",
}


def test_selector_kit_passes_reference_and_fails_broken(pytester: pytest.Pytester) -> None:
    source = conformance_module(
        "PolicySelectorConformance",
        "SelectorFixtures",
        "learning",
        {
            "TestReference": "GreedySelector",
            "TestSticky": "StickySelector",
            "TestCoinFlip": "CoinFlipSelector",
        },
    )
    results = run_kit(pytester, source)
    assert results["TestReference"].passed == SELECTOR_CHECKS
    assert results["TestReference"].failed | results["TestReference"].skipped == set()
    assert results["TestSticky"].failed == {
        "test_choice_is_one_of_the_policies",
        "test_single_policy_is_chosen",
    }
    assert "test_fresh_instances_agree" in results["TestCoinFlip"].failed


OVERSIGHT_CHECKS = SHARED_CHECKS | {
    "test_something_raised",
    "test_alerts_well_formed",
    "test_pairs_trade_listed_instruments",
    "test_intent_ids_unique",
    "test_inputs_unchanged",
    "test_fresh_instances_agree",
}


def test_oversight_kit_passes_reference_and_fails_broken(pytester: pytest.Pytester) -> None:
    quiet = """
class TestQuiet(OversightFixtures, OversightConformance):
    @pytest.fixture
    def component_factory(self):
        return lambda: SpreadWatch.from_config({"threshold_bps": "5000", "max_drawdown": "0.9"})
"""
    source = conformance_module(
        "OversightConformance",
        "OversightFixtures",
        "learning",
        {
            "TestReference": "SpreadWatch",
            "TestFortuneTeller": "FortuneTeller",
            "TestOneId": "OneIdWatch",
            "TestMeddling": "MeddlingWatch",
        },
        quiet,
    )
    results = run_kit(pytester, source)
    assert results["TestReference"].passed == OVERSIGHT_CHECKS
    assert results["TestReference"].failed | results["TestReference"].skipped == set()
    assert results["TestFortuneTeller"].failed == {"test_alerts_well_formed"}
    assert results["TestOneId"].failed == {"test_intent_ids_unique"}
    assert results["TestMeddling"].failed == {"test_inputs_unchanged"}
    # A component that never acts on the fixture's contexts cannot be checked: said plainly.
    assert results["TestQuiet"].failed == {"test_something_raised"}


NOTIFIER_CHECKS = SHARED_CHECKS | {
    "test_every_alert_accepted",
    "test_alerts_unchanged",
    "test_alerts_delivered",
}


def test_notifier_kit_passes_reference_and_fails_broken(pytester: pytest.Pytester) -> None:
    unobserved = """
class TestUnobserved(NotifierFixtures, NotifierConformance):
    @pytest.fixture
    def component_factory(self):
        return InboxNotifier.from_config

    @pytest.fixture
    def delivered_alerts(self):
        return None
"""
    source = conformance_module(
        "NotifierConformance",
        "NotifierFixtures",
        "learning",
        {
            "TestReference": "InboxNotifier",
            "TestPicky": "PickyNotifier",
            "TestBlocking": "BlockingNotifier",
        },
        unobserved,
    )
    results = run_kit(pytester, source)
    assert results["TestReference"].passed == NOTIFIER_CHECKS
    assert results["TestReference"].failed | results["TestReference"].skipped == set()
    assert results["TestPicky"].failed == {"test_alerts_delivered"}
    assert results["TestBlocking"].failed == {
        "test_every_alert_accepted",
        "test_alerts_unchanged",
        "test_alerts_delivered",
    }
    unobserved_outcome = results["TestUnobserved"]
    assert unobserved_outcome.skipped == {"test_alerts_delivered"}
    assert "override the 'delivered_alerts' fixture" in unobserved_outcome.skip_reasons[
        "test_alerts_delivered"
    ]


def test_missing_fixture_is_named(pytester: pytest.Pytester) -> None:
    pytester.makeini(INNER_INI)
    pytester.makepyfile(
        test_unconfigured="""
from crypto_bot_sdk.testing import ExchangeAdapterConformance

class TestUnconfigured(ExchangeAdapterConformance):
    pass
"""
    )
    result = pytester.runpytest("-k", "test_manifest_declares_kind")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*TestUnconfigured needs the fixture 'manifest': override it in your test class*"]
    )


def test_plugin_registers_markers_and_header(pytester: pytest.Pytester) -> None:
    pytester.makeini(INNER_INI)
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.requires_capability(*names):*"])
    header = pytester.runpytest("--co")
    header.stdout.fnmatch_lines(["crypto-bot-sdk *(plugin API 1.*)"])
