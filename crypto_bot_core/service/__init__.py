"""The HTTP service (``cryptobot serve``): health, metrics, reports, ledger, kill switch.

FastAPI and uvicorn come with the ``service`` extra and load only here; see
``docs/service.md``. ``create_app(ServiceSettings.from_env())`` builds the app;
attach a running engine with ``control=InProcessEngineControl(engine)``.
"""

from crypto_bot_core.service.app import create_app
from crypto_bot_core.service.auth import Principal, Scope, TokenVerifier, mint_token
from crypto_bot_core.service.control import (
    EngineBusyError,
    EngineControl,
    EngineNotRunningError,
    InProcessEngineControl,
    probe_exchanges,
)
from crypto_bot_core.service.settings import ServiceSettings

__all__ = [
    "EngineBusyError",
    "EngineControl",
    "EngineNotRunningError",
    "InProcessEngineControl",
    "Principal",
    "Scope",
    "ServiceSettings",
    "TokenVerifier",
    "create_app",
    "mint_token",
    "probe_exchanges",
]
