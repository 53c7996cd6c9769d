"""News sentiment from Azure AI Language as crypto-bot signals: the ``azure-sentiment`` plugin."""

from cryptobot_azure_sentiment.agent import AzureSentimentAgent
from cryptobot_azure_sentiment.breaker import BreakerState, CircuitBreaker
from cryptobot_azure_sentiment.config import NewsSourceConfig, SentimentAgentConfig
from cryptobot_azure_sentiment.news import MENTIONS, NewsMentionsSource

__all__ = [
    "MENTIONS",
    "AzureSentimentAgent",
    "BreakerState",
    "CircuitBreaker",
    "NewsMentionsSource",
    "NewsSourceConfig",
    "SentimentAgentConfig",
]
