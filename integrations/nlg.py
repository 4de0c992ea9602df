"""Rasa's NLG through the staff console (live answer texts), falling back to the domain's own.

``endpoints.yml`` (written by :mod:`bot.cli.runtime`)::

    nlg:
      type: integrations.nlg.ConsoleNLG
      url: http://127.0.0.1:8080/console/nlg
      token: <bearer token>
      timeout: 2.0

Every response is asked of the console's ``POST /console/nlg`` (Rasa's NLG-server
protocol; only the tracker's slots are sent, which is all the console fills from). When the
console is down, slow (past ``timeout``), refuses the token or does not know the response,
the answer comes from the model's domain with Rasa's own templated generator, so a console
outage never silences the assistant. After a connection failure or a timeout the console is
skipped for :data:`PAUSE_S` seconds, so an outage does not slow every reply.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Dict, Optional

import httpx
from rasa.core.nlg.generator import NaturalLanguageGenerator
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from integrations.turn_gate import step_out

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 2.0
PAUSE_S = 10.0
_NOT_SENT = ("domain_responses", "response_id")


def valid_answer(data: Any) -> bool:
    """True when ``data`` has the shape Rasa accepts from an NLG server."""
    if not isinstance(data, dict):
        return False
    checks = {"text": str, "buttons": list, "elements": list, "attachment": dict, "image": str, "custom": dict}
    return all(data.get(key) is None and key != "custom" or isinstance(data.get(key), kind)
               for key, kind in checks.items() if key in data)


class ConsoleNLG(NaturalLanguageGenerator):
    """Answer texts from the console's NLG endpoint; the domain's templates when it cannot answer."""

    def __init__(self, endpoint_config: EndpointConfig, domain: Optional[Domain] = None) -> None:
        """Configure from the ``nlg:`` endpoint (url, token, timeout) and keep the domain for fallback."""
        self.url = endpoint_config.url
        self.token = endpoint_config.token or ""
        self.timeout = float(endpoint_config.kwargs.get("timeout") or DEFAULT_TIMEOUT_S)
        self.fallback = TemplatedNaturalLanguageGenerator(domain.responses if domain else {})
        self._client: Optional[httpx.AsyncClient] = None
        self._paused_until = 0.0

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client

    async def ask_console(self, utter_action: str, tracker: DialogueStateTracker, output_channel: str,
                          arguments: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """The console's answer, or None when it cannot give one (the reason is logged)."""
        if not self.url or time.monotonic() < self._paused_until:
            return None
        body = {"response": utter_action, "arguments": arguments,
                "tracker": {"sender_id": tracker.sender_id, "slots": tracker.current_slot_values()},
                "channel": {"name": output_channel}}
        try:
            async with step_out():  # a long wait frees the turn gate's place
                response = await self._http().post(
                    self.url, content=json.dumps(body, default=str, ensure_ascii=False).encode("utf-8"),
                    headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            self._paused_until = time.monotonic() + PAUSE_S
            logger.warning("console NLG unreachable (%s): domain text for %s", type(exc).__name__, utter_action)
            return None
        if response.status_code != 200:
            logger.log(logging.INFO if response.status_code == 404 else logging.WARNING,
                       "console NLG answered %s: domain text for %s", response.status_code, utter_action)
            return None
        try:
            data = response.json()
        except ValueError:
            data = None
        if not valid_answer(data):
            logger.warning("console NLG answer for %s is malformed: domain text", utter_action)
            return None
        return data

    async def generate(self, utter_action: str, tracker: DialogueStateTracker, output_channel: str,
                       **kwargs: Any) -> Optional[Dict[str, Any]]:
        """The console's wording of ``utter_action``, else the domain's (Rasa's templated generator)."""
        arguments = {key: value for key, value in kwargs.items() if key not in _NOT_SENT}
        answer = await self.ask_console(utter_action, tracker, output_channel, arguments)
        if answer is not None:
            return answer
        return await self.fallback.generate(utter_action, tracker, output_channel, **kwargs)
