"""The risk engine's analytics: portfolio VaR and ES, the scenario language and stress tests,
liquidity, volatility, the arbitrage detector and the risk monitor.

One concept per module; numpy and scipy load inside the modules that compute,
never here, so importing :mod:`crypto_bot_core.risk` (as the CLI and the
``risk-engine`` plugin do) costs nothing until a figure is asked for.

* :mod:`.returns` -- aligned return histories from bars or a market view
* :mod:`.shrinkage` -- Ledoit-Wolf shrinkage of the correlation to its constant-correlation target
* :mod:`.marginals` -- per-asset return distributions (normal, fitted Student t, empirical)
* :mod:`.copula` -- the Student-t (or Gaussian) copula model and its Monte-Carlo paths
* :mod:`.var` -- Monte-Carlo, historical and parametric VaR and expected shortfall
* :mod:`.portfolio_var`, :mod:`.model_cache` -- the three side by side; fitted models kept
* :mod:`.exposure` -- a portfolio's signed exposure per symbol, in its currency
* :mod:`.scenario`, :mod:`.scenario_file`, :mod:`.stress` -- the scenario language and stress P&L
* :mod:`.stressed_market` -- a market view with a scenario's shocks applied (the sandbox)
* :mod:`.replay` -- a scenario replayed through the engine on historical data
* :mod:`.liquidity` -- slippage from order-book depth
* :mod:`.volatility` -- average true range
* :mod:`.arbitrage` -- cross-venue spreads beyond fees, as hedged pairs of intents
* :mod:`.monitor` -- VaR and stress limits watched over time, alerts to the ledger and notifiers
* :mod:`.portfolio_file`, :mod:`.run_portfolio`, :mod:`.market_data`, :mod:`.report` -- what
  ``cryptobot risk`` reads (portfolio files, run folders, data sources) and prints

See ``docs/risk.md``.
"""
