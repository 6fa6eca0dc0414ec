"""Deliberately broken fakes: the real fake with one rule broken each.

:mod:`tests.teeth` serves them and checks that the contract suite fails on every one, in
a test named after the rule the mutant breaks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mock_server.app import MockApp, create_app
from mock_server.core.fidelity import Fidelity
from mock_server.core.settings import Settings

from . import patches

Patch = Callable[[MockApp], None]


@dataclass(frozen=True)
class Mutant:
    name: str
    breaks: str
    caught_by: tuple[str, ...]  # tests named after the broken rule; any one failing counts
    patch: Patch
    before_start: Callable[[], None] = lambda: None
    fidelity: str | None = None
    """The mode it is served in (a deployed-only rule), else the check's own."""


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
            patches.ignore_idempotency,
        ),
        Mutant(
            "reopens-closed",
            "create with a closed externalId reopens the session",
            ("test_reusing_a_closed_external_id_returns_409",),
            patches.reopen_closed,
        ),
        Mutant(
            "leaks-environments",
            "every secret key sees the same sessions",
            ("test_each_secret_key_is_its_own_environment",),
            patches.leak_environments,
        ),
        Mutant(
            "accepts-unsigned-tokens",
            "public tokens are not verified",
            ("test_tokens_that_fail_verification_get_401",),
            patches.accept_unsigned_tokens,
        ),
        Mutant(
            "drops-pagination-rows",
            "the last row of every full page is skipped",
            ("test_next_cursors_walk_every_row_once", "test_the_default_page_is_twenty_rows"),
            patches.drop_pagination_rows,
        ),
        Mutant(
            "500s-on-bad-json",
            "malformed JSON crashes the handler",
            ("test_unreadable_bodies_are_refused",),
            patches.nothing,
            patches.crash_on_bad_json,
        ),
        Mutant(
            "mutable-external-id",
            "update changes externalId",
            ("test_external_id_is_read_only_after_create",),
            patches.let_external_id_change,
        ),
        Mutant(
            "closes-again",
            "a second close overwrites closedAt and the reason",
            (
                "test_closing_twice_keeps_the_first_reason",
                "test_closing_again_returns_the_first_close_unchanged",
            ),
            patches.close_again,
        ),
        Mutant(
            "no-body-limit",
            "bodies of any size are accepted",
            ("test_a_create_body_over_32_kb_is_refused",),
            patches.nothing,
            patches.no_body_limit,
        ),
        Mutant(
            "ignores-scopes",
            "a public token may do anything",
            ("test_a_session_token_reads_nothing_else",),
            patches.nothing,
            patches.ignore_scopes,
        ),
        Mutant(
            "no-cors",
            "no CORS headers, no preflight",
            ("test_a_preflight_is_answered_before_authentication",),
            patches.no_cors,
        ),
        Mutant(
            "ignores-expiry",
            "expired sessions read as active and can be reused",
            (
                "test_reusing_an_expired_external_id_returns_409",
                "test_the_status_filter_is_derived_from_expires_at",
            ),
            patches.nothing,
            patches.ignore_expiry,
        ),
        Mutant(
            "ignores-tag-filter",
            "filter[tags] is ignored",
            ("test_filters_by_type_task_external_id_and_tags",),
            patches.ignore_tag_filter,
        ),
        Mutant(
            "ignores-part-ids",
            "a repeated X-Part-Id appends again",
            ("test_a_repeated_part_id_appends_nothing",),
            patches.ignore_part_ids,
        ),
        Mutant(
            "appends-after-close",
            "closed sessions take appends",
            ("test_appending_to_a_closed_session_is_final",),
            patches.append_after_close,
        ),
        Mutant(
            "tokens-write-out",
            "a session token may write .out",
            ("test_out_belongs_to_the_task",),
            patches.nothing,
            patches.tokens_write_out,
        ),
        Mutant(
            "ignores-last-event-id",
            "a resumed stream starts from the beginning again",
            ("test_last_event_id_resumes_after_that_record",),
            patches.nothing,
            patches.ignore_last_event_id,
        ),
        Mutant(
            "trusts-client-webhooks",
            "a client's .in append keeps its forged actionSource: webhook",
            ("test_in_appends_claiming_a_webhook_source_lose_it",),
            patches.nothing,
            patches.trust_client_webhooks,
        ),
        Mutant(
            "existence-before-auth",
            "deployed appends to unknown sessions answer 404 to tokens scoped elsewhere",
            ("test_appends_to_unknown_sessions_check_the_token_first",),
            patches.nothing,
            patches.existence_before_auth,
            fidelity="deployed",
        ),
        Mutant(
            "snapshots-for-anyone",
            "a token for one session presigns another session's snapshot",
            ("test_snapshot_urls_need_a_scope_on_that_session",),
            patches.nothing,
            patches.snapshot_any_session,
        ),
        Mutant(
            "scrambles-key-order",
            "rows come in another key order",
            ("test_create_returns_201_with_the_row_in_wire_order",),
            patches.nothing,
            patches.scramble_key_order,
        ),
    )
}


def build(name: str, fidelity: str) -> MockApp:
    mutant = MUTANTS[name]
    mutant.before_start()
    mock = create_app(Settings(fidelity=Fidelity(fidelity)))
    mutant.patch(mock)
    return mock
