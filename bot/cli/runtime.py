"""The runtime files of a run: endpoints and channel credentials (private, under ``RUN_DIR``).

A channel is listed only when its settings are present (Rasa refuses to start on a
credentials entry whose ``${ENV}`` is unset). Channel classes are named here as strings
only: Rasa imports them in its own process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from bot.settings import Settings, get_settings

TRACKER_STORE = "integrations.tracker_store.MaskingSQLTrackerStore"
REST_CHANNEL = "integrations.rest.DevRestInput"
CONSOLE_NLG = "integrations.nlg.ConsoleNLG"
ONESTOP_CHANNEL = "integrations.onestop.push.OneStopPushInput"
CONSOLE_BRIDGE = "integrations.console_bridge.ConsoleBridgeInput"
LOCK_STORE = "integrations.lock_store.AtomicRedisLockStore"


@dataclass(frozen=True)
class ChannelCredentials:
    """How one messaging channel's credentials entry is made from settings.

    Attributes:
        class_path: the Rasa input channel class.
        enabled: the settings property that says the channel is configured.
        required: credentials key → settings field, always written.
        optional: credentials key → settings field, written when set.
    """

    class_path: str
    enabled: str
    required: Dict[str, str]
    optional: Dict[str, str] = field(default_factory=dict)

    def entry(self, settings: Settings, *, as_env_refs: bool = False) -> Optional[Dict[str, Any]]:
        """The credentials entry, or None when the channel is not configured.

        With ``as_env_refs`` the values are ``${ENV_VAR}`` references (expanded by Rasa at
        start-up) instead of the secrets, so no secret lands in a generated file.
        """
        if not getattr(settings, self.enabled):
            return None

        def value(name: str) -> Any:
            return f"${{{name.upper()}}}" if as_env_refs else getattr(settings, name)

        values = {key: value(name) for key, name in self.required.items()}
        values.update({key: value(name) for key, name in self.optional.items() if getattr(settings, name)})
        return values


MESSAGING_CHANNELS = {
    "telegram": ChannelCredentials("integrations.telegram.channel.TelegramInput", "telegram_enabled",
                       {"access_token": "telegram_bot_token", "webhook_secret": "telegram_webhook_secret"},
                       {"bot_username": "telegram_bot_username"}),
    "zalo": ChannelCredentials("integrations.zalo.channel.ZaloInput", "zalo_enabled",
                       {"app_id": "zalo_app_id", "oa_secret_key": "zalo_oa_secret_key"},
                       {"app_secret": "zalo_app_secret"}),
}
"""The messaging channels' credentials entries, by channel name."""


def tracker_store_endpoint(database_url: str, synchronous_commit: str = "on") -> Dict[str, Any]:
    """Tracker store config for the project database (Rasa's SQL store, personal data masked); on
    PostgreSQL with ``synchronous_commit`` for the store's connections."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return {"type": TRACKER_STORE, "dialect": "sqlite", "db": url.database}
    return {"type": TRACKER_STORE, "dialect": "postgresql", "url": url.host, "port": url.port or 5432,
            "db": url.database, "username": url.username, "password": url.password or "",
            "synchronous_commit": synchronous_commit}


def lock_store_endpoint(url: Optional[str]) -> Optional[Dict[str, Any]]:
    """Rasa's ``lock_store:`` for ``LOCK_STORE_URL`` (redis://[:password@]host:port/db), else None (in memory)."""
    if not url:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    db = parts.path.strip("/") or "1"
    endpoint: Dict[str, Any] = {"type": LOCK_STORE, "url": parts.hostname or "127.0.0.1",
                                "port": parts.port or 6379, "db": int(db), "key_prefix": "assistant",
                                "use_ssl": parts.scheme == "rediss"}
    if parts.password:
        endpoint["password"] = parts.password
    if parts.username:
        endpoint["username"] = parts.username
    return endpoint


