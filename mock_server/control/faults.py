"""``--faults FILE``: fault rules in force from the start, read from a YAML or JSON list
and checked one by one as the control plane checks a rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..core.errors import ValidationFailed, join_path
from ..http.failures.reader import RuleReader
from ..http.failures.rules import FaultBook


class FaultFileError(ValueError):
    """A fault file that cannot be used; the message lists every problem."""


def read_fault_file(path: Path, reader: RuleReader) -> list[Any]:
    """The file's rules as written, each checked (all or none)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FaultFileError(f"faults file {path}: cannot be read: {exc}") from exc
    if isinstance(document, dict) and isinstance(document.get("faults"), list):
        document = document["faults"]
    if not isinstance(document, list):
        raise FaultFileError(f"faults file {path}: expected a list of rules (or `faults:` list)")
    problems = []
    for n, entry in enumerate(document):
        try:
            reader.read(entry)
        except ValidationFailed as exc:
            for issue in exc.issues:
                where = f"[{n}]" + (f".{join_path(issue.path)}" if issue.path else "")
                problems.append(f"{where}: {issue.message}")
    if problems:
        raise FaultFileError(f"faults file {path}:\n  " + "\n  ".join(problems))
    return document


def add_rules(documents: list[Any], reader: RuleReader, book: FaultBook) -> None:
    """Rules read once at start-up, added again (counts at zero) whenever asked: a reset
    does not read the file again, so editing it while serving changes nothing."""
    for document in documents:
        book.add(reader.read(document))
