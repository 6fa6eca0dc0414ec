"""The assembled app: every operation bound, response validation as a switch, the fast lane
refusing at start-up what it cannot answer exactly."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mock_server.app import create_app, handler_resolver, query_parser
from mock_server.core.fidelity import Behaviour
from mock_server.core.settings import Settings
from mock_server.core.specs import api_spec_path, load_spec
from mock_server.handlers.sessions import SessionHandlers
from mock_server.http.fastlane import LaneRefused, compile_lane
from mock_server.http.schema_issues import SchemaValidators


def test_every_operation_is_bound_to_a_handler() -> None:
    app = create_app(Settings())
    assert app.operation_ids == [
        "create_session_v1",
        "list_sessions_v1",
        "retrieve_session_v1",
        "update_session_v1",
        "close_session_v1",
        "get_session_snapshot_url_v1",
        "create_session_snapshot_upload_url_v1",
        "generate_jwt_claims_v1",
        "create_public_token_v1",
        "end_and_continue_session_v1",
        "create_session_stream_waitpoint_v1",
        "wait_for_waitpoint_token_v1",
        "retrieve_waitpoint_token_v1",
        "probe_session_channel_v1",
        "subscribe_to_session_channel_v1",
        "initialize_session_channel_v1",
        "append_to_session_channel_v1",
        "read_session_channel_records_v1",
        "probe_session_side_channel_v1",
        "subscribe_to_session_side_channel_v1",
        "initialize_session_side_channel_v1",
        "append_to_session_side_channel_v1",
        "read_session_side_channel_records_v1",
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("validate", [True, False])
async def test_response_validation_is_a_switch(validate: bool) -> None:
    mock = create_app(Settings(validate_responses=validate))
    headers = {"Authorization": "Bearer tr_dev_switch"}
    transport = httpx.ASGITransport(app=mock)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        body = {"type": "t", "taskIdentifier": "x", "triggerConfig": {"basePayload": {}}}
        created = (await client.post("/api/v1/sessions", json=body, headers=headers)).json()
        env = mock.state.environments.by_key("tr_dev_switch").id
        mock.state.store.get(env, created["id"]).tags = "not a list"  # type: ignore[assignment]
        response = await client.get(f"/api/v1/sessions/{created['id']}", headers=headers)
    if validate:
        assert response.status_code == 500
        assert "does not conform to openapi.yaml" in response.json()["error"]
    else:
        assert response.status_code == 200
        assert response.json()["tags"] == "not a list"


def _compile(spec: dict[str, Any]) -> None:
    mock = create_app(Settings())
    behaviour = Behaviour.of("documented")
    handlers = SessionHandlers(mock.state.store, mock.state.authenticator, behaviour)
    compile_lane(
        spec,
        handler_resolver(handlers),
        parser_class=query_parser(behaviour),
        validators=SchemaValidators(),
        behaviour=behaviour,
    )


def _with_header_parameter(spec: dict[str, Any]) -> None:
    spec["paths"]["/api/v1/sessions/{session}"]["get"]["parameters"] = [
        {"in": "header", "name": "x-trace", "schema": {"type": "string"}}
    ]


def _with_a_path_level_cookie(spec: dict[str, Any]) -> None:
    spec["paths"]["/api/v1/sessions/{session}/close"]["parameters"] = [
        {"in": "cookie", "name": "sid", "schema": {"type": "string"}}
    ]


def _with_a_form_body(spec: dict[str, Any]) -> None:
    content = spec["paths"]["/api/v1/sessions/{session}"]["patch"]["requestBody"]["content"]
    content["application/x-www-form-urlencoded"] = {"schema": {"type": "object"}}


def _with_another_scheme(spec: dict[str, Any]) -> None:
    spec["components"]["securitySchemes"]["apiKeyQuery"] = {
        "type": "apiKey", "in": "query", "name": "key"
    }  # fmt: skip
    spec["paths"]["/api/v1/sessions"]["post"]["security"].append({"apiKeyQuery": []})


def _with_public_token_only(spec: dict[str, Any]) -> None:
    spec["paths"]["/api/v1/sessions"]["get"]["security"] = [{"publicAccessToken": []}]


def _without_close(spec: dict[str, Any]) -> None:
    del spec["paths"]["/api/v1/sessions/{session}/close"]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (_with_header_parameter, "retrieve_session_v1 has parameters in ['header']"),
        (_with_a_path_level_cookie, "close_session_v1 has parameters in ['cookie']"),
        (_with_a_form_body, "update_session_v1 has request bodies as"),
        (_with_another_scheme, "create_session_v1 has security schemes it does not check"),
        (_with_public_token_only, "list_sessions_v1 has no secretKey alternative"),
        (_without_close, "no operation close_session_v1 in the spec"),
    ],
)
def test_the_lane_refuses_at_start_what_it_could_not_answer_exactly(
    change: Callable[[dict[str, Any]], None], refusal: str
) -> None:
    spec = load_spec(api_spec_path())
    _compile(copy.deepcopy(spec))  # the spec as it is compiles
    change(spec)
    with pytest.raises(LaneRefused, match=refusal.replace("[", r"\[").replace("]", r"\]")):
        _compile(spec)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/sessions/chat-1", "GET, PATCH"),
        ("DELETE", "/api/v1/sessions", "GET, POST"),
        ("POST", "/api/v1/sessions/chat-1/snapshot-url", "GET, PUT"),
        ("DELETE", "/realtime/v1/sessions/chat-1/in", "GET, PUT, HEAD"),
        ("PATCH", "/api/v1/sessions/chat-1/close", "POST"),
    ],
)
async def test_a_405_allows_every_method_the_spec_gives_the_path(
    method: str, path: str, allow: str
) -> None:
    transport = httpx.ASGITransport(app=create_app(Settings()))
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        response = await client.request(
            method, path, headers={"Authorization": "Bearer tr_dev_allow"}
        )
    assert response.status_code == 405
    assert response.json() == {"error": "Method not allowed"}
    assert response.headers["allow"] == allow
