"""Rasa's ``models:`` endpoint in the runtime endpoints.yml, and the local-model fallback's helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.cli.runtime import write_runtime_files
from bot.settings import get_settings
from bot.training.registry import etag, file_sha256
from integrations.model_pull import archive_etag, model_argument


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    for name in ("MODEL_SERVER_URL", "MODEL_SERVER_TOKEN", "CONSOLE_ENABLED", "CONSOLE_HOST", "CONSOLE_PORT"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def endpoints(tmp_path: Path) -> dict:
    get_settings.cache_clear()
    paths = write_runtime_files(database_url=f"sqlite:///{tmp_path / 'x.db'}", run_dir=tmp_path, live_console=True)
    return yaml.safe_load(paths["endpoints"].read_text())


def test_console_enabled_writes_its_model_server(fresh_settings: None, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_HOST", "0.0.0.0")  # noqa: S104 - listening everywhere: Rasa still uses loopback
    monkeypatch.setenv("CONSOLE_PORT", "8181")
    monkeypatch.setenv("MODEL_PULL_SECONDS", "7")
    models = endpoints(tmp_path)["models"]
    assert models == {"url": "http://127.0.0.1:8181/console/model-server/model.tar.gz", "wait_time_between_pulls": 7}


def test_token_is_an_env_reference_and_console_off_means_none(fresh_settings: None, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_SERVER_URL", "http://console.internal/console/model-server/model.tar.gz")
    monkeypatch.setenv("MODEL_SERVER_TOKEN", "z" * 40)
    data = endpoints(tmp_path)
    assert data["models"]["headers"] == {"Authorization": "Bearer ${MODEL_SERVER_TOKEN}"}
    assert "z" * 40 not in (tmp_path / "endpoints.yml").read_text()
    monkeypatch.delenv("MODEL_SERVER_URL")
    monkeypatch.setenv("CONSOLE_ENABLED", "false")
    assert "models" not in endpoints(tmp_path)


def test_fallback_fingerprint_is_the_consoles_etag(tmp_path: Path) -> None:
    archive = tmp_path / "m.tar.gz"
    archive.write_bytes(b"abc" * 1000)
    assert archive_etag(archive) == etag(file_sha256(archive))
    assert model_argument(["rasa", "run", "--model", str(archive), "--port", "1"]) == archive
    assert model_argument(["rasa", "run", f"--model={archive}"]) == archive
    assert model_argument(["rasa", "run", "--model", str(tmp_path / "missing.tar.gz")]) is None


def test_only_serve_points_rasa_at_the_console(fresh_settings: None, tmp_path: Path) -> None:
    """`rasa test` and hand-started servers get neither `models:` nor `nlg:`: they use the local model."""
    get_settings.cache_clear()
    paths = write_runtime_files(database_url=f"sqlite:///{tmp_path / 'x.db'}", run_dir=tmp_path, nlg_token="t" * 40)
    written = yaml.safe_load(paths["endpoints"].read_text())
    assert "models" not in written and "nlg" not in written
