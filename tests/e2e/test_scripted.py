"""Scripted conversations (tests/e2e/conversations.yml) against the real assistant: every one must pass."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

pytestmark = pytest.mark.slow

SCRIPT = yaml.safe_load((Path(__file__).with_name("conversations.yml")).read_text(encoding="utf-8"))


def failures(assistant: Any, conversation: Dict[str, Any]) -> List[str]:
    """What went wrong in one conversation (empty when it passed)."""
    sender = f"s-{uuid.uuid4().hex[:10]}"
    out = []
    for i, turn in enumerate(conversation["turns"]):
        text = assistant.say(sender, turn["user"]).text
        missing = [s for s in turn.get("expect", []) if s not in text]
        present = [s for s in turn.get("forbid", []) if s in text]
        if missing or present:
            out.append(f"turn {i + 1} {turn['user']!r}: missing {missing}, forbidden {present}; got {text[:300]!r}")
    return out


@pytest.mark.parametrize("conversation", SCRIPT["conversations"], ids=lambda c: c["name"][:50])
def test_scripted_conversation(own_assistant: Any, conversation: Dict[str, Any]) -> None:
    """Each script on a database no other test touches (lock-outs and links stay its own)."""
    assert not failures(own_assistant, conversation)
