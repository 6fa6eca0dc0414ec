"""The Sessions API operations, one method per ``operationId`` in ``openapi.yaml``.

Each method reads its (already validated) parameters, checks what the caller may do,
calls the store, and shapes the wire body. Rules live in the store and in
:mod:`mock_server.auth.access`; nothing here decides what the API allows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.responses import Response

from ..auth import access, public_tokens
from ..auth.authenticator import Authenticator
from ..core.fidelity import Behaviour
from ..http.responses import json_response
from ..http.security import principal_of
from ..sessions.listing import ListQuery
from ..sessions.requests import NewSession, SessionChanges
from ..sessions.store import SessionStore


class SessionHandlers:
    def __init__(self, store: SessionStore, auth: Authenticator, behaviour: Behaviour) -> None:
        self.store = store
        self.auth = auth
        self.behaviour = behaviour

    async def create_session_v1(self, body: dict[str, Any], token_info: dict[str, Any]) -> Response:
        principal = principal_of(token_info)
        new = NewSession.from_body(body, js_dates=self.behaviour.expires_at_coerced)
        access.to_create(
            principal,
            new.task_identifier,
            new.external_id,
            name_session=self.behaviour.create_scope_names_session,
        )
        env = principal.environment
        created = self.store.create(env.id, new)
        session = created.session
        wire = session.to_wire()
        wire["runId"] = session.current_run_id
        wire["publicAccessToken"] = self.auth.session_token(env, session.addressing_key)
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
        changes = SessionChanges.from_body(body)
        return json_response(self.store.update(principal.environment.id, ref, changes).to_wire())

    async def close_session_v1(
        self, session: str, token_info: dict[str, Any], body: dict[str, Any] | None = None
    ) -> Response:
        principal = principal_of(token_info)
        ref = unquote(session)
        access.to_administer(principal, ref)
        reason = (body or {}).get("reason")
        closed = self.store.close(principal.environment.id, ref, reason)
        return json_response(closed.session.to_wire())

    async def generate_jwt_claims_v1(self, token_info: dict[str, Any]) -> Response:
        return json_response(self.auth.claims(principal_of(token_info).environment))

    async def create_public_token_v1(
        self, body: dict[str, Any], token_info: dict[str, Any]
    ) -> Response:
        token = public_tokens.mint(self.auth, principal_of(token_info), body)
        return json_response({"token": token})
