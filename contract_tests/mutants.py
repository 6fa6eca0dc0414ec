"""Deliberately broken fakes: the real fake with one rule broken each.

:mod:`contract_tests.teeth` serves them and checks that the contract suite fails on every
one, in a test named after the rule the mutant breaks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_server import app as app_module
from mock_server import bodies, models
from mock_server.app import TriggerMock, create_app
from mock_server.auth import Principal
from mock_server.config import Settings
from mock_server.errors import InvalidJson, SessionClosed, SessionNotFound, UnknownTokenEnvironment
from mock_server.fidelity import Fidelity
from mock_server.listing import Page
from mock_server.scopes import Ability
from mock_server.session_input import UNSET
from mock_server.store import SessionStore

Patch = Callable[[TriggerMock], None]


@dataclass(frozen=True)
class Mutant:
    name: str
    breaks: str
    caught_by: tuple[str, ...]  # tests named after the broken rule; any one failing counts
    patch: Patch
    before_start: Callable[[], None] = lambda: None


def _wrap(store: SessionStore, name: str, wrapper: Callable[..., Any]) -> None:
    setattr(store, name, functools.partial(wrapper, getattr(store, name)))


def _ignore_idempotency(mock: TriggerMock) -> None:
    def create(original: Any, env_id: str, new: Any) -> Any:
        state = mock.store._environments.get(env_id)
        if state is not None and new.external_id is not None:
            state.by_external.pop(new.external_id, None)
        return original(env_id, new)

    _wrap(mock.store, "create", create)


def _reopen_closed(mock: TriggerMock) -> None:
    def refuse_reuse(existing: models.Session, now: int) -> None:
        existing.closed_at = None

    mock.store._refuse_reuse = refuse_reuse  # type: ignore[method-assign]


def _leak_environments(mock: TriggerMock) -> None:
    for name in ("create", "get", "update", "close", "page"):
        _wrap(mock.store, name, lambda original, _env, *rest: original("shared", *rest))


def _accept_unsigned_tokens(mock: TriggerMock) -> None:
    environments = mock.environments

    def public_token(credential: str, claims: dict[str, Any]) -> Principal:
        env = environments.by_id(str(claims.get("sub")))
        if env is None:
            raise UnknownTokenEnvironment()
        return Principal(env, Ability(claims.get("scopes") or []), is_public_token=True)

    mock.authenticator.public_token = public_token  # type: ignore[method-assign]


def _drop_pagination_rows(mock: TriggerMock) -> None:
    def page(original: Any, env_id: str, query: Any) -> Page:
        result: Page = original(env_id, query)
        if result.next and len(result.rows) > 1:
            return Page(result.rows[:-1], result.next, result.previous)
        return result

    _wrap(mock.store, "page", page)


def _crash_on_bad_json() -> None:
    parse = bodies.parse_json  # type: ignore[attr-defined]

    def parse_json(raw: bytes) -> Any:
        try:
            return parse(raw)
        except InvalidJson as exc:
            raise RuntimeError("unparseable body") from exc

    bodies.parse_json = parse_json  # type: ignore[attr-defined]


def _let_external_id_change(mock: TriggerMock) -> None:
    def update(original: Any, env_id: str, ref: str, changes: Any) -> models.Session:
        session: models.Session = original(
            env_id, ref, dataclasses.replace(changes, external_id=UNSET)
        )
        if changes.external_id is not UNSET:
            session.external_id = changes.external_id
        return session

    _wrap(mock.store, "update", update)


def _close_again(mock: TriggerMock) -> None:
    def close(original: Any, env_id: str, ref: str, reason: str | None) -> models.Session:
        with contextlib.suppress(SessionNotFound):
            mock.store.get(env_id, ref).closed_at = None
        return original(env_id, ref, reason)  # type: ignore[no-any-return]

    _wrap(mock.store, "close", close)


def _no_body_limit() -> None:
    load = app_module.load_spec

    def load_spec(path: Path) -> dict[str, Any]:
        spec = load(path)
        for schema in spec["components"]["schemas"].values():
            schema.pop("x-max-body-bytes", None)
        return spec

    app_module.load_spec = load_spec


def _ignore_scopes() -> None:
    def allow(self: Principal, *args: Any, **kwargs: Any) -> None:
        """Every scope check passes."""

    Principal.require_any = allow  # type: ignore[method-assign]
    Principal.require_every = allow  # type: ignore[method-assign]


def _no_cors(mock: TriggerMock) -> None:
    access_log = mock.asgi
    access_log.app = access_log.app.app  # type: ignore[attr-defined]


def _ignore_expiry(mock: TriggerMock) -> None:
    def status(self: models.Session, now_ms: int) -> models.SessionStatus:
        closed = self.closed_at is not None
        return models.SessionStatus.CLOSED if closed else models.SessionStatus.ACTIVE

    models.Session.status = status  # type: ignore[method-assign]

    def refuse_reuse(existing: models.Session, now: int) -> None:
        if existing.closed_at is not None:
            raise SessionClosed()

    mock.store._refuse_reuse = refuse_reuse  # type: ignore[method-assign]


def _ignore_tag_filter(mock: TriggerMock) -> None:
    def page(original: Any, env_id: str, query: Any) -> Page:
        return original(env_id, dataclasses.replace(query, tags=frozenset()))  # type: ignore[no-any-return]

    _wrap(mock.store, "page", page)


def _scramble_key_order() -> None:
    to_wire = models.Session.to_wire

    def reversed_wire(self: models.Session, *, with_trigger_config: bool = True) -> dict[str, Any]:
        return dict(reversed(list(to_wire(self, with_trigger_config=with_trigger_config).items())))

    models.Session.to_wire = reversed_wire  # type: ignore[method-assign]


def _ignore_part_ids(mock: TriggerMock) -> None:
    def append(original: Any, *args: Any, part_id: str | None = None, **kwargs: Any) -> Any:
        return original(*args, **kwargs)

    setattr(mock.channels, "append", functools.partial(append, mock.channels.append))  # noqa: B010


def _append_after_close(mock: TriggerMock) -> None:
    mock.realtime.check_open = lambda session: None  # type: ignore[method-assign]


def _tokens_write_out() -> None:
    from mock_server import access

    setattr(access, "to_write_out", lambda *args: None)  # noqa: B010 (a module function)


def _ignore_last_event_id() -> None:
    from mock_server.handlers import channels

    setattr(channels, "parse_last_event_id", lambda raw: None)  # noqa: B010 (a module global)


def _nothing(mock: TriggerMock) -> None:
    """For mutants that patch modules before the app is built."""


MUTANTS = {
    m.name: m
    for m in (
        Mutant(
            "ignores-idempotency",
            "create with an open externalId makes a new session",
            (
                "test_repeating_create_with_an_open_external_id_returns_200_and_is_cached",
                "test_parallel_creates_of_one_external_id_make_one_session",
            ),
            _ignore_idempotency,
        ),
        Mutant(
            "reopens-closed",
            "create with a closed externalId reopens the session",
            ("test_reusing_a_closed_external_id_returns_409",),
            _reopen_closed,
        ),
        Mutant(
            "leaks-environments",
            "every secret key sees the same sessions",
            ("test_each_secret_key_is_its_own_environment",),
            _leak_environments,
        ),
        Mutant(
            "accepts-unsigned-tokens",
            "public tokens are not verified",
            ("test_tokens_that_fail_verification_get_401",),
            _accept_unsigned_tokens,
        ),
        Mutant(
            "drops-pagination-rows",
            "the last row of every full page is skipped",
            ("test_next_cursors_walk_every_row_once", "test_the_default_page_is_twenty_rows"),
            _drop_pagination_rows,
        ),
        Mutant(
            "500s-on-bad-json",
            "malformed JSON crashes the handler",
            ("test_unreadable_bodies_are_refused",),
            _nothing,
            _crash_on_bad_json,
        ),
        Mutant(
            "mutable-external-id",
            "update changes externalId",
            ("test_external_id_is_read_only_after_create",),
            _let_external_id_change,
        ),
        Mutant(
            "closes-again",
            "a second close overwrites closedAt and the reason",
            (
                "test_closing_twice_keeps_the_first_reason",
                "test_closing_again_returns_the_first_close_unchanged",
            ),
            _close_again,
        ),
        Mutant(
            "no-body-limit",
            "bodies of any size are accepted",
            ("test_a_create_body_over_32_kb_is_refused",),
            _nothing,
            _no_body_limit,
        ),
        Mutant(
            "ignores-scopes",
            "a public token may do anything",
            ("test_a_session_token_reads_nothing_else",),
            _nothing,
            _ignore_scopes,
        ),
        Mutant(
            "no-cors",
            "no CORS headers, no preflight",
            ("test_a_preflight_is_answered_before_authentication",),
            _no_cors,
        ),
        Mutant(
            "ignores-expiry",
            "expired sessions read as active and can be reused",
            (
                "test_reusing_an_expired_external_id_returns_409",
                "test_the_status_filter_is_derived_from_expires_at",
            ),
            _ignore_expiry,
        ),
        Mutant(
            "ignores-tag-filter",
            "filter[tags] is ignored",
            ("test_filters_by_type_task_external_id_and_tags",),
            _ignore_tag_filter,
        ),
        Mutant(
            "ignores-part-ids",
            "a repeated X-Part-Id appends again",
            ("test_a_repeated_part_id_appends_nothing",),
            _ignore_part_ids,
        ),
        Mutant(
            "appends-after-close",
            "closed sessions take appends",
            ("test_appending_to_a_closed_session_is_final",),
            _append_after_close,
        ),
        Mutant(
            "tokens-write-out",
            "a session token may write .out",
            ("test_out_belongs_to_the_task",),
            _nothing,
            _tokens_write_out,
        ),
        Mutant(
            "ignores-last-event-id",
            "a resumed stream starts from the beginning again",
            ("test_last_event_id_resumes_after_that_record",),
            _nothing,
            _ignore_last_event_id,
        ),
        Mutant(
            "scrambles-key-order",
            "rows come in another key order",
            ("test_create_returns_201_with_the_row_in_wire_order",),
            _nothing,
            _scramble_key_order,
        ),
    )
}


def build(name: str, fidelity: str) -> TriggerMock:
    mutant = MUTANTS[name]
    mutant.before_start()
    mock = create_app(Settings(fidelity=Fidelity(fidelity)))
    mutant.patch(mock)
    return mock
