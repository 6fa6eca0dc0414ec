"""One test's view of a served fake: its URL, a secret key of its own (its own
environment), and the control plane. What the ``trigger_mock`` fixture returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from .served import _Reachable

# Python spellings of the action fields (the wire names work too).
_ACTION_NAMES = {
    "after_store": "afterStore",
    "rate_limit": "rateLimit",
    "delay_ms": "delayMs",
    "cut_after_records": "cutAfterRecords",
}


class UndoneOnExit:
    """A change a test made on the fake; as a context manager, undone on leaving the
    block."""

    def undo(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.undo()


@dataclass
class Fault(UndoneOnExit):
    """A fault rule a test added. Used as a context manager, it is removed on leaving the
    block; otherwise it stays until used up, removed, or the next reset."""

    mock: TriggerMock
    rule: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.rule["id"])

    @property
    def fired(self) -> int:
        """How many requests it has fired on so far (asks the server)."""
        self.rule = self.mock._control("GET", f"/_mock/faults/{self.id}")
        return int(self.rule["fired"])

    def remove(self) -> None:
        status, answer = self.mock.server.call("DELETE", f"/_mock/faults/{self.id}")
        if status not in (204, 404):  # 404: a reset got there first
            raise AssertionError(f"DELETE /_mock/faults/{self.id} -> {status} {answer}")

    def undo(self) -> None:
        self.remove()


@dataclass
class RateLimit(UndoneOnExit):
    """The limiter policy a test set; as a context manager, the previous policy returns
    on leaving the block."""

    mock: TriggerMock
    previous: str

    def undo(self) -> None:
        self.mock._control("PUT", "/_mock/rate-limit", {"policy": self.previous})


@dataclass
class BoundsSet(UndoneOnExit):
    """Bounds a test changed (:meth:`TriggerMock.limit`); as a context manager, the values
    before the change return on leaving the block."""

    mock: TriggerMock
    previous: dict[str, Any]
    current: dict[str, Any]

    def undo(self) -> None:
        self.mock._control("PATCH", "/_mock/limits", self.previous)


@dataclass
class TriggerMock:
    """One test's view of a served fake: its URL, a secret key (an environment of its
    own), and the control plane: reset, clock, scripted ``.out`` records, the journal."""

    server: _Reachable
    """The fake: a :class:`~.served.MockServer` or a :class:`~.served.RunningFake`."""
    secret_key: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def ui_url(self) -> str:
        """The dashboard: open it in a browser to watch the fake while a test runs."""
        return self.base_url + "/_mock/ui"

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.server.call(method, path, body)
        if status >= 400:
            raise AssertionError(f"{method} {path} -> {status} {answer}")
        return answer

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A request to the API with this test's secret key."""
        return self.server.call(method, path, body, token=self.secret_key)

    def client(self) -> Any:
        """An ``httpx.Client`` on the fake with this test's key (needs httpx)."""
        import httpx

        auth = {"Authorization": f"Bearer {self.secret_key}"}
        return httpx.Client(base_url=self.base_url, headers=auth)

    def reset(self) -> None:
        """Forget everything: sessions, channels, journal, clock."""
        self._control("POST", "/_mock/reset")

    def advance_clock(self, seconds: float) -> None:
        self._control("POST", "/_mock/clock", {"advanceSeconds": seconds})

    def set_clock(self, iso_instant: str, *, frozen: bool = False) -> None:
        self._control("POST", "/_mock/clock", {"set": iso_instant, "frozen": frozen})

    def write_out(
        self,
        session: str,
        *,
        text: str | None = None,
        records: list[dict[str, Any]] | None = None,
        in_event_id: int | None = None,
        io: str = "out",
    ) -> list[int]:
        """Play the task: a whole assistant turn (``text``) or exact ``records``."""
        body: dict[str, Any] = {"environment": self.secret_key}
        if text is not None:
            body["text"] = text
        if records is not None:
            body["records"] = records
        if in_event_id is not None:
            body["inEventId"] = in_event_id
        path = f"/_mock/sessions/{quote(session, safe='')}/{io}/records"
        return list(self._control("POST", path, body)["seqNums"])

    def end_run(self, session: str) -> str | None:
        """End the session's current run (as if it crashed); the next cached create or
        append starts a new one. Returns the id of the run that ended."""
        path = f"/_mock/sessions/{quote(session, safe='')}/end-run"
        ended = self._control("POST", path, {"environment": self.secret_key})
        return None if ended["endedRunId"] is None else str(ended["endedRunId"])

    def close_session(self, session: str, reason: str | None = None) -> dict[str, Any]:
        """Close the session as the API's close does (its ``.in`` gets the close record);
        its row, with ``status``."""
        body: dict[str, Any] = {"environment": self.secret_key}
        if reason is not None:
            body["reason"] = reason
        path = f"/_mock/sessions/{quote(session, safe='')}/close"
        return dict(self._control("POST", path, body))

    def records(
        self,
        session: str,
        io: str = "out",
        channel: str | None = None,
        after: int | None = None,
    ) -> list[dict[str, Any]]:
        """The records kept on a session's channel (after seq ``after``), oldest first:
        ``seqNum``, ``timestamp``, ``headers``, ``body``, and ``data`` for an appended part."""
        params: dict[str, Any] = {"environment": self.secret_key}
        if channel is not None:
            params["channel"] = channel
        if after is not None:
            params["after"] = after
        path = f"/_mock/sessions/{quote(session, safe='')}/{io}/records?{urlencode(params)}"
        return list(self._control("GET", path)["records"])

    def restricted_key(self, *scopes: str) -> str:
        """A new restricted key (``tr_dev_sk_…``) of this test's environment, acting only
        within ``scopes`` (``"read:sessions"``, ``"write:tasks:my-task"``, …)."""
        body = {"environment": self.secret_key, "scopes": list(scopes)}
        return str(self._control("POST", "/_mock/restricted-keys", body)["key"])

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """This test's journaled requests, newest first (filters as in
        ``GET /_mock/requests``: ``method``, ``path`` glob, ``status``, ``operation``;
        ``after=N``: only those numbered above N, oldest first)."""
        query = urlencode({"environment": self.secret_key, "limit": 1000, **filters})
        return list(self._control("GET", f"/_mock/requests?{query}")["requests"])

    def request_detail(self, number: int) -> dict[str, Any]:
        """One journaled request in full: ``url``, and ``request``/``response`` with
        headers (credentials shortened) and bodies (the first 64 KiB)."""
        return dict(self._control("GET", f"/_mock/requests/{number}"))

    def curl(self, number: int) -> str:
        """A shell command that sends the journaled request again, credentials included."""
        return str(self._control("GET", f"/_mock/requests/{number}/curl")["curl"])

    def har(self, **filters: Any) -> dict[str, Any]:
        """This test's journaled requests as a HAR 1.2 document, oldest first (filters as
        for :meth:`requests`)."""
        query = urlencode({"environment": self.secret_key, "limit": 1000, **filters})
        return dict(self._control("GET", f"/_mock/requests/har?{query}"))

    def sessions(self) -> list[dict[str, Any]]:
        """Every session in this test's environment, oldest first."""
        dump = self._control("GET", f"/_mock/sessions?environment={self.secret_key}")
        return [s for env in dump["environments"] for s in env["sessions"]]

    def fault(
        self,
        *,
        operation: str | None = None,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
        probability: float | None = None,
        seed: int | None = None,
        any_environment: bool = False,
        **action: Any,
    ) -> Fault:
        """Add a fault rule for this test's environment (every environment with
        ``any_environment``); ``action`` holds the action's fields, e.g. ``status=503``,
        ``delay_ms=300``, ``drop="reset"``, ``rate_limit={"resetSeconds": 2}``,
        ``cut_after_records=3``, ``after_store=True``. ``times=None``: until removed."""
        match: dict[str, Any] = {}
        for name, value in (("operation", operation), ("method", method), ("path", path)):
            if value is not None:
                match[name] = value
        if not any_environment:
            match["environment"] = self.secret_key
        body: dict[str, Any] = {
            "match": match,
            "action": {_ACTION_NAMES.get(k, k): v for k, v in action.items()},
            "times": times,
        }
        if probability is not None:
            body["probability"] = probability
        if seed is not None:
            body["seed"] = seed
        return Fault(self, self._control("POST", "/_mock/faults", body))

    def faults(self) -> list[dict[str, Any]]:
        """Every fault rule on the server, with ``fired`` and ``remaining``."""
        return list(self._control("GET", "/_mock/faults")["faults"])

    def clear_faults(self) -> int:
        """Remove every fault rule; how many there were."""
        return int(self._control("DELETE", "/_mock/faults")["removed"])

    def rate_limit(self, policy: str) -> RateLimit:
        """Set the rate limiter: ``off``, ``deployed`` or ``N/SECONDS``. As a context
        manager, the previous policy comes back on leaving the block."""
        previous = self._control("GET", "/_mock/rate-limit")["policy"]
        self._control("PUT", "/_mock/rate-limit", {"policy": policy})
        return RateLimit(self, previous)

    def limits(self) -> dict[str, Any]:
        """The bounds in force (``maxRecordBytes``, ``maxSessions``, … as
        ``GET /_mock/limits`` gives them)."""
        return dict(self._control("GET", "/_mock/limits"))

    def limit(self, **bounds: float) -> BoundsSet:
        """Change bounds, by their wire names: ``mock.limit(maxSessions=3)``. As a context
        manager, the earlier values come back on leaving the block (a full reset brings
        back the start-up ones)."""
        before = self.limits()
        current = self._control("PATCH", "/_mock/limits", bounds)
        return BoundsSet(self, {name: before[name] for name in bounds}, dict(current))

    def health(self) -> dict[str, Any]:
        """``GET /_mock/health``: with ``records`` (kept, dropped by the budget) and
        ``bounds`` (what the bounds turned away)."""
        return dict(self._control("GET", "/_mock/health"))
