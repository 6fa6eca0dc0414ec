"""Reading request headers, one way for the edge, the fast lane and the body validator."""

from __future__ import annotations

from mock_server.http.headers import declared_length, first_values, header, media_type

RAW = [
    (b"authorization", b"Bearer first"),
    (b"content-type", b"Application/JSON; charset=UTF-8"),
    (b"authorization", b"Bearer second"),
]


def test_the_first_of_repeated_headers_counts() -> None:
    assert first_values(RAW, b"authorization", b"content-type", b"content-length") == [
        "Bearer first",
        "Application/JSON; charset=UTF-8",
        None,
    ]
    assert header({"headers": RAW}, b"authorization") == "Bearer first"
    assert header({"headers": RAW}, b"origin") is None


def test_a_media_type_is_lower_case_without_parameters() -> None:
    assert media_type("Application/JSON; charset=UTF-8") == "application/json"
    assert media_type(" text/plain ") == "text/plain"
    assert media_type(None) == media_type("") == ""


def test_only_ascii_digits_are_a_length() -> None:
    assert declared_length("1024") == 1024
    assert declared_length("0") == 0
    for value in (None, "", "-1", "1e3", " 12", "²", "١٢"):  # superscript, Arabic-Indic
        assert declared_length(value) is None, value
