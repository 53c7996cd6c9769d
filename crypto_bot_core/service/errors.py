"""Errors as RFC 9457 problem details: one JSON shape for every 4xx and 5xx.

Handlers turn the framework's validation errors and the SDK's exceptions into
``application/problem+json`` bodies that say what was wrong and what to do,
and the OpenAPI document declares that media type for every error response.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldProblem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: str = Field(description="Where the bad value is, e.g. query.date or body.reason.")
    message: str


class Problem(BaseModel):
    """An error response (RFC 9457 problem details)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(default="about:blank", description="A URI naming the kind of problem.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="What went wrong here, and what to do about it.")
    required_scope: str | None = Field(
        default=None, description="On 403: the scope the token lacks."
    )
    granted_scopes: list[str] | None = Field(default=None, description="On 403: the token's.")
    errors: list[FieldProblem] | None = Field(default=None, description="On 422: each bad input.")


class ServiceError(Exception):
    """An error with its HTTP status, title and detail; becomes a :class:`Problem`."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.problem = Problem(status=status, title=title, detail=detail, **extra)
        self.headers = headers or {}


def problem_body(problem: Problem) -> dict[str, Any]:
    return problem.model_dump(mode="json", exclude_none=True)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the OpenAPI document: each status a :class:`Problem`."""
    descriptions = {
        400: "Bad request.",
        401: "No valid bearer token: missing, malformed, expired or wrongly signed.",
        403: "The token is valid but lacks the scope this operation needs.",
        404: "Not found.",
        409: "Conflict with the service's state.",
        422: "An input is invalid; `errors` lists each one.",
        500: "The server failed; `detail` says where.",
        503: "A dependency is not available.",
    }
    return {status: {"model": Problem, "description": descriptions[status]} for status in statuses}
