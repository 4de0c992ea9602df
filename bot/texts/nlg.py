"""What the console's NLG endpoint answers: the current wording of a response, filled like Rasa fills it."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from bot.texts.domain import DomainTexts, domain_texts
from bot.texts.live import LiveOverrides, live_overrides
from bot.texts.overlay import apply_overrides
from bot.texts.render import generate


def nlg_answer(name: str, channel: Optional[str], slots: Mapping[str, Any], arguments: Mapping[str, Any],
               texts: Optional[DomainTexts] = None, live: Optional[LiveOverrides] = None) -> Optional[Dict[str, Any]]:
    """``{"text", "buttons", ...}`` of response ``name`` on ``channel``, or None when the domain has no such response.

    The domain comes from the cached domain files, the staff edits from the version-checked
    cache; placeholders are filled from ``slots`` updated by ``arguments`` (Rasa's rule).
    """
    domain = texts or domain_texts()
    variants = domain.variations(name)
    if not variants:
        return None
    overrides = (live or live_overrides()).current().get(name)
    return generate(apply_overrides(variants, overrides), channel, slots, arguments)
