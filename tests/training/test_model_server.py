"""Rasa's model server protocol, served by the real console on SQLite and PostgreSQL: ETag, 304, auth."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.db.session import session_scope
from bot.training import registry
from console.routes.model_server import MODEL_ROUTE
from tests.support.console import running_console

TOKEN = "k" * 40  # noqa: S105 - a test token


def test_model_route_etag_304_and_token(db_url: str, tmp_path: Path) -> None:
    store = tmp_path / "registry"
    archive = tmp_path / "m.tar.gz"
    archive.write_bytes(b"model bytes " * 1000)
    env = {"TRAINING_MODELS_DIR": str(store), "MODEL_SERVER_TOKEN": TOKEN}
    with running_console(db_url, tmp_path, env) as url:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(url + MODEL_ROUTE, timeout=10).status_code == 403  # no token, even from loopback
        assert httpx.get(url + MODEL_ROUTE, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 403
        assert httpx.get(url + MODEL_ROUTE, headers=auth, timeout=10).status_code == 404  # nothing active yet
        with session_scope(db_url) as session:
            version = registry.register(session, archive, store, trained_by="t", gate_passed=True)
            registry.activate(session, version.id, "t", actor_role="trainer")
            tag = registry.etag(version.model_hash)
        first = httpx.get(url + MODEL_ROUTE, headers={**auth, "If-None-Match": "rasa-random-uuid"}, timeout=10)
        assert first.status_code == 200 and first.content == archive.read_bytes()
        assert first.headers["etag"] == tag and first.headers["filename"].endswith(".tar.gz")
        again = httpx.get(url + MODEL_ROUTE, headers={**auth, "If-None-Match": first.headers["etag"]}, timeout=10)
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
        weak = httpx.get(url + MODEL_ROUTE, headers={**auth, "If-None-Match": f"W/{tag}, \"other\""}, timeout=10)
        assert weak.status_code == 304
        # Another version becomes active: the old ETag now downloads the new archive.
        other = tmp_path / "n.tar.gz"
        other.write_bytes(b"newer model")
        with session_scope(db_url) as session:
            newer = registry.register(session, other, store, trained_by="t", gate_passed=True)
            registry.activate(session, newer.id, "t", actor_role="trainer")
        changed = httpx.get(url + MODEL_ROUTE, headers={**auth, "If-None-Match": tag}, timeout=10)
        assert changed.status_code == 200 and changed.content == b"newer model" and changed.headers["etag"] != tag


def test_without_token_loopback_in_development_only(sqlite_url: str, tmp_path: Path) -> None:
    with running_console(sqlite_url, tmp_path, {"TRAINING_MODELS_DIR": str(tmp_path)}) as url:
        assert httpx.get(url + MODEL_ROUTE, timeout=10).status_code == 404  # loopback, APP_ENV=test: allowed
    with running_console(sqlite_url, tmp_path, {"APP_ENV": "production", "SESSION_SECRET": "s" * 40,
                                                "TRAINING_MODELS_DIR": str(tmp_path)}) as url:
        assert httpx.get(url + MODEL_ROUTE, timeout=10).status_code == 403  # no token outside development
