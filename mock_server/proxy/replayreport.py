"""What a replay found: the differences, the interactions it did not send, and notes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Difference:
    index: int | None
    """The interaction's place in the cassette; ``None`` for the final state."""
    method: str
    path: str
    what: str

    def line(self) -> str:
        if self.index is None:
            return f"final state, {self.path}: {self.what}"
        return f"#{self.index} {self.method} {self.path}: {self.what}"


@dataclass(frozen=True)
class Skipped:
    index: int
    method: str
    path: str
    reason: str


@dataclass
class ReplayReport:
    target: str
    interactions: int = 0
    sent: int = 0
    differences: list[Difference] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: int = 0
    """Records the recording saw and no recorded request wrote, written through the
    target's control plane (:mod:`.injection`)."""

    def differ(self, index: int | None, method: str, path: str, what: str) -> None:
        self.differences.append(Difference(index, method, path, what))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def lines(self) -> list[str]:
        lines = [
            f"replayed {self.sent} of {self.interactions} interactions against {self.target}: "
            f"{len(self.differences)} difference(s), {len(self.skipped)} skipped"
        ]
        ordered = sorted(self.differences, key=lambda d: (d.index is None, d.index or 0))
        lines += ["  " + d.line() for d in ordered]
        lines += [f"  skipped #{s.index} {s.method} {s.path}: {s.reason}" for s in self.skipped]
        notes = list(self.notes)
        if self.written:
            notes.append(
                f"wrote {self.written} record(s) through the control plane that the recording "
                "saw and no recorded request wrote (written past the proxy: the S2 writer's, "
                "a task's)"
            )
        return lines + [f"  note: {note}" for note in notes]
