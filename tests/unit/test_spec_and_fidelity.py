"""The contract files themselves, and the fidelity table against its page in docs/."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from mock_server.core.fidelity import (
    DIFFERENCES,
    Behaviour,
    Fidelity,
    behaviour_fields,
    markdown_table,
)
from mock_server.core.specs import load_spec, operations
from mock_server.sessions.durations import parse_period
from tests.support import ADMIN_SPEC_PATH, ROOT, SPEC_PATH

UPSTREAM_OPERATIONS = {
    ("post", "/api/v1/sessions"): ("create_session_v1", {"secretKey", "publicAccessToken"}),
    ("get", "/api/v1/sessions"): ("list_sessions_v1", {"secretKey", "publicAccessToken"}),
    ("get", "/api/v1/sessions/{session}"): (
        "retrieve_session_v1",
        {"secretKey", "publicAccessToken"},
    ),
    ("patch", "/api/v1/sessions/{session}"): ("update_session_v1", {"secretKey"}),
    ("post", "/api/v1/sessions/{session}/close"): ("close_session_v1", {"secretKey"}),
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec(SPEC_PATH)


@pytest.mark.parametrize("path", [SPEC_PATH, ADMIN_SPEC_PATH])
def test_specs_are_valid_openapi_3_0_3(path: Any) -> None:
    document = yaml.safe_load(path.read_text())
    assert document["openapi"] == "3.0.3"
    validate(document)


def test_the_five_upstream_operations_keep_their_ids_paths_and_security(
    spec: dict[str, Any],
) -> None:
    for (method, path), (operation_id, schemes) in UPSTREAM_OPERATIONS.items():
        operation = spec["paths"][path][method]
        assert operation["operationId"] == operation_id
        assert {name for alt in operation["security"] for name in alt} == schemes


def test_create_links_to_retrieve_update_and_close(spec: dict[str, Any]) -> None:
    ids = {op_id for op_id, _ in operations(spec)}
    create = spec["paths"]["/api/v1/sessions"]["post"]
    for status in ("200", "201"):
        targets = {
            spec["components"]["links"][link["$ref"].rsplit("/", 1)[1]]["operationId"]
            for link in create["responses"][status]["links"].values()
        }
        assert targets == {"retrieve_session_v1", "update_session_v1", "close_session_v1"} <= ids


def test_body_limits_are_declared_on_the_body_schemas(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["CreateSessionRequestBody"]["x-max-body-bytes"] == 32 * 1024
    assert schemas["UpdateSessionRequestBody"]["x-max-body-bytes"] == 32 * 1024
    assert schemas["CloseSessionRequestBody"]["x-max-body-bytes"] == 1024
    close = spec["paths"]["/api/v1/sessions/{session}/close"]["post"]
    assert close["requestBody"]["required"] is False


def test_every_table_row_is_a_behaviour_and_really_differs() -> None:
    assert {row.name for row in DIFFERENCES} == behaviour_fields()
    assert len({row.name for row in DIFFERENCES}) == len(DIFFERENCES)
    for row in DIFFERENCES:
        assert row.documented_value != row.deployed_value, row.name
        assert getattr(Behaviour.of(Fidelity.DEPLOYED), row.name) == row.deployed_value
        assert getattr(Behaviour.of("documented"), row.name) == row.documented_value


def test_the_fidelity_page_shows_the_table_from_the_code() -> None:
    page = (ROOT / "docs" / "fidelity.md").read_text()
    assert markdown_table() in page


def period_pattern(spec: dict[str, Any]) -> str:
    filters = spec["components"]["schemas"]["SessionsFilter"]["properties"]
    return str(filters["createdAt"]["properties"]["period"]["pattern"])


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_every_period_the_spec_allows_is_one_the_fake_reads(data: st.DataObject) -> None:
    pattern = period_pattern(load_spec(SPEC_PATH))
    text = data.draw(st.from_regex(pattern, fullmatch=True))
    assert parse_period(text) is not None, text


@pytest.mark.parametrize("text", ["soon", "5 parsecs", "1h junk", "", "1e3ms"])
def test_the_period_pattern_refuses_what_is_not_a_duration(spec: dict[str, Any], text: str) -> None:
    assert re.match(period_pattern(spec), text) is None


def test_the_external_id_patterns_trim_what_the_server_trims(spec: dict[str, Any]) -> None:
    from mock_server.sessions.requests import _JS_WHITESPACE, clean_external_id

    for schema in ("CreateSessionRequestBody", "UpdateSessionRequestBody"):
        rules = spec["components"]["schemas"][schema]["properties"]["externalId"]["allOf"]
        not_blank, not_reserved = (re.compile(rule["pattern"]) for rule in rules)
        for space in _JS_WHITESPACE:
            assert not not_blank.search(space * 2)
            assert not not_reserved.search(f"{space}session_x")
        assert not_blank.search("\x1c") and clean_external_id("\x1c") == "\x1c"
        assert not_reserved.search("chat") and not not_reserved.search("session_")


def test_a_rows_topic_is_found_by_its_name() -> None:
    from mock_server.core.fidelity import DIFFERENCES, topic_of

    assert [topic_of(row.name) for row in DIFFERENCES] == [row.topic for row in DIFFERENCES]
    assert topic_of("no-such-row") == "no-such-row"
