"""The fast paths give the same answers as the reference libraries they stand in front of:
jsonschema_rs before jsonschema, orjson before the json module, hmac before PyJWT."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from connexion.json_schema import Draft4RequestValidator, resolve_refs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.auth.tokens import sign_hs256
from mock_server.control.seeding import Seed
from mock_server.core.errors import InvalidJson
from mock_server.core.jsoncodec import dump_json, parse_json
from mock_server.core.specs import api_spec_path, load_spec
from mock_server.http.schema_issues import FORMATS, SchemaValidators, without_nullable


def test_tokens_are_byte_for_byte_what_pyjwt_signs() -> None:
    payload = {"sub": "env", "pub": True, "scopes": ["read:sessions:é/1"], "iat": 1}
    payload["exp"] = 4_000_000_000
    key = b"tr_dev_abc"
    expected = jwt.encode(payload, key, algorithm="HS256", headers={"typ": None})
    assert sign_hs256(payload, key) == expected
    assert jwt.decode(expected, key, algorithms=["HS256"]) == payload


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a":[1,2.5,-0.0,"\\u00e9"]}', {"a": [1, 2.5, -0.0, "é"]}),
        # Past 64 bits orjson would round; the standard library keeps the integer exact.
        (b'{"n":123456789012345678901234567890}', {"n": 123456789012345678901234567890}),
        # orjson refuses lone surrogates; JSON text allows them, so the fallback reads them.
        (b'{"s":"\\ud800"}', {"s": "\ud800"}),
    ],
)
def test_bodies_parse_like_the_standard_library(raw: bytes, expected: Any) -> None:
    value = parse_json(raw)
    assert value == expected
    assert [type(v) for v in value.values()] == [type(v) for v in expected.values()]


@pytest.mark.parametrize("raw", [b"NaN", b"[1e400]", b'{"a":1', b'"\xff"', b""])
def test_what_neither_parser_accepts_is_invalid_json(raw: bytes) -> None:
    with pytest.raises(InvalidJson):
        parse_json(raw)


def test_responses_fall_back_where_orjson_cannot_write() -> None:
    assert dump_json({"a": "é", "b": [1.5, None]}) == '{"a":"é","b":[1.5,null]}'.encode()
    assert dump_json({"n": 2**70}) == b'{"n":1180591620717411303424}'
    assert dump_json({"s": "\ud800"}) == b'{"s":"\\ud800"}'


def test_nullable_becomes_json_schema_null_and_cycles_survive() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"m": {"type": "object", "nullable": True}, "e": {"enum": ["a"]}},
    }
    schema["properties"]["self"] = schema
    plain = without_nullable(schema)
    assert plain["properties"]["m"]["type"] == ["object", "null"]
    assert plain["properties"]["e"] == {"enum": ["a"]}
    assert plain["properties"]["self"] is plain
    assert "type" in schema["properties"]["m"] and schema["properties"]["m"]["type"] == "object"


def _request_schemas() -> list[tuple[str, dict[str, Any]]]:
    resolved = resolve_refs(load_spec(api_spec_path()))
    found = []
    for path, item in resolved["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {}) if isinstance(op, dict) else {}
            schema = content.get("application/json", {}).get("schema")
            if schema and not schema.get("x-raw-body") and not schema.get("x-streamed-body"):
                found.append((f"{method} {path}", schema))
    return found


REQUEST_SCHEMAS = _request_schemas()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["chat.agent", "run_x", "session_x", " ", "2024-01-01T00:00:00Z"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "externalId", "taskIdentifier", "triggerConfig", "tags",
                         "metadata", "basePayload", "reason", "expiresAt", "x"]),
        inner, max_size=6),
    max_leaves=20,
)  # fmt: skip


def test_every_json_request_body_schema_is_compared() -> None:
    assert len(REQUEST_SCHEMAS) >= 4, [name for name, _ in REQUEST_SCHEMAS]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(range(len(REQUEST_SCHEMAS))), JSON_VALUES)
def test_the_fast_validator_never_accepts_what_jsonschema_refuses(index: int, value: Any) -> None:
    """jsonschema's verdict counts: the fast one may only ever agree that a body is valid."""
    _, schema = REQUEST_SCHEMAS[index]
    reference = not any(Draft4RequestValidator(schema, format_checker=FORMATS).iter_errors(value))
    assert (SchemaValidators().issues(schema, value) == []) == reference


def test_the_seed_file_fast_path_reads_json(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    body: dict[str, Any] = {"type": "t", "externalId": "a", "taskIdentifier": "x"}
    body["triggerConfig"] = {"basePayload": {"n": 1}}
    seed.write_text(json.dumps({"environments": {"tr_dev_abcdef": {"sessions": [body]}}}))
    loaded = Seed.load(seed, load_spec(api_spec_path()))
    assert loaded.environments == {"tr_dev_abcdef": [body]}


def test_json_seed_files_keep_long_integers_exact(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    body: dict[str, Any] = {"type": "t", "externalId": "a", "taskIdentifier": "x"}
    body["triggerConfig"] = {"basePayload": {"n": 123456789012345678901234567890}}
    seed.write_text(json.dumps({"environments": {"tr_dev_abcdef": {"sessions": [body]}}}))
    loaded = Seed.load(seed, load_spec(api_spec_path()))
    (entry,) = loaded.environments["tr_dev_abcdef"]
    assert entry["triggerConfig"]["basePayload"]["n"] == 123456789012345678901234567890
