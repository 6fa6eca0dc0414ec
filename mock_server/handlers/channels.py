"""Channel operations (``/realtime/v1/sessions/…``) and end-and-continue, one method per
``operationId``; a named side channel's operations share the methods of the session's
own channels and differ only by the ``channel`` path parameter."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from connexion import request
from starlette.responses import Response

from ..auth import access
from ..channels.errors import (
    InitializeOutNeedsSecretKey,
    OutNeedsSecretKey,
    ResourceNotFound,
    StreamNotFound,
)
from ..channels.realtime import OUT, Realtime, Target, names_of
from ..channels.sse import (
    DEFAULT_TIMEOUT_SECONDS,
    Follow,
    parse_last_event_id,
    parse_timeout_seconds,
)
from ..http.failures.marks import cut_after_records
from ..http.forwarded import NO_PROXIES, TrustedProxies, scope_origin
from ..http.responses import EventStream, json_response
from ..http.security import principal_of
from ..s2.names import S2_BASE_PATH, S2_BASIN, header_value, s2_access_token, stream_name
from ..sessions.errors import SessionNotFound

MAX_RETRIES = 10


def _record_view(data: Any, part_id: str, seq_num: int, headers: list[list[str]]) -> dict[str, Any]:
    return {"data": data, "id": part_id, "seqNum": seq_num, "headers": headers}


def _unwrap(body: str) -> tuple[Any, str]:
    """``data`` and ``id`` of a stored envelope; ``("", "")`` for anything else."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(parsed, dict):
        return "", ""
    part_id = parsed.get("id")
    return parsed.get("data", ""), part_id if isinstance(part_id, str) else ""


