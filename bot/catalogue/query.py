"""What a procedure question is about: the citizen's own words, without the question around them.

``topic(text)`` strips greetings, "thủ tục / làm / xin / cho hỏi ..." in front and
"cần gì / bao nhiêu / mất bao lâu / ở đâu ..." behind, keeping the citizen's spelling:
"cho hỏi thủ tục làm hộ chiếu cần gì ạ" -> "hộ chiếu". An empty topic means the message
is a bare follow-up ("còn lệ phí thì sao?"), to be answered about the procedure in context.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

from bot.text.normalize import clean, expand_teen_code, fold

_WORD_RE = re.compile(r"\w+")
# Folded phrases that frame a question (the longest match is stripped first). No negation: "ko muốn làm
# người giám sát ... nữa" asks to stop it, not to start it.
LEAD = frozenset({
    "cho hoi", "xin hoi", "hoi", "ad oi", "ad", "admin", "a", "anh oi", "chi oi", "em oi", "ban oi", "oi", "cho",
    "toi", "em", "minh", "tui", "anh", "chi", "muon", "can", "dinh", "sap", "phai", "di", "den", "con", "the con",
    "thu tuc", "thu tuc hanh chinh", "tthc", "quy trinh", "lam", "xin", "nop", "ho so", "giay to",
    "huong dan", "ve", "viec", "de", "lam sao de", "lam the nao de", "muon lam", "cach", "cach lam", "bi",
    "le phi", "phi", "thoi gian", "thoi han", "bao lau", "o dau", "noi nop", "nop o dau", "online",
    "truc tuyen", "co", "duoc", "o", "tai", "cac", "nhung", "danh sach", "liet ke", "xem",
    "can cu", "can cu phap ly", "phap ly", "theo", "quy dinh", "van ban", "tat ca", "day du", "toan bo",
    "bao gio", "khi nao", "may ngay", "bao nhieu ngay", "mat bao lau", "mat may ngay", "bao lau thi",
    "bao gio thi", "khi nao thi", "may ngay thi", "mat bao lau thi", "bao nhieu ngay thi",
})
TRAIL = frozenset({
    "can gi", "can nhung gi", "can giay to gi", "can nhung giay to gi", "gom nhung gi", "gom gi", "the nao",
    "nhu the nao", "ra sao", "bao nhieu", "bao nhieu tien", "het bao nhieu", "het bao nhieu tien", "mat bao lau",
    "bao lau", "mat may ngay", "may ngay", "bao nhieu ngay", "lau khong", "o dau", "nop o dau", "lam o dau",
    "duoc khong", "khong", "ko", "k", "chua", "a", "nhe", "nha", "vay", "voi", "ad", "admin", "oi", "thi sao",
    "sao", "the", "nao", "roi", "nua", "gi", "can", "mat", "het", "phi", "le phi", "thu tuc", "giay to",
    "ho so", "truc tuyen", "online", "qua mang", "nop", "lam", "duoc", "co", "thi", "con", "cua toi", "a a",
    "tien", "ngay", "o", "tai", "dau", "nhu", "tu", "la", "gi a", "khong a", "the nao a",
    "can cu", "can cu phap ly", "phap ly", "la gi", "van ban nao", "luat nao", "nghi dinh nao", "quy dinh nao",
    "tat ca", "day du", "ket qua", "co ket qua", "nhan ket qua", "lay ket qua", "tra ket qua", "duoc ket qua",
    "nhan duoc ket qua", "co giay", "lay duoc",
})


def _tokens(text: str) -> Tuple[List[str], List[str]]:
    """Original words and their folded, teen-code-expanded forms (same length)."""
    words = _WORD_RE.findall(clean(text))
    expanded = expand_teen_code([w.lower() for w in words])
    return words, [fold(e) for e in expanded]


def _strip(words: List[str], folded: List[str], phrases: frozenset, from_end: bool) -> Tuple[List[str], List[str]]:
    """Drop framing phrases from one end while any matches (a token may hold two words: "hs")."""
    wanted = set(phrases)
    changed = True
    while changed and words:
        changed = False
        for k in range(min(len(words), 4), 0, -1):
            window = folded[-k:] if from_end else folded[:k]
            if " ".join(window) in wanted:
                words, folded = (words[:-k], folded[:-k]) if from_end else (words[k:], folded[k:])
                changed = True
                break
    return words, folded


def topic(text: str, *, without: str = "") -> str:
    """The citizen's words naming what they ask about (their spelling), or "" for a bare follow-up.

    Args:
        text: the message.
        without: a span to leave out first (e.g. a place name: "nộp ở xã Âu Lâu được không").
    """
    if not text or text.lstrip().startswith("/"):
        return ""
    if without:
        text = text.replace(without, " ")
    words, folded = _tokens(text)
    words, folded = _strip(words, folded, LEAD, from_end=False)
    words, folded = _strip(words, folded, TRAIL, from_end=True)
    return " ".join(words)


# Folded question words of each aspect, checked in this order (a duration's "bao nhiêu ngày" before
# a fee's "bao nhiêu"). Used where the NLU is unsure of the intent but the procedure is certain.
ASPECT_WORDS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("duration", ("bao lau", "may ngay", "bao nhieu ngay", "bao gio co", "khi nao co", "thoi han", "thoi gian")),
    ("fee", ("bao nhieu", "le phi", "phi", "tien")),
    ("documents", ("can gi", "can nhung gi", "giay to gi", "giay to nao", "nhung giay to", "mang gi", "mang theo",
                   "ho so gom", "thanh phan", "chuan bi gi", "chuan bi nhung")),
    ("place", ("o dau", "cho nao", "noi nop", "di dau", "den dau")),
    ("online", ("online", "truc tuyen", "qua mang", "tren mang", "dich vu cong")),
)


def aspect_words(text: str) -> Optional[str]:
    """The one aspect whose question words ``text`` uses ("... cần gì" -> documents), else None."""
    _, folded = _tokens(text or "")
    joined = f" {' '.join(folded)} "
    found = set()
    for aspect, phrases in ASPECT_WORDS:   # a phrase found is used up: "bao nhiêu ngày" is no fee
        for phrase in phrases:
            if f" {phrase} " in joined:
                found.add(aspect)
                joined = joined.replace(f" {phrase} ", " | ")
    return found.pop() if len(found) == 1 else None
