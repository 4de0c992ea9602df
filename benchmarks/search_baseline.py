"""The search this project used before the index (difflib over names and aliases), kept as the
benchmark's baseline: the same records and phrasings, scored the old way."""

from __future__ import annotations

import difflib
from typing import List, Optional, Sequence

from bot.catalogue.service import Match
from bot.text.normalize import fold

# Words that carry no procedure identity in a question (folded).
STOPWORDS = set(
    """thu tuc hanh chinh lam xin muon can gi bao nhieu tien phi le lau ngay may o dau nop the nao nhu nhung
    cho toi minh em anh chi a a ad admin oi voi va la cua co khong duoc dc ko k thi can phai giay to ho so
    huong dan hoi ve viec de nao gio online truc tuyen qua mang mat het ton bn nhe nha a.""".split()
)


def _score(query_words: Sequence[str], query_content: Sequence[str], candidate: str) -> float:
    """Similarity of a question to one procedure name or alias (folded).

    An alias found verbatim scores above 1, more so the more of the question's
    content words it explains ("khai sinh cho con lai" beats "khai sinh").
    Otherwise the score is the share of the alias's content words found in the
    question (typos tolerated), below 1.
    """
    cand = candidate.split()
    if not cand or not query_words:
        return 0.0
    content = [w for w in cand if w not in STOPWORDS] or cand
    if f" {candidate} " in f" {' '.join(query_words)} ":
        explained = sum(1 for w in query_content if w in content) / max(len(query_content), 1)
        return 1.0 + 0.2 * min(explained, 1.0)
    hits = 0.0
    for w in content:
        if w in query_words:
            hits += 1
        elif len(w) > 2 and difflib.get_close_matches(w, query_content, n=1, cutoff=0.8):
            hits += 0.8  # a typo ("khai sin", "chung thuc")
    coverage = hits / len(content)
    precision = hits / max(len(query_content), 1)
    return 0.75 * coverage + 0.25 * min(precision, 1.0)


# Words that turn one procedure into another ("cấp lại", "quốc tế", "lần đầu" ...): when the
# citizen writes one that the best match does not contain, the assistant asks instead of answering.
MODIFIERS = set("""quoc te nuoc ngoai lan dau cap lai doi gia han xoa tam chuyen thay sua cai chinh mat huy
    ngung cham dut tach hop le tinh xa phuong giam ho lai""".split())


# Everyday words that say nothing about which procedure is meant (folded).
COMMON = set("""con gai trai be chau vo chong bo me ong ba nguoi nha minh em anh chi ban toi tui moi cu nay kia
    lan nam thang tuan hom nay mai qua sang chieu toi roi nua gap giup voi nhe nha a oi u uh""".split())


def _without_unsaid_modifiers(matches: Sequence[Match], said: set) -> List[Match]:
    """Matches re-ranked so that a name with a modifier the citizen did not write loses a tie.

    "kết hôn" ties "Đăng ký kết hôn" and "Đăng ký lại kết hôn": without "lại" the first is meant.
    """
    def penalised(m: Match) -> Match:
        unsaid = (set(fold(m.name.lower()).split()) & MODIFIERS) - said
        return Match(m.code, m.name, round(m.score - 0.1 * len(unsaid), 3))

    return sorted((penalised(m) for m in matches), key=lambda m: (-m.score, m.name))


def decide(matches: Sequence[Match], margin: float = 0.05) -> Optional[str]:
    """The code of a clear winner among ranked matches, or None when the citizen must choose."""
    if not matches:
        return None
    top = matches[0]
    rivals = [m for m in matches[1:] if m.score >= top.score - margin]
    if top.score >= 0.85 and not rivals:
        return top.code
    return None
