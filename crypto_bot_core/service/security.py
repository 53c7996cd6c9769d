"""Route guards: a dependency per scope, and what the OpenAPI document says about them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from crypto_bot_core.service.auth import Principal, Scope, forbidden, unauthorized
from crypto_bot_core.service.errors import error_responses

SCHEME = "bearer"
SCOPES_KEY = "x-required-scopes"


def principal_of(request: Request) -> Principal:
    """The caller of ``request``: a valid bearer token, or a 401 that says what is wrong."""
    header = request.headers.get("authorization")
    if not header:
        raise unauthorized(
            "this operation needs a bearer token: send 'Authorization: Bearer <token>' "
            "(an operator mints one with: cryptobot serve token --subject NAME --scope SCOPE)",
            error=None,
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized(
            f"the Authorization header uses the {scheme!r} scheme; send 'Bearer <token>'",
            error="invalid_request",
        )
    context = request.app.state.context
    principal: Principal = context.verifier.verify(token.strip())
    return principal


def require(scope: Scope) -> Callable[[Request], Principal]:
    def guard(request: Request) -> Principal:
        principal = principal_of(request)
        if scope.value not in principal.scopes:
            raise forbidden(scope.value, principal)
        request.state.principal = principal  # for checks that depend on the request's data
        return principal

    guard.__name__ = f"require_{scope.name.lower()}"
    return guard


def secured(
    scope: Scope, *statuses: int, responses: dict[int | str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Keyword arguments of a route decorator: the guard, the error responses, the scope."""
    return {
        "dependencies": [Depends(require(scope))],
        "responses": {**(responses or {}), **error_responses(401, 403, *statuses)},
        "openapi_extra": {SCOPES_KEY: [scope.value]},
    }
