"""Every exception becomes the API's envelope; response validation can be switched on."""

from __future__ import annotations

import json

import pytest
from connexion.exceptions import (
    BadRequestProblem,
    NonConformingResponseBody,
    OAuthProblem,
    UnsupportedMediaTypeProblem,
)
from starlette.exceptions import HTTPException

from mock_server.core.errors import ClientDisconnected
from mock_server.core.fidelity import Behaviour
from mock_server.core.jsoncodec import dump_json
from mock_server.http.responses import error_response
from mock_server.sessions.errors import SessionClosed

DOCUMENTED = Behaviour.of("documented")


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (SessionClosed(), 409, {"error": SessionClosed.message}),
        (
            UnsupportedMediaTypeProblem(),
            415,
            {"error": "Request bodies must be sent as application/json"},
        ),
        (
            OAuthProblem(detail="No authorization token provided"),
            401,
            {"error": "Invalid or Missing API key"},
        ),
        (BadRequestProblem(detail="bad"), 400, {"error": "bad"}),
        (HTTPException(404), 404, {"error": "Not found"}),
        (HTTPException(405, headers={"Allow": "GET"}), 405, {"error": "Method not allowed"}),
        (HTTPException(418, detail="teapot"), 418, {"error": "teapot"}),
        (ClientDisconnected(), 400, {"error": "Client disconnected"}),
        (RuntimeError("boom"), 500, {"error": "Internal Server Error"}),
    ],
)
def test_every_failure_is_rendered_in_the_api_envelope(
    exc: Exception, status: int, body: dict[str, str]
) -> None:
    response = error_response(exc, DOCUMENTED)
    assert response.status_code == status
    assert json.loads(bytes(response.body)) == body
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_a_non_conforming_response_names_the_problem() -> None:
    response = error_response(
        NonConformingResponseBody("'tags' is not of type 'array'"), DOCUMENTED
    )
    assert response.status_code == 500
    assert "does not conform to openapi.yaml" in json.loads(bytes(response.body))["error"]


def test_json_is_compact_utf_8_and_survives_lone_surrogates() -> None:
    assert dump_json({"a": "é"}) == '{"a":"é"}'.encode()
    assert dump_json({"a": "\ud800"}) == b'{"a":"\\ud800"}'


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
