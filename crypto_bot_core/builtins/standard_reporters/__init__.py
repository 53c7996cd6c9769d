"""Built-in plugin ``standard-reporters``: reports rendered from the audit ledger.

``daily_trades`` lists a period's fills in CSV and JSON with the model versions
and risk figures behind each. The ledger payloads it reads are specified in
``docs/builtins/ledger-payloads.md``; see ``docs/builtins/standard_reporters.md``.
"""

from crypto_bot_core.builtins.standard_reporters.config import DailyTradesConfig
from crypto_bot_core.builtins.standard_reporters.daily_trades import COLUMNS, DailyTradesReporter

__all__ = ["COLUMNS", "DailyTradesConfig", "DailyTradesReporter"]
