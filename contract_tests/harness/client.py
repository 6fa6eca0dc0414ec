"""The client contract tests speak through.

Every response it receives is validated against ``openapi.yaml`` (and the control plane's
spec) with openapi-core. It keeps a test inside its own data on a shared target: the
sessions a test creates carry a type and externalIds unique to that test, lists are scoped
to that type, and whatever a test created is closed afterwards on a real target.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse

from mock_server.core.specs import ADMIN_SPEC_PATH, S2_SPEC_PATH, api_spec_path


def _json(value: str | bytes, **parameters: str) -> object:
    """A JSON body (its media type's parameters, such as ``charset``, ignored)."""
    return json.loads(value)


class SpecChecker:
    """Validates responses with openapi-core, an implementation of the contract that
    shares no code with the fake."""

    def __init__(self) -> None:
        paths = (api_spec_path(), ADMIN_SPEC_PATH, S2_SPEC_PATH)
        # Problem JSON (the deployed server's middleware answers) is JSON too.
        config = Config(extra_media_type_deserializers={"application/problem+json": _json})
        self.apis = [OpenAPI.from_file_path(str(p), config=config) for p in paths]
        self.checked = 0

    def check(self, response: httpx.Response) -> None:
        if 300 <= response.status_code < 400:
            return  # a redirect is the server's edge speaking, not an operation's answer
        request = response.request
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        mock_request = MockRequest(
            "http://127.0.0.1:8080",
            request.method.lower(),
            raw_path,
            args=dict(request.url.params),
            headers=dict(request.headers),
        )
        mock_response = MockResponse(
            response.content,
            status_code=response.status_code,
            headers=dict(response.headers),
            content_type=response.headers.get("content-type", ""),
        )
        for api in self.apis:
            try:
                api.validate_response(mock_request, mock_response)
            except (PathNotFound, OperationNotFound):
                continue
            except Exception as exc:
                raise AssertionError(
                    f"{request.method} {raw_path} -> {response.status_code} {response.text}"
                    f" does not conform to the spec: {exc!r}"
                ) from exc
            self.checked += 1
            return


def checked_client(
    checker: SpecChecker, base_url: str, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    async def check(response: httpx.Response) -> None:
        await response.aread()
        checker.check(response)

    return httpx.AsyncClient(
        transport=transport, base_url=base_url, event_hooks={"response": [check]}, timeout=60
    )


def new_key(kind: str = "dev") -> str:
    return f"tr_{kind}_{uuid.uuid4().hex[:20]}"


@dataclass
class Naming:
    """Names unique to one test of one run, so tests never meet on a shared target."""

    run: str
    prefix: str
    counter: Iterator[int] = field(default_factory=itertools.count)

    @property
    def run_tag(self) -> str:
        """Put on every run the suite's sessions trigger, to find them in a dashboard."""
        return f"trigger-mock-contract:{self.run}"

    @property
    def type(self) -> str:
        return f"contract.{self.prefix}"

    def unique(self, label: str) -> str:
        return f"{self.prefix}-{next(self.counter)}-{label}"


@dataclass(frozen=True)
class TargetInfo:
    """What a test may assume about the target."""

    id: str
    is_mock: bool
    fidelity: str | None  # the fake's mode; None for an implementation of unknown mode
    writes: bool  # may the suite create sessions (on a real target they trigger runs)


Observe = Callable[[str, str, bool, bool], None]
"""Records (target, fidelity row, matched documented, matched deployed)."""


class ContractApi:
    """One test's view of the target: one secret key, names of its own, and helpers for
    each operation. Responses are returned as they are; tests assert on them."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        target: TargetInfo,
        key: str,
        naming: Naming,
        *,
        task_identifier: str,
        observe: Observe,
    ) -> None:
        self.client = client
        self.target = target
        self.key = key
        self.naming = naming
        self.task_identifier = task_identifier
        self._observe = observe
        self.created: list[str] = []

    # --- naming -------------------------------------------------------------------------

    def ext(self, label: str = "chat") -> str:
        """An externalId no other test (or run) uses."""
        return self.naming.unique(label)

    def body(self, **overrides: Any) -> dict[str, Any]:
        """A create body in this test's names; its runs carry the run tag unless the test
        sets ``triggerConfig.tags`` itself."""
        config = overrides.pop("triggerConfig", {"basePayload": {"contract": self.naming.prefix}})
        if isinstance(config, dict) and "tags" not in config:
            config = {**config, "tags": [self.naming.run_tag]}
        body: dict[str, Any] = {
            "type": self.naming.type,
            "taskIdentifier": self.task_identifier,
            "triggerConfig": config,
        }
        body.update(overrides)
        return body

    # --- requests -----------------------------------------------------------------------

    def auth(self, credential: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential or self.key}"}

    async def request(
        self, method: str, path: str, *, credential: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.auth(credential), **kwargs.pop("headers", {})}
        response = await self.client.request(method, path, headers=headers, **kwargs)
        if method == "POST" and path == "/api/v1/sessions" and response.status_code in (200, 201):
            self.created.append(response.json()["id"])
        return response

    async def create(self, credential: str | None = None, **fields: Any) -> httpx.Response:
        return await self.request(
            "POST", "/api/v1/sessions", json=self.body(**fields), credential=credential
        )

    async def created_session(self, **fields: Any) -> dict[str, Any]:
        response = await self.create(**fields)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def retrieve(self, ref: str, credential: str | None = None) -> httpx.Response:
        return await self.request("GET", _session_path(ref), credential=credential)

    async def update(self, ref: str, body: Any, credential: str | None = None) -> httpx.Response:
        return await self.request("PATCH", _session_path(ref), json=body, credential=credential)

    async def close(
        self, ref: str, body: Any = None, credential: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        if body is None and "content" not in kwargs:
            body = {}
        return await self.request(
            "POST", _session_path(ref) + "/close", json=body, credential=credential, **kwargs
        )

    async def list(self, params: Any = None, credential: str | None = None) -> httpx.Response:
        """List, scoped to this test's sessions by their type unless the test filters by
        type itself (then it passes types of its own)."""
        pairs = list(params.items()) if isinstance(params, dict) else list(params or [])
        if not any(key == "filter[type]" for key, _ in pairs):
            pairs.append(("filter[type]", self.naming.type))
        return await self.request("GET", "/api/v1/sessions", params=pairs, credential=credential)

    async def environment_id(self) -> str:
        response = await self.request("POST", "/api/v1/auth/jwt/claims")
        assert response.status_code == 200, response.text
        return str(response.json()["sub"])

    # --- the fake's control plane -------------------------------------------------------

    async def set_clock(self, **body: Any) -> dict[str, Any]:
        assert self.target.is_mock, "the clock is only on the fake (mark the test mock_only)"
        response = await self.client.post("/_mock/clock", json=body)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    # --- docs vs deployed ---------------------------------------------------------------

    def observe(self, row: str, *, documented: bool, deployed: bool) -> None:
        """Record which reading of a fidelity-table row the target just showed, and insist
        on the one it claims (the fake) or on one of the two (any other target)."""
        self._observe(self.target.id, row, documented, deployed)
        if self.target.fidelity == "documented":
            assert documented, f"{row}: the target does not behave as documented"
        elif self.target.fidelity == "deployed":
            assert deployed, f"{row}: the target does not behave as the deployed server"
        else:
            assert documented or deployed, f"{row}: neither documented nor deployed behaviour"

    async def clean_up(self) -> None:
        """Close every session this test created (real targets run them)."""
        for session_id in self.created:
            await self.close(session_id, {"reason": "trigger-mock contract cleanup"})


def _session_path(ref: str) -> str:
    return f"/api/v1/sessions/{quote(ref, safe='')}"
