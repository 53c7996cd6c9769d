"""``cryptobot risk --run RUN_DIR`` rebuilds the book of that run only, in a ledger runs share.

Two runs writing one ledger URL interleave nothing, but both runs' fills,
start and stop records are in it: the book of one run must be made of its own
fills, its own starting cash and its own final equity, never the other's.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from run_sessions import Invoke, Session

from crypto_bot_core.app.run_portfolio import portfolio_from_run
from crypto_bot_core.app.runner import RunResult, run_session
from crypto_bot_core.host import Host
from crypto_bot_sdk import RiskError


def _positions(result: RunResult) -> dict[str, Decimal]:
    return {p.symbol: p.quantity for p in result.summary.open_positions if p.quantity != 0}


def test_each_run_of_a_shared_ledger_gets_its_own_book(
    session: Session, host: Host, tmp_path: Path, invoke: Invoke
) -> None:
    shared = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    first = run_session(session(ledger_url=shared, bars=160), host=host, run_id="run-a")
    second = run_session(session(ledger_url=shared, bars=120), host=host, run_id="run-b")
    assert not (first.run_dir / "ledger.sqlite").exists()  # the folder holds no ledger of its own
    assert first.stats is not None
    assert second.stats is not None
    assert first.stats.fills != second.stats.fills

    for result in (first, second):
        book = portfolio_from_run(result.run_dir)
        assert book.fills == result.summary.fills
        assert book.portfolio.equity == result.summary.final_equity
        held = {p.symbol: p.quantity for p in book.portfolio.positions if p.quantity != 0}
        assert held == _positions(result)
        assert _positions(result), "the run must end holding something to tell the books apart"

    code, out, err = invoke("risk", "stress", "market-crash-30", "--run", str(first.run_dir))
    assert code == 0, (out, err)


def test_a_shared_ledger_without_the_folder_s_run_is_refused(
    session: Session, host: Host, tmp_path: Path
) -> None:
    shared = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    first = run_session(session(ledger_url=shared), host=host, run_id="run-a")
    (first.run_dir / "run.json").write_text('{"run_id": "run-z"}', encoding="utf-8")

    with pytest.raises(RiskError, match=r"holds no start record of run 'run-z'.*'run-a'"):
        portfolio_from_run(first.run_dir)
