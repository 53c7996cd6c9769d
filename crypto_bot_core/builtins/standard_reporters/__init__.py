"""Built-in plugin ``standard-reporters``: reports rendered from the audit ledger.

* ``daily_trades``: a period's fills in CSV and JSON with the model versions
  and risk figures behind each;
* ``best_execution``: one record per executed order with its routing context,
  arrival benchmark and slippage -- the firm's evidence of best execution;
* ``execution_venues``: the periodic venue summary per instrument class;
* ``mifir_transactions``: the ISO 20022 MiFIR transaction report (head.003
  BizData with a head.001 header and an auth.016 document).

The ledger payloads they read are specified in ``docs/builtins/ledger-payloads.md``
and read as typed models (``payloads``: the SDK's ``FillPayload`` through
``payload_of``, and views of the order records), so a malformed record fails a
report with one ``LedgerError`` naming the record, its type and its bad fields;
see ``docs/builtins/standard_reporters.md`` and ``docs/compliance.md``.
"""

from crypto_bot_core.builtins.standard_reporters.best_execution import BestExecutionReporter
from crypto_bot_core.builtins.standard_reporters.config import (
    BestExecutionConfig,
    DailyTradesConfig,
    VenueSummaryConfig,
)
from crypto_bot_core.builtins.standard_reporters.daily_trades import COLUMNS, DailyTradesReporter
from crypto_bot_core.builtins.standard_reporters.identifiers import (
    cfi_problem,
    isin_check_digit,
    isin_problem,
    lei_problem,
    mic_problem,
)
from crypto_bot_core.builtins.standard_reporters.mifir import (
    MifirTransactionReporter,
    NothingToReportError,
    ReportValidationError,
)
from crypto_bot_core.builtins.standard_reporters.mifir_config import MESSAGE_VERSIONS, MifirConfig
from crypto_bot_core.builtins.standard_reporters.venue_summary import VenueSummaryReporter

__all__ = [
    "COLUMNS",
    "MESSAGE_VERSIONS",
    "BestExecutionConfig",
    "BestExecutionReporter",
    "DailyTradesConfig",
    "DailyTradesReporter",
    "MifirConfig",
    "MifirTransactionReporter",
    "NothingToReportError",
    "ReportValidationError",
    "VenueSummaryConfig",
    "VenueSummaryReporter",
    "cfi_problem",
    "isin_check_digit",
    "isin_problem",
    "lei_problem",
    "mic_problem",
]
