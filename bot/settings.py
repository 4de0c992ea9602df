"""Every setting of the assistant, read from environment variables once.

Use :func:`get_settings`; nothing reads ``os.environ`` elsewhere. Secrets have no
defaults; outside ``APP_ENV=development`` a placeholder secret is refused.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Type, TypeVar

from pydantic import BaseSettings, validator

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDERS = {"changeme", "change-me", "secret", "xxx", "todo", "your-token-here", "placeholder"}
ENVIRONMENTS = {"development", "test", "staging", "production"}
MIN_SECRET_LENGTH = 32
# Secrets the operator chooses: long random strings (``openssl rand -hex 32``).
OPERATOR_SECRETS = ("telegram_webhook_secret", "onestop_push_token", "session_secret", "rasa_api_token",
                    "console_bridge_token", "console_nlg_token", "model_server_token")
# Secrets a platform issues: checked against the platform's own format, not our length rule.
PLATFORM_FORMATS = {
    "telegram_bot_token": re.compile(r"^\d{5,15}:[A-Za-z0-9_-]{30,50}$"),
    "zalo_app_secret": re.compile(r"^[A-Za-z0-9_-]{16,64}$"),
    "zalo_oa_secret_key": re.compile(r"^[A-Za-z0-9_-]{16,64}$"),
}
TELEGRAM_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token


G = TypeVar("G", bound="SettingsGroup")


def development_checkout() -> bool:
    """True when running from a git checkout of the project (a developer's or CI's clone)."""
    return (ROOT / ".git").exists()


COMMIT_MODES = ("on", "off", "local", "remote_write", "remote_apply")
"""PostgreSQL's values of ``synchronous_commit``."""


