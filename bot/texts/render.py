"""Rasa-compatible generation of a response from its variations (what the NLG endpoint answers).

Mirrors Rasa 3.6's ``TemplatedNaturalLanguageGenerator``: conditional and channel-specific
variations are filtered the same way (``ResponseVariationFilter``), one is chosen at random,
and ``{name}`` placeholders are filled from the tracker's slots updated by the call's
arguments, with the same interpolator (a placeholder without a value leaves the text as
written). Pure functions: no Rasa import, no I/O.
"""

from __future__ import annotations

import copy
import random
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

INTERPOLATED_KEYS = ("text", "image", "custom", "buttons", "attachment", "quick_replies")
ANSWER_KEYS = ("text", "buttons", "image", "elements", "attachment", "custom", "quick_replies")
"""Keys of a variation that go into the NLG answer (``channel``/``condition``/``id`` do not)."""
_TAG = re.compile(r"{([^\n{}]+?)}")


def _matches(slots: Mapping[str, Any], variant: Mapping[str, Any]) -> bool:
    for constraint in variant.get("condition") or []:
        have, want = slots.get(constraint.get("name")), constraint.get("value")
        if isinstance(have, str) and isinstance(want, str):
            if have.casefold() != want.casefold():
                return False
        elif have != want:
            return False
    return True


def suitable_variants(variants: Sequence[Mapping[str, Any]], channel: Optional[str],
                      slots: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    """The variations Rasa would choose from on ``channel`` with these ``slots``."""
    default = [v for v in variants if v.get("condition") is None]
    conditional = [v for v in variants if v.get("condition") and _matches(slots, v)]
    for group in ([v for v in conditional if v.get("channel") == channel],
                  [v for v in default if v.get("channel") == channel],
                  [v for v in conditional if v.get("channel") is None]):
        if group:
            return group
    return [v for v in default if v.get("channel") is None]


def interpolate_text(text: str, values: Mapping[str, Any]) -> str:
    """Rasa's ``interpolate_text``: fill every ``{name}``, or leave the text as written."""
    try:
        filled = _TAG.sub(r"{0[\1]}", text).format(values)
        if "0[" in filled:
            return text.format({})
        return filled
    except (KeyError, ValueError, IndexError, AttributeError):  # Rasa lets the last three escape
        return text


def interpolate(value: Any, values: Mapping[str, Any]) -> Any:
    """Rasa's recursive ``interpolate`` over strings, lists and dicts."""
    if isinstance(value, str):
        return interpolate_text(value, values)
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict):
                interpolate(item, values)
            elif isinstance(item, list):
                value[key] = [interpolate(i, values) for i in item]
            elif isinstance(item, str):
                value[key] = interpolate_text(item, values)
        return value
    if isinstance(value, list):
        return [interpolate(i, values) for i in value]
    return value


def generate(variants: Sequence[Mapping[str, Any]], channel: Optional[str], slots: Mapping[str, Any],
             arguments: Mapping[str, Any], chooser: Any = random.choice) -> Optional[Dict[str, Any]]:
    """The message Rasa's templated NLG would produce, or None when no variation fits."""
    suitable = suitable_variants(variants, channel, slots)
    if not suitable:
        return None
    chosen = copy.deepcopy(dict(chooser(suitable)))
    values = dict(slots)
    values.update(arguments)
    if values:
        for key in INTERPOLATED_KEYS:
            if key in chosen:
                chosen[key] = interpolate(chosen[key], values)
    return {key: chosen[key] for key in ANSWER_KEYS if key in chosen}
