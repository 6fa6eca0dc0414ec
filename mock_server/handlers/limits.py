"""``/_mock/limits`` and the bounds' part of ``/_mock/health``: what the fake holds against
its bounds, and what the bounds turned away (``docs/reliability.md``)."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from starlette.responses import Response

from ..auth.environments import Environments
from ..channels.streams import ChannelStore
from ..core.errors import BadControlRequest
from ..core.limits import BoundCounts, Limits
from ..core.times import iso_ms
from ..http.responses import json_response


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_WIRE_NAMES = {camel(item.name): item.name for item in fields(Limits)}


class LimitsHandlers:
    def __init__(
        self,
        limits: Limits,
        bounds: BoundCounts,
        channels: ChannelStore,
        environments: Environments,
    ) -> None:
        self.limits = limits
        self.bounds = bounds
        self.channels = channels
        self.environments = environments
        self._at_start = replace(limits)

    def _limits_wire(self) -> dict[str, Any]:
        return {camel(name): value for name, value in self.limits.as_dict().items()}

    async def mock_get_limits(self) -> Response:
        return json_response(self._limits_wire())

    async def mock_set_limits(self, body: dict[str, Any]) -> Response:
        try:  # the spec has refused unknown names and non-positive values already
            wanted = self.limits.changed(**{_WIRE_NAMES.get(k, k): v for k, v in body.items()})
        except ValueError as exc:
            raise BadControlRequest(str(exc)) from exc
        self.limits.update(wanted)
        self.channels.fit_budget()  # a lower budget drops the oldest records now
        return json_response(self._limits_wire())

    def reset(self) -> None:
        """A full reset: the start-up bounds again, the counts from zero."""
        self.limits.update(self._at_start)
        self.bounds.clear()
        self.channels.fit_budget()

    def health(self) -> dict[str, Any]:
        meter = self.channels.meter
        since = meter.trimming_since
        bounds = {camel(name): value for name, value in self.bounds.as_dict().items()}
        bounds["environmentsMadeByUse"] = self.environments.made_by_use
        return {
            "limits": self._limits_wire(),
            "records": {
                "bytes": meter.bytes,
                "count": meter.records,
                "streams": meter.streams,
                "partIds": meter.part_ids,
                "maxBytes": self.limits.max_record_bytes,
                "dropped": meter.dropped_records,
                "droppedBytes": meter.dropped_bytes,
                "trimmingSince": None if since is None else iso_ms(since),
            },
            "bounds": bounds,
        }