class Settings(BaseSettings):
    """Application settings (environment variables of the same name, upper case)."""

    # Must be set explicitly outside a development checkout (see ``_env``).
    app_env: Optional[str] = None
    log_level: str = "INFO"
    timezone: str = "Asia/Ho_Chi_Minh"

    # Database: SQLite file by default, PostgreSQL in production.
    database_url: str = f"sqlite:///{ROOT / 'var' / 'assistant.db'}"
    # Rasa server and action server.
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_port: int = 5055
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    # Build the procedure search index when the action server starts (``serve`` sets it), in the
    # background, so that the first citizen's question does not wait seconds for it.
    warm_search_index: bool = False
    # Processes (README "Scaling"): Sanic workers of the Rasa server. More than one needs
    # LOCK_STORE_URL (redis://host:port/db), the lock store the workers share.
    rasa_workers: int = 1
    lock_store_url: Optional[str] = None
    # Turns in one Rasa process's message processor at once, the others oldest first (0: no limit);
    # a place is given up after TURN_HOLD_MS at a stretch, or TURN_WAIT_MS into a wait on the action
    # server or the console (README "Scaling").
    turn_concurrency: int = 3
    turn_hold_ms: int = 250
    turn_wait_ms: int = 100
    # PostgreSQL's synchronous_commit for the conversation log's connections only (README "Scaling").
    tracker_synchronous_commit: str = "off"
    model_dir: str = str(ROOT / "models")
    run_dir: str = str(ROOT / ".run")  # runtime endpoints/credentials files written by `serve`
    # The NLU synonyms of the curated procedures, rewritten when staff change a name or alias in the console.
    catalogue_lookups_file: str = str(ROOT / "nlu_data" / "lookups" / "catalogue.yml")

    # Rasa's HTTP API (/conversations, /model ...): off unless enabled, and then only with a token.
    rasa_api_enabled: bool = False
    rasa_api_token: Optional[str] = None
    cors_origins: str = ""  # comma-separated origins allowed by CORS; empty = none
    # The bare REST channel (development chat, tests): on in development only unless set.
    rest_channel_enabled: Optional[bool] = None
    max_rest_message_chars: int = 4000
    # Demo dossiers: seeded in development only unless set (never over an existing record).
    seed_demo_dossiers: Optional[bool] = None
    # Secret for staff console sessions (operator-chosen).
    session_secret: Optional[str] = None
    # Staff console (console/, FastAPI): served by `serve` beside the assistant unless disabled.
    console_enabled: bool = True
    console_host: str = "127.0.0.1"
    console_port: int = 8080
    console_session_minutes: int = 60  # idle time before a staff session ends
    console_session_max_hours: float = 12.0  # a session ends this long after login at the latest
    console_cookie_secure: Optional[bool] = None  # Secure cookie flag; default: on outside development
    # The Rasa server as the console reaches it (handoff: pause/resume, agent replies), with its API token.
    console_rasa_url: Optional[str] = None
    # Handoff desk: bearer token of the console's bridge into Rasa (``/webhooks/console/...``); in
    # development ``serve`` makes one per run when unset. Without it the desk cannot take tickets.
    console_bridge_token: Optional[str] = None
    # When staff answer handoff requests (province time zone; public holidays and make-up days from
    # REMINDER_HOLIDAYS_FILE): "Mon-Fri 07:30-11:30,13:30-17:00", groups joined by ";", or "always".
    handoff_hours: str = "Mon-Fri 07:30-11:30,13:30-17:00"
    # Rasa's NLG endpoint on the console (answer texts edited by staff): the bearer token Rasa sends
    # (development: `serve` makes one per run when unset), where Rasa reaches it (default: this
    # console's /console/nlg) and how long Rasa waits before answering with the domain's own text.
    console_nlg_token: Optional[str] = None
    console_nlg_url: Optional[str] = None
    nlg_timeout_s: float = 2.0
    # How often a process checks whether staff changed the answer texts (seconds; one cheap SELECT).
    texts_refresh_s: float = 1.0

    # Retraining (bot/training, ``python -m workers.training``): the config a job trains with, where its
    # data comes from (copied per job), scratch space, the registry of model archives, the held-out set.
    training_config: str = str(ROOT / "config.yml")
    training_data_dir: str = str(ROOT / "nlu_data")
    training_domain_dir: str = str(ROOT / "domain")
    training_work_dir: str = str(ROOT / "var" / "training")
    training_models_dir: str = str(ROOT / "models" / "registry")
    training_test_set: str = str(ROOT / "tests" / "nlu" / "test_nlu.yml")
    training_poll_seconds: float = 5.0  # how often an idle worker looks for a queued job
    training_lease_seconds: int = 900  # a running job without a heartbeat this long is failed
    training_nightly_hour: int = 2  # local hour of the nightly retrain (only when the data changed); -1 = off
    # While no model version is active, the first job measures the local model (what serve loads) and makes
    # it the first active version, so the gate compares the first candidate with the model in service.
    training_baseline_local: bool = True
    # The evaluation gate: a candidate becomes active only if, against the active model, overall intent
    # accuracy drops by at most this many points, no intent's F1 by more than that many points, and
    # dossier_code precision and recall stay at least these values.
    gate_max_accuracy_drop: float = 0.5
    gate_max_intent_f1_drop: float = 5.0
    gate_min_code_precision: float = 1.0
    gate_min_code_recall: float = 1.0
    # Rasa's model server (the console answers it): Rasa pulls the active model from this URL every
    # model_pull_seconds. Default when the console runs: its own address. The token is required by the
    # route outside development (bearer header); without one only loopback clients are answered there.
    model_server_url: Optional[str] = None
    model_server_token: Optional[str] = None
    model_pull_seconds: int = 10

    # The national public-service portal's procedure search, quoted when a procedure is not in
    # the catalogue ("{query}" is replaced by the citizen's words where the page takes them).
    national_portal_search_url: str = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh.html"

    # Hotline quoted when the database cannot be read (national public-service hotline).
    fallback_hotline: str = "1800 1096"

    # NLU inbox (bot/training/collect.py): a citizen message whose best intent scored below this
    # confidence lands in the inbox (as do fallbacks, handoffs and ratings of 1-2).
    nlu_inbox_confidence: float = 0.6

    # Dossier verification budgets (README, "Security model"): wrong phone endings allowed
    # per sender and code within verify_lock_minutes, per code from all senders within 24 h,
    # and per sender across all codes within 24 h; a success proves ownership to this
    # conversation for verify_proof_minutes.
    verify_max_attempts: int = 3
    verify_lock_minutes: int = 30
    verify_code_daily_failures: int = 5
    verify_sender_daily_failures: int = 10
    verify_proof_minutes: int = 30

    # Retention of personal data (days; Decree 13/2023/ND-CP), applied by the daily prune.
    retention_conversation_days: int = 180
    retention_verification_days: int = 30
    retention_feedback_days: int = 365
    retention_handoff_days: int = 90

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

    @validator("app_env", always=True)
    def _env(cls, value: Optional[str]) -> str:  # noqa: N805 - pydantic validator
        if value is None or not value.strip():
            if development_checkout():
                return "development"
            raise ValueError("APP_ENV must be set (development, test, staging or production) "
                             "outside a development checkout")
        value = value.strip().lower()
        if value not in ENVIRONMENTS:
            raise ValueError(f"APP_ENV must be one of {sorted(ENVIRONMENTS)}")
        return value

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

    @validator("rasa_workers")
    def _workers(cls, value: int) -> int:  # noqa: N805 - pydantic validator
        if not 1 <= value <= 64:
            raise ValueError("RASA_WORKERS must be between 1 and 64")
        return value

    @validator("turn_concurrency", "turn_hold_ms", "turn_wait_ms")
    def _turn_gate(cls, value: int) -> int:  # noqa: N805 - pydantic validator
        if not 0 <= value <= 10_000:
            raise ValueError("TURN_CONCURRENCY, TURN_HOLD_MS and TURN_WAIT_MS must be between 0 and 10000")
        return value

    @validator("tracker_synchronous_commit")
    def _tracker_commit(cls, value: str) -> str:  # noqa: N805 - pydantic validator
        if value not in COMMIT_MODES:
            raise ValueError(f"TRACKER_SYNCHRONOUS_COMMIT must be one of {', '.join(COMMIT_MODES)}")
        return value

    @validator("lock_store_url", always=True)
    def _lock_store(cls, value: Optional[str], values: Dict[str, Any]) -> Optional[str]:  # noqa: N805
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("LOCK_STORE_URL must be a redis:// or rediss:// URL")
        if not value and values.get("rasa_workers", 1) > 1:
            raise ValueError("RASA_WORKERS > 1 needs LOCK_STORE_URL (redis://host:port/db): the workers must "
                             "share one lock store, or two messages of a conversation could run at once")
        return value or None

    @validator("handoff_hours")
    def _handoff_hours(cls, value: str) -> str:  # noqa: N805 - pydantic validator
        from bot.conversations.office_hours import parse_office_hours

        parse_office_hours(value)  # ValueError names what is wrong
        return value

    @property
    def is_development(self) -> bool:
        """True in development and test environments."""
        return self.app_env in {"development", "test"}

    @property
    def rest_enabled(self) -> bool:
        """The bare REST channel is served in development, elsewhere only when enabled."""
        return self.is_development if self.rest_channel_enabled is None else self.rest_channel_enabled

    @property
    def demo_enabled(self) -> bool:
        """Demo dossiers are seeded in development, elsewhere only when enabled."""
        return self.is_development if self.seed_demo_dossiers is None else self.seed_demo_dossiers

    @property
    def cookie_secure(self) -> bool:
        """Console cookies carry the Secure flag outside development unless told otherwise."""
        return (not self.is_development) if self.console_cookie_secure is None else self.console_cookie_secure

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server, as the console calls it."""
        return self.console_rasa_url or f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def nlg_url(self) -> str:
        """Where Rasa asks the console for answer texts."""
        return self.console_nlg_url or f"http://{self.console_host}:{self.console_port}/console/nlg"

    @property
    def model_pull_url(self) -> Optional[str]:
        """Where Rasa pulls the active model: MODEL_SERVER_URL, else the console's route when it runs."""
        if self.model_server_url:
            return self.model_server_url
        if not self.console_enabled:
            return None
        host = "127.0.0.1" if self.console_host in {"0.0.0.0", "::", ""} else self.console_host  # noqa: S104
        return f"http://{host}:{self.console_port}/console/model-server/model.tar.gz"

    @property
    def cors_origin_list(self) -> List[str]:
        """Configured CORS origins (never ``*`` unless written out)."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def telegram_enabled(self) -> bool:
        """Telegram is served only when its token and webhook secret are set."""
        return bool(self.telegram_bot_token and self.telegram_webhook_secret)

    @property
    def zalo_enabled(self) -> bool:
        """Zalo is served only when the OA app id and secret key are set."""
        return bool(self.zalo_app_id and self.zalo_oa_secret_key)

    def check_secrets(self) -> None:
        """Refuse weak or malformed secrets outside development.

        Operator-chosen secrets must be at least 32 characters; platform-issued ones must
        match their platform's format; placeholders are refused everywhere but development.

        Raises:
            ValueError: naming the first offending setting (never its value).
        """
        if self.telegram_webhook_secret and not TELEGRAM_SECRET_TOKEN.match(self.telegram_webhook_secret):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET may only hold A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        if self.rasa_api_enabled and not self.rasa_api_token:
            raise ValueError("RASA_API_ENABLED needs RASA_API_TOKEN")
        if self.is_development:
            return
        for name in (*OPERATOR_SECRETS, *PLATFORM_FORMATS, "onestop_client_secret"):
            value = getattr(self, name)
            if value is not None and value.strip().lower() in PLACEHOLDERS:
                raise ValueError(f"{name.upper()} is a placeholder; set a real secret")
        for name in OPERATOR_SECRETS:
            value = getattr(self, name)
            if value is not None and len(value) < MIN_SECRET_LENGTH:
                raise ValueError(f"{name.upper()} is shorter than {MIN_SECRET_LENGTH} characters")
        for name, pattern in PLATFORM_FORMATS.items():
            value = getattr(self, name)
            if value is not None and not pattern.match(value):
                raise ValueError(f"{name.upper()} does not look like a value the platform issues")


class SettingsGroup:
    """A dataclass of some settings (mixin): :meth:`from_settings` reads each field ``f`` from the setting
    ``SETTING_NAMES[f]``, else from ``SETTINGS_PREFIX + f``."""

    SETTINGS_PREFIX: ClassVar[str] = ""
    SETTING_NAMES: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def from_settings(cls: Type[G], settings: Any) -> G:
        """The values configured in ``settings`` (:class:`Settings`, or any object with those attributes)."""
        names = {f.name: cls.SETTING_NAMES.get(f.name, cls.SETTINGS_PREFIX + f.name)
                 for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{name: getattr(settings, setting) for name, setting in names.items()})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The validated settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    settings = Settings()
    settings.check_secrets()
    return settings
