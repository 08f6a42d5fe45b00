"""User mistakes end with one readable line and exit code 1, never a traceback.

Each command is run once as the installed ``kalshi-rl`` process (entry point, streams, exit
status); its other cases run the same app in this process (``invoke_cli``), where an escaping
exception fails the test the way a traceback would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.cli_support import SimProcess, cli_env, invoke_cli, run_cli

COMMANDS = [[], ["collect"], ["sim"], ["inspect"], ["inspect", "data"], ["db"], ["db", "upgrade"]]


def test_the_installed_command_has_help() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout and "collect" in result.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "kalshi-rl")
def test_every_command_has_help(command: list[str]) -> None:
    result = invoke_cli(*command, "--help")
    assert result.exit_code == 0, result.stderr
    assert "Usage" in result.stdout


def assert_one_line_error(result: Any, *fragments: str) -> None:
    """``result``: a ``run_cli`` process or an ``invoke_cli`` run."""
    code = result.returncode if hasattr(result, "returncode") else result.exit_code
    assert code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert message.startswith("error:"), result.stderr
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture(scope="module")
def exchange(module_sim_process) -> SimProcess:  # type: ignore[no-untyped-def]
    """One ``kalshi-rl sim`` for the cases that only need an exchange to reach."""
    return module_sim_process("--markets", "1")  # type: ignore[no-any-return]


def write_key(path: Path) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return key


def test_no_market_says_how_to_name_one(tmp_path: Path) -> None:
    # As a process: the one-line error and exit status 1 of ``collect`` (the other cases in-process).
    assert_one_line_error(run_cli("collect", "--data-dir", str(tmp_path)), "--market", "RL_MARKET_TICKER")


def test_missing_key_file_names_the_setting(tmp_path: Path) -> None:
    env = cli_env(KALSHI_API_KEY="key-id", KALSHI_PRIVATE_KEY_PATH=str(tmp_path / "nope.pem"))
    result = invoke_cli("collect", "-m", "KX-1", "--data-dir", str(tmp_path), env=env)
    assert_one_line_error(result, "private key file not found", "KALSHI_PRIVATE_KEY_PATH")


def test_garbage_key_file_is_explained(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a key")
    env = cli_env(KALSHI_API_KEY="key-id", KALSHI_PRIVATE_KEY_PATH=str(tmp_path / "bad.pem"))
    assert_one_line_error(invoke_cli("collect", "-m", "KX-1", env=env), "not an unencrypted PEM private key")


def test_production_without_credentials_is_refused(tmp_path: Path) -> None:
    assert_one_line_error(
        invoke_cli("collect", "-m", "KX-1", "--data-dir", str(tmp_path)), "KALSHI_API_KEY", "kalshi-rl sim"
    )


def test_unreachable_database_is_explained(exchange: SimProcess, tmp_path: Path) -> None:
    result = invoke_cli(
        "collect",
        "-m",
        exchange.tickers[0],
        "--ws-url",
        exchange.ws_url,
        "--data-dir",
        str(tmp_path),
        "--database-url",
        "postgresql://postgres:secret@127.0.0.1:1/nowhere",
    )
    assert_one_line_error(result, "cannot connect to", "127.0.0.1:1")
    assert "secret" not in result.stderr


@pytest.mark.postgres
def test_unmigrated_database_says_to_run_db_upgrade(
    exchange: SimProcess, pg_url: str, tmp_path: Path
) -> None:
    result = invoke_cli(
        "collect",
        "-m",
        exchange.tickers[0],
        "--ws-url",
        exchange.ws_url,
        "--data-dir",
        str(tmp_path),
        "--database-url",
        pg_url,
    )
    assert_one_line_error(result, "kalshi-rl db upgrade")


def test_bad_database_url_is_explained(tmp_path: Path) -> None:
    # As a process: the one-line error and exit status 1 of ``db upgrade``.
    assert_one_line_error(run_cli("db", "upgrade", "--database-url", "mysql://x@y/z"), "expected PostgreSQL")
    assert_one_line_error(invoke_cli("db", "upgrade", "--database-url", "::nonsense::"), "not a database URL")


def test_unknown_market_is_reported(exchange: SimProcess, tmp_path: Path) -> None:
    result = invoke_cli("collect", "-m", "KXNOPE-1", "--ws-url", exchange.ws_url, "--data-dir", str(tmp_path))
    assert_one_line_error(result, "unknown market", "KXNOPE-1")


def test_unreachable_exchange_is_explained(tmp_path: Path) -> None:
    result = invoke_cli(
        "collect", "-m", "KX-1", "--ws-url", "ws://127.0.0.1:1/trade-api/ws/v2", "--data-dir", str(tmp_path)
    )
    assert_one_line_error(result, "cannot reach")


def test_live_mode_is_refused(tmp_path: Path) -> None:
    result = invoke_cli("collect", "-m", "KX-1", env=cli_env(RL_MODE="live"))
    assert_one_line_error(result, "live trading is not available", "paper")


def test_wrong_key_is_an_auth_error_and_the_right_key_collects(sim_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = write_key(tmp_path / "good.pem")
    (tmp_path / "good.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    write_key(tmp_path / "other.pem")
    sim = sim_process("--markets", "1", "--public-key", str(tmp_path / "good.pub"))
    args = (
        "collect",
        "-m",
        sim.tickers[0],
        "--ws-url",
        sim.ws_url,
        "--data-dir",
        str(tmp_path),
        "--duration",
        "1",
        "--json",
    )
    wrong = run_cli(
        *args, env=cli_env(KALSHI_API_KEY="key-id", KALSHI_PRIVATE_KEY_PATH=str(tmp_path / "other.pem"))
    )
    assert_one_line_error(wrong, "refused our credentials", "KALSHI_PRIVATE_KEY_PATH")
    unsigned = invoke_cli(*args)
    assert_one_line_error(unsigned, "refused our credentials")
    right = invoke_cli(
        *args, env=cli_env(KALSHI_API_KEY="key-id", KALSHI_PRIVATE_KEY_PATH=str(tmp_path / "good.pem"))
    )
    assert right.exit_code == 0, right.stderr
