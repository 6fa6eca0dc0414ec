"""The contract suite: checks any implementation of openapi.yaml (this fake or the real API).

Filled in by issue 2 (schemathesis and hand-written scenarios)."""
