"""A journaled request shown in full, worked out only when asked: its detail (headers,
bodies), a cURL command that sends it again, and HAR 1.2 for a set of them.

Shown headers have their credentials cut short (:func:`redacted`); the cURL command keeps
them, so that it repeats the request exactly: the control plane is trusted with them
already. Bodies are text when they are UTF-8 (a body cut at the cap may lose a character
split by the cut), else base64.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qsl

from ..core.times import iso_ms
from .forwarded import NO_PROXIES, TrustedProxies, public_origin
from .journal import Entry, OperationOf, RawHeaders

REDACTED_HEADERS: Final = frozenset({b"authorization", b"proxy-authorization"})
SHOWN_CHARACTERS: Final = 12
NOT_REPEATED: Final = frozenset(
    {
        b"host",
        b"content-length",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"expect",
    }
)
"""Request headers a repeat does not copy: hop-by-hop ones, and those curl derives from
the URL and the body."""
# Headers curl adds unless told not to: always, and with a body.
_CURL_DEFAULTS: Final = ((b"user-agent", "User-Agent"), (b"accept", "Accept"))
_CURL_BODY_DEFAULTS: Final = ((b"content-type", "Content-Type"), (b"expect", "Expect"))


def redacted(name: bytes, value: str) -> str:
    if name.lower() in REDACTED_HEADERS:
        return value[:SHOWN_CHARACTERS] + "…"
    return value


def header_pairs(raw: RawHeaders, *, redact: bool = True) -> list[tuple[str, str]]:
    pairs = []
    for name, value in raw:
        text = value.decode("latin-1")
        pairs.append((name.decode("latin-1"), redacted(name, text) if redact else text))
    return pairs


def first_header(raw: RawHeaders, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in raw if k.lower() == name), None)


def body_text(chunks: Sequence[bytes], *, truncated: bool) -> tuple[str, bool]:
    """The kept body as text, or as base64 (``True``) when it is not UTF-8."""
    data = b"".join(chunks)
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError as error:
        if truncated and len(data) - error.start < 4:  # the cut split a character
            try:
                return data[: error.start].decode("utf-8"), False
            except UnicodeDecodeError:
                pass
    return base64.b64encode(data).decode("ascii"), True


def url_of(entry: Entry, trusted: TrustedProxies = NO_PROXIES) -> str:
    """The URL the client used: its ``Host``, or what a ``trusted`` proxy forwarded."""
    origin = public_origin(entry.scheme, entry.request_headers, entry.server, entry.client, trusted)
    query = f"?{entry.query}" if entry.query else ""
    return f"{origin}{entry.path}{query}"


def _body_wire(raw: RawHeaders, chunks: Sequence[bytes], size: int) -> dict[str, Any]:
    truncated = size > sum(map(len, chunks))
    text, is_base64 = body_text(chunks, truncated=truncated)
    return {
        "headers": [list(pair) for pair in header_pairs(raw)],
        "body": text,
        "bodyEncoding": "base64" if is_base64 else "utf-8",
        "truncated": truncated,
    }


def detail(
    entry: Entry, operation: str | None, trusted: TrustedProxies = NO_PROXIES
) -> dict[str, Any]:
    """The list's fields, the URL, and both sides' headers and kept bodies."""
    response = _body_wire(entry.response_headers, entry.response_body, entry.response_bytes)
    return entry.to_wire(operation) | {
        "url": url_of(entry, trusted),
        "request": _body_wire(entry.request_headers, entry.request_body, entry.request_bytes),
        "response": {"status": entry.status, **response},
    }


def shell_quoted(text: str) -> str:
    """``text`` in single quotes for a POSIX shell."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def curl(entry: Entry, trusted: TrustedProxies = NO_PROXIES) -> tuple[str, bool]:
    """A command that sends the request again (credentials included), and whether its
    body was cut at the cap (then the command sends only what was kept)."""
    words = ["curl", "--globoff", "--path-as-is"]
    words += ["--head"] if entry.method == "HEAD" else ["-X", entry.method]
    words.append(shell_quoted(url_of(entry, trusted)))
    sent: set[bytes] = set()
    for name, value in entry.request_headers:
        if name.lower() in NOT_REPEATED:
            continue
        sent.add(name.lower())
        line = f"{name.decode('latin-1')}: {value.decode('latin-1')}"
        words += ["-H", shell_quoted(line if value else f"{name.decode('latin-1')};")]
    has_body = entry.request_bytes > 0 or bool(
        first_header(entry.request_headers, b"content-length")
    )
    unwanted = [*_CURL_DEFAULTS, *(_CURL_BODY_DEFAULTS if has_body else ())]
    words += [w for raw, name in unwanted if raw not in sent for w in ("-H", f"'{name}:'")]
    body = b"".join(entry.request_body)
    truncated = entry.request_bytes > len(body)
    if not has_body:
        return " ".join(words), truncated
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text and not text.startswith("@"):
        return " ".join([*words, "--data-binary", shell_quoted(text)]), truncated
    # Bytes a shell word cannot hold (or a leading @, which curl reads as a file name):
    # printf writes them, every byte as an octal escape, and curl reads them from stdin.
    escaped = "".join(f"\\{byte:03o}" for byte in body)
    command = " ".join([*words, "--data-binary", "@-"])
    return f"printf {shell_quoted(escaped)} | {command}", truncated


