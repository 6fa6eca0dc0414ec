"""The cold start's guard in CI: what ``trigger-mock serve`` does before its first answer,
counted, not timed (``python bench/cold_start.py`` times it against a bare uvicorn app).

Start-up imports nothing ``serve`` does not use (the other commands' modules, Starlette's
test client and templates, httpx, requests, jinja2, the test tools) nor hypercorn and h2
before an HTTP/2 connection comes, reads each spec file
once, and checks each spec against the OpenAPI schema once, without Connexion's pure-Python
check where the quick one vouches for the spec; a spec that breaks the schema, or a
``default`` that breaks its own schema, is still refused at start-up, with Connexion's error.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from connexion.exceptions import InvalidSpecification
from connexion.spec import OpenAPISpecification

import mock_server.app as app_module
from mock_server.core import specs
from mock_server.core.specs import (
    ADMIN_SPEC_PATH,
    OBJECTS_SPEC_PATH,
    S2_SPEC_PATH,
    api_spec_path,
    load_spec,
)
from mock_server.http import connexion_internals
from mock_server.http.connexion_internals import load_specification
from tests.support import ROOT

# `serve` as the command line runs it, until its first answer: uvicorn's serving is replaced
# by the lifespan's start and one create sent to the app, then what was imported is printed.
SERVE_UNTIL_FIRST_ANSWER = r"""
import asyncio, json, sys
import uvicorn
from mock_server.server import cli

async def first_answer(server):
    app, started = server.config.app, asyncio.Event()
    events = [{"type": "lifespan.startup"}]
    async def lifespan_receive():
        while not events:
            await asyncio.sleep(0.001)
        return events.pop(0)
    async def lifespan_send(message):
        started.set()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    lifespan = asyncio.create_task(app(scope, lifespan_receive, lifespan_send))
    await started.wait()
    body = json.dumps({"type": "chat.agent", "taskIdentifier": "my-chat-agent",
                       "triggerConfig": {"basePayload": {"chatId": "c"}}}).encode()
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    answers = []
    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}
    async def send(message):
        answers.append(message)
    headers = [(b"host", b"127.0.0.1"), (b"authorization", b"Bearer tr_dev_startup000000000"),
               (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
               "method": "POST", "scheme": "http", "path": "/api/v1/sessions",
               "raw_path": b"/api/v1/sessions", "query_string": b"", "root_path": "",
               "headers": headers, "server": ("127.0.0.1", 8080),
               "client": ("127.0.0.1", 50000), "state": {}}, receive, send)
    events.append({"type": "lifespan.shutdown"})
    await lifespan
    print(json.dumps({"status": answers[0]["status"], "modules": sorted(sys.modules)}))

uvicorn.Server.serve = first_answer
sys.exit(cli.main(["serve", "--port", "0", "--log-level", "warning"]))
"""

# Each reading and each check of a spec while the app is built, counted.
COUNT_READINGS_AND_CHECKS = r"""
import json
import yaml
from connexion.spec import OpenAPISpecification
from mock_server.http import connexion_internals

counts = {"parsed": [], "quick": 0, "connexion": 0}
parse = yaml.load
def counted_parse(stream, Loader):
    counts["parsed"].append(stream.name.rsplit("/", 1)[-1])
    return parse(stream, Loader=Loader)
yaml.load = counted_parse
quick = connexion_internals._surely_valid
def counted_quick(spec):
    counts["quick"] += 1
    return quick(spec)
connexion_internals._surely_valid = counted_quick
check = OpenAPISpecification._validate_spec.__func__
def counted_check(cls, spec):
    counts["connexion"] += 1
    return check(cls, spec)
OpenAPISpecification._validate_spec = classmethod(counted_check)

