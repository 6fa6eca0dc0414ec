"""The proxy's own control plane (``openapi/proxy.yaml``): health, the violations, the
summary. Its journal calls are :class:`.journal.JournalHandlers`."""

from __future__ import annotations

from starlette.responses import Response

from .. import __version__
from ..core.fidelity import topic_of
from ..http.responses import json_response
from ..proxy.violations import ViolationLog, ViolationQuery


class ProxyHandlers:
    def __init__(self, log: ViolationLog, *, upstream: str, expect: str, strict: bool) -> None:
        self.log = log
        self.upstream = upstream
        self.expect = expect
        self.strict = strict

    async def proxy_health(self) -> Response:
        return json_response(
            {
                "status": "ok",
                "mode": "proxy",
                "upstream": self.upstream,
                "expect": self.expect,
                "strict": self.strict,
                "version": __version__,
            }
        )

    async def proxy_violations(
        self,
        rule: str | None = None,
        direction: str | None = None,
        operation: str | None = None,
        method: str | None = None,
        status: int | None = None,
        exchange: int | None = None,
        after: str | None = None,
        limit: int = 1000,
    ) -> Response:
        query = ViolationQuery(
            rule=rule,
            direction=direction,
            operation=operation,
            method=method,
            status=status,
            exchange=exchange,
            after=after,
        )
        found = self.log.find(query, limit)
        return json_response({"total": self.log.total, "violations": [v.to_wire() for v in found]})

    async def proxy_clear_violations(self) -> Response:
        self.log.clear()
        return Response(status_code=204)

    async def proxy_summary(self) -> Response:
        summary = self.log.summary(topic_of)
        return json_response({"upstream": self.upstream, "expect": self.expect, **summary})