def _har_headers(raw: RawHeaders) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in header_pairs(raw)]


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _har_entry(entry: Entry, operation: str | None, trusted: TrustedProxies) -> dict[str, Any]:
    version = f"HTTP/{entry.http_version}"
    request: dict[str, Any] = {
        "method": entry.method,
        "url": url_of(entry, trusted),
        "httpVersion": version,
        "cookies": [],
        "headers": _har_headers(entry.request_headers),
        "queryString": [
            {"name": k, "value": v} for k, v in parse_qsl(entry.query, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": entry.request_bytes,
    }
    if entry.request_bytes:
        kept = sum(map(len, entry.request_body))
        text, is_base64 = body_text(entry.request_body, truncated=entry.request_bytes > kept)
        mime = first_header(entry.request_headers, b"content-type") or ""
        request["postData"] = {"mimeType": mime, "text": text, "params": []}
        if is_base64:
            request["postData"]["encoding"] = "base64"
    kept = sum(map(len, entry.response_body))
    text, is_base64 = body_text(entry.response_body, truncated=entry.response_bytes > kept)
    content: dict[str, Any] = {
        "size": entry.response_bytes,
        "mimeType": first_header(entry.response_headers, b"content-type") or "",
        "text": text,
    }
    if is_base64:
        content["encoding"] = "base64"
    if entry.response_bytes > kept:
        content["comment"] = f"the first {kept} of {entry.response_bytes} bytes"
    return {
        "startedDateTime": iso_ms(entry.at_ms),
        "time": round(entry.latency_ms, 3),
        "request": request,
        "response": {
            "status": entry.status,
            "statusText": _status_text(entry.status),
            "httpVersion": version,
            "cookies": [],
            "headers": _har_headers(entry.response_headers),
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": entry.response_bytes,
        },
        "cache": {},
        "timings": {"send": 0, "wait": round(entry.latency_ms, 3), "receive": 0},
        "_number": entry.number,
        "_operation": operation,
        "_fault": entry.fault,
    }


def har(
    entries: Iterable[Entry],
    operation_of: OperationOf,
    version: str,
    trusted: TrustedProxies = NO_PROXIES,
) -> dict[str, Any]:
    """A HAR 1.2 log of ``entries``, in the order given."""
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "trigger-mock", "version": version},
            "pages": [],
            "entries": [_har_entry(e, operation_of(e.method, e.path), trusted) for e in entries],
        }
    }
