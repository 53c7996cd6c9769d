"""Vectorised first-order linear recurrences: ``y[t] = a[t] * y[t-1] + b[t]``.

GARCH variance, Ornstein-Uhlenbeck offsets and mean-reverting ranges are all
this recurrence. A Python loop over a million bars costs about a second per
series; solving it in closed form per block (``y = P * (y0 + cumsum(b / P))``
with ``P`` the running product of ``a``) costs milliseconds. Blocks are cut
wherever the running product would leave the range where ``exp`` is exact
enough, so the result matches the loop to about 1e-12 relative.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

_BLOCK = 4096
_MAX_LOG_SPAN = 200.0  # exp(200) ~ 7e86: far from overflow, and error stays ~1e-13


def linear_recurrence(a: ArrayLike, b: ArrayLike, y0: float) -> NDArray[np.float64]:
    """Solve ``y[t] = a[t] * y[t-1] + b[t]`` for ``t = 0..n-1`` with ``y[-1] = y0``.

    ``a`` must be positive (a scalar or one value per step); ``b`` gives ``n``.
    """
    b_arr = np.asarray(b, dtype=np.float64)
    n = b_arr.shape[0]
    a_arr = np.broadcast_to(np.asarray(a, dtype=np.float64), (n,))
    if n and float(a_arr.min()) <= 0.0:
        raise ValueError("linear_recurrence needs a > 0 (it works on log a)")
    log_a = np.log(a_arr)
    out = np.empty(n, dtype=np.float64)
    previous = float(y0)
    i = 0
    while i < n:
        j = min(n, i + _BLOCK)
        log_p = np.cumsum(log_a[i:j])
        too_far = np.flatnonzero(np.abs(log_p) > _MAX_LOG_SPAN)
        if too_far.size:
            j = i + max(1, int(too_far[0]))
            log_p = log_p[: j - i]
        p = np.exp(log_p)
        block = p * (previous + np.cumsum(b_arr[i:j] / p))
        out[i:j] = block
        previous = float(block[-1])
        i = j
    return out


def ornstein_uhlenbeck(
    rng: np.random.Generator, n: int, *, std: float, half_life: float
) -> NDArray[np.float64]:
    """A zero-mean AR(1) path of ``n`` steps with stationary std ``std``, started in equilibrium.

    ``half_life`` (in steps) sets how fast a deviation decays: ``phi = 0.5 ** (1 / half_life)``.
    """
    if std == 0.0:
        return np.zeros(n, dtype=np.float64)
    phi = 0.5 ** (1.0 / half_life)
    innovation = std * np.sqrt(1.0 - phi * phi)
    start = float(rng.standard_normal()) * std
    shocks = rng.standard_normal(n) * innovation
    return linear_recurrence(phi, shocks, start)
