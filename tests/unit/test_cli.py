"""`trigger-mock serve` options and their TRIGGER_MOCK_* variables."""

from __future__ import annotations

import pytest

from mock_server.core.fidelity import Fidelity
from mock_server.core.settings import Settings
from mock_server.server.cli import parse_settings


def test_defaults() -> None:
    settings = parse_settings(["serve"], {})
    assert settings == Settings()
    assert settings.forwarded_allow_ips == ("127.0.0.1", "::1")


def test_the_old_s2_port_is_ignored_with_a_word(capsys: pytest.CaptureFixture[str]) -> None:
    # The S2 endpoint (HTTP/2 included) is served on --port; a compose file that still
    # sets the old variable starts, and is told.
    assert parse_settings(["serve"], {"TRIGGER_MOCK_S2_PORT": "8081"}) == Settings()
    assert "--s2-port (TRIGGER_MOCK_S2_PORT) is ignored" in capsys.readouterr().err
    assert parse_settings(["serve", "--s2-port", "-1"], {}) == Settings()


def test_every_option_on_the_command_line() -> None:
    settings = parse_settings(
        [
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "9000",
            "--secret-key",
            "tr_dev_a",
            "--secret-key",
            "tr_prod_b",
            "--fidelity",
            "deployed",
            "--seed",
            "7",
            "--admin-token",
            "t",
            "--log-level",
            "debug",
            "--validate-responses",
            "--agent",
            "echo",
            "--agent-delay-ms",
            "5",
            "--forwarded-allow-ips",
            "10.0.0.0/8, 192.0.2.7",
            "--faults",
            __file__,
            "--rate-limit",
            "deployed",
        ],
        {},
    )
    assert settings == Settings(
        host="0.0.0.0",
        port=9000,
        secret_keys=("tr_dev_a", "tr_prod_b"),
        fidelity=Fidelity.DEPLOYED,
        seed=7,
        admin_token="t",
        log_level="debug",
        validate_responses=True,
        agent="echo",
        agent_delay_ms=5,
        forwarded_allow_ips=("10.0.0.0/8", "192.0.2.7"),
        faults_file=__file__,
        rate_limit="deployed",
    )
    assert settings.base_url == "http://0.0.0.0:9000"


def test_every_option_from_the_environment() -> None:
    environ = {
        "TRIGGER_MOCK_HOST": "::1",
        "TRIGGER_MOCK_PORT": "9001",
        "TRIGGER_MOCK_SECRET_KEY": "tr_dev_a, tr_stg_b",
        "TRIGGER_MOCK_FIDELITY": "deployed",
        "TRIGGER_MOCK_SEED": "3",
        "TRIGGER_MOCK_ADMIN_TOKEN": "t",
        "TRIGGER_MOCK_LOG_LEVEL": "warning",
        "TRIGGER_MOCK_VALIDATE_RESPONSES": "true",
        "TRIGGER_MOCK_AGENT": "echo",
        "TRIGGER_MOCK_AGENT_DELAY_MS": "0",
        "TRIGGER_MOCK_FORWARDED_ALLOW_IPS": "*",
        "TRIGGER_MOCK_FAULTS": __file__,
        "TRIGGER_MOCK_RATE_LIMIT": "10/1.5",
    }
    settings = parse_settings(["serve"], environ)
    assert settings == Settings(
        host="::1",
        port=9001,
        secret_keys=("tr_dev_a", "tr_stg_b"),
        fidelity=Fidelity.DEPLOYED,
        seed=3,
        admin_token="t",
        log_level="warning",
        validate_responses=True,
        agent="echo",
        agent_delay_ms=0,
        forwarded_allow_ips=("*",),
        faults_file=__file__,
        rate_limit="10/1.5",
    )
    assert settings.base_url == "http://[::1]:9001"


def test_the_command_line_wins_over_the_environment() -> None:
    environ = {"TRIGGER_MOCK_PORT": "9001", "TRIGGER_MOCK_SECRET_KEY": "tr_dev_env"}
    settings = parse_settings(["serve", "--port", "9002", "--secret-key", "tr_dev_cli"], environ)
    assert settings.port == 9002 and settings.secret_keys == ("tr_dev_cli",)


@pytest.mark.parametrize(
    "environ",
    [
        {"TRIGGER_MOCK_PORT": "http"},
        {"TRIGGER_MOCK_FIDELITY": "exact"},
        {"TRIGGER_MOCK_LOG_LEVEL": "loud"},
        {"TRIGGER_MOCK_SEED": "x"},
        {"TRIGGER_MOCK_AGENT": "/no/such/script.yaml"},
        {"TRIGGER_MOCK_FORWARDED_ALLOW_IPS": "proxy.internal"},
        {"TRIGGER_MOCK_FORWARDED_ALLOW_IPS": "10.0.0.0/33"},
        {"TRIGGER_MOCK_RATE_LIMIT": "often"},
        {"TRIGGER_MOCK_RATE_LIMIT": "10/0"},
        {"TRIGGER_MOCK_FAULTS": "/no/such/faults.yaml"},
    ],
)
def test_bad_values_are_usage_errors(
    environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_settings(["serve"], environ)
    assert exit_.value.code == 2
    assert "error" in capsys.readouterr().err
