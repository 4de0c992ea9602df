"""What a procedure question is about: the citizen's own words, without the question around them.

``topic(text)`` strips greetings, "thủ tục / làm / xin / cho hỏi ..." in front and
"cần gì / bao nhiêu / mất bao lâu / ở đâu ..." behind, keeping the citizen's spelling:
"cho hỏi thủ tục làm hộ chiếu cần gì ạ" -> "hộ chiếu". An empty topic means the message
is a bare follow-up ("còn lệ phí thì sao?"), to be answered about the procedure in context.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, FrozenSet, List, Optional, Tuple

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


# The written forms a framing word alone may take when the citizen wrote diacritics (a longer framing
# phrase, "căn cứ pháp lý", is unambiguous as it is): "căn cước" is no "cần",
# "tai nạn" no "tại", "số nhà" no "nhé", "con đẻ" no "còn", "đính chính" no "định", "thẻ" no "thế".
# Written without diacritics, the word stays ambiguous (see ``joined`` in :func:`topic`).
FRAME_FORMS: Dict[str, FrozenSet[str]] = {folded: frozenset(forms.split()) for folded, forms in {
    "tai": "tại", "can": "cần", "nha": "nhé nhá nha", "con": "còn", "de": "để", "dinh": "định", "bi": "bị",
    "o": "ở ơ", "the": "thế", "nao": "nào", "la": "là", "tu": "từ", "dau": "đâu", "ngay": "ngày", "tien": "tiền",
    "mat": "mất", "co": "có", "cho": "cho", "ve": "về", "di": "đi", "den": "đến", "muon": "muốn", "chi": "chị",
    "toi": "tôi", "cac": "các", "phi": "phí", "ho": "hồ", "so": "sơ", "to": "tờ", "thi": "thì", "nua": "nữa",
    "a": "ạ à a", "ban": "bạn", "ca": "cả", "day": "đầy", "du": "đủ", "bo": "bộ", "may": "mấy", "qua": "quả qua",
    "mang": "mạng", "han": "hạn", "van": "văn", "nop": "nộp", "lam": "làm", "le": "lệ", "cu": "cứ", "ke": "kê",
    "sao": "sao", "gi": "gì", "tra": "trả", "lay": "lấy", "em": "em", "anh": "anh", "xem": "xem", "het": "hết",
}.items()}


def _frames(written: str, folded: str) -> bool:
    """Whether a word as written can be the framing word ``folded`` (one written without diacritics can)."""
    written = written.lower()
    return written == folded or folded not in FRAME_FORMS or written in FRAME_FORMS[folded]


def _tokens(text: str) -> Tuple[List[str], List[str]]:
    """Original words and their folded, teen-code-expanded forms (same length)."""
    words = _WORD_RE.findall(clean(text))
    expanded = expand_teen_code([w.lower() for w in words])
    return words, [fold(e) for e in expanded]


def _strip(words: List[str], folded: List[str], phrases: frozenset, from_end: bool,
           joined: Optional[Callable[[str, str], bool]] = None) -> Tuple[List[str], List[str]]:
    """Drop framing phrases from one end while any matches (a token may hold two words: "hs"). A framing
    word alone that is written as another word, or that makes a catalogue name's pair with its neighbour
    (``joined``: "tai nan", "so nha"), is part of what is asked and stays; longer phrases are unambiguous."""
    wanted = set(phrases)
    changed = True
    while changed and words:
        changed = False
        for k in range(min(len(words), 4), 0, -1):
            window, written = (folded[-k:], words[-k:]) if from_end else (folded[:k], words[:k])
            if " ".join(window) not in wanted:
                continue
            if k == 1 and (not _frames(written[0], window[0]) or joined and len(folded) > 1 and (
                    joined(folded[-2], folded[-1]) if from_end else joined(folded[0], folded[1]))):
                continue
            words, folded = (words[:-k], folded[:-k]) if from_end else (words[k:], folded[k:])
            changed = True
            break
    return words, folded


def topic(text: str, *, without: str = "", joined: Optional[Callable[[str, str], bool]] = None) -> str:
    """The citizen's words naming what they ask about (their spelling), or "" for a bare follow-up.

    Args:
        text: the message.
        without: a span to leave out first (e.g. a place name: "nộp ở xã Âu Lâu được không").
        joined: whether two folded words stand side by side in a procedure name (the search index's
            :meth:`~bot.catalogue.search.ProcedureIndex.names_pair`): such a pair is never cut.
    """
    if not text or text.lstrip().startswith("/"):
        return ""
    if without:
        text = text.replace(without, " ")
    words, folded = _tokens(text)
    words, folded = _strip(words, folded, LEAD, False, joined)
    words, folded = _strip(words, folded, TRAIL, True, joined)
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
