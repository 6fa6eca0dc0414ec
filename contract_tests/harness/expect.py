"""Expectations several rules share."""

from __future__ import annotations

import httpx

from .client import ContractApi

SCOPE_ERROR = {
    "error": "Unauthorized",
    "code": "unauthorized",
    "param": "access_token",
    "type": "authorization",
}


def invalid(api: ContractApi, response: httpx.Response, *fragments: str) -> None:
    """A body refused by validation, in either documented shape, each fragment in its
    message."""
    body = response.json()
    message = body.get("error", "")
    api.observe(
        "validation_style",
        documented=response.status_code == 422 and "details" in body,
        deployed=response.status_code == 400 and message.startswith("Validation error: "),
    )
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def out_of_scope(api: ContractApi, response: httpx.Response) -> None:
    """A valid public token without the scope the call needs."""
    assert response.json() == SCOPE_ERROR, response.text
    api.observe(
        "missing_scope_status",
        documented=response.status_code == 401,
        deployed=response.status_code == 403,
    )


def too_large(api: ContractApi, response: httpx.Response) -> None:
    assert response.json()["error"] == "Request body too large", response.text
    api.observe(
        "body_too_large_status",
        documented=response.status_code == 422,
        deployed=response.status_code == 413,
    )
