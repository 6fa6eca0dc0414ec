"""Where the specs are, and reading them.

``openapi.yaml`` is the API's contract and the only route table; ``openapi/admin.yaml``
describes the control plane and ``openapi/s2.yaml`` the fake's S2 endpoint."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Final

import yaml

from .fidelity import Behaviour

PACKAGE_DIR: Final = Path(__file__).resolve().parent.parent
ADMIN_SPEC_PATH: Final = PACKAGE_DIR / "openapi" / "admin.yaml"
S2_SPEC_PATH: Final = PACKAGE_DIR / "openapi" / "s2.yaml"
OBJECTS_SPEC_PATH: Final = PACKAGE_DIR / "openapi" / "objects.yaml"
PROXY_SPEC_PATH: Final = PACKAGE_DIR / "openapi" / "proxy.yaml"
"""The control plane of ``trigger-mock proxy``."""
OBJECTS_BASE_PATH: Final = "/objects/v1"
"""Where the fake's object store (chat snapshots) answers, beside the API."""
HTTP_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def api_spec_path() -> Path:
    """``openapi.yaml``: the copy inside an installed wheel, else the repository's."""
    packaged = PACKAGE_DIR / "openapi.yaml"
    return packaged if packaged.exists() else PACKAGE_DIR.parent / "openapi.yaml"


_SafeLoader: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's reading of safe YAML where PyYAML has it (seven times faster than PyYAML's own
on ``openapi.yaml``; the same documents)."""
_parsed: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}
"""Each spec file as last parsed, with the modification time and size it had."""


def load_spec(path: Path) -> dict[str, Any]:
    """The spec at ``path``, a copy of its own for the caller to change: each file is parsed
    once in a process (``create_app`` reads some twice, the tests build many apps)."""
    stat = path.stat()
    version = (stat.st_mtime_ns, stat.st_size)
    known = _parsed.get(path)
    if known is not None and known[0] == version:
        spec = known[1]
    else:
        with path.open(encoding="utf-8") as handle:
            spec = yaml.load(handle, Loader=_SafeLoader)
        if not isinstance(spec, dict):
            raise ValueError(f"{path} is not an OpenAPI document")
        _parsed[path] = (version, spec)
    return copy.deepcopy(spec)


def operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(operationId, operation)`` for every operation, in the spec's order."""
    return [
        (op["operationId"], op)
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def api_spec_for(behaviour: Behaviour) -> dict[str, Any]:
    """``openapi.yaml`` as this mode serves it."""
    spec = load_spec(api_spec_path())
    created = spec["components"]["schemas"]["SessionsFilter"]["properties"]["createdAt"]
    if behaviour.bad_period_ignored:
        # The deployed server reads any period string and ignores what it cannot parse.
        del created["properties"]["period"]["pattern"]
    if behaviour.expires_at_coerced:
        # ... and takes any expiresAt JavaScript's Date reads (the create handler reads it).
        body = spec["components"]["schemas"]["CreateSessionRequestBody"]["properties"]
        body["expiresAt"] = {"description": body["expiresAt"]["description"]}
    if behaviour.created_at_bounds_are_numbers:
        # ... and reads `from`/`to` as JavaScript's Number() does, integers only.
        for bound in ("from", "to"):
            created["properties"][bound] = {"type": "integer", "x-js-number": True}
    return spec
