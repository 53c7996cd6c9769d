"""Entry point of ``azure-sentiment``: the module the ``crypto_bot.plugins`` entry point names."""

from __future__ import annotations

from typing import Any

from crypto_bot_sdk import Component, hookimpl
from cryptobot_azure_sentiment.agent import AzureSentimentAgent
from cryptobot_azure_sentiment.news import NewsMentionsSource


@hookimpl
def cryptobot_components() -> list[type[Component[Any]]]:
    return [AzureSentimentAgent, NewsMentionsSource]