from mock_server.app import create_app
mock = create_app()
assert mock.lane is not None
print(json.dumps(counts))
"""

NOT_FOR_SERVE = (
    # the other commands
    "mock_server.proxy",
    "mock_server.app.proxy",
    "contract_tests",
    # what Connexion imports and the fake never uses (connexion_internals)
    "starlette.testclient",
    "starlette.templating",
    "httpx",
    "requests",
    "jinja2",
    # HTTP/2 (server/handover.py): imported with the first HTTP/2 connection
    "hypercorn",
    "h2",
    # test tools
    "pytest",
    "schemathesis",
    "openapi_core",
    "openapi_spec_validator",
)


def _run(script: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_serve_imports_nothing_it_does_not_use_before_its_first_answer() -> None:
    found = _run(SERVE_UNTIL_FIRST_ANSWER)
    assert found["status"] == 201
    imported = set(found["modules"])
    assert "connexion" in imported and "mock_server.http.fastlane" in imported  # it ran
    assert sorted(imported.intersection(NOT_FOR_SERVE)) == []


def test_building_the_app_reads_each_spec_once_and_checks_each_once() -> None:
    counts = _run(COUNT_READINGS_AND_CHECKS)
    assert sorted(counts["parsed"]) == ["admin.yaml", "objects.yaml", "openapi.yaml", "s2.yaml"]
    # Four specs, five readings (the lane reads the API's again): four quick checks, each
    # vouching for its spec, so Connexion's own check never runs.
    assert counts["quick"] == 4
    assert counts["connexion"] == 0


def test_a_spec_file_is_parsed_once_with_libyaml_each_caller_its_own_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert specs._SafeLoader is getattr(yaml, "CSafeLoader", None), "PyYAML without libyaml"
    expected = yaml.safe_load(S2_SPEC_PATH.read_text())
    monkeypatch.setattr(specs, "_parsed", {})
    parsed: list[str] = []
    parse = yaml.load

    def counted(stream: Any, Loader: Any) -> Any:
        parsed.append(stream.name)
        return parse(stream, Loader=Loader)

    monkeypatch.setattr(yaml, "load", counted)
    first = load_spec(S2_SPEC_PATH)
    first["paths"].clear()
    second = load_spec(S2_SPEC_PATH)
    assert parsed == [str(S2_SPEC_PATH)]
    assert second == expected


def _response_not_an_object(spec: dict[str, Any]) -> None:
    spec["paths"]["/api/v1/sessions"]["post"]["responses"]["201"] = "created"


def _unknown_field_in_an_operation(spec: dict[str, Any]) -> None:
    spec["paths"]["/api/v1/sessions"]["post"]["handler"] = "create"


def _default_outside_its_schema(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    schemas["CreateSessionRequestBody"]["properties"]["tags"]["default"] = "not a list"


def _no_info(spec: dict[str, Any]) -> None:
    del spec["info"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_response_not_an_object, "'created' is not valid under any of the given schemas"),
        (_unknown_field_in_an_operation, r"'handler' does not match any of the regexes: '\^x-'"),
        (_default_outside_its_schema, r"instance\['components'\]\['schemas'\]\['CreateSessionR"),
        (_no_info, "'info' is a required property"),
    ],
)
def test_a_bad_spec_is_refused_with_connexions_error_even_after_the_good_one(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    spec = load_spec(api_spec_path())
    load_specification(copy.deepcopy(spec))  # the good one, checked (and remembered)
    change(spec)
    with pytest.raises(InvalidSpecification, match=message):
        load_specification(spec)
    with pytest.raises(InvalidSpecification, match=message):
        load_specification(spec)  # an invalid spec is never remembered


def test_create_app_refuses_a_bad_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: Any) -> dict[str, Any]:
        spec = load_spec(path)
        if path == ADMIN_SPEC_PATH:
            spec["paths"]["/_mock/health"]["get"]["responses"] = []
        return spec

    monkeypatch.setattr(app_module, "load_spec", broken)
    with pytest.raises(InvalidSpecification, match="is not of type 'object'"):
        app_module.create_app()


def _mutations(spec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``spec`` with one value somewhere replaced, one key dropped or one key added."""
    changed = copy.deepcopy(spec)
    node: Any = changed
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return changed
        key = rng.choice(keys)
        child = node[key]
        if isinstance(child, dict | list) and child and rng.random() < 0.75:
            node = child
            continue
        move = rng.choice(["replace", "drop", "add"])
        if move == "drop" and isinstance(node, dict):
            del node[key]
        elif move == "add" and isinstance(node, dict):
            node[rng.choice(["default", "type", "nullable", "x-note", "bogus", "required"])] = (
                rng.choice([1, "one", None, [], {}, True])
            )
        else:
            node[key] = rng.choice([1, 2.5, "one", None, [], {}, True, {"type": "string"}])
        return changed


@pytest.mark.parametrize("path", [S2_SPEC_PATH, OBJECTS_SPEC_PATH])
def test_the_quick_check_never_vouches_for_a_spec_connexion_refuses(path: Any) -> None:
    spec = connexion_internals._string_keys(load_spec(path))
    rng = random.Random(7)
    vouched = refused = 0
    for _ in range(150):
        changed = _mutations(spec, rng)
        try:
            OpenAPISpecification._validate_spec(copy.deepcopy(changed))
        except Exception:  # InvalidSpecification, or whatever else Connexion's check raises
            refused += 1
            assert not connexion_internals._surely_valid(changed)
        else:
            vouched += connexion_internals._surely_valid(changed)
    assert refused > 20 and vouched > 20  # the mutations reach both sides
