"""Settings for one server: a frozen dataclass, filled from CLI options or
``TRIGGER_MOCK_*`` environment variables."""

from __future__ import annotations

from dataclasses import dataclass, field

from .fidelity import Fidelity
from .limits import Limits


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    secret_keys: tuple[str, ...] = ()
    fidelity: Fidelity = Fidelity.DOCUMENTED
    seed: int | None = None
    admin_token: str | None = None
    log_level: str = "info"
    validate_responses: bool = False
    fast_lane: bool = True
    """Answer the session operations in :mod:`mock_server.http.fastlane` (off when responses
    are validated: Connexion validates them)."""
    agent: str = "off"
    """``off``, ``echo``, or the path of a reply script (YAML or JSON)."""
    agent_delay_ms: int = 20
    ping_seconds: float = 5.0
    seed_file: str | None = None
    """Start with the sessions and records in this YAML or JSON file."""
    state_file: str | None = None
    """Keep sessions and channel records in this file across restarts."""
    faults_file: str | None = None
    """Fault rules (a YAML or JSON list) in force from the start."""
    rate_limit: str = "off"
    """``off``, ``deployed``, or ``N/SECONDS``: the rate limiter on ``/api/*``."""
    ui: bool = True
    """Serve the dashboard at ``/_mock/ui``."""
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")
    """Peers (addresses, networks, ``*``) whose ``Forwarded``/``X-Forwarded-*`` headers
    say where clients reached the fake (``mock_server.http.forwarded``)."""
    limits: Limits = field(default_factory=Limits)
    """The bounds at start (the state takes a copy, which the control plane may change)."""

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ProxySettings:
    """``trigger-mock proxy``: where it listens, where it forwards, how it judges."""

    upstream: str
    host: str = "127.0.0.1"
    port: int = 8080
    expect: str = "either"
    """``either`` reading of a fidelity row, or only ``documented`` / ``deployed``."""
    strict: bool = False
    """Refuse a request that breaks the contract (``422``) instead of forwarding it."""
    report: str | None = None
    """Write each violation to this file, one JSON object per line."""
    record: str | None = None
    """Keep a cassette and a seed file of what passed in this directory."""
    admin_token: str | None = None
    log_level: str = "info"

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
