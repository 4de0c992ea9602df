"""Rasa's HTTP API: off by default (only the channel webhooks answer); on only with a token."""

from __future__ import annotations

import httpx
import pytest

from bot.cli.db import db_init
from tests.support.assistant import running_assistant

pytestmark = pytest.mark.slow
TOKEN = "t" * 40
API = [("GET", "/status"), ("GET", "/version"), ("GET", "/conversations/rest:x/tracker"),
       ("POST", "/conversations/rest:x/tracker/events"), ("POST", "/model/parse"), ("PUT", "/model"),
       ("GET", "/domain")]


def test_api_is_off_by_default(assistant) -> None:
    with httpx.Client(timeout=30) as client:
        for method, path in API:
            response = client.request(method, assistant.url + path, json={"text": "x", "event": "slot"})
            assert response.status_code in (404, 405), (method, path, response.status_code)
            assert "Traceback" not in response.text
        cors = client.options(assistant.url + "/webhooks/rest/webhook",
                              headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert cors.headers.get("access-control-allow-origin") in (None, "")


def test_api_needs_the_token_when_enabled(tmp_path) -> None:
    url_db = f"sqlite:///{tmp_path / 'api.db'}"
    db_init(url_db, demo=False)
    env = {"RASA_API_ENABLED": "true", "RASA_API_TOKEN": TOKEN, "CORS_ORIGINS": "https://chat.example.vn"}
    with running_assistant(url_db, tmp_path, extra_env=env) as url, httpx.Client(timeout=60) as client:
        assert client.get(f"{url}/conversations/rest:x/tracker").status_code == 401
        assert client.get(f"{url}/conversations/rest:x/tracker?token=wrong").status_code == 401
        assert client.get(f"{url}/conversations/rest:x/tracker?token={TOKEN}").status_code == 200
        allowed = client.options(f"{url}/webhooks/rest/webhook",
                                 headers={"Origin": "https://chat.example.vn", "Access-Control-Request-Method": "POST"})
        assert allowed.headers.get("access-control-allow-origin") == "https://chat.example.vn"
