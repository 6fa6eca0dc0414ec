"""One test's view of a served fake: its URL, a secret key of its own (its own
environment), and the control plane. What the ``trigger_mock`` fixture returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from .served import MockServer


@dataclass
class TriggerMock:
    """One test's view of a served fake: its URL, a secret key (an environment of its
    own), and the control plane: reset, clock, scripted ``.out`` records, the journal."""

    server: MockServer
    secret_key: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

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

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """This test's journaled requests, newest first (filters as in
        ``GET /_mock/requests``: ``method``, ``path`` glob, ``status``)."""
        query = urlencode({"environment": self.secret_key, "limit": 1000, **filters})
        return list(self._control("GET", f"/_mock/requests?{query}")["requests"])

    def sessions(self) -> list[dict[str, Any]]:
        """Every session in this test's environment, oldest first."""
        dump = self._control("GET", f"/_mock/sessions?environment={self.secret_key}")
        return [s for env in dump["environments"] for s in env["sessions"]]
