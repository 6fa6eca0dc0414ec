"""Where a client reached the fake (mock_server.http.forwarded): the request's Host,
corrected by a trusted proxy's Forwarded or X-Forwarded-* headers, and never by garbage."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from mock_server.http.forwarded import DEFAULT_TRUSTED, TrustedProxies, public_origin

DEFAULT = TrustedProxies.parse(DEFAULT_TRUSTED)
CHAIN = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")  # the peer and the proxies behind it
PROXY = ("127.0.0.1", 51000)
STRANGER = ("203.0.113.9", 51000)
MAPPED = ("host", "localhost:9000")  # a port mapping in front of the fake: no proxy
MAPPED_ORIGIN = "http://localhost:9000"


def origin(
    *headers: tuple[str, str],
    scheme: str = "http",
    server: Sequence[Any] | None = ("127.0.0.1", 8080),
    client: Sequence[Any] | None = PROXY,
    trusted: TrustedProxies = DEFAULT,
) -> str:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return str(public_origin(scheme, raw, server, client, trusted))


# --- TrustedProxies ----------------------------------------------------------------------


def test_addresses_and_networks_separated_by_commas_or_spaces() -> None:
    trusted = TrustedProxies.parse(" 127.0.0.1,10.0.0.0/8  ::1 , 2001:db8::/32,")
    for inside in ("127.0.0.1", "10.200.3.4", "::1", "2001:db8::7"):
        assert inside in trusted, inside
    for outside in ("127.0.0.2", "11.0.0.1", "::2", "2001:db9::1"):
        assert outside not in trusted, outside
    listed = TrustedProxies.parse(["192.0.2.0/24", "10.1.2.3/8"])  # host bits are forgiven
    assert "192.0.2.250" in listed and "10.9.9.9" in listed and "192.0.3.1" not in listed
    assert "127.0.0.1" not in TrustedProxies.parse("")


def test_a_star_trusts_every_peer_even_unnamed_ones() -> None:
    everyone = TrustedProxies.parse("10.0.0.1 *")
    assert everyone.everyone
    for peer in ("198.51.100.1", "::5", "unknown", "_hidden", None):
        assert peer in everyone
    assert not TrustedProxies.parse(DEFAULT_TRUSTED).everyone


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("proxy.internal", "proxy.internal"),
        ("10.0.0.0/33", "10.0.0.0/33"),
        ("127.0.0.1, 1.2.3, also-bad", "1.2.3"),
        ("127.0.0.1:8080", "127.0.0.1:8080"),
        (["::1", "**"], "**"),
    ],
)
def test_a_bad_entry_is_refused_by_name(spec: str | list[str], named: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(repr(named))):
        TrustedProxies.parse(spec)


@pytest.mark.parametrize(
    ("node", "inside"),
    [
        ("192.0.2.1:8080", True),
        ("[::1]:80", True),
        ("[::1]", True),
        ("::1", True),
        ("[::2]:80", False),
        ("192.0.3.1:8080", False),
        ("[::1", False),
        ("unknown", False),
        ("_hidden", False),
        ("", False),
        (None, False),
        (3232235521, False),
    ],
)
def test_membership_ignores_ports_and_brackets(node: object, inside: bool) -> None:
    assert (node in TrustedProxies.parse("192.0.2.0/24 ::1")) is inside


# --- the request's own origin ------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "host", "expected"),
    [
        ("http", "localhost:9000", "http://localhost:9000"),
        ("http", "localhost", "http://localhost"),
        ("https", "mock.example.com", "https://mock.example.com"),
        ("http", "mock.example.com:80", "http://mock.example.com"),
        ("https", "mock.example.com:443", "https://mock.example.com"),
        ("https", "mock.example.com:80", "https://mock.example.com:80"),
        ("http", "mock.example.com:443", "http://mock.example.com:443"),
        ("http", "Mock.Example.COM:9000", "http://mock.example.com:9000"),
        ("http", "[::1]:9000", "http://[::1]:9000"),
        ("http", "192.0.2.7", "http://192.0.2.7"),
    ],
)
def test_the_host_header(scheme: str, host: str, expected: str) -> None:
    assert origin(("host", host), scheme=scheme) == expected


def test_without_a_host_the_authority_then_the_listening_address() -> None:
    authority = (":authority", "h2.example:8443")
    assert origin(authority, scheme="https") == "https://h2.example:8443"
    assert origin(("host", "h1.example"), authority) == "http://h1.example"
    assert origin() == "http://127.0.0.1:8080"
    assert origin(server=("::1", 8080)) == "http://[::1]:8080"
    assert origin(server=("10.0.0.5", 80)) == "http://10.0.0.5"
    assert origin(server=None) == "http://localhost"
    assert origin(("host", "bad host/x")) == "http://127.0.0.1:8080"  # never echoed


# --- forwarding headers ------------------------------------------------------------------

EVERY_KIND = (
    ("forwarded", "for=198.51.100.7;proto=https;host=public.example"),
    ("x-forwarded-proto", "https"),
    ("x-forwarded-host", "public.example"),
    ("x-forwarded-port", "8443"),
)


def test_an_untrusted_peer_is_not_believed() -> None:
    assert origin(MAPPED, *EVERY_KIND, client=STRANGER) == MAPPED_ORIGIN
    assert origin(MAPPED, *EVERY_KIND[1:], client=STRANGER) == "http://localhost:9000"
    assert origin(MAPPED, *EVERY_KIND, client=None) == "http://localhost:9000"
    star = TrustedProxies.parse("*")
    assert origin(MAPPED, *EVERY_KIND, client=STRANGER, trusted=star) == "https://public.example"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("for=1.2.3.4;proto=https;host=mock.example.com:8443", "https://mock.example.com:8443"),
        ("for=1.2.3.4;proto=https;host=mock.example.com", "https://mock.example.com"),
        ("proto=https;host=mock.example.com:443", "https://mock.example.com"),
        ("host=mock.example.com", "http://mock.example.com"),
        ("For=1.2.3.4; Proto=HTTPS; Host=Mock.Example.com", "https://mock.example.com"),
        ('for="[2001:db8::1]:4711";proto="https";host="mock.example.com:8443"', "https://mock.example.com:8443"),
        ('host="[2001:db8::2]:8443"', "http://[2001:db8::2]:8443"),
        ("proto=https", "https://localhost:9000"),
        ("for=1.2.3.4", "http://localhost:9000"),
        ("for=1.2.3.4;;host=mock.example.com;", "http://mock.example.com"),  # empty pairs
        ('host="mock.example.com";host=evil.example', "http://mock.example.com"),
    ],
)  # fmt: skip
def test_forwarded(value: str, expected: str) -> None:
    assert origin(MAPPED, ("forwarded", value)) == expected


def test_a_proxy_that_only_names_https_keeps_the_host_on_its_default_port() -> None:
    # nginx's usual "proxy_set_header Host $host; X-Forwarded-Proto $scheme": no port.
    host = ("host", "mock.example.com")
    assert origin(host, ("x-forwarded-proto", "https")) == "https://mock.example.com"
    assert origin(host, ("forwarded", "proto=https")) == "https://mock.example.com"
    with_port = ("host", "mock.example.com:8080")
    assert origin(with_port, ("x-forwarded-proto", "https")) == "https://mock.example.com:8080"


OUTERMOST = "for=198.51.100.7;proto=https;host=public.example"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # The peer's element last: its client 10.0.0.2 is a trusted proxy, look further out.
        ([f"{OUTERMOST}, for=10.0.0.2;host=internal:8000"], "https://public.example"),
        ([OUTERMOST, "for=10.0.0.2;host=internal:8000"], "https://public.example"),
        # Its client is no proxy of ours: what it claimed is not believed.
        ([f"{OUTERMOST}, for=192.0.2.50;host=internal:8000"], "http://internal:8000"),
        (["host=evil.example", f"{OUTERMOST}, for=10.0.0.2"], "https://public.example"),
        ([f"for=10.9.9.9;host=evil.example, {OUTERMOST}, for=10.0.0.2"], "https://public.example"),
        # An unnamed or obfuscated client is not a trusted proxy either.
        (["host=evil.example, for=unknown;host=internal:8000"], "http://internal:8000"),
        (["host=evil.example, for=_hidden;host=internal:8000"], "http://internal:8000"),
        (["host=evil.example, host=internal:8000"], "http://internal:8000"),
        (['host=outer.example, for="[::1]:5000";host=internal:8000'], "http://outer.example"),
    ],
)
def test_a_chain_in_forwarded_is_believed_up_to_the_outermost_trusted_proxy(
    values: list[str], expected: str
) -> None:
    headers = [("forwarded", value) for value in values]
    trusted = TrustedProxies.parse("127.0.0.1, ::1, 10.0.0.0/8")
    assert origin(MAPPED, *headers, trusted=trusted) == expected


def test_forwarded_wins_over_x_forwarded() -> None:
    assert origin(MAPPED, *EVERY_KIND) == "https://public.example"
    only_host = origin(MAPPED, ("forwarded", "host=a.example"), *EVERY_KIND[1:])
    assert only_host == "http://a.example"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"proto": "https", "host": "mock.example.com"}, "https://mock.example.com"),
        ({"host": "mock.example.com"}, "http://mock.example.com"),
        ({"proto": "https"}, "https://localhost:9000"),
        ({"proto": "HTTPS", "host": "mock.example.com:8443"}, "https://mock.example.com:8443"),
        ({"proto": "https", "port": "8443"}, "https://localhost:8443"),
        ({"proto": "https", "host": "mock.example.com", "port": "443"}, "https://mock.example.com"),
        ({"host": "mock.example.com", "port": "8000"}, "http://mock.example.com:8000"),
        ({"host": "mock.example.com:9443", "port": "8443"}, "http://mock.example.com:9443"),
    ],
)
def test_x_forwarded(headers: dict[str, str], expected: str) -> None:
    sent = [(f"x-forwarded-{name}", value) for name, value in headers.items()]
    assert origin(MAPPED, *sent) == expected


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        ("198.51.100.7, 10.0.0.2", "https://public.example"),  # 10.0.0.2 passed it on
        ("198.51.100.7, 192.0.2.50", "http://internal:8000"),  # not one of ours
        ("198.51.100.7", "http://internal:8000"),
        ("", "http://internal:8000"),
    ],
)
def test_a_chain_in_x_forwarded_follows_x_forwarded_for(chain: str, expected: str) -> None:
    headers = [
        ("x-forwarded-for", chain),
        ("x-forwarded-proto", "https, http"),
        ("x-forwarded-host", "public.example"),
        ("x-forwarded-host", "internal:8000"),  # a second header reads as a list too
    ]
    assert origin(MAPPED, *headers, trusted=CHAIN) == expected
    # A proxy that set (rather than appended) a value: the one value there is.
    one = [("x-forwarded-for", "198.51.100.7, 10.0.0.2"), ("x-forwarded-host", "edge.example")]
    assert origin(MAPPED, *one, trusted=CHAIN) == "http://edge.example"


BAD_HOSTS = [
    "evil example",
    "evil.example/path",
    "user@evil.example",
    "javascript:alert(1)",
    "javascript:",
    "evil.example:70000",
    "evil.example:0",
    "evil.example:80a",
    "evil.example:",
    "[evil.example]",
    "evil.example, ",
]


@pytest.mark.parametrize("bad", BAD_HOSTS)
def test_a_host_that_is_no_host_is_ignored_and_never_echoed(bad: str) -> None:
    by_x = origin(MAPPED, ("x-forwarded-host", bad), ("x-forwarded-proto", "https"))
    by_forwarded = origin(MAPPED, ("forwarded", f'proto=https;host="{bad}"'))
    assert by_x == by_forwarded == "https://localhost:9000"  # the proto alone still counts


@pytest.mark.parametrize(
    "value",
    [
        "for=1.2.3.4;host=evil.example junk",
        'for=1.2.3.4;host="evil.example',
        "for=1.2.3.4;host=evil.example/x",
        "host=evil.example garbage, for=1.2.3.4",
    ],
)
def test_a_malformed_forwarded_element_counts_for_nothing(value: str) -> None:
    assert origin(MAPPED, ("forwarded", value)) == "http://localhost:9000"


def test_client_garbage_cannot_hide_the_proxys_own_element() -> None:
    good = ("forwarded", "for=198.51.100.7;host=good.example")
    for junk in ("host=evil.example, garbage", "host=evil.example x", "host=evil.example;=x"):
        assert origin(MAPPED, ("forwarded", junk), good) == "http://good.example", junk
    # A quote left open runs to the end: nothing after it is believed, nor before it.
    assert origin(MAPPED, ("forwarded", 'host=evil.example;for="'), good) == MAPPED_ORIGIN


@pytest.mark.parametrize("proto", ["ftp", "javascript", "https x", "https://", "", "ws"])
def test_a_scheme_that_is_not_http_or_https_is_ignored(proto: str) -> None:
    assert origin(MAPPED, ("x-forwarded-proto", proto)) == "http://localhost:9000"
    assert origin(MAPPED, ("forwarded", f'proto="{proto}"')) == "http://localhost:9000"


@pytest.mark.parametrize("port", ["70000", "0", "-1", "80a", " ", "8443, x", "²", "0x50"])
def test_a_port_that_is_no_port_is_ignored(port: str) -> None:
    headers = (("x-forwarded-host", "mock.example.com"), ("x-forwarded-port", port))
    assert origin(MAPPED, *headers) == "http://mock.example.com"
