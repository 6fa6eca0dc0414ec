"""The control plane's request journal (``/_mock/requests``): the list, one exchange in
full, as cURL and as HAR; one method per operationId in ``openapi/admin.yaml``."""

from __future__ import annotations

import functools

from starlette.responses import Response

from .. import __version__
from ..core.errors import ControlTargetNotFound
from ..http.exchanges import curl, detail, har
from ..http.forwarded import NO_PROXIES, TrustedProxies
from ..http.journal import Entry, OperationOf, Query, RequestJournal
from ..http.responses import json_response


class JournalHandlers:
    def __init__(
        self,
        journal: RequestJournal,
        operation_of: OperationOf,
        trusted: TrustedProxies = NO_PROXIES,
    ) -> None:
        self.journal = journal
        self.trusted = trusted
        # Requests repeat their paths; naming one is a walk over every route's pattern.
        self.operation_of: OperationOf = functools.lru_cache(maxsize=4096)(operation_of)

    def _find(
        self,
        limit: int,
        *,
        method: str | None,
        path: str | None,
        status: int | None,
        environment: str | None,
        operation: str | None,
        after: int | None,
    ) -> list[Entry]:
        query = Query(
            method=method,
            path=path,
            status=status,
            environment=environment,
            operation=operation,
            after=after,
            operation_of=self.operation_of,
        )
        return self.journal.find(query, limit)

    def _entry(self, number: int) -> Entry:
        entry = self.journal.get(number)
        if entry is None:
            raise ControlTargetNotFound(f"No request {number} in the journal (it may have gone)")
        return entry

    async def mock_requests(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        environment: str | None = None,
        operation: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> Response:
        found = self._find(
            limit,
            method=method,
            path=path,
            status=status,
            environment=environment,
            operation=operation,
            after=after,
        )
        rows = [entry.to_wire(self.operation_of(entry.method, entry.path)) for entry in found]
        return json_response({"total": self.journal.total, "requests": rows})

    async def mock_clear_requests(self) -> Response:
        self.journal.clear()
        return Response(status_code=204)

    async def mock_request(self, number: int) -> Response:
        entry = self._entry(number)
        return json_response(
            detail(entry, self.operation_of(entry.method, entry.path), self.trusted)
        )

    async def mock_request_curl(self, number: int) -> Response:
        command, truncated = curl(self._entry(number), self.trusted)
        return json_response({"curl": command, "truncated": truncated})

    async def mock_requests_har(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        environment: str | None = None,
        operation: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> Response:
        found = self._find(
            limit,
            method=method,
            path=path,
            status=status,
            environment=environment,
            operation=operation,
            after=after,
        )
        if after is None:
            found.reverse()  # a HAR log runs oldest first
        headers = {"content-disposition": 'attachment; filename="trigger-mock.har"'}
        return json_response(
            har(found, self.operation_of, __version__, self.trusted), headers=headers
        )
