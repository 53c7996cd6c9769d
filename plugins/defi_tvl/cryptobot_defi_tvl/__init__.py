"""DeFi total value locked (DefiLlama) as crypto-bot metric points: the ``defi-tvl`` plugin."""

from cryptobot_defi_tvl.config import DefiTvlConfig
from cryptobot_defi_tvl.source import CHAIN_TVL, PROTOCOL_CHAIN_TVL, PROTOCOL_TVL, DefiTvlSource

__all__ = ["CHAIN_TVL", "PROTOCOL_CHAIN_TVL", "PROTOCOL_TVL", "DefiTvlConfig", "DefiTvlSource"]
