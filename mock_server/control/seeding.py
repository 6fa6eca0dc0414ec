"""``--seed-file``: sessions (and their channel records) the fake starts with.

YAML or JSON::

    environments:
      tr_dev_local123:                # a secret key: its environment
        restrictedKeys:               # optional: additional keys of it, with their scopes
          tr_dev_sk_0123456789abcdefghijklmn: [read:sessions, write:sessions]
        sessions:
          - type: chat.agent          # a create body, checked against openapi.yaml
            id: session_cm0…          # optional: the session's id (unique per environment)
            currentRunId: run_…       # optional: its current run's id
            externalId: chat-1
            taskIdentifier: my-chat
            triggerConfig: {basePayload: {chatId: chat-1}}
            close: {reason: done}     # optional: the session starts closed
            channels:                 # optional records, in the control plane's forms
              out:
                - {data: {type: text-delta, id: t1, delta: hi}}
                - {control: turn-complete}

Every problem is reported with its place in the file, and nothing is loaded unless all of
it is good. A full ``/_mock/reset`` goes back to the seeded state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from ..auth.environments import SECRET_KEY_PATTERN, Environments, restricted_scopes
from ..channels.realtime import Realtime
from ..channels.records import StreamKey
from ..core.errors import ApiError, Issue, join_path
from ..core.ids import SESSION_PREFIX, is_cuid
from ..core.jsoncodec import exact_orjson
from ..http.connexion_internals import resolve_refs
from ..http.schema_issues import SchemaValidators
from ..sessions.requests import NewSession
from .records import record_items

_EXTRA_KEYS = ("close", "channels", "id", "currentRunId")
_IOS = ("in", "out")
_RUN_ID = re.compile(r"^run_[A-Za-z0-9]{1,64}$")


class SeedFileError(ValueError):
    """A seed file that cannot be loaded; the message lists every problem."""


@dataclass(frozen=True)
class Seed:
    environments: dict[str, list[dict[str, Any]]]
    """Secret key → session entries, as read and checked."""
    restricted_keys: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    """Secret key → its restricted keys and their scopes."""

    @classmethod
    def load(cls, path: Path, spec: dict[str, Any]) -> Seed:
        try:
            text = path.read_text(encoding="utf-8")
            try:  # JSON is YAML too, but orjson reads a large seed many times faster
                document = exact_orjson(text)
            except orjson.JSONDecodeError:
                document = yaml.safe_load(text)
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise SeedFileError(f"seed file {path}: cannot be read: {exc}") from exc
        problems: list[str] = []
        envs = document.get("environments") if isinstance(document, dict) else None
        if not isinstance(envs, dict) or not envs:
            raise SeedFileError(f"seed file {path}: needs an `environments` mapping")
        schema = resolve_refs(spec)["components"]["schemas"]["CreateSessionRequestBody"]
        validators = SchemaValidators()
        for key, env in envs.items():
            where = f"environments.{key}"
            if not isinstance(key, str) or not SECRET_KEY_PATTERN.match(key):
                problems.append(f"{where}: not a secret key (tr_dev_…, tr_stg_…, …)")
            problems += _check_restricted(env, where)
            sessions = env.get("sessions") if isinstance(env, dict) else None
            if not isinstance(sessions, list):
                problems.append(f"{where}: needs a `sessions` list")
                continue
            taken: set[str] = set()
            for n, entry in enumerate(sessions):
                problems += _check(entry, f"{where}.sessions[{n}]", schema, validators)
                problems += _check_ids(entry, f"{where}.sessions[{n}]", taken)
        if problems:
            raise SeedFileError(f"seed file {path}:\n  " + "\n  ".join(problems))
        restricted = {
            key: {
                extra: restricted_scopes(extra, scopes)
                for extra, scopes in (env.get("restrictedKeys") or {}).items()
            }
            for key, env in envs.items()
        }
        return cls({key: env["sessions"] for key, env in envs.items()}, restricted)

    def register_keys(self, environments: Environments) -> None:
        """Accept the restricted keys, each in its environment (at every start, whether
        the sessions come from this seed or from a state file)."""
        for root, extras in self.restricted_keys.items():
            for key, scopes in extras.items():
                environments.restrict(key, scopes, root=root)

    def apply(self, realtime: Realtime, environments: Environments) -> int:
        """Create the sessions and records; returns how many sessions."""
        count = 0
        for key, entries in self.environments.items():
            env = environments.accept(key)
            for n, entry in enumerate(entries):
                body = {k: v for k, v in entry.items() if k not in _EXTRA_KEYS}
                try:  # not announced: the agent must not answer what the seed already holds
                    new = NewSession.from_body(body)
                    session = realtime.sessions.create(
                        env.id,
                        new,
                        announce=False,
                        session_id=entry.get("id"),
                        run_id=entry.get("currentRunId"),
                        capped=False,
                    ).session
                except (ApiError, ValueError) as exc:
                    where = f"environments.{key}.sessions[{n}]"
                    raise SeedFileError(f"seed file: {where}: {exc}") from exc
                canonical = session.addressing_key
                for io, records in (entry.get("channels") or {}).items():
                    items = record_items(records, realtime.ids)
                    realtime.append_records(env.id, StreamKey(canonical, io), items)
                if "close" in entry:
                    reason = (entry["close"] or {}).get("reason")
                    realtime.sessions.close(env.id, session.friendly_id, reason)
                count += 1
        return count


def _check_restricted(env: Any, where: str) -> list[str]:
    extras = env.get("restrictedKeys") if isinstance(env, dict) else None
    if extras is None:
        return []
    if not isinstance(extras, dict):
        return [f"{where}.restrictedKeys: expected a mapping of keys to scope lists"]
    problems = []
    for key, scopes in extras.items():
        try:
            restricted_scopes(str(key), scopes if isinstance(scopes, list) else [None])
        except ValueError as exc:
            problems.append(f"{where}.restrictedKeys: {exc}")
    return problems


def _check_ids(entry: Any, where: str, taken: set[str]) -> list[str]:
    """A given ``id`` is ``session_`` and a cuid, once per environment; a given
    ``currentRunId`` is ``run_`` and letters or digits."""
    if not isinstance(entry, dict):
        return []
    problems = []
    session_id = entry.get("id")
    if "id" in entry:
        if not (
            isinstance(session_id, str)
            and session_id.startswith(SESSION_PREFIX)
            and is_cuid(session_id.removeprefix(SESSION_PREFIX))
        ):
            problems.append(f"{where}.id: expected session_ and a 25-character cuid (c…)")
        elif session_id in taken:
            problems.append(f"{where}.id: {session_id} is already a session of this environment")
        else:
            taken.add(session_id)
    run_id = entry.get("currentRunId")
    if "currentRunId" in entry and not (isinstance(run_id, str) and _RUN_ID.match(run_id)):
        problems.append(f"{where}.currentRunId: expected run_ and letters or digits")
    return problems


def _check(
    entry: Any, where: str, schema: dict[str, Any], validators: SchemaValidators
) -> list[str]:
    if not isinstance(entry, dict):
        return [f"{where}: expected a session (a mapping)"]
    body = {k: v for k, v in entry.items() if k not in _EXTRA_KEYS}
    problems = [_describe(where, issue) for issue in validators.issues(schema, body)]
    unknown = sorted(set(body) - set(schema.get("properties", {})))
    problems += [f"{where}.{name}: not a field of a create body" for name in unknown]
    if not problems:
        try:
            NewSession.from_body(body)
        except ApiError as exc:
            problems.append(f"{where}: {exc}")
    close = entry.get("close")
    if (
        "close" in entry
        and close is not None
        and not (isinstance(close, dict) and isinstance(close.get("reason", ""), str))
    ):
        problems.append(f"{where}.close: expected {{reason: text}} or nothing")
    channels = entry.get("channels") or {}
    if not isinstance(channels, dict) or not set(channels) <= set(_IOS):
        problems.append(f"{where}.channels: expected `in` and/or `out` lists")
        return problems
    for io, records in channels.items():
        try:
            record_items(records, None)
        except (ApiError, TypeError, ValueError) as exc:
            problems.append(f"{where}.channels.{io}: {exc}")
    return problems


def _describe(where: str, issue: Issue) -> str:
    place = f"{where}.{join_path(issue.path)}" if issue.path else where
    return f"{place}: {issue.message}"
