"""trigger-mock: a local, stateful, spec-driven fake of the Trigger.dev Sessions API."""

__version__ = "0.1.0"
