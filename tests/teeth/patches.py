"""The breakages: each function breaks one rule of the fake, on an app already built
(``patch(mock)``) or in a module before the app is built (``patch()``)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mock_server import app as app_module
from mock_server.app import MockApp
from mock_server.auth.authenticator import Principal
from mock_server.auth.errors import UnknownTokenEnvironment
from mock_server.auth.scopes import Ability
from mock_server.core import specs
from mock_server.core.errors import InvalidJson
from mock_server.http import bodies
from mock_server.http.cors import Cors
from mock_server.sessions import model as models
from mock_server.sessions.errors import SessionNotFound
from mock_server.sessions.listing import Page
from mock_server.sessions.requests import UNSET
from mock_server.sessions.store import SessionStore


def wrap(store: SessionStore, name: str, wrapper: Callable[..., Any]) -> None:
    setattr(store, name, functools.partial(wrapper, getattr(store, name)))


def ignore_idempotency(mock: MockApp) -> None:
    def create(original: Any, env_id: str, new: Any) -> Any:
        state = mock.state.store._environments.get(env_id)
        if state is not None and new.external_id is not None:
            state.by_external.pop(new.external_id, None)
        return original(env_id, new)

    wrap(mock.state.store, "create", create)


def reopen_closed(mock: MockApp) -> None:
    def refuse_reuse(existing: models.Session, now: int) -> None:
        existing.closed_at = None

    mock.state.store._refuse_reuse = refuse_reuse  # type: ignore[method-assign]


def leak_environments(mock: MockApp) -> None:
    for name in ("create", "get", "update", "close", "page"):
        wrap(mock.state.store, name, lambda original, _env, *rest: original("shared", *rest))


def accept_unsigned_tokens(mock: MockApp) -> None:
    environments = mock.state.environments

    def public_token(credential: str, claims: dict[str, Any]) -> Principal:
        env = environments.by_id(str(claims.get("sub")))
        if env is None:
            raise UnknownTokenEnvironment()
        return Principal(env, Ability(claims.get("scopes") or []), is_public_token=True)

    mock.state.authenticator.public_token = public_token  # type: ignore[method-assign]


def drop_pagination_rows(mock: MockApp) -> None:
    def page(original: Any, env_id: str, query: Any) -> Page:
        result: Page = original(env_id, query)
        if result.next and len(result.rows) > 1:
            return Page(result.rows[:-1], result.next, result.previous)
        return result

    wrap(mock.state.store, "page", page)


def crash_on_bad_json() -> None:
    parse = bodies.parse_json  # type: ignore[attr-defined]

    def parse_json(raw: bytes) -> Any:
        try:
            return parse(raw)
        except InvalidJson as exc:
            raise RuntimeError("unparseable body") from exc

    bodies.parse_json = parse_json  # type: ignore[attr-defined]


def let_external_id_change(mock: MockApp) -> None:
    def update(original: Any, env_id: str, ref: str, changes: Any) -> models.Session:
        session: models.Session = original(
            env_id, ref, dataclasses.replace(changes, external_id=UNSET)
        )
        if changes.external_id is not UNSET:
            session.external_id = changes.external_id
        return session

    wrap(mock.state.store, "update", update)


def close_again(mock: MockApp) -> None:
    def close(original: Any, env_id: str, ref: str, reason: str | None) -> models.Session:
        with contextlib.suppress(SessionNotFound):
            mock.state.store.get(env_id, ref).closed_at = None
        return original(env_id, ref, reason)  # type: ignore[no-any-return]

    wrap(mock.state.store, "close", close)


def no_body_limit() -> None:
    load = specs.load_spec

    def load_spec(path: Path) -> dict[str, Any]:
        spec = load(path)
        for schema in spec.get("components", {}).get("schemas", {}).values():
            schema.pop("x-max-body-bytes", None)
        return spec

    setattr(app_module, "load_spec", load_spec)  # noqa: B010 (the name mock_server.app calls)
    setattr(specs, "load_spec", load_spec)  # noqa: B010 (and the one api_spec_for calls)


def ignore_scopes() -> None:
    def allow(self: Principal, *args: Any, **kwargs: Any) -> None:
        """Every scope check passes."""

    Principal.require_any = allow  # type: ignore[method-assign]
    Principal.require_every = allow  # type: ignore[method-assign]


def no_cors(mock: MockApp) -> None:
    """Take CORS out of the edge: its direct route, and the layer on the layered one,
    wherever it sits (an AttributeError if the chain of layers has none, rather than a
    mutant that breaks nothing)."""
    edge: Any = mock.asgi
    edge.cors = False
    parent = edge.layered
    while not isinstance(parent.app, Cors):
        parent = parent.app
    parent.app = parent.app.app


def ignore_expiry() -> None:
    models.Session.is_expired = lambda self, now_ms: False  # type: ignore[method-assign]


def ignore_tag_filter(mock: MockApp) -> None:
    def page(original: Any, env_id: str, query: Any) -> Page:
        return original(env_id, dataclasses.replace(query, tags=frozenset()))  # type: ignore[no-any-return]

    wrap(mock.state.store, "page", page)


def scramble_key_order() -> None:
    to_wire = models.Session.to_wire

    def reversed_wire(self: models.Session, *, with_trigger_config: bool = True) -> dict[str, Any]:
        return dict(reversed(list(to_wire(self, with_trigger_config=with_trigger_config).items())))

    models.Session.to_wire = reversed_wire  # type: ignore[method-assign]


def ignore_part_ids(mock: MockApp) -> None:
    def append(original: Any, *args: Any, part_id: str | None = None, **kwargs: Any) -> Any:
        return original(*args, **kwargs)

    setattr(mock.state.channels, "append", functools.partial(append, mock.state.channels.append))  # noqa: B010


def append_after_close(mock: MockApp) -> None:
    mock.state.realtime.check_open = lambda session: None  # type: ignore[method-assign]


def tokens_write_out() -> None:
    from mock_server.auth import access

    setattr(access, "to_write_out", lambda *args: None)  # noqa: B010 (a module function)


def ignore_last_event_id() -> None:
    from mock_server.handlers import channels

    setattr(channels, "parse_last_event_id", lambda raw: None)  # noqa: B010 (a module global)


def trust_client_webhooks() -> None:
    from mock_server.channels import realtime

    setattr(realtime, "strip_client_webhook_source", lambda part: part)  # noqa: B010


def existence_before_auth() -> None:
    """Deployed mode with appends checking the session before the token again."""
    from mock_server.handlers.channels import ChannelHandlers

    original = ChannelHandlers.__init__

    def init(self: ChannelHandlers, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, "authorize_first": False})

    setattr(ChannelHandlers, "__init__", init)  # noqa: B010


def snapshot_any_session() -> None:
    """Snapshot URLs for any session of the environment, whatever the token names (the
    leak the server's route comment warns of)."""
    from mock_server.auth import access

    setattr(access, "to_snapshot", lambda *args, **kwargs: None)  # noqa: B010


def nothing(mock: MockApp) -> None:
    """For mutants that patch modules before the app is built."""
