"""Vietnamese phone numbers: the one normalisation rule (national and international forms),
finding numbers and the four-digit phone ending in a message."""

from __future__ import annotations

import re
from typing import List, Optional

from bot.text.codes import Match, ascii_digits, find_dossier_codes

# A Vietnamese mobile number: 0 or +84 followed by 9 digits, optionally grouped.
PHONE_RE = re.compile(r"(?<![\w+])(?:\+84|84|0)(?:[\s.-]?\d){9}(?!\d)")
# Exactly four digits standing alone (used for the phone ending when asked for it).
LAST4_RE = re.compile(r"(?<![\d.,/-])(\d{4})(?![\d.,/-]?\d)")


def national_phone(raw: str) -> str:
    """``+84 912 345 678`` -> ``0912345678`` (digits only; other lengths kept as typed)."""
    digits = re.sub(r"\D", "", raw or "")
    if digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


def international_phone(raw: Optional[str]) -> Optional[str]:
    """``0912 345 678`` / ``+84912345678`` -> ``84912345678`` (the form ZNS requires); None when not a phone."""
    digits = re.sub(r"\D", "", raw or "")
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    if digits.startswith("84") and 10 <= len(digits) <= 12:
        return digits
    return None


def find_phones(text: str) -> List[Match]:
    """Vietnamese mobile numbers in ``text`` (ignores those inside dossier codes)."""
    codes = find_dossier_codes(text)
    out = []
    for m in PHONE_RE.finditer(text):
        if any(c.start <= m.start() < c.end for c in codes):
            continue
        out.append(Match(m.start(), m.end(), m.group(0), national_phone(m.group(0))))
    return out


def find_last4_match(text: str) -> Optional[Match]:
    """The only standalone 4-digit group in ``text`` (value in ASCII digits), else None.

    None too when the text holds a dossier code or a full phone number.
    """
    text = ascii_digits(text or "")
    if find_dossier_codes(text) or find_phones(text):
        return None
    groups = list(LAST4_RE.finditer(text))
    if len(groups) != 1:
        return None
    return Match(groups[0].start(1), groups[0].end(1), groups[0].group(1), groups[0].group(1))


def find_last4(text: str) -> str | None:
    """The phone ending in ``text`` (see :func:`find_last4_match`), else None."""
    match = find_last4_match(text)
    return match.value if match else None
