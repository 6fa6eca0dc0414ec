"""Where the client reached the fake: the scheme, host and port behind every absolute URL
the fake hands out (``X-S2-Endpoint``, presigned snapshot URLs, waitpoint callback URLs,
request URLs in the journal and its HAR export).

By default that is the request's own ``Host`` (or HTTP/2 ``:authority``), so a port
mapping in front of the fake needs nothing. Behind a reverse proxy the client's address
is in the proxy's ``Forwarded`` (RFC 7239) or ``X-Forwarded-Proto``/``-Host``/``-Port``
headers, which are believed only when the peer that sent the request is a trusted proxy
(``--forwarded-allow-ips``, as uvicorn names it). Through a chain of proxies, the values
used are those the outermost trusted proxy recorded: walking the list from its end, each
hop whose own address is trusted passes the look further out.

A value that is not a plain scheme, host or port is ignored, never echoed: these headers
may still come from a client the trusted proxy passed them through from.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_TRUSTED: Final = ("127.0.0.1", "::1")
DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_HOST: Final = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::(\d{1,5}))?")
# An element runs to a comma outside quotes (a quote left open: to the end).
_FORWARDED_ELEMENT: Final = re.compile(r'(?:"(?:[^"\\]|\\.|\\\Z)*"?|[^,"])+')
_FORWARDED_PAIR: Final = re.compile(r'\s*(?:([A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s"]*)\s*)?')


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The peers whose forwarding headers are believed: addresses and networks, or all."""

    networks: tuple[IPNetwork, ...] = ()
    everyone: bool = False

    @classmethod
    def parse(cls, spec: str | Iterable[str]) -> TrustedProxies:
        """From ``"127.0.0.1, 10.0.0.0/8"`` (commas or spaces) or a list of such; ``*``
        trusts every peer. Raises ``ValueError`` naming the first entry that is neither."""
        items = spec.replace(",", " ").split() if isinstance(spec, str) else list(spec)
        networks: list[IPNetwork] = []
        everyone = False
        for item in items:
            if item == "*":
                everyone = True
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address, a network (10.0.0.0/8) or *"
                ) from None
        return cls(tuple(networks), everyone)

    def __contains__(self, address: object) -> bool:
        if self.everyone:
            return True
        if not isinstance(address, str):
            return False
        try:
            ip = ipaddress.ip_address(_bare_address(address))
        except ValueError:
            return False  # "unknown", an obfuscated "_name", a Unix socket
        return any(ip in network for network in self.networks)


NO_PROXIES: Final = TrustedProxies()
"""Trusts no peer: the default where forwarding headers are not configured."""


def _bare_address(node: str) -> str:
    """``192.0.2.1:8080`` and ``[2001:db8::1]:80`` without the port or the brackets."""
    if node.startswith("["):
        return node[1 : node.find("]")] if "]" in node else node
    if node.count(":") == 1:
        return node.split(":", 1)[0]
    return node


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    """A name, an IPv4 address, or an IPv6 address in brackets."""
    port: int | None
    """``None``: none was named, the scheme's own."""

    def __str__(self) -> str:
        if self.port is None or DEFAULT_PORTS.get(self.scheme) == self.port:
            return f"{self.scheme}://{self.host}"
        return f"{self.scheme}://{self.host}:{self.port}"

    def with_host(self, value: str, scheme: str) -> Origin:
        """This origin at ``value`` (``host[:port]``; without a port, the scheme's own) by
        ``scheme``; a ``value`` that is no host changes only the scheme."""
        parsed = _split_host(value)
        if parsed is None:
            return Origin(scheme, self.host, self.port)
        return Origin(scheme, *parsed)


def _split_host(value: str) -> tuple[str, int | None] | None:
    matched = _HOST.fullmatch(value.strip())
    if matched is None:
        return None
    port = matched.group(2)
    if port is not None and not 0 < int(port) < 65536:
        return None
    return matched.group(1).lower(), None if port is None else int(port)


