"""Personal data out of citizen messages before they become inbox samples and training examples.

Stored conversation events keep dossier codes (staff need them) and mask phone endings with
``•`` (:mod:`bot.conversations.masking`). A training example needs neither the real value nor
a row of ``•``: the model must still see a code-shaped or phone-shaped token where citizens
type one. So every dossier code is replaced by a synthetic code *of the same typed shape*
(separators, case and agency part kept; a random valid date and serial), every phone number
(clear or masked) by random digits of the same grouping, and both are annotated as the
``dossier_code`` / ``phone`` entities, as the hand-written examples are. Other masked digits
(a phone ending typed when asked for it) become random digits.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from bot.conversations.masking import MASK
from bot.text.codes import DOSSIER_CODE_RE, ascii_digits, find_dossier_codes
from bot.text.phone import find_phones
from bot.training.annotations import Span, folded_key, sanitize_plain

_MASKED_RUN = re.compile(rf"\+?[0-9{MASK}](?:[ .\-]?[0-9{MASK}])*")
_RNG = random.SystemRandom()


@dataclass(frozen=True)
class MaskedMessage:
    """A message fit for training: the text, its entity spans, and its grouping key."""

    text: str
    spans: Tuple[Span, ...]
    key: str


def _digits(n: int, rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def synthetic_code(typed: str, rng: Optional[random.Random] = None) -> str:
    """A dossier code shaped like ``typed`` (same separators and agency part), with a random date and serial."""
    rng = rng or _RNG
    match = DOSSIER_CODE_RE.fullmatch(typed)
    date = f"{rng.randrange(24, 27)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    if match is None:  # pragma: no cover - callers pass matched codes
        return f"000.00.00.H00-{date}-{_digits(4, rng)}"
    out = list(typed)
    for group, digits in ((5, date), (6, _digits(4, rng))):
        for i, ch in zip(range(match.start(group), match.end(group)), digits):
            out[i] = ch
    return "".join(out)


def _scramble(typed: str, keep: int, rng: random.Random) -> str:
    """Digits (and masks) of ``typed`` after the first ``keep`` digits replaced by random digits."""
    out, seen = [], 0
    for ch in typed:
        if ch.isdigit() or ch == MASK:
            seen += 1
            out.append(ch if seen <= keep and ch != MASK else str(rng.randrange(10)))
        else:
            out.append(ch)
    return "".join(out)


def mask_for_training(text: str, rng: Optional[random.Random] = None) -> MaskedMessage:
    """``text`` with dossier codes and phones replaced by synthetic ones and annotated (see module)."""
    rng = rng or _RNG
    text = ascii_digits(sanitize_plain(text))
    found: List[Tuple[int, int, str, Optional[str]]] = []  # start, end, replacement, entity

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _, _ in found)

    for code in find_dossier_codes(text):
        found.append((code.start, code.end, synthetic_code(text[code.start:code.end], rng), "dossier_code"))
    for phone in find_phones(text):
        if free(phone.start, phone.end):
            found.append((phone.start, phone.end, _scramble(phone.text, 3, rng), "phone"))
    for run in _MASKED_RUN.finditer(text):
        if MASK in run.group(0) and free(run.start(), run.end()):
            replaced = _scramble(run.group(0), 3, rng)
            entity = "phone" if find_phones(replaced) and find_phones(replaced)[0].text == replaced else None
            found.append((run.start(), run.end(), replaced if entity else _scramble(run.group(0), 0, rng), entity))
    found.sort()
    pieces, key_pieces, spans, pos, length = [], [], [], 0, 0
    for start, end, replacement, entity in found:
        pieces.append(text[pos:start])
        key_pieces.append(text[pos:start])
        length += start - pos
        if entity:
            spans.append(Span(length, length + len(replacement), entity))
        key_pieces.append(f" {entity or 'so'}_x ")
        pieces.append(replacement)
        length += len(replacement)
        pos = end
    pieces.append(text[pos:])
    key_pieces.append(text[pos:])
    return MaskedMessage("".join(pieces), tuple(spans), folded_key("".join(key_pieces))[:300])
