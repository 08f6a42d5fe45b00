"""The Docker and compose files against what the CLI reads (no image can be built here: these
checks are what keeps them true). Compose's services run real commands and options, set only
variables ``Settings`` (or the logging and health options) read, mount the volumes where the
settings point, and mount the key as a secret where KALSHI_PRIVATE_KEY_PATH says."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from kalshi_rl.cli.app import app
from kalshi_rl.config import Settings
from tests.cli_support import cli_env, invoke_cli

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "collect", "serve")
NOT_SETTINGS = {"LOG_FORMAT", "HEALTH_URL"}  # the app's --log-format envvar; the image's probe
REFERENCE = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())  # type: ignore[no-any-return]


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def substituted(value: str) -> str:
    """A compose value with each ``${VAR:-default}`` replaced by its default (or a stand-in)."""
    return REFERENCE.sub(lambda m: m.group(2) if m.group(2) and ":-" in m.group(0) else "set", value)


def env_of(service: str) -> dict[str, str]:
    return {k: substituted(str(v)) for k, v in compose()["services"][service]["environment"].items()}


def test_app_services_set_only_variables_the_cli_reads_and_all_it_needs() -> None:
    read = {name.upper() for name in Settings.model_fields}
    for service in APP_SERVICES:
        env = env_of(service)
        assert set(env) - read - NOT_SETTINGS == set(), service
        assert {"DATABASE_URL", "KALSHI_API_KEY", "KALSHI_PRIVATE_KEY_PATH", "DATA_DIR", "MODELS_DIR"} <= set(
            env
        )


def test_app_services_settings_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = {f.upper() for f in Settings.model_fields}
    for service in APP_SERVICES:
        for name in [n for n in os.environ if n.upper() in fields]:
            monkeypatch.delenv(name)
        for name, value in env_of(service).items():
            monkeypatch.setenv(name, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.data_dir == Path("/data") and settings.models_dir == Path("/models"), service
        assert settings.database_url_value and settings.database_url_value.startswith("postgresql://")


def parse_command(args: list[str]) -> Any:
    """Parse ``kalshi-rl ARGS`` as the real CLI does, down to the command (nothing runs); return
    the command's context (its ``params``). Typer ships its own click: duck typing, no isinstance."""
    command: Any = typer.main.get_command(app)
    rest = list(args)
    while hasattr(command, "list_commands"):  # a group: the next word names its command
        name, rest = rest[0], rest[1:]
        sub = command.get_command(
            command.make_context(command.name or "", [name], resilient_parsing=True), name
        )
        assert sub is not None, f"no command {name!r} in {args}"
        command = sub
    return command.make_context(command.name or "", rest)


def test_app_services_run_real_commands_with_real_options() -> None:
    services = compose()["services"]
    for service in APP_SERVICES:
        parse_command(services[service]["command"])  # raises on an unknown command or option
    collect = parse_command(services["collect"]["command"])
    assert env_of("collect")["HEALTH_URL"] == f"http://127.0.0.1:{collect.params['metrics_port']}/rl/health"
    serve = parse_command(services["serve"]["command"])
    assert f"127.0.0.1:{serve.params['port']}:{serve.params['port']}" in services["serve"]["ports"]
    assert f"HEALTH_URL=http://127.0.0.1:{serve.params['port']}/rl/health" in dockerfile()
    assert 'CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile()


def test_volumes_and_the_key_secret_are_where_the_settings_point() -> None:
    spec = compose()
    for service in APP_SERVICES:
        env, mounts = env_of(service), spec["services"][service]["volumes"]
        assert f"data:{env['DATA_DIR']}" in mounts and f"models:{env['MODELS_DIR']}" in mounts
        (secret,) = spec["services"][service]["secrets"]
        assert env["KALSHI_PRIVATE_KEY_PATH"] == f"/run/secrets/{secret}"
        assert "file" in spec["secrets"][secret]
    assert {"data", "models"} <= set(spec["volumes"])
    assert 'VOLUME ["/data", "/models"]' in dockerfile()
    assert "DATA_DIR=/data" in dockerfile() and "MODELS_DIR=/models" in dockerfile()
    assert "\nUSER 10001" in dockerfile() and 'ENTRYPOINT ["kalshi-rl"]' in dockerfile()


def test_env_example_lists_exactly_what_compose_reads() -> None:
    referenced = {m.group(1) for m in REFERENCE.finditer((ROOT / "compose.yaml").read_text())}
    listed = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert referenced == listed


@pytest.mark.parametrize(
    ("variable", "value"), [("TICK_INTERVAL_SECONDS", "soon"), ("RL_READY_MAX_BACKLOG_ROWS", "0")]
)
def test_a_malformed_variable_is_one_line_naming_it(variable: str, value: str, tmp_path: Path) -> None:
    result = invoke_cli("db", "upgrade", env=cli_env(**{variable: value, "DATA_DIR": str(tmp_path)}))
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert message.startswith(f"error: invalid setting {variable}:"), message
