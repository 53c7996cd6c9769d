"""OAuth2 bearer tokens: signed JWTs whose ``scope`` claim says what the holder may do.

The service verifies tokens; it never issues them over HTTP. An operator mints
one offline (``cryptobot serve token``) with the signing key: a shared secret
(HS256) that both sides hold, or a private key whose public half is all the
service needs (EdDSA, ES256 or RS256) -- the safer choice, since a stolen
service configuration then cannot mint tokens.

A token is accepted when its signature, issuer, audience, expiry and
not-before check out, it names a subject (``sub``) and its lifetime is within
the configured maximum. ``scope`` is a space-separated list (RFC 8693 style);
unknown scope names are ignored. Failures answer 401 with a
``WWW-Authenticate: Bearer`` challenge (RFC 6750); a valid token without the
needed scope answers 403 with ``error="insufficient_scope"``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from crypto_bot_core.service.errors import ServiceError

REALM = "cryptobot"
MAX_TOKEN_LIFETIME = timedelta(days=90)
"""The longest token lifetime the service accepts unless configured otherwise
(``CRYPTOBOT_SERVICE_TOKEN_MAX_LIFETIME_S``), and so the longest ``mint_token`` mints:
a token the service would refuse is refused when it is minted, not at its first use."""


class Scope(StrEnum):
    REPORT_READ = "report:read"
    REGULATORY_EXPORT = "regulatory:export"
    LEDGER_READ = "ledger:read"
    GDPR_ERASE = "gdpr:erase"
    OPS_READ = "ops:read"
    OPS_KILL = "ops:kill"
    METRICS_READ = "metrics:read"


SCOPE_HELP = {
    Scope.REPORT_READ: "read trade reports (the daily trade list) through /report/daily",
    Scope.REGULATORY_EXPORT: "read every report, regulatory ones included (MiFIR transactions, "
    "best execution, venue summaries, other distributions' reporters), through "
    "/regulatory/export or /report/daily",
    Scope.LEDGER_READ: "verify the ledger (/ledger/verify)",
    Scope.GDPR_ERASE: "erase a data subject (/subjects/{id}/erase)",
    Scope.OPS_READ: "see plugins and the engine's status (/plugins, /engine)",
    Scope.OPS_KILL: "pull the kill switch (/shutdown)",
    Scope.METRICS_READ: "scrape /metrics when it is not public",
}


@dataclass(frozen=True)
class Principal:
    """Who called, and what the token lets them do."""

    subject: str
    scopes: frozenset[str]
    token_id: str | None


def _challenge(error: str | None = None, description: str | None = None, **extra: str) -> str:
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append('error_description="{}"'.format(description.replace('"', "'")))
    parts += [f'{key}="{value}"' for key, value in extra.items()]
    return "Bearer " + ", ".join(parts)


def unauthorized(detail: str, *, error: str | None = "invalid_token") -> ServiceError:
    return ServiceError(
        401,
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": _challenge(error, detail if error else None)},
    )


def forbidden(scope: str, principal: Principal, *, what: str = "this operation") -> ServiceError:
    granted = sorted(principal.scopes)
    return ServiceError(
        403,
        "Forbidden",
        f"{what} needs the scope {scope!r}; the token of {principal.subject!r} grants "
        f"{', '.join(granted) if granted else 'no scope'}. Mint a token with it: "
        f"cryptobot serve token --subject {principal.subject} --scope {scope}",
        headers={
            "WWW-Authenticate": _challenge(
                "insufficient_scope", f"needs scope {scope}", scope=scope
            )
        },
        required_scope=scope,
        granted_scopes=granted,
    )


def key_algorithm(key: Any) -> str:
    """The JWS algorithm that goes with a private or public key object."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ES256"
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RS256"
    raise ValueError(f"{type(key).__name__} keys are not supported; use Ed25519, EC P-256 or RSA")


class TokenVerifier:
    """Checks bearer tokens against one key (see the module doc)."""

    def __init__(
        self,
        key: Any,
        *,
        algorithm: str,
        issuer: str,
        audience: str,
        leeway_s: float = 30.0,
        max_lifetime_s: float = MAX_TOKEN_LIFETIME.total_seconds(),
    ) -> None:
        self.key = key
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.leeway_s = leeway_s
        self.max_lifetime_s = max_lifetime_s

    def verify(self, token: str) -> Principal:
        import jwt

        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthorized("the bearer token has expired; mint a new one") from None
        except jwt.InvalidTokenError as exc:
            raise unauthorized(f"the bearer token is not valid: {exc}") from None
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > self.max_lifetime_s:
            raise unauthorized(
                f"the bearer token lives {lifetime:.0f} s, longer than the "
                f"{self.max_lifetime_s:.0f} s this service accepts; mint one with a shorter "
                "lifetime"
            )
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise unauthorized("the token's 'scope' claim must be a space-separated string")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise unauthorized("the token's 'sub' claim must name the caller")
        known = {s.value for s in Scope}
        return Principal(
            subject=subject,
            scopes=frozenset(s for s in scope.split() if s in known),
            token_id=str(claims["jti"]) if claims.get("jti") else None,
        )


def describe_span(span: timedelta) -> str:
    """``90 days``, ``8 hours``, ``90 s``: a lifetime as an operator wrote it."""
    seconds = span.total_seconds()
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} s"


def mint_token(
    key: Any,
    *,
    subject: str,
    scopes: list[str] | tuple[str, ...],
    issuer: str,
    audience: str,
    lifetime: timedelta = timedelta(hours=1),
    algorithm: str | None = None,
    now: datetime | None = None,
    max_lifetime: timedelta = MAX_TOKEN_LIFETIME,
) -> str:
    """A signed token for ``subject`` with ``scopes``; ``key`` is the secret or private key.

    ``max_lifetime`` is the longest lifetime the service that will check the token
    accepts: a longer one is refused here, since the service would refuse every use.
    """
    import jwt

    known = {s.value for s in Scope}
    unknown = sorted(set(scopes) - known)
    if unknown:
        raise ValueError(
            f"unknown scope(s) {', '.join(unknown)}; the service knows {', '.join(sorted(known))}"
        )
    if not subject:
        raise ValueError("a token must name its subject (who will use it)")
    if lifetime <= timedelta(0):
        raise ValueError(f"the token lifetime must be positive, not {lifetime}")
    if lifetime > max_lifetime:
        raise ValueError(
            f"a token living {describe_span(lifetime)} would be refused by the service, which "
            f"accepts at most {describe_span(max_lifetime)} (its setting "
            "CRYPTOBOT_SERVICE_TOKEN_MAX_LIFETIME_S); mint one with a lifetime of "
            f"{describe_span(max_lifetime)} or less"
        )
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "jti": uuid.uuid4().hex,
        "scope": " ".join(sorted(set(scopes))),
    }
    chosen = algorithm or ("HS256" if isinstance(key, str | bytes) else key_algorithm(key))
    return jwt.encode(claims, key, algorithm=chosen)