def channel_credentials(settings: Settings) -> Dict[str, Any]:
    """Credentials of the channels this run serves (only those whose settings are present)."""
    credentials: Dict[str, Any] = {}
    if settings.rest_enabled:
        credentials[REST_CHANNEL] = None
    if settings.onestop_push_token:
        credentials[ONESTOP_CHANNEL] = {"push_token": settings.onestop_push_token}
    if settings.console_bridge_token:
        credentials[CONSOLE_BRIDGE] = {"token": settings.console_bridge_token}
    for channel in MESSAGING_CHANNELS.values():
        entry = channel.entry(settings)
        if entry:
            credentials[channel.class_path] = entry
    return credentials


def nlg_endpoint(settings: Settings, token: Optional[str]) -> Optional[Dict[str, Any]]:
    """Rasa's ``nlg:`` endpoint: the console's live answer texts, with the domain's as fallback.

    None (Rasa uses the model's domain texts) without a token, or when no console serves it
    (``CONSOLE_ENABLED=false`` and no ``CONSOLE_NLG_URL``).
    """
    if not token or not (settings.console_enabled or settings.console_nlg_url):
        return None
    return {"type": CONSOLE_NLG, "url": settings.nlg_url, "token": token, "timeout": settings.nlg_timeout_s}


def write_runtime_files(database_url: Optional[str] = None, action_port: Optional[int] = None,
                        run_dir: Optional[Path] = None, nlg_token: Optional[str] = None,
                        live_console: bool = False) -> Dict[str, Path]:
    """Endpoints and credentials of this run, readable by the owner only.

    Args:
        database_url: the project database (default: ``DATABASE_URL``).
        action_port: the action server's port (default: ``ACTION_PORT``).
        run_dir: where to write (default: ``RUN_DIR``).
        nlg_token: the console's NLG token (default: ``CONSOLE_NLG_TOKEN``); none: no ``nlg:`` entry.
        live_console: write the console's ``nlg:`` and ``models:`` entries — only for a Rasa server
            that ``serve`` runs beside the console (with the local-model fallback of
            ``integrations.model_pull``); ``rasa test`` and hand-started servers use the local model
            and the domain's texts.
    """
    settings = get_settings()
    run_dir = run_dir or Path(settings.run_dir)
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    port = action_port or settings.action_port
    endpoints: Dict[str, Any] = {
        "action_endpoint": {"url": f"http://127.0.0.1:{port}/webhook"},
        "tracker_store": tracker_store_endpoint(database_url or settings.database_url,
                                                settings.tracker_synchronous_commit),
    }
    lock_store = lock_store_endpoint(settings.lock_store_url)
    if lock_store:
        endpoints["lock_store"] = lock_store
    nlg = nlg_endpoint(settings, nlg_token or settings.console_nlg_token) if live_console else None
    if nlg:
        endpoints["nlg"] = nlg
    models = model_server_endpoint(settings) if live_console else None
    if models:
        endpoints["models"] = models
    paths = {"endpoints": run_dir / "endpoints.yml", "credentials": run_dir / "credentials.yml"}
    for key, data in (("endpoints", endpoints), ("credentials", channel_credentials(settings))):
        write_private(paths[key], yaml.safe_dump(data, allow_unicode=True))
    return paths


def model_server_endpoint(settings: Settings) -> Optional[Dict[str, Any]]:
    """Rasa's ``models:`` endpoint: pull the active model from the console (None when there is none).

    The token, if any, is written as ``${MODEL_SERVER_TOKEN}`` (Rasa expands it at start-up), so
    no secret lands in the file. Rasa starts with the local model when the console is unreachable
    (``integrations.model_pull``).
    """
    url = settings.model_pull_url
    if not url:
        return None
    endpoint: Dict[str, Any] = {"url": url, "wait_time_between_pulls": settings.model_pull_seconds}
    if settings.model_server_token:
        endpoint["headers"] = {"Authorization": "Bearer ${MODEL_SERVER_TOKEN}"}
    return endpoint


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (0600, also while writing)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def api_options(settings: Any) -> Dict[str, Any]:
    """Rasa HTTP API options: off by default; on only with a token and configured CORS origins."""
    if not settings.rasa_api_enabled:
        return {"enable_api": False, "cors": settings.cors_origin_list or None}
    return {"enable_api": True, "auth_token": settings.rasa_api_token, "cors": settings.cors_origin_list or None}
