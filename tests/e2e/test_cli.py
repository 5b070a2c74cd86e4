"""The command line: clients create|list|delete, db upgrade, --version, and readiness of a stale schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from oi_testing import TEST_MASTER_KEY, make_settings
from openissuer import __version__
from openissuer.bootstrap import build
from openissuer.cli.commands import app
from openissuer.web.app import create_app

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("OPENISSUER_DATABASE_URL", "OPENISSUER_BOOTSTRAP_CLIENT_ID", "OPENISSUER_BOOTSTRAP_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENISSUER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENISSUER_MASTER_KEY", TEST_MASTER_KEY)
    monkeypatch.setenv("OPENISSUER_LOG_LEVEL", "error")
    return tmp_path


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout


def _field(output: str, name: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith(name + ":"))


async def _token_status(data_dir: Path, client_id: str, secret: str) -> int:
    settings = make_settings(data_dir, database_url=f"sqlite:///{data_dir / 'openissuer.db'}")
    container = build(settings)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.post("/v1/auth/token", json={"client_id": client_id, "client_secret": secret})
    await container.aclose()
    return response.status_code


def test_clients_create_list_delete(cli_env: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["clients", "create", "--role", "admin", "--name", "ops"])
    assert result.exit_code == 0, result.output
    client_id, secret = _field(result.stdout, "client_id"), _field(result.stdout, "client_secret")

    assert asyncio.run(_token_status(cli_env, client_id, secret)) == 200

    listed = runner.invoke(app, ["clients", "list"])
    assert listed.exit_code == 0
    assert client_id in listed.stdout
    assert secret not in listed.stdout
    row_id = next(line.split("\t")[0] for line in listed.stdout.splitlines() if client_id in line)
    assert runner.invoke(app, ["clients", "delete", row_id]).exit_code == 0
    missing = runner.invoke(app, ["clients", "delete", row_id])
    assert missing.exit_code == 1
    assert "Not Found" in missing.output


def test_clients_create_rejects_unknown_role(cli_env: Path) -> None:
    result = runner.invoke(app, ["clients", "create", "--role", "root"])
    assert result.exit_code == 2


def test_master_key_is_generated_once_with_private_permissions(tmp_path: Path) -> None:
    from openissuer.config import Settings

    settings = Settings(data_dir=tmp_path)
    first = settings.resolve_master_key()
    assert len(first) == 32
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600
    assert Settings(data_dir=tmp_path).resolve_master_key() == first


@pytest.mark.parametrize("bad", ["short", "!!!notbase64!!!"])
def test_bad_master_key_is_refused(tmp_path: Path, bad: str) -> None:
    from openissuer.config import Settings

    with pytest.raises(ValueError, match="OPENISSUER_MASTER_KEY"):
        Settings(data_dir=tmp_path, master_key=bad).resolve_master_key()  # type: ignore[arg-type]


def test_settings_from_toml_file_and_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openissuer.config import Settings

    config = tmp_path / "openissuer.toml"
    config.write_text('public_url = "https://from-file.example/"\nport = 9000\n')
    monkeypatch.setenv("OPENISSUER_CONFIG_FILE", str(config))
    monkeypatch.setenv("OPENISSUER_PORT", "9100")
    settings = Settings()
    assert settings.public_url == "https://from-file.example"
    assert settings.port == 9100
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")


async def test_ready_reports_an_unmigrated_database(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    container = build(settings)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/ready")
    await container.aclose()
    assert response.status_code == 503
    assert "expected" in response.json()["problems"][0]


async def test_ready_reports_an_unreachable_database(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    container = build(settings)  # type: ignore[arg-type]
    problems = await container.health.check()
    await container.aclose()
    assert problems and problems[0].startswith("database unreachable")
