"""How staff overrides lie over a response's domain variations.

An override is keyed by ``(variation index, channel)``. Channel ``""`` rewords the
variation itself (for every channel it serves); ``"telegram"`` / ``"zalo"`` add a
channel-specific copy of a variation that has no channel of its own, which Rasa's
variation filter then prefers on that channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

CHANNELS = ("telegram", "zalo")


@dataclass(frozen=True)
class Override:
    """A staff wording: text, and buttons (None keeps the domain's buttons)."""

    text: str
    buttons: Optional[List[Dict[str, Any]]] = None


OverrideKey = Tuple[int, str]
Overrides = Mapping[str, Mapping[OverrideKey, Override]]
"""Response name → (variation, channel) → override."""


def _with(variant: Mapping[str, Any], override: Override) -> Dict[str, Any]:
    result = dict(variant)
    result["text"] = override.text
    if override.buttons is not None:
        if override.buttons:
            result["buttons"] = [dict(b) for b in override.buttons]
        else:
            result.pop("buttons", None)
    return result


def apply_overrides(variants: Sequence[Mapping[str, Any]],
                    overrides: Optional[Mapping[OverrideKey, Override]]) -> List[Dict[str, Any]]:
    """The effective variations: domain ``variants`` with ``overrides`` applied (a new list)."""
    if not overrides:
        return [dict(v) for v in variants]
    result: List[Dict[str, Any]] = []
    extra: List[Dict[str, Any]] = []
    for index, variant in enumerate(variants):
        base = dict(variant)
        own = overrides.get((index, ""))
        if own is not None:
            base = _with(base, own)
        result.append(base)
        if variant.get("channel"):
            continue
        for channel in CHANNELS:
            specific = overrides.get((index, channel))
            if specific is not None:
                extra.append({**_with(base, specific), "channel": channel})
    return result + extra


def variant_for(variants: Sequence[Mapping[str, Any]], overrides: Optional[Mapping[OverrideKey, Override]],
                index: int, channel: str) -> Optional[Dict[str, Any]]:
    """The effective wording of variation ``index`` on ``channel`` (the channel copy, else the variation)."""
    if index < 0 or index >= len(variants):
        return None
    base = dict(variants[index])
    own = (overrides or {}).get((index, ""))
    if own is not None:
        base = _with(base, own)
    specific = (overrides or {}).get((index, channel)) if channel else None
    return _with(base, specific) if specific is not None else base
