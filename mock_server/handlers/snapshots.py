"""Chat snapshots: the API's presign calls (``/api/v1/sessions/{session}/snapshot-url``,
operationIds in ``openapi.yaml``) and the fake's own object store that their URLs point
at (``openapi/objects.yaml``), where a ``PUT`` stores the bytes and a ``GET`` returns them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlencode
from xml.sax.saxutils import escape

from connexion import request
from starlette.responses import Response

from ..auth import access
from ..auth.environments import Environments
from ..channels.errors import ResourceNotFound
from ..core.clock import Clock
from ..core.specs import OBJECTS_BASE_PATH
from ..http.forwarded import NO_PROXIES, TrustedProxies, scope_origin
from ..http.responses import json_response
from ..http.security import principal_of
from ..sessions.errors import SessionNotFound
from ..sessions.snapshots import (
    DEFAULT_CONTENT_TYPE,
    MAX_SNAPSHOT_BYTES,
    Grant,
    ObjectRefused,
    Snapshot,
    check_grant,
)
from ..sessions.store import SessionStore


def object_path(env_id: str, friendly_id: str) -> str:
    return f"{OBJECTS_BASE_PATH}/{env_id}/sessions/{quote(friendly_id, safe='')}/snapshot.json"


def refusal(refused: ObjectRefused) -> Response:
    """S3's XML error document."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{refused.code}</Code><Message>{escape(refused.message)}</Message></Error>"
    )
    return Response(
        body, status_code=refused.status, media_type="application/xml", headers=refused.headers
    )


class SnapshotHandlers:
    def __init__(
        self,
        store: SessionStore,
        environments: Environments,
        clock: Clock,
        *,
        authorize_first: bool = False,
        trusted: TrustedProxies = NO_PROXIES,
    ) -> None:
        """``authorize_first``: the upload presign checks the token before the session
        exists, and calls an unknown one a missing resource (the deployed action route)."""
        self.store = store
        self.environments = environments
        self.clock = clock
        self.trusted = trusted
        self.authorize_first = authorize_first

    # --- the API: presigned URLs --------------------------------------------------------

    def _presigned(self, method: str, env_id: str, friendly_id: str) -> Response:
        env = self.environments.by_id(env_id)
        assert env is not None  # the caller authenticated as it
        path = object_path(env_id, friendly_id)
        grant = Grant(method, path, self.clock.now_ms())
        base = scope_origin(request.scope, self.trusted)
        query = urlencode(grant.query(env.secret_key.encode()))
        return json_response({"presignedUrl": f"{base}{path}?{query}"})

    async def get_session_snapshot_url_v1(
        self, session: str, token_info: dict[str, Any]
    ) -> Response:
        principal = principal_of(token_info)
        ref = unquote(session)
        found = self.store.lookup(principal.environment.id, ref)
        if found is None:
            raise SessionNotFound(on_read=True)
        access.to_snapshot(principal, "read", ref, found)
        return self._presigned("GET", principal.environment.id, found.friendly_id)

    async def create_session_snapshot_upload_url_v1(
        self, session: str, token_info: dict[str, Any]
    ) -> Response:
        principal = principal_of(token_info)
        ref = unquote(session)
        found = self.store.lookup(principal.environment.id, ref)
        if found is None:
            if not self.authorize_first:
                raise SessionNotFound()
            access.to_snapshot(principal, "write", ref, None)
            raise ResourceNotFound()
        access.to_snapshot(principal, "write", ref, found)
        return self._presigned("PUT", principal.environment.id, found.friendly_id)

    # --- the object store ---------------------------------------------------------------

    def _checked(self, method: str, environment: str, session: str) -> str:
        """The session's friendly id once the URL's grant holds."""
        friendly_id = unquote(session)
        env = self.environments.by_id(environment)
        key = None if env is None else env.secret_key.encode()
        query = dict(request.query_params)
        check_grant(method, object_path(environment, friendly_id), query, key, self.clock.now_ms())
        return friendly_id

    async def get_snapshot_object(self, environment: str, session: str) -> Response:
        try:
            friendly_id = self._checked("GET", environment, session)
        except ObjectRefused as refused:
            return refusal(refused)
        snapshot = self.store.snapshot_of(environment, friendly_id)
        if snapshot is None:
            return refusal(ObjectRefused(404, "NoSuchKey", "The specified key does not exist."))
        headers = {"ETag": snapshot.etag}
        return Response(snapshot.body, media_type=snapshot.content_type, headers=headers)

    async def put_snapshot_object(self, environment: str, session: str) -> Response:
        try:
            friendly_id = self._checked("PUT", environment, session)
            body = await self._bounded_body()
        except ObjectRefused as refused:
            return refusal(refused)
        content_type = request.headers.get("content-type") or DEFAULT_CONTENT_TYPE
        snapshot = Snapshot(body, content_type, self.clock.now_ms())
        try:
            self.store.put_snapshot(environment, friendly_id, snapshot)
        except SessionNotFound:
            gone = ObjectRefused(404, "NoSuchKey", "The session of this snapshot no longer exists.")
            return refusal(gone)
        except ObjectRefused as refused:  # the fake's own bound on what snapshots keep
            return refusal(refused)
        return Response(status_code=200, headers={"ETag": snapshot.etag})

    @staticmethod
    async def _bounded_body() -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_SNAPSHOT_BYTES:
                raise ObjectRefused(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size "
                    f"({MAX_SNAPSHOT_BYTES} bytes)",
                )
            chunks.append(chunk)
        return b"".join(chunks)
