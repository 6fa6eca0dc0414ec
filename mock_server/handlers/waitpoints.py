"""Run-side waitpoints, one method per ``operationId``: a task registers a waitpoint on its
session's channel, blocks its run on it, and anyone with the secret key reads it back."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import unquote

from connexion import request
from starlette.responses import Response

from ..channels.waitpoints import Waitpoints, WaitRequest
from ..http.forwarded import NO_PROXIES, TrustedProxies, scope_origin
from ..http.responses import json_response
from ..http.security import principal_of


class WaitpointHandlers:
    def __init__(self, waitpoints: Waitpoints, trusted: TrustedProxies = NO_PROXIES) -> None:
        self.waitpoints = waitpoints
        self.trusted = trusted

    async def create_session_stream_waitpoint_v1(
        self, run: str, body: dict[str, Any], token_info: dict[str, Any]
    ) -> Response:
        env_id = principal_of(token_info).environment.id
        tags = body.get("tags", ())
        wanted = WaitRequest(
            session=body["session"],
            io=body["io"],
            timeout=body.get("timeout"),
            idempotency_key=body.get("idempotencyKey"),
            idempotency_key_ttl=body.get("idempotencyKeyTTL"),
            tags=(tags,) if isinstance(tags, str) else tuple(tags),
            last_seq_num=body.get("lastSeqNum"),
        )
        created = self.waitpoints.create(env_id, unquote(run), wanted)
        return json_response({"waitpointId": created.waitpoint.id, "isCached": created.is_cached})

    async def wait_for_waitpoint_token_v1(
        self, run: str, waitpoint: str, token_info: dict[str, Any]
    ) -> Response:
        env_id = principal_of(token_info).environment.id
        self.waitpoints.block(env_id, unquote(run), unquote(waitpoint))
        return json_response({"success": True})

    async def retrieve_waitpoint_token_v1(
        self, waitpoint: str, token_info: dict[str, Any]
    ) -> Response:
        environment = principal_of(token_info).environment
        found = self.waitpoints.retrieve(environment.id, unquote(waitpoint))
        # Completing a token by its URL is not served; the URL has the server's form.
        digest = hmac.new(environment.secret_key.encode(), found.id.encode(), hashlib.sha256)
        base = scope_origin(request.scope, self.trusted)
        url = f"{base}/api/v1/waitpoints/tokens/{found.id}/callback/{digest.hexdigest()}"
        return json_response(found.to_wire(url))