class ChannelHandlers:
    def __init__(
        self,
        realtime: Realtime,
        *,
        ping_seconds: float,
        trusted: TrustedProxies = NO_PROXIES,
        flush_interval_ms: int = 200,
        raw_stream_names: bool = False,
        authorize_first: bool = False,
    ) -> None:
        self.authorize_first = authorize_first
        self.realtime = realtime
        self.ping_seconds = ping_seconds
        self.trusted = trusted
        self.flush_interval_ms = flush_interval_ms
        self.raw_stream_names = raw_stream_names

    def _s2_endpoint(self) -> str:
        """This server's S2 endpoint, where the caller reaches this server (HTTP/2 is
        served on the same port)."""
        return f"{scope_origin(request.scope, self.trusted)}{S2_BASE_PATH}"

    def _readable(
        self, token_info: dict[str, Any], session: str, io: str, channel: str | None
    ) -> tuple[str, Target]:
        principal = principal_of(token_info)
        env_id = principal.environment.id
        target = self.realtime.target(
            env_id, unquote(session), io, channel, not_found=StreamNotFound
        )
        access.to_read_channel(principal, target.keys, channel, io)
        return env_id, target

    # --- reading ------------------------------------------------------------------------

    async def subscribe_to_session_channel_v1(
        self, session: str, io: str, token_info: dict[str, Any], channel: str | None = None
    ) -> Response:
        env_id, target = self._readable(token_info, session, io, channel)
        headers = request.headers
        timeout = parse_timeout_seconds(headers.get("timeout-seconds"))
        channels = self.realtime.channels
        channels.admit_reader()
        stream = channels.channel(env_id, target.stream)
        start = parse_last_event_id(headers.get("last-event-id"))
        if start is None:
            latest = headers.get("x-trigger-stream-start", "").lower() == "latest"
            start = stream.tail if latest else 0
        response_headers = {
            "X-Stream-Version": "v2",
            "Cache-Control": "no-cache",
            "Access-Control-Expose-Headers": "*",
        }
        if io == OUT and headers.get("x-peek-settled") == "1":
            last = stream.last_settling_record()
            if last is not None and last.control == "turn-complete":
                timeout = 0
                response_headers["X-Session-Settled"] = "true"
        follow = Follow(
            channels,
            stream,
            position=start,
            timeout=DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout,
            ping_every=self.ping_seconds,
            now_ms=self.realtime.clock.now_ms,
            limit=cut_after_records(request.scope),
        )
        follow.join()
        return EventStream(follow, response_headers)

    async def probe_session_channel_v1(
        self, session: str, io: str, token_info: dict[str, Any], channel: str | None = None
    ) -> Response:
        self._readable(token_info, session, io, channel)
        headers = {"X-Last-Chunk-Index": "0", "Access-Control-Expose-Headers": "x-last-chunk-index"}
        return Response(status_code=200, headers=headers)

    async def read_session_channel_records_v1(
        self,
        session: str,
        io: str,
        token_info: dict[str, Any],
        channel: str | None = None,
        afterEventId: str | None = None,
    ) -> Response:
        env_id, target = self._readable(token_info, session, io, channel)
        stream = self.realtime.channels.peek(env_id, target.stream)
        start = 0 if afterEventId is None else int(afterEventId) + 1
        views = []
        for record in [] if stream is None else stream.records[stream.index_of(start) :]:
            if record.is_command:
                continue
            data, part_id = _unwrap(record.body)
            views.append(
                _record_view(data, part_id, record.seq_num, [list(h) for h in record.headers])
            )
        return json_response({"records": views})

    # --- writing ------------------------------------------------------------------------

    async def append_to_session_channel_v1(
        self, session: str, io: str, token_info: dict[str, Any], channel: str | None = None
    ) -> Response:
        principal = principal_of(token_info)
        env_id = principal.environment.id
        ref = unquote(session)
        try:
            target = self.realtime.target(
                env_id, ref, io, channel, not_found=ResourceNotFound, row_required=True
            )
        except ResourceNotFound:
            if self.authorize_first:  # a token not scoped to this key learns nothing
                access.to_write_channel(principal, (ref,), channel, io)
            raise
        access.to_write_channel(principal, target.keys, channel, io)
        assert target.session is not None
        self.realtime.check_open(target.session)
        access.to_write_out(principal, io, OutNeedsSecretKey)
        raw = await request.body()
        text = raw.decode("utf-8", "replace")
        seq = self.realtime.append_part(env_id, target, text, request.headers.get("x-part-id"))
        return json_response({"ok": True} if seq is None else {"ok": True, "seq": seq})

    async def initialize_session_channel_v1(
        self, session: str, io: str, token_info: dict[str, Any], channel: str | None = None
    ) -> Response:
        principal = principal_of(token_info)
        env_id = principal.environment.id
        ref = unquote(session)
        access.to_write_channel(principal, (ref,), channel, io)
        access.to_write_out(principal, io, InitializeOutNeedsSecretKey)
        target = self.realtime.target(env_id, ref, io, channel, not_found=SessionNotFound)
        self.realtime.check_initializable(target)
        headers = {
            "X-S2-Access-Token": s2_access_token(principal.environment),
            "X-S2-Stream-Name": header_value(stream_name(target.stream, raw=self.raw_stream_names)),
            "X-S2-Basin": S2_BASIN,
            "X-S2-Flush-Interval-Ms": str(self.flush_interval_ms),
            "X-S2-Max-Retries": str(MAX_RETRIES),
            "X-S2-Endpoint": self._s2_endpoint(),
        }
        headers["Access-Control-Expose-Headers"] = ",".join(h.lower() for h in headers)
        return json_response({"version": "v2"}, 202, headers)

    async def end_and_continue_session_v1(
        self, session: str, body: dict[str, Any], token_info: dict[str, Any]
    ) -> Response:
        principal = principal_of(token_info)
        env_id = principal.environment.id
        ref = unquote(session)
        found = self.realtime.sessions.lookup(env_id, ref)
        access.to_write_channel(principal, names_of(ref, found), None, "in")
        if found is None:
            raise ResourceNotFound()
        swap = self.realtime.sessions.swap_run(env_id, ref, body["callingRunId"])
        return json_response({"runId": swap.session.current_run_id, "swapped": swap.swapped})

    # Named side channels: the same operations with a ``channel`` path parameter.
    subscribe_to_session_side_channel_v1 = subscribe_to_session_channel_v1
    probe_session_side_channel_v1 = probe_session_channel_v1
    read_session_side_channel_records_v1 = read_session_channel_records_v1
    append_to_session_side_channel_v1 = append_to_session_channel_v1
    initialize_session_side_channel_v1 = initialize_session_channel_v1
