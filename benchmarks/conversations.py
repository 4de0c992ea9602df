"""End-to-end conversation pass rate: the scripted conversations of tests/e2e/conversations.yml
against the real assistant (action server + Rasa server, fresh seeded SQLite database)."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import httpx
import yaml

from bot.cli.db import db_init
from bot.settings import ROOT
from tests.support.assistant import running_assistant

SCRIPT = ROOT / "tests" / "e2e" / "conversations.yml"


def run_conversation(url: str, conversation: Dict[str, Any]) -> List[str]:
    """Failures of one conversation (empty when every turn got what it expects)."""
    sender = f"bench-{uuid.uuid4().hex[:10]}"
    out = []
    with httpx.Client(timeout=60) as client:
        for turn in conversation["turns"]:
            replies = client.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": turn["user"]})
            shown = replies.json() if replies.status_code == 200 else []  # messages and their button titles
            text = "\n".join([r.get("text", "") for r in shown]
                             + [str(b.get("title", "")) for r in shown for b in r.get("buttons") or []])
            if any(s not in text for s in turn.get("expect", [])) or any(s in text for s in turn.get("forbid", [])):
                out.append(turn["user"])
    return out


def main() -> None:
    """Print the pass rate and the failing conversations."""
    conversations = yaml.safe_load(SCRIPT.read_text(encoding="utf-8"))["conversations"]
    with tempfile.TemporaryDirectory() as tmp:
        url_db = f"sqlite:///{Path(tmp) / 'conversations.db'}"
        db_init(url_db, demo=True)
        with running_assistant(url_db, Path(tmp)) as url:
            started = time.perf_counter()
            results = {c["name"]: run_conversation(url, c) for c in conversations}
            seconds = time.perf_counter() - started
    passed = sum(not f for f in results.values())
    turns = sum(len(c["turns"]) for c in conversations)
    print(f"{len(conversations)} scripted conversations ({turns} turns) in {seconds:.0f} s.\n")
    print("| metric | value |\n|---|---|")
    print(f"| conversations passed | {passed} / {len(conversations)} ({passed / len(conversations):.1%}) |")
    for name, failed in results.items():
        if failed:
            print(f"| failed: {name} | {', '.join(failed)} |")


if __name__ == "__main__":
    main()
