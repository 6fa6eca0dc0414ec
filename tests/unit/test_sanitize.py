"""The deployed server's sanitising of ``.in`` parts, and JSON written as JavaScript
writes it."""

from __future__ import annotations

import pytest

from mock_server.channels.sanitize import strip_client_webhook_source
from mock_server.core.jsoncodec import dump_js_json, js_number_text


@pytest.mark.parametrize(
    ("part", "stored"),
    [
        ('{"payload": {"actionSource": "webhook", "a": 1}}', '{"payload":{"a":1}}'),
        (
            '{"b":2,"payload":{"x":[1.5,2.0],"actionSource":"webhook"}}',
            '{"b":2,"payload":{"x":[1.5,2]}}',
        ),
        ('{"payload": {"actionSource": "ui"}}', '{"payload": {"actionSource": "ui"}}'),
        ('{"actionSource": "webhook"}', '{"actionSource": "webhook"}'),
        (
            '["actionSource", {"payload": {"actionSource": "webhook"}}]',
            '["actionSource", {"payload": {"actionSource": "webhook"}}]',
        ),
        ('{"payload": "actionSource"}', '{"payload": "actionSource"}'),
        ('{"payload": {"actionSource": "webhook"}', '{"payload": {"actionSource": "webhook"}'),
        ("plain text", "plain text"),
    ],
)
def test_only_a_webhook_claim_in_the_payload_is_removed(part: str, stored: str) -> None:
    assert strip_client_webhook_source(part) == stored


def test_duplicate_keys_keep_the_last_as_javascript_does() -> None:
    part = '{"payload":{"actionSource":"ui"},"payload":{"actionSource":"webhook","k":"é\\n"}}'
    assert strip_client_webhook_source(part) == '{"payload":{"k":"é\\n"}}'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (1.5, "1.5"),
        (1e21, "1e+21"),
        (1.5e-7, "1.5e-7"),
        (2**70, str(2**70)),
    ],
)
def test_numbers_as_javascript_prints_them(value: float, text: str) -> None:
    assert js_number_text(value) == text


def test_json_stringify() -> None:
    value = {"a": [1.0, None, True, "\u2028\x01"], "b": {"c": 0.1}}
    assert dump_js_json(value) == '{"a":[1,null,true,"\u2028\\u0001"],"b":{"c":0.1}}'
