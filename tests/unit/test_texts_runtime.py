"""Rasa's ``nlg:`` endpoint in the runtime files, and the console's NLG token per run."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from bot import settings as settings_module
from bot.cli.runtime import CONSOLE_NLG, nlg_endpoint, write_runtime_files
from bot.cli.serve import nlg_token
from bot.settings import Settings

STRONG = "n" * 40


def test_nlg_endpoint_only_with_a_token_and_a_console() -> None:
    dev = Settings(app_env="development", console_port=8123, nlg_timeout_s=1.5)
    assert nlg_endpoint(dev, None) is None
    assert nlg_endpoint(dev, STRONG) == {"type": CONSOLE_NLG, "url": "http://127.0.0.1:8123/console/nlg",
                                         "token": STRONG, "timeout": 1.5}
    off = Settings(app_env="development", console_enabled=False)
    assert nlg_endpoint(off, STRONG) is None  # no console, no endpoint: Rasa answers from its domain
    elsewhere = Settings(app_env="development", console_enabled=False, console_nlg_url="http://10.0.0.5/console/nlg")
    assert nlg_endpoint(elsewhere, STRONG)["url"] == "http://10.0.0.5/console/nlg"


def test_token_per_run_in_development_only() -> None:
    dev = Settings(app_env="development")
    first, second = nlg_token(dev), nlg_token(dev)
    assert first and second and first != second and len(first) >= 32
    assert nlg_token(Settings(app_env="development", console_nlg_token=STRONG)) == STRONG
    assert nlg_token(Settings(app_env="production")) is None
    assert nlg_token(Settings(app_env="development", console_enabled=False)) is None
    with pytest.raises(ValueError, match="CONSOLE_NLG_TOKEN"):
        Settings(app_env="production", console_nlg_token="short").check_secrets()


def test_token_lands_in_the_private_endpoints_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.delenv("CONSOLE_NLG_TOKEN", raising=False)
    settings_module.get_settings.cache_clear()
    try:
        paths = write_runtime_files(run_dir=tmp_path / "run", nlg_token=STRONG, live_console=True)
        without = yaml.safe_load(write_runtime_files(run_dir=tmp_path / "run2", live_console=True)["endpoints"].read_text())
    finally:
        settings_module.get_settings.cache_clear()
    assert stat.S_IMODE(paths["endpoints"].stat().st_mode) == 0o600
    endpoints = yaml.safe_load(paths["endpoints"].read_text())
    assert endpoints["nlg"]["type"] == CONSOLE_NLG and endpoints["nlg"]["token"] == STRONG
    assert "nlg" not in without
