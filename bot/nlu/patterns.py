"""Regular expressions for structured entities: dossier codes and phone numbers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import List

# Official form V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX, e.g. 000.00.15.H65-240312-0001.
# Citizens add spaces around separators, use lower case, or type "_"/"–" for "-".
_DOT = r"\s?[.,]\s?"
_DASH = r"\s{0,2}[-–—_]\s{0,2}"
DOSSIER_CODE_RE = re.compile(
    rf"(?<![\w.])([A-Za-z0-9]{{3}}){_DOT}([A-Za-z0-9]{{2}}){_DOT}([A-Za-z0-9]{{2}}){_DOT}"
    rf"([A-Za-z]\d{{2}}){_DASH}(\d{{6}}){_DASH}(\d{{4}})(?![\w])"
)
# A Vietnamese mobile number: 0 or +84 followed by 9 digits, optionally grouped.
PHONE_RE = re.compile(r"(?<![\w+])(?:\+84|84|0)(?:[\s.-]?\d){9}(?!\d)")
# Exactly four digits standing alone (used for the phone ending when asked for it).
LAST4_RE = re.compile(r"(?<![\d.,/-])(\d{4})(?![\d.,/-]?\d)")


@dataclass(frozen=True)
class Match:
    """A structured entity found in text."""

    start: int
    end: int
    text: str
    value: str


def canonical_dossier_code(match: "re.Match[str]") -> str:
    """Canonical upper-case form without spaces: ``000.00.15.H65-240312-0001``."""
    a, b, c, m, d, n = (g.upper() for g in match.groups())
    return f"{a}.{b}.{c}.{m}-{d}-{n}"


def find_dossier_codes(text: str) -> List[Match]:
    """All dossier codes in ``text`` with canonical values."""
    return [Match(m.start(), m.end(), m.group(0), canonical_dossier_code(m)) for m in DOSSIER_CODE_RE.finditer(text)]


def normalize_dossier_code(text: str) -> str | None:
    """Canonical code if ``text`` contains exactly one dossier code, else None."""
    found = find_dossier_codes(text or "")
    return found[0].value if len(found) == 1 else None


def canonical_phone(raw: str) -> str:
    """``+84 912 345 678`` -> ``0912345678``."""
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


def find_phones(text: str) -> List[Match]:
    """Vietnamese mobile numbers in ``text`` (ignores those inside dossier codes)."""
    codes = find_dossier_codes(text)
    out = []
    for m in PHONE_RE.finditer(text):
        if any(c.start <= m.start() < c.end for c in codes):
            continue
        out.append(Match(m.start(), m.end(), m.group(0), canonical_phone(m.group(0))))
    return out


def ascii_digits(text: str) -> str:
    """Every Unicode decimal digit (full-width ``１``, Arabic-Indic ``١`` ...) as ASCII."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def find_last4(text: str) -> str | None:
    """The only standalone 4-digit group in ``text`` (a phone ending, ASCII digits), else None."""
    text = ascii_digits(text or "")
    if find_dossier_codes(text):
        return None
    groups = LAST4_RE.findall(text)
    return groups[0] if len(groups) == 1 else None
