"""``chat``: a terminal chat with the running assistant over the REST channel."""

from __future__ import annotations

import logging
import os
from typing import Dict, List, Optional

from bot.settings import get_settings


def chat(url: Optional[str] = None, sender: Optional[str] = None) -> None:
    """Read lines from the terminal, post them to the REST channel, print the replies and numbered buttons."""
    import httpx

    settings = get_settings()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    url = url or f"http://{settings.rasa_host}:{settings.rasa_port}/webhooks/rest/webhook"
    sender = sender or f"terminal-{os.getpid()}"
    print("Gõ tin nhắn (Ctrl-D để thoát). Nút bấm: gõ số thứ tự.")
    buttons: List[Dict[str, str]] = []
    with httpx.Client(timeout=60) as client:
        while True:
            try:
                text = input("Bạn: ").strip()
            except EOFError:
                print()
                return
            if text.isdigit() and buttons and 1 <= int(text) <= len(buttons):
                text = buttons[int(text) - 1]["payload"]
            try:
                replies = client.post(url, json={"sender": sender, "message": text}).json()
            except httpx.HTTPError as exc:
                print(f"[không kết nối được {url}: {exc}. Chạy `make run` trước.]")
                continue
            buttons = []
            for reply in replies:
                if reply.get("text"):
                    print(f"Bot: {reply['text']}")
                for button in reply.get("buttons", []):
                    buttons.append(button)
                    print(f"  [{len(buttons)}] {button['title']}")
