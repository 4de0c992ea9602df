"""The domain's responses and intents as the texts service sees them (loaded once per process)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional

import yaml

PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
"""A ``{name}`` placeholder, exactly as Rasa's interpolator finds it."""
CHANNEL_LIMITS = {"telegram": 4096, "zalo": 2000}
"""The longest message each platform takes (Telegram counts UTF-16 units)."""
CHANNEL_NAMES = {"": "Mặc định (mọi kênh)", "telegram": "Telegram", "zalo": "Zalo"}
ZALO_MAX_BUTTONS = 5
ZALO_MAX_BUTTON_TITLE = 100
MAX_BUTTONS = 10
MAX_PAYLOAD_CHARS = 500


@dataclass(frozen=True)
class DomainTexts:
    """Responses (name → variations) and intent names of the domain files."""

    responses: Mapping[str, List[Dict[str, Any]]]
    intents: FrozenSet[str]

    def variations(self, name: str) -> List[Dict[str, Any]]:
        """The domain's variations of ``name`` (empty when unknown)."""
        return list(self.responses.get(name) or [])


def load_domain_texts(files: Optional[Iterable[Path]] = None) -> DomainTexts:
    """Read the responses and intents of the domain files (later files win, like Rasa)."""
    from bot.responses import domain_files

    responses: Dict[str, List[Dict[str, Any]]] = {}
    intents: set = set()
    for path in files if files is not None else domain_files():
        content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for name, variations in (content.get("responses") or {}).items():
            responses[str(name)] = [dict(v) for v in variations or [] if isinstance(v, dict)]
        for intent in content.get("intents") or []:
            intents.add(next(iter(intent)) if isinstance(intent, dict) else str(intent))
    return DomainTexts(responses=responses, intents=frozenset(intents))


@functools.lru_cache(maxsize=1)
def domain_texts() -> DomainTexts:
    """The project's domain texts (read once per process; a new domain comes with a new release)."""
    return load_domain_texts()


def placeholders(text: Optional[str]) -> List[str]:
    """The ``{name}`` placeholders of ``text``, in order, without repeats."""
    seen: Dict[str, None] = {}
    for match in PLACEHOLDER.finditer(text or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)
