"""JSON request bodies: read within their size limit, parsed strictly, validated, cleaned.

Plugged into Connexion as the body validator for JSON media types. The size limit comes
from the spec (``x-max-body-bytes`` on the body schema) and is enforced on the bytes as
they arrive, so neither a missing nor a lying ``Content-Length`` gets past it. Unknown keys
are stripped (as the server's zod schemas do) before the body is replayed to the handler.
"""

from __future__ import annotations

from typing import Any, Final

from connexion.validators import AbstractRequestBodyValidator
from starlette.types import Message, Receive, Scope

from ..core.errors import (
    BodyTooLarge,
    ClientDisconnected,
    EmptyBody,
    InvalidJson,
    InvalidRequestBody,
    ValidationFailed,
)
from ..core.fidelity import Behaviour
from ..core.jsoncodec import dump_json, parse_json
from .headers import declared_length, header, media_type
from .schema_issues import SchemaValidators

DEFAULT_MAX_BODY_BYTES: Final = 1 << 20
FORM_TYPES: Final = ("multipart/form-data", "application/x-www-form-urlencoded")


def strip_unknown(value: Any, schema: dict[str, Any]) -> Any:
    """Drop keys a schema does not declare, unless it allows extra properties."""
    if isinstance(value, dict) and "properties" in schema:
        if schema.get("additionalProperties") is True:
            return value
        props = schema["properties"]
        return {
            k: strip_unknown(v, props[k]) if isinstance(v, (dict, list)) else v
            for k, v in value.items()
            if k in props
        }
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        return [
            strip_unknown(item, items) if isinstance(item, (dict, list)) else item for item in value
        ]
    return value


def js_falsy(value: Any) -> bool:
    """Whether JavaScript reads a parsed JSON value as false: ``null``, ``false``, ``0``,
    ``""`` (an empty object or array is true there)."""
    if value is None or value is False or value == "":
        return True
    return type(value) in (int, float) and value == 0


class JsonBodyValidator(AbstractRequestBodyValidator):  # type: ignore[misc]
    """Reads, limits, parses, validates and cleans a JSON request body."""

    def __init__(
        self,
        *,
        schema: dict[str, Any],
        required: bool = False,
        behaviour: Behaviour,
        validators: SchemaValidators,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            schema=schema,
            required=required,
            nullable=False,
            encoding="utf-8",
            strict_validation=False,
        )
        self._behaviour = behaviour
        self._validators = validators

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        if self._schema.get("x-streamed-body"):
            return receive, scope  # read, and bounded, by the handler as it arrives
        # ``x-max-body-bytes`` marks a body of the Trigger.dev API (not the control plane):
        # its limit, and the deployed server's rules about Content-Length and empty bodies.
        declared_limit = self._schema.get("x-max-body-bytes")
        limit = declared_limit or DEFAULT_MAX_BODY_BYTES
        length = header(scope, b"content-length")
        if declared_limit and self._behaviour.body_size_needs_content_length and length is None:
            raise BodyTooLarge(limit)
        size = declared_length(length)
        if size is not None and size > limit:
            raise BodyTooLarge(limit)
        raw = await read_body(receive, limit)
        if self._schema.get("x-raw-body"):
            # Any text (a channel record): only its size is the fake's business here.
            return replay(receive, scope, raw, as_json=False)
        if not raw:
            own_words = self._schema.get("x-invalid-body")
            if self._required and own_words:
                raise InvalidRequestBody(own_words)
            if self._required or (declared_limit and self._behaviour.empty_close_body_rejected):
                raise EmptyBody()
            return replay(receive, scope, b"")
        return replay(receive, scope, dump_json(self.clean(raw)))

    def clean(self, raw: bytes) -> Any:
        """A non-empty body parsed, validated and stripped of undeclared keys."""
        own_words = self._schema.get("x-invalid-body")
        if own_words:
            try:
                value = parse_json(raw)
            except InvalidJson as exc:
                raise InvalidRequestBody(own_words) from exc
            issues = self._validators.issues(self._schema, value)
            if issues:
                raise InvalidRequestBody(own_words, issues)
            return strip_unknown(value, self._schema)
        value = parse_json(raw)
        if (
            self._behaviour.falsy_json_invalid
            and self._schema.get("x-max-body-bytes")
            and js_falsy(value)
        ):
            raise InvalidJson()
        issues = self._validators.issues(self._schema, value)
        if issues:
            raise ValidationFailed(issues)
        return strip_unknown(value, self._schema)

    @property
    def max_bytes(self) -> int:
        declared: int | None = self._schema.get("x-max-body-bytes")
        return declared or DEFAULT_MAX_BODY_BYTES


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, refused as soon as it outgrows ``limit`` (whatever its
    ``Content-Length`` said)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class Recording:
    """A receive channel that keeps what it passes on, so that the same messages can be
    received again from the start (the fast lane reads a body, then may hand the request
    on to Connexion)."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._messages: list[Message] = []

    async def receive(self) -> Message:
        message = await self._receive()
        self._messages.append(message)
        return message

    def replay(self) -> Receive:
        pending = list(self._messages)

        async def again() -> Message:
            return pending.pop(0) if pending else await self._receive()

        return again


def replay(
    receive: Receive, scope: Scope, body: bytes, *, as_json: bool = True
) -> tuple[Receive, Scope]:
    """A receive channel that yields ``body`` first, and a scope whose headers describe
    it: its length, and its type (JSON once it has been parsed as JSON, else bytes)."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    keep_type = not as_json and media_type(header(scope, b"content-type")) not in FORM_TYPES
    replaced = (b"content-length", b"transfer-encoding") + (() if keep_type else (b"content-type",))
    headers = [(k, v) for k, v in scope["headers"] if k not in replaced]
    headers.append((b"content-length", str(len(body)).encode()))
    if body and not keep_type:
        # A raw form body is opaque bytes from here on (Connexion would parse it).
        kind = b"application/json" if as_json else b"application/octet-stream"
        headers.append((b"content-type", kind))
    return receive_again, {**scope, "headers": headers}
