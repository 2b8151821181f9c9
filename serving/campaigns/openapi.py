"""OpenAPI documentation of error answers: every error is ``{"code", "detail"}``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

DESCRIPTIONS = {
    401: "No valid signed credential",
    403: "The caller's role lacks the route's permission",
    404: "No such resource in the caller's organization",
    409: "The resource's state forbids the change",
    422: "A body or parameter the API cannot accept",
    503: "A backing service cannot answer",
}
SIGNED = {
    401: ("invalid_signature", "the request signature does not match its key"),
    403: ("forbidden", "the analyst role may not campaigns write (needs campaign_manager)"),
}


class ErrorBody(BaseModel):
    code: str = Field(examples=["template_not_found"], description="machine-readable reason")
    detail: str = Field(examples=["no template 3f0c... in your organization"])


def errors(
    examples: dict[int, tuple[str, str]], *, signed: bool = True
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with its description and an example."""
    merged = {**(SIGNED if signed else {}), **examples}
    return {
        status: {
            "model": ErrorBody,
            "description": DESCRIPTIONS.get(status, "Error"),
            "content": {"application/json": {"example": {"code": code, "detail": detail}}},
        }
        for status, (code, detail) in sorted(merged.items())
    }
