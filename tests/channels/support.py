"""Helpers of the channel tests: a real Sanic server on 127.0.0.1, and a stand-in agent.

The channels are mounted exactly as ``rasa run`` mounts them
(``rasa.core.channels.channel.register`` -> ``app.ctx.agent.handle_message``); the
stand-in agent replaces the trained model in unit tests: it renders domain responses
with Rasa's own ``TemplatedNaturalLanguageGenerator`` and answers like a tiny bot.
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional, Sequence

from rasa.core.channels.channel import InputChannel, UserMessage, register
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

ROOT = Path(__file__).resolve().parents[2]
LONG_PAYLOAD = '/inform{"procedure": "đăng ký khai sinh, thường trú, cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi"}'

TEST_DOMAIN = f"""
version: "3.1"
responses:
  utter_pick_procedure:
    - text: "Bạn muốn hỏi thủ tục nào?"
      buttons:
        - title: "Khai sinh liên thông"
          payload: '{LONG_PAYLOAD}'
        - title: "Có"
          payload: "/affirm"
"""


def load_domain() -> Domain:
    """``domain/channels.yml`` merged with a tiny test response that has a long button payload."""
    return Domain.load(str(ROOT / "domain" / "channels.yml")).merge(Domain.from_yaml(TEST_DOMAIN))


class StubTrackerStore:
    """Holds trackers built by the tests (for button resolution from the conversation)."""

    def __init__(self) -> None:
        self.trackers: Dict[str, DialogueStateTracker] = {}

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The tracker of ``sender_id``, if any."""
        return self.trackers.get(sender_id)


class EchoAgent:
    """Stand-in for ``rasa.core.agent.Agent``: echoes text, greets with buttons on ``/greet``."""

    def __init__(self, domain: Optional[Domain] = None, long_reply: Optional[str] = None) -> None:
        self.domain = domain or load_domain()
        self.nlg = TemplatedNaturalLanguageGenerator(self.domain.responses)
        self.tracker_store = StubTrackerStore()
        self.received: List[UserMessage] = []
        self.long_reply = long_reply

    async def handle_message(self, message: UserMessage) -> None:
        """Record the message and reply through its output channel."""
        self.received.append(message)
        out = message.output_channel
        tracker = DialogueStateTracker(message.sender_id, self.domain.slots)
        if message.text == "/greet":
            rendered = await self.nlg.generate("utter_welcome_follow", tracker, out.name())
            await out.send_response(message.sender_id, rendered)
        elif message.text == "pick":
            rendered = await self.nlg.generate("utter_pick_procedure", tracker, out.name())
            await out.send_response(message.sender_id, rendered)
        elif message.text == "long" and self.long_reply:
            await out.send_response(message.sender_id, {"text": self.long_reply})
        else:
            await out.send_response(message.sender_id, {"text": f"Bạn vừa hỏi: {message.text}"})

    def texts(self) -> List[str]:
        """Texts received so far."""
        return [m.text for m in self.received]


@contextlib.asynccontextmanager
async def serve_channels(channels: Sequence[InputChannel], agent: Any) -> AsyncIterator[str]:
    """Run a Sanic app with ``channels`` under ``/webhooks/`` on 127.0.0.1:<ephemeral>; yields its base URL."""
    Sanic.test_mode = True  # several apps per process: keep Sanic's one-time code rewriting (TouchUp) re-runnable
    app = Sanic(f"channels_test_{uuid.uuid4().hex[:12]}", configure_logging=False)
    app.ctx.agent = agent
    register(list(channels), app, route="/webhooks/")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()
        sock.close()


def avoid_minute_boundary(margin_s: float = 6.0) -> None:
    """Sleep past the next minute boundary if it is near (rate-limit windows are per minute)."""
    import time

    left = 60 - time.time() % 60
    if left < margin_s:
        time.sleep(left + 0.2)


def cs_texts(fake: Any, user_id: str) -> List[Optional[str]]:
    """Texts of the customer-service messages the Zalo fake received for ``user_id``."""
    return [m["message"].get("text") for m in fake.cs_messages(user_id)]
