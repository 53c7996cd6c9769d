"""Fitted models and their simulated paths, kept while the data they came from is the same.

Fitting Student-t marginals takes tens of milliseconds per symbol and the
engine asks for VaR on every intent, so the ``portfolio_var`` rule and the
monitor keep their last few models. The key is the *content* of the return
history (a hash of its bytes) and the settings, never the time of the call:
the same data gives the same model, which keeps the rule pure. Marginals are
also kept per symbol and return column, so a book that gains or drops a symbol
refits only the correlation (milliseconds), not every coin's t.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import TYPE_CHECKING

from crypto_bot_core.risk.portfolio_var import VarSettings, fit_model
from crypto_bot_core.risk.returns import ReturnHistory

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from crypto_bot_core.risk.copula import CopulaModel
    from crypto_bot_core.risk.marginals import Marginal


class ModelCache:
    """A small LRU of (model, scenario matrix) per return history and settings."""

    def __init__(self, size: int = 8, marginals: int = 512) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[CopulaModel, NDArray[np.float64] | None]] = (
            OrderedDict()
        )
        self._marginal_size = marginals
        self._marginals: OrderedDict[str, Marginal] = OrderedDict()

    @staticmethod
    def key(history: ReturnHistory, settings: VarSettings) -> str:
        digest = hashlib.blake2b(history.returns.tobytes(), digest_size=16)
        digest.update(repr((history.symbols, history.bar_seconds, history.returns.shape)).encode())
        digest.update(settings.model_dump_json().encode())
        return digest.hexdigest()

    def _get(self, key: str) -> tuple[CopulaModel, NDArray[np.float64] | None] | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def _put(self, key: str, value: tuple[CopulaModel, NDArray[np.float64] | None]) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def _fitted_marginals(self, history: ReturnHistory, settings: VarSettings) -> list[Marginal]:
        from crypto_bot_core.risk.marginals import fit_marginal

        out = []
        for i, symbol in enumerate(history.symbols):
            column = history.returns[:, i]
            digest = hashlib.blake2b(column.tobytes(), digest_size=16)
            digest.update(repr((symbol, settings.marginal, settings.zero_mean)).encode())
            key = digest.hexdigest()
            found = self._marginals.get(key)
            if found is None:
                found = fit_marginal(
                    column, settings.marginal, zero_mean=settings.zero_mean, symbol=symbol
                )
                self._marginals[key] = found
                while len(self._marginals) > self._marginal_size:
                    self._marginals.popitem(last=False)
            out.append(found)
        return out

    def _fit(self, history: ReturnHistory, settings: VarSettings) -> CopulaModel:
        return fit_model(history, settings, self._fitted_marginals(history, settings))

    def model(self, history: ReturnHistory, settings: VarSettings) -> CopulaModel:
        key = self.key(history, settings)
        found = self._get(key)
        if found is not None:
            return found[0]
        model = self._fit(history, settings)
        self._put(key, (model, None))
        return model

    def scenarios(self, history: ReturnHistory, settings: VarSettings) -> NDArray[np.float64]:
        """The ``paths x symbols`` horizon returns of the model of ``history`` (seeded)."""
        key = self.key(history, settings)
        found = self._get(key)
        model = found[0] if found is not None else self._fit(history, settings)
        paths = found[1] if found is not None else None
        if paths is None:
            paths = model.scenarios(settings.paths, settings.seed)
            self._put(key, (model, paths))
        return paths
