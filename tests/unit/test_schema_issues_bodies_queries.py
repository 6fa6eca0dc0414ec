"""Turning schema failures into zod-style issues, and parsing deep-object queries."""

from __future__ import annotations

import pytest

from mock_server.core.errors import Issue, issues_text, join_path
from mock_server.core.times import parse_iso_ms
from mock_server.http.bodies import strip_unknown
from mock_server.http.queries import DeepObjectParser
from mock_server.http.schema_issues import FORMATS, SchemaValidators


@pytest.mark.parametrize(
    ("path", "joined"),
    [
        (("type",), "type"),
        (("tags", 0), "tags[0]"),
        (("triggerConfig", "tags", 3), "triggerConfig.tags[3]"),
        (("metadata", "a b"), "metadata.a b"),
        (("metadata", 'say "hi"'), 'metadata["say \\"hi\\""]'),
        (("metadata", "1"), 'metadata["1"]'),
        (("page[size]",), "page[size]"),
    ],
)
def test_paths_are_joined_like_zod_validation_error(
    path: tuple[str | int, ...], joined: str
) -> None:
    assert join_path(path) == joined


def test_issue_text_and_the_joined_message() -> None:
    issues = [
        Issue("invalid_type", "Required", ("type",)),
        Issue("custom", "Bad", (0,)),
        Issue("custom", "Whole body"),
    ]
    assert issues_text(issues) == (
        'Validation error: Required at "type"; Bad at index 0; Whole body'
    )


SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 3},
        "size": {"type": "integer", "minimum": 1},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "when": {"type": "string", "format": "date-time"},
        "nested": {"type": "object", "properties": {"keep": {"type": "string"}}},
        "free": {"type": "object", "additionalProperties": True, "properties": {}},
    },
}


def test_every_failure_becomes_an_issue_with_a_zod_message() -> None:
    issues = SchemaValidators().issues(
        SCHEMA, {"size": 1.5, "kind": "c", "when": "yesterday", "nested": {"keep": 1}}
    )
    assert sorted((i.code, i.message, i.path) for i in issues) == sorted(
        [
            ("invalid_type", "Required", ("name",)),
            ("invalid_type", "Expected integer, received float", ("size",)),
            (
                "invalid_enum_value",
                "Invalid enum value. Expected 'a' | 'b', received 'c'",
                ("kind",),
            ),
            ("invalid_date", "Invalid date", ("when",)),
            ("invalid_type", "Expected string, received number", ("nested", "keep")),
        ]
    )


def test_validators_are_compiled_once_per_schema() -> None:
    validators = SchemaValidators()
    validators.issues(SCHEMA, {})
    compiled = dict(validators._cache)
    validators.issues(SCHEMA, {"name": "x"})
    assert validators._cache == compiled and len(compiled) == 1


def test_unknown_keys_are_stripped_where_the_schema_is_closed() -> None:
    value = {"name": "x", "extra": 1, "nested": {"keep": "k", "drop": 2}, "free": {"any": [1]}}
    assert strip_unknown(value, SCHEMA) == {
        "name": "x",
        "nested": {"keep": "k"},
        "free": {"any": [1]},
    }


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2026-01-02T03:04:05Z", True),
        ("2026-01-02T03:04:05.123+02:00", True),
        ("2026-01-02", False),
        ("2026-13-02T03:04:05Z", False),
        ("tomorrow", False),
    ],
)
def test_date_times_must_be_rfc_3339(text: str, valid: bool) -> None:
    assert FORMATS.conforms(text, "date-time") is valid


def test_instants_are_read_to_the_millisecond() -> None:
    assert parse_iso_ms("1970-01-01T00:00:01.5Z") == 1500
    assert parse_iso_ms("1970-01-01T01:00:00+01:00") == 0


FILTER = {
    "name": "filter",
    "in": "query",
    "style": "deepObject",
    "explode": True,
    "schema": {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "createdAt": {
                "type": "object",
                "properties": {
                    "from": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                    "period": {"type": "string"},
                },
            },
        },
    },
}


def parser(split: bool) -> DeepObjectParser:
    cls = type("P", (DeepObjectParser,), {"split_lists": split})
    instance: DeepObjectParser = cls([FILTER], {})
    return instance


def test_deep_objects_nest_and_type_their_leaves() -> None:
    query = {
        "filter[createdAt][from]": ["1700000000000"],
        "filter[createdAt][period]": ["7d"],
        "other": ["x", "y"],
    }
    assert parser(True).resolve_query(query) == {
        "filter": {"createdAt": {"from": 1700000000000, "period": "7d"}},
        "other": "y",
    }


def test_list_values_split_or_not() -> None:
    query = {"filter[tags]": ["a,b", "c"]}
    assert parser(True).resolve_query(query) == {"filter": {"tags": ["a", "b", "c"]}}
    assert parser(False).resolve_query(query) == {"filter": {"tags": ["c"]}}
    assert parser(True).resolve_query({"filter[createdAt]": [""]}) == {"filter": {"createdAt": {}}}
    indexed = {"filter[tags][0]": ["x,w"], "filter[tags][]": [""], "filter[tags]": ["z"]}
    assert parser(True).resolve_query(indexed) == {"filter": {"tags": ["x,w", "", "z"]}}
    empty = {"filter[tags]": ["", "a,,"]}
    assert parser(True).resolve_query(empty) == {"filter": {"tags": ["a"]}}
    assert parser(False).resolve_query(empty) == {"filter": {"tags": ["a,,"]}}
