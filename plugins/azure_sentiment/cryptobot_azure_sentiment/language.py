"""Sentiment scores from Azure AI Language, through the official ``azure-ai-textanalytics`` client.

The client speaks ``POST {endpoint}/language/:analyze-text?api-version=...``
with ``kind: SentimentAnalysis``. The service takes at most 10 documents per
request, so documents go in batches of ``batch_size``, sent concurrently.
The client's own retries are switched off: the agent's latency budget and
circuit breaker decide when to try again, and a retry loop inside the
client would eat the budget of the very tick it is meant to serve.

A document the service refuses (empty, too long, unsupported language) is
left out of the result; any failure of the request itself is a
:class:`ServiceFailure` with what went wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptobot_azure_sentiment.config import SentimentAgentConfig

if TYPE_CHECKING:
    from azure.ai.textanalytics.aio import TextAnalyticsClient

MAX_DOCUMENT_CHARS = 5120
"""The service refuses longer documents; headlines are cut to this length."""


class ServiceFailure(Exception):
    """The Language service could not score a batch (down, slow, refused the key...)."""


@dataclass(frozen=True, slots=True)
class DocumentScore:
    sentiment: str
    positive: float
    neutral: float
    negative: float
    model_version: str

    @property
    def polarity(self) -> float:
        """Positive minus negative confidence: -1 (surely negative) to 1 (surely positive)."""
        return self.positive - self.negative


class LanguageService:
    """One client per agent; :meth:`aclose` releases its connection pool."""

    def __init__(self, config: SentimentAgentConfig) -> None:
        self._config = config
        self._client: TextAnalyticsClient | None = None

    def _get_client(self) -> TextAnalyticsClient:
        if self._client is None:
            from azure.ai.textanalytics.aio import TextAnalyticsClient
            from azure.core.credentials import AzureKeyCredential

            cfg = self._config
            extra: dict[str, Any] = {}
            if cfg.ca_bundle is not None:
                extra["connection_verify"] = str(cfg.ca_bundle)
            self._client = TextAnalyticsClient(
                cfg.endpoint,
                AzureKeyCredential(cfg.api_key.get_secret_value()),
                api_version=cfg.api_version,
                default_language=cfg.language,
                retry_total=0,
                connection_timeout=cfg.latency_budget,
                read_timeout=cfg.latency_budget,
                **extra,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def score(self, documents: Sequence[tuple[str, str]]) -> dict[str, DocumentScore]:
        """Scores of ``(id, text)`` documents, by id; refused documents are absent."""
        size = self._config.batch_size
        batches = [documents[i : i + size] for i in range(0, len(documents), size)]
        versions: list[str] = []
        results = await asyncio.gather(*(self._batch(batch, versions) for batch in batches))
        model_version = max(versions, default="unknown")
        return {
            key: DocumentScore(label, positive, neutral, negative, model_version)
            for result in results
            for key, label, positive, neutral, negative in result
        }

    async def _batch(
        self, batch: Sequence[tuple[str, str]], versions: list[str]
    ) -> list[tuple[str, str, float, float, float]]:
        from azure.core.exceptions import AzureError, ClientAuthenticationError

        def record_model_version(response: Any) -> None:
            version = getattr(response, "model_version", None)
            if version:
                versions.append(str(version))

        client = self._get_client()
        # Short ids on the wire (the position in the batch): feed entry ids can be long URLs.
        keys = [key for key, _ in batch]
        payload = [
            {"id": str(i), "text": text[:MAX_DOCUMENT_CHARS], "language": self._config.language}
            for i, (_, text) in enumerate(batch)
        ]
        try:
            response = await client.analyze_sentiment(
                payload,
                model_version=self._config.model_version,
                raw_response_hook=record_model_version,
            )
        except ClientAuthenticationError as exc:
            raise ServiceFailure(
                f"the service refused the key ({exc.message}); check api_key / "
                "AZURE_LANGUAGE_KEY and that the endpoint is the key's resource"
            ) from exc
        except AzureError as exc:
            raise ServiceFailure(f"{type(exc).__name__}: {exc.message}") from exc
        return [
            (
                keys[int(result.id)],
                str(result.sentiment),
                float(result.confidence_scores.positive),
                float(result.confidence_scores.neutral),
                float(result.confidence_scores.negative),
            )
            for result in response
            if not result.is_error
        ]
