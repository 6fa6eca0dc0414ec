"""Connexion's private API is used in one module, :mod:`mock_server.http.connexion_internals`.

Everywhere else the fake may import only Connexion's public modules, never a private name,
and reach no private attribute of an object it did not define. (The layering rule itself
is ``lint-imports``'s job; see ``pyproject.toml``.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGE = ROOT / "mock_server"
INTERNALS = PACKAGE / "http" / "connexion_internals.py"
PUBLIC_CONNEXION = {
    "connexion",
    "connexion.datastructures",
    "connexion.exceptions",
    "connexion.lifecycle",
    "connexion.options",
    "connexion.resolver",
    "connexion.security",
    "connexion.uri_parsing",
    "connexion.validators",
}
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != INTERNALS)


def private_use(source: str) -> list[str]:
    """Private Connexion imports, and private attributes of objects defined elsewhere."""
    tree = ast.parse(source)
    own = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    own |= {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
    }
    own |= {
        element.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets)
        for element in ast.walk(node.value)
        if isinstance(element, ast.Constant) and isinstance(element.value, str)
    }
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("connexion")
        ):
            if node.module not in PUBLIC_CONNEXION:
                found.append(f"line {node.lineno}: from {node.module}")
            found += [
                f"line {node.lineno}: {alias.name}"
                for alias in node.names
                if alias.name.startswith("_")
            ]
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {alias.name}"
                for alias in node.names
                if alias.name.startswith("connexion") and alias.name not in PUBLIC_CONNEXION
            ]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            is_own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if not node.attr.startswith("__") and not is_own and node.attr not in own:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_internals_module_uses_connexion_privately(path: Path) -> None:
    assert private_use(path.read_text()) == []


def test_the_check_sees_each_kind_of_private_use() -> None:
    assert private_use(INTERNALS.read_text())  # the internals module does all three
    assert private_use("from connexion.decorators.parameter import sanitized") == [
        "line 1: from connexion.decorators.parameter"
    ]
    assert private_use("from connexion.validators import _thing") == ["line 1: _thing"]
    assert private_use("import connexion.context") == ["line 1: import connexion.context"]
    assert private_use("app._middleware_app.api_cls = None") == ["line 1: app._middleware_app"]
    own = "class A:\n    __slots__ = ('_x',)\n\ndef f(a: A) -> None:\n    a._x = 1\n    a._x"
    assert private_use(own) == []
