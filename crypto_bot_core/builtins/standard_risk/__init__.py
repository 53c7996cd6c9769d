"""Built-in plugin ``standard-risk``: the limits every trading desk sets.

``max_order_notional``, ``max_position``, ``max_gross_exposure``,
``max_drawdown`` (which asks the engine to trip its kill switch) and
``price_band``. Each is a pure check that approves, resizes or rejects an
intent and says why, with the figures. See ``docs/builtins/standard_risk.md``.
"""

from crypto_bot_core.builtins.standard_risk.drawdown import MaxDrawdown
from crypto_bot_core.builtins.standard_risk.exposure import MaxGrossExposure
from crypto_bot_core.builtins.standard_risk.order_notional import MaxOrderNotional
from crypto_bot_core.builtins.standard_risk.position import MaxPosition
from crypto_bot_core.builtins.standard_risk.price_band import PriceBand

__all__ = ["MaxDrawdown", "MaxGrossExposure", "MaxOrderNotional", "MaxPosition", "PriceBand"]
