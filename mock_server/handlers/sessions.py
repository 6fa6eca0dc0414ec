"""The Sessions API operations, one method per ``operationId`` in ``openapi.yaml``.

Each method reads its (already validated) parameters, checks what the caller may do,
calls the store, and shapes the wire body. Rules live in the store and in
:mod:`mock_server.access`; nothing here decides what the API allows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.responses import Response

from .. import access
from ..auth import Authenticator, Principal
from ..fidelity import Behaviour
from ..listing import ListQuery
from ..models import parse_iso_ms
from ..realtime import Realtime
from ..responses import json_response
from ..session_input import NewSession, SessionChanges
from ..store import SessionStore


def principal_of(token_info: dict[str, Any]) -> Principal:
    principal = token_info["principal"]
    assert isinstance(principal, Principal)
    return principal


def new_session(body: dict[str, Any]) -> NewSession:
    expires_at = body.get("expiresAt")
    trigger_config = {k: v for k, v in body["triggerConfig"].items() if v is not None}
    return NewSession(
        type=body["type"],
        task_identifier=body["taskIdentifier"],
        trigger_config=trigger_config,
        external_id=body.get("externalId"),
        tags=list(body.get("tags", ())),
        metadata=body.get("metadata"),
        expires_at=None if expires_at is None else parse_iso_ms(expires_at),
    )


_PATCH_FIELDS = {"tags": "tags", "metadata": "metadata", "externalId": "external_id"}


class SessionHandlers:
    def __init__(
        self, store: SessionStore, auth: Authenticator, behaviour: Behaviour, realtime: Realtime
    ) -> None:
        self.store = store
        self.auth = auth
        self.behaviour = behaviour
        self.realtime = realtime

    async def create_session_v1(self, body: dict[str, Any], token_info: dict[str, Any]) -> Response:
        principal = principal_of(token_info)
        new = new_session(body)
        access.to_create(
            principal,
            new.task_identifier,
            new.external_id,
            name_session=self.behaviour.create_scope_names_session,
        )
        env = principal.environment
        created = self.store.create(env.id, new)
        session = created.session
        if not created.is_cached:
            self.realtime.session_created(env.id, session)
        wire = session.to_wire()
        wire["runId"] = session.current_run_id
        wire["publicAccessToken"] = self.auth.session_token(env, session)
        wire["isCached"] = created.is_cached
        return json_response(wire, 200 if created.is_cached else 201)

    async def list_sessions_v1(
        self,
        token_info: dict[str, Any],
        page: dict[str, Any] | None = None,
        filter: dict[str, Any] | None = None,
    ) -> Response:
        principal = principal_of(token_info)
        query = ListQuery.from_params(
            page, filter, bad_period_ignored=self.behaviour.bad_period_ignored
        )
        access.to_list(principal, query.tasks)
        result = self.store.page(principal.environment.id, query)
        pagination = {}
        if result.next:
            pagination["next"] = result.next
        if result.previous:
            pagination["previous"] = result.previous
        data = [s.to_wire(with_trigger_config=False) for s in result.rows]
        return json_response({"data": data, "pagination": pagination})

    async def retrieve_session_v1(self, session: str, token_info: dict[str, Any]) -> Response:
        principal = principal_of(token_info)
        found = self.store.get(principal.environment.id, unquote(session))
        access.to_read(principal, found)
        return json_response(found.to_wire())

    async def update_session_v1(
        self, session: str, body: dict[str, Any], token_info: dict[str, Any]
    ) -> Response:
        principal = principal_of(token_info)
        ref = unquote(session)
        access.to_administer(principal, ref)
        changes = SessionChanges(
            **{attr: body[key] for key, attr in _PATCH_FIELDS.items() if key in body}
        )
        return json_response(self.store.update(principal.environment.id, ref, changes).to_wire())

    async def close_session_v1(
        self, session: str, token_info: dict[str, Any], body: dict[str, Any] | None = None
    ) -> Response:
        principal = principal_of(token_info)
        ref = unquote(session)
        access.to_administer(principal, ref)
        reason = (body or {}).get("reason")
        closed = self.store.close(principal.environment.id, ref, reason)
        if closed.newly:
            self.realtime.session_closed(principal.environment.id, closed.session)
        return json_response(closed.session.to_wire())

    async def generate_jwt_claims_v1(self, token_info: dict[str, Any]) -> Response:
        return json_response(self.auth.claims(principal_of(token_info).environment))
