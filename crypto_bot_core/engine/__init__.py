"""The trading engine: one event-driven kernel for backtest, paper and live.

Only the clock and the exchange adapters differ between modes (DESIGN rule 3).
"""
