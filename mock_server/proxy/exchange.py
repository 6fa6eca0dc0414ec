"""One request and its answer as they passed through the proxy.

An :class:`Exchange` is filled in as the request travels: the request's head and body
when it arrives, the answer's head when the upstream sends it, the answer's body chunk by
chunk as it is passed on. The checks read it once it is complete; a recording writes it.
Bodies are kept up to :data:`BODY_KEEP` bytes each (beyond that ``*_complete`` is false
and the checks that need the whole body say they could not look).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Final

from ..core.errors import InvalidJson, ValidationFailed
from ..core.jsoncodec import parse_json

BODY_KEEP: Final = 4 * 1024 * 1024
"""How much of each body an exchange keeps for the checks and the recording."""

Headers = list[tuple[str, str]]
"""Header names in lower case, values as sent (latin-1), in order, repeats kept."""

NOT_JSON: Final = object()
"""What :meth:`Exchange.request_json` / :meth:`response_json` give for a body that is not
JSON (or was not kept whole)."""


def header(headers: Headers, name: str) -> str | None:
    """The first value of ``name`` (lower case), or ``None``."""
    for key, value in headers:
        if key == name:
            return value
    return None


@dataclass(slots=True)
class Body:
    """A body as it went past: its first :data:`BODY_KEEP` bytes and its full size."""

    chunks: list[bytes] = field(default_factory=list)
    kept: int = 0
    size: int = 0

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        room = BODY_KEEP - self.kept
        if room > 0 and chunk:
            piece = chunk[:room]
            self.chunks.append(piece)
            self.kept += len(piece)

    @property
    def complete(self) -> bool:
        return self.kept == self.size

    def bytes(self) -> bytes:
        return b"".join(self.chunks)


@dataclass(slots=True)
class Exchange:
    number: int
    at_ms: int
    method: str
    path: str
    """The raw path, percent-encoded as sent."""
    query: str
    request_headers: Headers
    operation: str | None = None
    """The ``operationId`` the spec gives this method and path, if any."""
    request_body: Body = field(default_factory=Body)
    status: int = 0
    """``0`` until the upstream answers (and for good if it never did)."""
    response_headers: Headers = field(default_factory=list)
    response_body: Body = field(default_factory=Body)
    upstream_error: str | None = None
    """Why the upstream gave no (complete) answer, if it did not."""
    local: bool = False
    """Answered by the proxy itself (``--strict`` refusing a request), not the upstream."""
    latency_ms: float = 0.0

    def request_header(self, name: str) -> str | None:
        return header(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return header(self.response_headers, name)

    @property
    def response_media_type(self) -> str:
        raw = self.response_header("content-type") or ""
        return raw.split(";", 1)[0].strip().lower()

    @property
    def request_media_type(self) -> str:
        raw = self.request_header("content-type") or ""
        return raw.split(";", 1)[0].strip().lower()

    @property
    def is_event_stream(self) -> bool:
        return self.response_media_type == "text/event-stream"

    def request_json(self) -> Any:
        if not self.request_body.complete:
            return NOT_JSON
        return _json(self.request_body.bytes())

    def response_text(self) -> bytes:
        """The answer's body with any ``Content-Encoding`` the proxy can undo undone."""
        raw = self.response_body.bytes()
        encoding = (self.response_header("content-encoding") or "").strip().lower()
        if encoding in ("gzip", "deflate"):
            try:
                return zlib.decompress(raw, wbits=47)  # gzip or zlib, detected
            except zlib.error:
                return raw
        return raw

    def response_json(self) -> Any:
        if not self.response_body.complete:
            return NOT_JSON
        return _json(self.response_text())


def _json(raw: bytes) -> Any:
    """``raw`` read as the fake reads a body (integers past 64 bits stay exact integers,
    where orjson alone would make floats of them)."""
    if not raw:
        return NOT_JSON
    try:
        return parse_json(raw)
    except (InvalidJson, ValidationFailed):
        return NOT_JSON
