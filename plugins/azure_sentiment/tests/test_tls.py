"""The real client over HTTPS: a self-signed certificate, trusted only through ``ca_bundle``."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crypto_bot_sdk import AgentUnavailableError, InMemoryMarketView, Signal
from crypto_bot_sdk.testing import make_instrument
from cryptobot_azure_sentiment import AzureSentimentAgent
from cryptobot_azure_sentiment.testing import FakeFeeds, FakeLanguageService

from .support import NOW, run


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_language(tmp_path: Path) -> Iterator[tuple[FakeLanguageService, Path]]:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    fake = FakeLanguageService(key="test-key", ssl_context=context).start()
    try:
        yield fake, cert
    finally:
        fake.stop()


def _evaluate(agent: AzureSentimentAgent) -> Signal | AgentUnavailableError | None:
    view = InMemoryMarketView([make_instrument("BTC/USDT")], now=NOW)

    async def scenario() -> Signal | AgentUnavailableError | None:
        await agent.start()
        try:
            return await agent.evaluate("BTC/USDT", view)
        except AgentUnavailableError as exc:
            return exc
        finally:
            await agent.close()

    return run(scenario)


def test_https_endpoint_trusted_through_ca_bundle(
    tls_language: tuple[FakeLanguageService, Path], feeds: FakeFeeds
) -> None:
    fake, cert = tls_language
    assert fake.endpoint.startswith("https://127.0.0.1:")
    config = {"endpoint": fake.endpoint, "api_key": "test-key", "feeds": [f"{feeds.url}/news.xml"]}
    trusted = _evaluate(AzureSentimentAgent.from_config(config | {"ca_bundle": str(cert)}))
    assert isinstance(trusted, Signal)
    assert trusted.features["headlines"] == 3.0
    untrusted = _evaluate(AzureSentimentAgent.from_config(config))
    assert isinstance(untrusted, AgentUnavailableError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted)
