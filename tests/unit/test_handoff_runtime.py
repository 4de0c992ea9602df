"""The handoff bridge's token: served only with a token, made per run in development, strong elsewhere."""

from __future__ import annotations

import pytest

from bot.cli.runtime import CONSOLE_BRIDGE, channel_credentials
from bot.cli.serve import ensure_bridge_token
from bot.settings import Settings, get_settings

STRONG = "b" * 40


def test_the_bridge_is_served_only_with_its_token() -> None:
    assert CONSOLE_BRIDGE not in channel_credentials(Settings(app_env="test"))
    assert channel_credentials(Settings(app_env="test", console_bridge_token=STRONG))[CONSOLE_BRIDGE] == {
        "token": STRONG}


def test_serve_makes_a_token_per_run_in_development_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONSOLE_BRIDGE_TOKEN", raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    get_settings.cache_clear()
    try:
        first = ensure_bridge_token(get_settings()).console_bridge_token
        assert first and len(first) >= 32
        assert ensure_bridge_token(get_settings()).console_bridge_token == first  # set once per run
        monkeypatch.delenv("CONSOLE_BRIDGE_TOKEN")
        production = Settings(app_env="production", session_secret=STRONG)
        assert ensure_bridge_token(production).console_bridge_token is None
    finally:
        get_settings.cache_clear()


def test_a_weak_bridge_token_is_refused_outside_development() -> None:
    with pytest.raises(ValueError, match="CONSOLE_BRIDGE_TOKEN"):
        Settings(app_env="production", console_bridge_token="short").check_secrets()
    Settings(app_env="production", console_bridge_token=STRONG).check_secrets()
