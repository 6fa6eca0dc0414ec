"""The control plane's failure operations (``/_mock/faults``, ``/_mock/rate-limit``), one
method per operationId in ``openapi/admin.yaml``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ..auth.ratelimit import LimitPolicy, RateLimiter
from ..control.faults import add_rules
from ..core.errors import BadControlRequest
from ..http.failures.reader import RuleReader
from ..http.failures.rules import FaultBook
from ..http.responses import json_response


class FailureHandlers:
    def __init__(
        self,
        book: FaultBook,
        reader: RuleReader,
        limiter: RateLimiter,
        *,
        start_rules: list[Any],
        start_policy: LimitPolicy | None,
    ) -> None:
        self.book = book
        self.reader = reader
        self.limiter = limiter
        self.start_rules = start_rules
        self.start_policy = start_policy

    def reset(self) -> None:
        """Back to the start: the ``--faults`` file's rules (counts at zero) and the
        ``--rate-limit`` policy, with every bucket full."""
        self.book.clear(restart_ids=True)
        add_rules(self.start_rules, self.reader, self.book)
        self.limiter.set_policy(self.start_policy)

    async def mock_list_faults(self) -> Response:
        return json_response({"faults": [rule.to_wire() for rule in self.book.rules()]})

    async def mock_add_fault(self, body: dict[str, Any]) -> Response:
        rule = self.book.add(self.reader.read(body))
        return json_response(rule.to_wire(), 201)

    async def mock_get_fault(self, id: str) -> Response:
        return json_response(self.book.get(id).to_wire())

    async def mock_remove_fault(self, id: str) -> Response:
        self.book.remove(id)
        return Response(status_code=204)

    async def mock_clear_faults(self) -> Response:
        return json_response({"removed": self.book.clear()})

    async def mock_get_rate_limit(self) -> Response:
        return json_response(self.limiter.describe())

    async def mock_set_rate_limit(self, body: dict[str, Any]) -> Response:
        try:
            policy = LimitPolicy.parse(body["policy"])
        except ValueError as exc:
            raise BadControlRequest(str(exc)) from exc
        self.limiter.set_policy(policy)
        return json_response(self.limiter.describe())
