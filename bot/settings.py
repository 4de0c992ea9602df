"""Every setting of the assistant, read from environment variables once.

Use :func:`get_settings`; nothing reads ``os.environ`` elsewhere. Secrets have no
defaults; outside ``APP_ENV=development`` a placeholder secret is refused.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

from pydantic import BaseSettings, validator

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDERS = {"changeme", "change-me", "secret", "xxx", "todo", "your-token-here", "placeholder"}


class Settings(BaseSettings):
    """Application settings (environment variables of the same name, upper case)."""

    app_env: str = "development"
    log_level: str = "INFO"
    timezone: str = "Asia/Ho_Chi_Minh"

    # Database: SQLite file by default, PostgreSQL in production.
    database_url: str = f"sqlite:///{ROOT / 'var' / 'assistant.db'}"
    # Rasa server and action server.
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_port: int = 5055
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    model_dir: str = str(ROOT / "models")
    run_dir: str = str(ROOT / ".run")  # runtime endpoints/credentials files written by `serve`

    # Hotline quoted when the database cannot be read (national public-service hotline).
    fallback_hotline: str = "1800 1096"

    # Dossier verification.
    verify_max_attempts: int = 3
    verify_lock_minutes: int = 30

    # One-stop dossier source: "db" (local database) or "http" (province REST API).
    onestop_source: str = "db"
    onestop_base_url: Optional[str] = None
    onestop_token_url: Optional[str] = None
    onestop_client_id: Optional[str] = None
    onestop_client_secret: Optional[str] = None
    onestop_timeout: float = 5.0
    onestop_retries: int = 2
    onestop_push_token: Optional[str] = None

    # Telegram.
    telegram_bot_token: Optional[str] = None
    telegram_webhook_secret: Optional[str] = None
    telegram_api_base: str = "https://api.telegram.org"
    telegram_bot_username: Optional[str] = None
    public_base_url: Optional[str] = None

    # Zalo Official Account.
    zalo_app_id: Optional[str] = None
    zalo_app_secret: Optional[str] = None
    zalo_oa_secret_key: Optional[str] = None
    zalo_access_token: Optional[str] = None
    zalo_refresh_token: Optional[str] = None
    zalo_api_base: str = "https://openapi.zalo.me"
    zalo_oauth_base: str = "https://oauth.zaloapp.com"
    zalo_zns_template_id: Optional[str] = None
    zalo_webhook_max_age_s: int = 300

    # Channel protection.
    user_rate_limit_per_minute: int = 20
    max_webhook_bytes: int = 256_000

    # Reminders.
    scheduler_mode: str = "embedded"  # embedded | separate | off
    reminder_interval_minutes: int = 5
    quiet_hours_start: int = 21
    quiet_hours_end: int = 7

    # Channels: ZNS host, token refresh, outbound timeouts and Telegram send pacing.
    zalo_zns_base: str = "https://business.openapi.zalo.me"
    zalo_token_refresh_margin_s: int = 3600
    channel_http_timeout_s: float = 10.0
    telegram_chat_interval_s: float = 1.0
    telegram_group_interval_s: float = 3.0
    telegram_global_rate_per_s: float = 30.0

    # Reminder delivery (bot/reminders): claim lease, retries, batch size, parallel sends,
    # holiday file, Zalo interaction window.
    reminder_lease_seconds: int = 300
    reminder_max_attempts: int = 8
    reminder_batch_size: int = 200
    reminder_send_concurrency: int = 4
    reminder_holidays_file: str = str(ROOT / "data" / "holidays_vn.json")
    zalo_interaction_window_days: int = 7

    class Config:
        env_file = None
        case_sensitive = False

    @validator("onestop_source")
    def _source(cls, value: str) -> str:  # noqa: N805 - pydantic validator
        if value not in {"db", "http"}:
            raise ValueError("ONESTOP_SOURCE must be 'db' or 'http'")
        return value

    @validator("scheduler_mode")
    def _scheduler(cls, value: str) -> str:  # noqa: N805 - pydantic validator
        if value not in {"embedded", "separate", "off"}:
            raise ValueError("SCHEDULER_MODE must be embedded, separate or off")
        return value

    @property
    def is_development(self) -> bool:
        """True in development and test environments."""
        return self.app_env in {"development", "test"}

    @property
    def telegram_enabled(self) -> bool:
        """Telegram is served only when its token and webhook secret are set."""
        return bool(self.telegram_bot_token and self.telegram_webhook_secret)

    @property
    def zalo_enabled(self) -> bool:
        """Zalo is served only when the OA app id and secret key are set."""
        return bool(self.zalo_app_id and self.zalo_oa_secret_key)

    def check_secrets(self) -> None:
        """Refuse placeholder secrets outside development."""
        if self.is_development:
            return
        for name in ("telegram_bot_token", "telegram_webhook_secret", "zalo_oa_secret_key", "zalo_app_secret",
                     "onestop_client_secret", "onestop_push_token"):
            value = getattr(self, name)
            if value is not None and value.strip().lower() in PLACEHOLDERS:
                raise ValueError(f"{name.upper()} is a placeholder; set a real secret")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The validated settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    settings = Settings()
    settings.check_secrets()
    return settings
