"""Settings: explicit environment outside a checkout, secret strength and format, API exposure."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import bot.settings as settings_module
from bot.cli.runtime import api_options, write_runtime_files
from bot.settings import Settings

STRONG = "k" * 40
TELEGRAM_TOKEN = "123456789:AAH" + "x" * 32
ZALO_SECRET = "Ab3dEf6hIj9kLm2nOp5q"


def test_app_env_is_required_outside_a_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.setattr(settings_module, "development_checkout", lambda: False)
    with pytest.raises(ValueError, match="APP_ENV must be set"):
        Settings()
    monkeypatch.setattr(settings_module, "development_checkout", lambda: True)
    assert Settings().app_env == "development"
    with pytest.raises(ValueError, match="APP_ENV must be one of"):
        Settings(app_env="prod")


@pytest.mark.parametrize("name", ["telegram_webhook_secret", "onestop_push_token", "session_secret",
                                  "rasa_api_token"])
def test_short_operator_secrets_are_refused_in_production(name: str) -> None:
    with pytest.raises(ValueError, match=name.upper()):
        Settings(app_env="production", **{name: "s3cr3t-but-short"}).check_secrets()
    Settings(app_env="production", **{name: STRONG}).check_secrets()
    Settings(app_env="development", **{name: "short"}).check_secrets()  # a laptop needs no ceremony


@pytest.mark.parametrize("name,good,bad", [
    ("telegram_bot_token", TELEGRAM_TOKEN, "not-a-token"),
    ("zalo_app_secret", ZALO_SECRET, "short"),
    ("zalo_oa_secret_key", ZALO_SECRET, "has spaces in it and more"),
])
def test_platform_secrets_are_checked_against_their_format(name: str, good: str, bad: str) -> None:
    Settings(app_env="production", **{name: good}).check_secrets()  # shorter than 32 is fine if well-formed
    with pytest.raises(ValueError, match=name.upper()):
        Settings(app_env="production", **{name: bad}).check_secrets()


def test_placeholders_and_bad_telegram_secret_characters() -> None:
    with pytest.raises(ValueError, match="placeholder"):
        Settings(app_env="staging", zalo_app_secret="changeme").check_secrets()
    with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET"):
        Settings(app_env="development", telegram_webhook_secret="with space").check_secrets()


def test_rasa_api_is_off_by_default_and_needs_a_token() -> None:
    assert api_options(Settings(app_env="development")) == {"enable_api": False, "cors": None}
    with pytest.raises(ValueError, match="RASA_API_TOKEN"):
        Settings(app_env="development", rasa_api_enabled=True).check_secrets()
    on = api_options(Settings(app_env="development", rasa_api_enabled=True, rasa_api_token=STRONG,
                              cors_origins="https://dichvucong.example.vn, https://a.example.vn"))
    assert on == {"enable_api": True, "auth_token": STRONG,
                  "cors": ["https://dichvucong.example.vn", "https://a.example.vn"]}


def test_rest_channel_and_demo_only_in_development() -> None:
    dev, prod = Settings(app_env="development"), Settings(app_env="production")
    assert dev.rest_enabled and dev.demo_enabled
    assert not prod.rest_enabled and not prod.demo_enabled
    assert Settings(app_env="production", rest_channel_enabled=True).rest_enabled


def test_runtime_files_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:pw-in-endpoints@127.0.0.1/bot")
    settings_module.get_settings.cache_clear()
    try:
        paths = write_runtime_files(run_dir=tmp_path / "run")
    finally:
        settings_module.get_settings.cache_clear()
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o700
    for path in paths.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert "pw-in-endpoints" in paths["endpoints"].read_text()
    assert "rest" not in paths["credentials"].read_text()  # no bare REST channel in production


def test_several_rasa_workers_need_a_shared_lock_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """RASA_WORKERS > 1 without LOCK_STORE_URL is refused; with it, Rasa gets the atomic Redis lock store."""
    from bot.cli.serve import rasa_server_env

    with pytest.raises(ValueError, match="LOCK_STORE_URL"):
        Settings(rasa_workers=2)
    with pytest.raises(ValueError, match="redis://"):
        Settings(lock_store_url="http://127.0.0.1:6379")
    with pytest.raises(ValueError, match="between 1 and 64"):
        Settings(rasa_workers=0)
    assert rasa_server_env(Settings())["SANIC_WORKERS"] == "1"
    monkeypatch.setenv("RASA_WORKERS", "2")
    monkeypatch.setenv("LOCK_STORE_URL", "redis://:s3cret@127.0.0.1:6380/3")
    settings_module.get_settings.cache_clear()
    try:
        assert rasa_server_env(settings_module.get_settings())["SANIC_WORKERS"] == "2"
        paths = write_runtime_files(run_dir=tmp_path / "run")
    finally:
        settings_module.get_settings.cache_clear()
    import yaml

    lock_store = yaml.safe_load(paths["endpoints"].read_text())["lock_store"]
    assert lock_store == {"type": "integrations.lock_store.AtomicRedisLockStore", "url": "127.0.0.1", "port": 6380,
                          "db": 3, "key_prefix": "assistant", "use_ssl": False, "password": "s3cret"}


def test_the_conversation_logs_commit_mode_is_checked_and_reaches_the_tracker_store(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import yaml

    with pytest.raises(ValueError, match="TRACKER_SYNCHRONOUS_COMMIT"):
        Settings(tracker_synchronous_commit="later")
    assert Settings().tracker_synchronous_commit == "off"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://assistant@127.0.0.1:5432/assistant")
    for mode in ("off", "on"):
        monkeypatch.setenv("TRACKER_SYNCHRONOUS_COMMIT", mode)
        settings_module.get_settings.cache_clear()
        try:
            paths = write_runtime_files(run_dir=tmp_path / mode)
        finally:
            settings_module.get_settings.cache_clear()
        assert yaml.safe_load(paths["endpoints"].read_text())["tracker_store"]["synchronous_commit"] == mode


def test_one_worker_keeps_the_in_memory_lock_store(tmp_path: Path) -> None:
    """The laptop default: no lock_store entry (Rasa's in-memory store, one process)."""
    import yaml

    settings_module.get_settings.cache_clear()
    paths = write_runtime_files(run_dir=tmp_path / "run")
    assert "lock_store" not in yaml.safe_load(paths["endpoints"].read_text())
