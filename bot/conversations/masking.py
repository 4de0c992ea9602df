"""Masking personal data in stored conversation events (pure functions on event dicts).

What is masked before a conversation event is stored:

* every digit of a user message typed while the assistant asked for the phone ending
  (``requested_slot == phone_last4``), and every value set into ``phone_last4``;
* every full phone number anywhere in a user message (its digits but the first 3);

in the text, the parse data's text and entity values alike. Dossier codes stay: staff
need them to help, and they reveal nothing without the phone ending.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable, Dict, Iterable, Iterator, Optional

from bot.text.codes import ascii_digits, find_dossier_codes
from bot.text.phone import find_phones

MASK = "•"
PHONE_SLOT = "phone_last4"
_DIGIT = re.compile(r"\d")


def mask_digits(text: str) -> str:
    """Every digit (any script) replaced by the mask."""
    return _DIGIT.sub(MASK, text)


def _mask_matches(text: str, find: Callable[[str], Iterable[Any]], masked: Callable[[str, int], bool]) -> str:
    """Mask the characters of each match of ``find`` (on ASCII digits) for which ``masked(char, n)`` holds.

    ``n`` counts the digits of the match seen so far, this one included.
    """
    plain = ascii_digits(text)
    if len(plain) != len(text):  # pragma: no cover - ascii_digits keeps lengths
        return text
    out = list(text)
    for match in find(plain):
        seen = 0
        for i in range(match.start, match.end):
            seen += plain[i].isdigit()
            if masked(plain[i], seen):
                out[i] = MASK
    return "".join(out)


def mask_phones(text: str) -> str:
    """Full phone numbers in ``text`` keep their first 3 digits only."""
    return _mask_matches(text, find_phones, lambda char, seen: char.isdigit() and seen > 3)


def mask_dossier_codes(text: str) -> str:
    """Every dossier code in ``text`` with its digits masked (its shape and agency letter stay)."""
    return _mask_matches(text, find_dossier_codes, lambda char, _seen: char.isdigit() or char in "OoIl")


def mask_for_review(text: str) -> str:
    """What staff without the right to see personal data read: phone numbers and dossier codes masked."""
    return mask_phones(mask_dossier_codes(text))


def _mask_user(event: Dict[str, Any], all_digits: bool) -> Dict[str, Any]:
    masker = mask_digits if all_digits else mask_phones
    event = copy.deepcopy(event)
    if isinstance(event.get("text"), str):
        event["text"] = masker(event["text"])
    parse = event.get("parse_data")
    if isinstance(parse, dict):
        if isinstance(parse.get("text"), str):
            parse["text"] = masker(parse["text"])
        for entity in parse.get("entities") or []:
            if isinstance(entity, dict) and isinstance(entity.get("value"), str):
                if all_digits or entity.get("entity") in {PHONE_SLOT, "phone"}:
                    entity["value"] = mask_digits(entity["value"])
    return event


def mask_events(events: Iterable[Dict[str, Any]], requested_slot: Optional[str] = None) -> Iterator[Dict[str, Any]]:
    """The events (as dicts, oldest first) with personal data masked.

    Args:
        events: serialised Rasa events.
        requested_slot: the slot the form was asking for before the first event.
    """
    for event in events:
        kind = event.get("event")
        if kind == "slot" and event.get("name") == "requested_slot":
            requested_slot = event.get("value")
        elif kind == "active_loop" and not event.get("name"):
            requested_slot = None
        if kind == "user":
            yield _mask_user(event, requested_slot == PHONE_SLOT)
        elif kind == "slot" and event.get("name") == PHONE_SLOT and isinstance(event.get("value"), str):
            yield {**event, "value": mask_digits(event["value"])}
        else:
            yield event
