"""The contract suite: checks any implementation of ``openapi.yaml`` (this fake, the real
API, staging) with the same tests.

- :mod:`contract_tests.harness`: the machinery (the pytest plugin with its targets,
  fixtures and report; the spec-checking client; helpers for channels and expectations);
- :mod:`contract_tests.rules`: the rules, one ``test_*`` per documented rule.

Run it with ``trigger-mock contract`` (``mock_server.server.contract_command``).
"""
