"""Token checks (expiry, audience, lifetime, asymmetric keys), the token CLI, engine metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from crypto_bot_core.cli.app import app as cli
from crypto_bot_core.observability import EngineMetrics, NullMetrics
from crypto_bot_core.service import ServiceSettings, TokenVerifier, mint_token
from crypto_bot_sdk import ConfigError, OrderStatus
from service.service_fixtures import SECRET

runner = CliRunner()


def _claims(raw: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(raw, options={"verify_signature": False})
    return claims


def test_minted_token_carries_the_claims() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    raw = mint_token(
        SECRET,
        subject="bob",
        scopes=("ops:kill", "ledger:read"),
        issuer="cryptobot",
        audience="cryptobot-service",
        lifetime=timedelta(hours=2),
        now=now,
    )
    claims = _claims(raw)
    assert claims["scope"] == "ledger:read ops:kill"
    assert (claims["sub"], claims["iss"], claims["aud"]) == (
        "bob",
        "cryptobot",
        "cryptobot-service",
    )
    assert claims["exp"] == int((now + timedelta(hours=2)).timestamp())
    with pytest.raises(ValueError, match="unknown scope"):
        mint_token(SECRET, subject="x", scopes=("root",), issuer="i", audience="a")
    with pytest.raises(ValueError, match="must be positive"):
        mint_token(SECRET, subject="x", scopes=(), issuer="i", audience="a", lifetime=timedelta(0))


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (
            mint_token(
                SECRET,
                subject="a",
                scopes=("ops:read",),
                issuer="cryptobot",
                audience="cryptobot-service",
                now=datetime(2020, 1, 1, tzinfo=UTC),
            ),
            "has expired",
        ),
        (
            mint_token(SECRET, subject="a", scopes=("ops:read",), issuer="cryptobot", audience="x"),
            "Audience doesn't match",
        ),
        (
            mint_token(
                "another-secret-" + "y" * 40,
                subject="a",
                scopes=("ops:read",),
                issuer="cryptobot",
                audience="cryptobot-service",
            ),
            "Signature verification failed",
        ),
        (
            mint_token(
                SECRET,
                subject="a",
                scopes=("ops:read",),
                issuer="cryptobot",
                audience="cryptobot-service",
                lifetime=timedelta(days=400),
                max_lifetime=timedelta(days=400),  # minted for a service allowing that
            ),
            "longer than the 7776000 s",
        ),
        ("not-a-jwt", "not valid"),
    ],
)
def test_bad_tokens_are_401_with_the_reason(client: TestClient, raw: str, fragment: str) -> None:
    response = client.get("/plugins", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401
    assert fragment in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="cryptobot", error="invalid_token"'
    )


def test_other_auth_scheme_is_refused(client: TestClient) -> None:
    response = client.get("/plugins", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert response.status_code == 401
    assert "uses the 'Basic' scheme" in response.json()["detail"]


def test_public_key_verification_and_the_token_cli(tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public_pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    settings = ServiceSettings(jwt_public_key=public_pem.decode())
    key, algorithm = settings.verification_key()
    assert algorithm == "EdDSA"
    result = runner.invoke(
        cli,
        [
            "serve",
            "token",
            "--subject",
            "carol",
            "--scope",
            "ops:kill",
            "--lifetime",
            "30m",
            "--private-key",
            str(key_file),
        ],
    )
    assert result.exit_code == 0, result.output
    verifier = TokenVerifier(
        key, algorithm=algorithm, issuer="cryptobot", audience="cryptobot-service"
    )
    principal = verifier.verify(result.stdout.strip())
    assert (principal.subject, principal.scopes) == ("carol", frozenset({"ops:kill"}))
    bad = runner.invoke(
        cli,
        ["serve", "token", "--subject", "x", "--scope", "root:all"],
        env={"CRYPTOBOT_SERVICE_JWT_SECRET": SECRET},
    )
    assert bad.exit_code == 2
    assert "unknown scope(s) root:all" in bad.output
    none = runner.invoke(
        cli,
        ["serve", "token", "--subject", "x", "--scope", "ops:read"],
        env={"CRYPTOBOT_SERVICE_JWT_SECRET": ""},
    )
    assert none.exit_code == 2
    assert "no signing key" in none.output


def test_token_cli_refuses_a_lifetime_the_service_would_refuse() -> None:
    """A 400-day token used to be minted and then refused by the service at every use."""
    env = {"CRYPTOBOT_SERVICE_JWT_SECRET": SECRET, "CRYPTOBOT_SERVICE_TOKEN_MAX_LIFETIME_S": ""}
    args = ["serve", "token", "--subject", "grafana", "--scope", "metrics:read", "--lifetime"]
    refused = runner.invoke(cli, [*args, "400d"], env=env)
    assert refused.exit_code == 2
    assert refused.stdout == ""
    assert "a token living 400 days would be refused by the service" in refused.stderr
    assert "accepts at most 90 days (its setting CRYPTOBOT_SERVICE_TOKEN_MAX_LIFETIME_S)" in (
        refused.stderr
    )
    longest = runner.invoke(cli, [*args, "90d"], env=env)
    assert longest.exit_code == 0, longest.output
    verifier = TokenVerifier(
        SECRET,
        algorithm="HS256",
        issuer="cryptobot",
        audience="cryptobot-service",
        max_lifetime_s=ServiceSettings(jwt_secret=SECRET).token_max_lifetime_s,
    )
    assert verifier.verify(longest.stdout.strip()).subject == "grafana"
    claims = _claims(longest.stdout.strip())
    issued, expires = claims["iat"], claims["exp"]
    assert isinstance(issued, int)
    assert expires == issued + 90 * 86400
    # A service configured for one hour: the CLI reads the same setting.
    hour = {**env, "CRYPTOBOT_SERVICE_TOKEN_MAX_LIFETIME_S": "3600"}
    two_hours = runner.invoke(cli, [*args, "2h"], env=hour)
    assert two_hours.exit_code == 2
    assert "a token living 2 hours would be refused" in two_hours.stderr
    assert "at most 1 hour" in two_hours.stderr
    assert runner.invoke(cli, [*args, "60m"], env=hour).exit_code == 0
    bad = runner.invoke(
        cli, [*args, "1h"], env={**env, "CRYPTOBOT_SERVICE_TOKEN_MAX_LIFETIME_S": "-5"}
    )
    assert bad.exit_code == 2
    assert (
        "CRYPTOBOT_SERVICE_TOKEN_MAX_LIFETIME_S: must be a positive number of seconds, not '-5'"
        in (bad.stderr)
    )
    huge = runner.invoke(cli, [*args, "99999999999d"], env=env)
    assert huge.exit_code == 2
    assert "is longer than any lifetime a token can have" in huge.stderr
    with pytest.raises(ValueError, match="a token living 91 days would be refused"):
        mint_token(
            SECRET, subject="x", scopes=(), issuer="i", audience="a", lifetime=timedelta(days=91)
        )


def test_settings_refuse_to_run_open_or_weak() -> None:
    with pytest.raises(ConfigError, match="set exactly one token key"):
        ServiceSettings.from_env({})
    with pytest.raises(ConfigError, match="has 5 bytes; use at least 32"):
        ServiceSettings.from_env({"CRYPTOBOT_SERVICE_JWT_SECRET": "short"})


def test_openapi_command_prints_the_document() -> None:
    result = runner.invoke(cli, ["serve", "openapi"])
    assert result.exit_code == 0, result.output
    spec = json.loads(result.stdout)
    assert spec["paths"]["/shutdown"]["post"]["security"] == [{"bearer": ["ops:kill"]}]


def test_engine_metrics_exposition_and_isolation() -> None:
    one, two = EngineMetrics(), EngineMetrics()
    one.agent_latency("ema", 0.0004)
    one.agent_latency("ema", 0.003)
    one.agent_fallback("sentiment")
    one.order_status("alpha", OrderStatus.FILLED)
    one.order_status("alpha", "filled")
    one.open_orders(3)
    one.fill("alpha", "BTC/USDT", "taker", slippage_bps=2.5)
    one.pnl(101_000, pnl=1_000, drawdown=0.02)
    one.verdict("max_drawdown", "reject")
    one.kill_switch()
    one.timed_append(lambda: None)()
    text = one.exposition().decode()
    expected = [
        'cryptobot_agent_latency_seconds_count{agent="ema"} 2.0',
        'cryptobot_agent_latency_seconds_bucket{agent="ema",le="0.0005"} 1.0',
        'cryptobot_agent_fallback_total{agent="sentiment"} 1.0',
        'cryptobot_orders_total{status="filled",venue="alpha"} 2.0',
        "cryptobot_open_orders 3.0",
        'cryptobot_fills_total{liquidity="taker",symbol="BTC/USDT",venue="alpha"} 1.0',
        'cryptobot_fill_slippage_bps_bucket{le="2.0",venue="alpha"} 0.0',
        'cryptobot_fill_slippage_bps_bucket{le="5.0",venue="alpha"} 1.0',
        "cryptobot_equity 101000.0",
        "cryptobot_pnl 1000.0",
        "cryptobot_drawdown 0.02",
        'cryptobot_risk_verdicts_total{action="reject",rule="max_drawdown"} 1.0',
        "cryptobot_kill_switch_total 1.0",
        "cryptobot_ledger_append_seconds_count 1.0",
    ]
    for line in expected:
        assert line in text, line
    assert "cryptobot_agent_fallback_total{" not in two.exposition().decode()
    null = NullMetrics()  # the same calls, nothing recorded anywhere
    null.fill("alpha", "BTC/USDT", "maker", 1.0)
    null.verdict("max_drawdown", "reject")
    assert "max_drawdown" not in two.exposition().decode()
