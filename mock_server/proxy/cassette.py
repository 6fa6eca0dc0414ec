"""The cassette: recorded exchanges in VCR.py's YAML format, with our own additions.

VCR.py reads ``version: 1`` and ``interactions``, each a ``request`` (``method``, ``uri``,
``body``, ``headers`` as name → list of values) and a ``response`` (``status: {code,
message}``, ``headers``, ``body: {string}``), and ignores every other key. Bodies are
UTF-8 strings when they are text, else YAML ``!!binary`` (base64), which VCR.py reads as
bytes. A compressed answer is kept decoded, without its ``Content-Encoding``.

Our additions: each interaction's ``trigger_mock`` (its number in the proxy, its start as
milliseconds after the first request's, its latency, its ``operationId``, whether its
bodies were kept whole, and ``cut`` when the upstream broke its answer off), and the
top-level ``trigger_mock`` (the upstream, when, the JWT placeholders' claims, which key each
recorded environment id belongs to, and the state the recording started from, as a seed
document).
"""

from __future__ import annotations

import http
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import yaml

from ..core.errors import InvalidJson, ValidationFailed
from ..core.jsoncodec import parse_json
from .exchange import NOT_JSON, Headers, header

FORMAT_VERSION: Final = 1
SSE_TYPE: Final = "text/event-stream"

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Writes text of several lines (event streams) as a literal block where YAML can."""


def _text(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


class CassetteError(ValueError):
    """A file that is not a cassette this project can replay; the message says why."""


@dataclass(slots=True)
class Interaction:
    """One recorded request and its answer, redacted."""

    number: int
    offset_ms: int
    method: str
    uri: str
    request_headers: Headers
    request_body: bytes
    status: int
    response_headers: Headers
    response_body: bytes
    operation: str | None = None
    latency_ms: float = 0.0
    complete: bool = True
    """Both bodies were kept whole."""
    cut: bool = False
    """The upstream answered, then broke off its body (a stream cut short): the body is
    what came before the break."""

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def query(self) -> str:
        return urlsplit(self.uri).query

    def request_header(self, name: str) -> str | None:
        return header(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return header(self.response_headers, name)

    @property
    def is_event_stream(self) -> bool:
        raw = self.response_header("content-type") or ""
        return raw.split(";", 1)[0].strip().lower() == SSE_TYPE

    def request_json(self) -> Any:
        return read_json(self.request_body)

    def response_json(self) -> Any:
        return read_json(self.response_body) if self.complete else NOT_JSON


def read_json(raw: bytes) -> Any:
    """``raw`` read as the fake reads a body (long integers stay exact), else
    :data:`~.exchange.NOT_JSON`."""
    if not raw:
        return NOT_JSON
    try:
        return parse_json(raw)
    except (InvalidJson, ValidationFailed):
        return NOT_JSON


@dataclass
class Cassette:
    interactions: list[Interaction]
    meta: dict[str, Any] = field(default_factory=dict)
    """The top-level ``trigger_mock`` mapping."""

    @property
    def upstream(self) -> str:
        return str(self.meta.get("upstream") or "")

    @property
    def claims(self) -> dict[str, dict[str, Any]]:
        """JWT placeholder → the claims of the token it stands for."""
        return dict(self.meta.get("placeholders", {}).get("jwt") or {})

    @property
    def environments(self) -> dict[str, str]:
        """Recorded environment id → the placeholder key of that environment."""
        return dict(self.meta.get("environments") or {})

    @property
    def start(self) -> dict[str, Any] | None:
        """The seed document of the state the recording started from, if not empty."""
        start = self.meta.get("start")
        return start if isinstance(start, dict) else None

    def write(self, path: Path) -> None:
        document = {
            "version": FORMAT_VERSION,
            "interactions": [_to_vcr(i) for i in self.interactions],
            "trigger_mock": self.meta,
        }
        text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Cassette:
        try:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise CassetteError(f"{path}: cannot be read: {exc}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
            raise CassetteError(f"{path}: not a cassette (no `interactions` list)")
        if document.get("version") != FORMAT_VERSION:
            raise CassetteError(f"{path}: cassette version {document.get('version')!r}, not 1")
        interactions = []
        for n, entry in enumerate(document["interactions"]):
            try:
                interactions.append(_from_vcr(entry, n))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise CassetteError(f"{path}: interactions[{n}]: malformed ({exc})") from exc
        meta = document.get("trigger_mock")
        return cls(interactions, meta if isinstance(meta, dict) else {})


def _body(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw  # YAML writes bytes as !!binary (base64)


def _raw(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    raise TypeError(f"a body must be text or binary, not {type(body).__name__}")


def _grouped(headers: Headers) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name, []).append(value)
    return grouped


def _flat(grouped: Any) -> Headers:
    if not grouped:
        return []
    return [(str(name).lower(), str(v)) for name, values in grouped.items() for v in values]


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _to_vcr(i: Interaction) -> dict[str, Any]:
    return {
        "request": {
            "method": i.method,
            "uri": i.uri,
            "body": _body(i.request_body) if i.request_body else None,
            "headers": _grouped(i.request_headers),
        },
        "response": {
            "status": {"code": i.status, "message": _reason(i.status)},
            "headers": _grouped(i.response_headers),
            "body": {"string": _body(i.response_body)},
        },
        "trigger_mock": {
            "number": i.number,
            "offset_ms": i.offset_ms,
            "latency_ms": round(i.latency_ms, 3),
            "operation": i.operation,
            "complete": i.complete,
            **({"cut": True} if i.cut else {}),
        },
    }


def _from_vcr(entry: dict[str, Any], n: int) -> Interaction:
    request, response = entry["request"], entry["response"]
    ours = entry.get("trigger_mock") or {}
    return Interaction(
        number=int(ours.get("number", n)),
        offset_ms=int(ours.get("offset_ms", 0)),
        method=str(request["method"]).upper(),
        uri=str(request["uri"]),
        request_headers=_flat(request.get("headers")),
        request_body=_raw(request.get("body")),
        status=int(response["status"]["code"]),
        response_headers=_flat(response.get("headers")),
        response_body=_raw((response.get("body") or {}).get("string")),
        operation=ours.get("operation"),
        latency_ms=float(ours.get("latency_ms", 0.0)),
        complete=bool(ours.get("complete", True)),
        cut=bool(ours.get("cut", False)),
    )