def _scheme(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if value in DEFAULT_PORTS else None


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """All of one header's values, joined with commas (as a list header reads)."""
    values = [value.decode("latin-1") for key, value in headers if key.lower() == name]
    return ", ".join(values) if values else None


def received_origin(
    scheme: str, headers: Sequence[tuple[bytes, bytes]], server: Sequence[Any] | None
) -> Origin:
    """Where the request arrived, by its own ``Host`` (or ``:authority``), else the
    listening address."""
    host = _header(headers, b"host") or _header(headers, b":authority")
    parsed = _split_host(host) if host else None
    if parsed is not None:
        return Origin(scheme, *parsed)  # no port: the scheme's, even once a proxy changed it
    address, port = (server or ("localhost", None))[:2]
    name = f"[{address}]" if ":" in str(address) else str(address)
    return Origin(scheme, name, port)


def public_origin(
    scheme: str,
    headers: Sequence[tuple[bytes, bytes]],
    server: Sequence[Any] | None,
    client: Sequence[Any] | None,
    trusted: TrustedProxies,
) -> Origin:
    """The origin the client used: the received one, corrected by a trusted proxy's
    forwarding headers."""
    origin = received_origin(scheme, headers, server)
    if client is None or str(client[0]) not in trusted:
        return origin
    forwarded = _header(headers, b"forwarded")
    if forwarded is not None:
        return _by_forwarded(origin, forwarded, trusted)
    return _by_x_forwarded(origin, headers, trusted)


def scope_origin(scope: Mapping[str, Any], trusted: TrustedProxies) -> Origin:
    """:func:`public_origin` of an ASGI request."""
    return public_origin(
        scope.get("scheme", "http"),
        scope.get("headers", ()),
        scope.get("server"),
        scope.get("client"),
        trusted,
    )


def _elements(value: str) -> list[dict[str, str]]:
    """``Forwarded``'s elements, each a dict of its lower-cased parameters."""
    return [_element(text) for text in _FORWARDED_ELEMENT.findall(value) if text.strip()]


def _element(text: str) -> dict[str, str]:
    """One element's parameters; a malformed one has none, but still counts as a hop (so
    garbage a client sent cannot hide the elements its proxies appended)."""
    element: dict[str, str] = {}
    position = 0
    while True:
        matched = _FORWARDED_PAIR.match(text, position)
        assert matched is not None  # every part of it is optional
        if matched.group(1) is not None:
            key, raw = matched.group(1).lower(), matched.group(2)
            element.setdefault(key, raw[1:-1].replace("\\", "") if raw.startswith('"') else raw)
        position = matched.end()
        if position == len(text):
            return element
        if text[position] != ";":
            return {}
        position += 1


def _outermost(nodes: Sequence[str | None], trusted: TrustedProxies) -> int:
    """The index of the hop to believe: from the end, past every trusted one."""
    index = len(nodes) - 1
    while index > 0 and nodes[index] in trusted:
        index -= 1
    return index


def _by_forwarded(origin: Origin, value: str, trusted: TrustedProxies) -> Origin:
    elements = _elements(value)
    if not elements:
        return origin
    chosen = elements[_outermost([element.get("for") for element in elements], trusted)]
    scheme = _scheme(chosen.get("proto")) or origin.scheme
    if "host" in chosen:
        return origin.with_host(chosen["host"], scheme)
    return Origin(scheme, origin.host, origin.port)


def _by_x_forwarded(
    origin: Origin, headers: Sequence[tuple[bytes, bytes]], trusted: TrustedProxies
) -> Origin:
    chain = [part.strip() for part in (_header(headers, b"x-forwarded-for") or "").split(",")]
    hops_in = len(chain) - 1 - _outermost(chain, trusted) if any(chain) else 0

    def pick(name: bytes) -> str | None:
        value = _header(headers, name)
        if not value:
            return None
        parts = [part.strip() for part in value.split(",")]
        return parts[max(0, len(parts) - 1 - hops_in)] or None

    scheme = _scheme(pick(b"x-forwarded-proto")) or origin.scheme
    host, port = pick(b"x-forwarded-host"), pick(b"x-forwarded-port")
    result = origin.with_host(host, scheme) if host else Origin(scheme, origin.host, origin.port)
    named = _split_host(host) if host else None
    has_port = named is not None and named[1] is not None  # it wins over X-Forwarded-Port
    if port is not None and port.isdecimal() and 0 < int(port) < 65536 and not has_port:
        result = Origin(result.scheme, result.host, int(port))
    return result
