"""Connexion's operation wrapper, built once per operation instead of once per request.

Connexion 3.3's ``AsyncOperation`` rebuilds its decorator chain (three ``functools.wraps``,
an ``inspect.signature`` and the operation's URI parser) on every call. The chain depends
only on the operation, so these subclasses build it on the first call and keep it. The
request itself is read from Connexion's context exactly as before.
"""

from __future__ import annotations

import functools
from typing import Any

from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator


class _BuiltOnceDecorator(StarletteDecorator):  # type: ignore[misc]
    def __call__(self, function: Any) -> Any:
        decorated = self.decorate(function)
        parsers: list[Any] = []

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not parsers:  # the operation is only in context during a request
                parsers.append(self.uri_parser)
            request = self.framework.get_request(
                uri_parser=parsers[0], scope=scope, receive=receive
            )
            return await decorated(request)

        return wrapper


class BuiltOnceOperation(AsyncOperation):  # type: ignore[misc]
    @functools.cached_property
    def fn(self) -> Any:
        decorator = _BuiltOnceDecorator(
            pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )
        return decorator(self._fn)


class BuiltOnceApi(AsyncApi):  # type: ignore[misc]
    """What ``AsyncApp`` adds APIs as, so that their operations build their chains once."""

    def make_operation(self, operation: Any) -> BuiltOnceOperation:
        built: BuiltOnceOperation = BuiltOnceOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )
        return built
