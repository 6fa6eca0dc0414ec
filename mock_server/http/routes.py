"""Which operation a request is for, read from the specs' path templates without running
the router: fault rules match on ``operationId`` before a request reaches Connexion.

Paths are matched raw (percent-encoded, as sent), one template segment per path segment;
where two templates could match, the one with more literal segments wins, as routers do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from ..core.specs import HTTP_METHODS, OBJECTS_BASE_PATH
from ..s2.names import S2_BASE_PATH

NOT_THE_API: Final = ("/_mock/", S2_BASE_PATH + "/", OBJECTS_BASE_PATH + "/")
"""Path prefixes of what the fake serves beside the Trigger.dev API: its control plane,
and its stand-ins for S2 and the object store. The API's edge rules leave them alone."""

_PARAMETER = re.compile(r"\{[^/{}]+\}")


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    literals: int
    operation_id: str
    names: tuple[str, ...] = ()
    """The template's parameters, in the order the pattern captures them."""


class OperationRoutes:
    """``operationId`` by method and raw path, for every operation of the given specs."""

    def __init__(self, specs: list[tuple[str, dict[str, Any]]]) -> None:
        """``specs``: ``(base path, spec)`` pairs."""
        routes = []
        for base, spec in specs:
            for template, item in spec.get("paths", {}).items():
                full = base.rstrip("/") + template
                regex = "".join(
                    "([^/]+)" if _PARAMETER.fullmatch(part) else re.escape(part)
                    for part in re.split(r"(\{[^/{}]+\})", full)
                    if part
                )
                literals = sum(1 for s in full.split("/") if s and not _PARAMETER.search(s))
                for method, operation in item.items():
                    if method in HTTP_METHODS and "operationId" in operation:
                        routes.append(
                            _Route(
                                method.upper(),
                                re.compile(regex),
                                literals,
                                operation["operationId"],
                                tuple(_PARAMETER.findall(full)),
                            )
                        )
        routes.sort(key=lambda route: -route.literals)
        self._routes = tuple(routes)
        self.ids = frozenset(route.operation_id for route in routes)

    def methods_of(self, raw_path: str) -> frozenset[str]:
        """Every method some operation takes on this path (empty for an unknown path)."""
        found: set[str] = set()
        literals = None
        for route in self._routes:
            if literals is not None and route.literals < literals:
                break  # only the most specific template that matches counts
            if route.pattern.fullmatch(raw_path):
                literals = route.literals
                found.add(route.method)
        return frozenset(found)

    def operation_of(self, method: str, raw_path: str) -> str | None:
        for route in self._routes:
            if route.method == method and route.pattern.fullmatch(raw_path):
                return route.operation_id
        return None

    def match(self, method: str, raw_path: str) -> tuple[str, dict[str, str]] | None:
        """The ``operationId`` and the raw (still percent-encoded) path parameters."""
        for route in self._routes:
            if route.method == method and (found := route.pattern.fullmatch(raw_path)):
                names = (name.strip("{}") for name in route.names)
                return route.operation_id, dict(zip(names, found.groups(), strict=True))
        return None
