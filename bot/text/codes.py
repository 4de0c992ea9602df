"""Dossier codes as citizens type them: the one parser, plus the :class:`Match` of every structured entity."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import List, Optional

# Official form V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX, e.g. 000.00.15.H65-240312-0001.
# Citizens copy it with spaces instead of dots and dashes, in lower case, with "_", "/" or
# "–" for "-", with a full stop after it, or read it off a paper receipt with O for 0 and
# I/l for 1. Every rendering that unambiguously denotes one code is accepted, by this one
# parser, everywhere a code is read (NLU extractor, form validation, imports, pushes).
_D = "[0-9OoIl]"  # a digit as it may be typed off paper
_SEP = r"[ \t]{0,2}[.,\-–—_/]?[ \t]{0,2}"
DOSSIER_CODE_RE = re.compile(
    rf"(?<![\w.])({_D}{{3}}){_SEP}({_D}{{2}}){_SEP}({_D}{{2}}){_SEP}"
    rf"([A-Za-z]{_D}{{2}}){_SEP}({_D}{{6}}){_SEP}({_D}{{4}})(?![\w]|[.,\-/]\w)"
)
_AS_DIGIT = str.maketrans("OoIl", "0011")


def ascii_digits(text: str) -> str:
    """Every Unicode decimal digit (full-width ``１``, Arabic-Indic ``١`` ...) as ASCII."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


@dataclass(frozen=True)
class Match:
    """A structured entity found in text."""

    start: int
    end: int
    text: str
    value: str


def _digits(group: str) -> str:
    return group.translate(_AS_DIGIT)


def canonical_dossier_code(match: "re.Match[str]") -> Optional[str]:
    """Canonical form ``000.00.15.H65-240312-0001``, or None when the date part is impossible."""
    a, b, c, m, d, n = match.groups()
    date = _digits(d)
    if not any(ch.isdigit() for ch in a + b + c):  # "ooo oo Il ..." is words, not a code
        return None
    if not ("01" <= date[2:4] <= "12" and "01" <= date[4:6] <= "31"):
        return None
    return f"{_digits(a)}.{_digits(b)}.{_digits(c)}.{m[0].upper()}{_digits(m[1:])}-{date}-{_digits(n)}"


def find_dossier_codes(text: str) -> List[Match]:
    """All dossier codes in ``text`` with canonical values."""
    text = ascii_digits(text or "")
    out = []
    for m in DOSSIER_CODE_RE.finditer(text):
        value = canonical_dossier_code(m)
        if value is not None:
            out.append(Match(m.start(), m.end(), m.group(0), value))
    return out


def normalize_dossier_code(text: str) -> str | None:
    """Canonical code if ``text`` contains exactly one dossier code, else None."""
    found = find_dossier_codes(text or "")
    return found[0].value if len(found) == 1 else None
