"""Pure Vietnamese text normalisation helpers (no Rasa imports).

Everything here is deterministic and cheap; the Rasa components in
:mod:`bot.nlu` and the catalogue search call these functions so that every channel,
``rasa shell nlu``, ``/model/parse`` and the services see the same normalisation.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Dict, List, Optional, Sequence

# Combining tone marks (NFD): grave, acute, tilde, hook above, dot below.
TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
# Characters that are never meaningful in a chat message.
_CONTROL_RE = re.compile(
    r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff]"
)
_SPACE_RE = re.compile(r"\s+")
_WORD_RE = re.compile(r"\w+")

_FOLD_TABLE = str.maketrans({"đ": "d", "Đ": "D"})

# Teen-code and abbreviations that are unambiguous in this domain.
# Values may be several words; keys are lower-case, diacritic-free tokens.
TEEN_CODE: Dict[str, str] = {
    "ko": "không", "k": "không", "kh": "không", "hok": "không", "hong": "không",
    "kg": "không", "kí": "ký", "lí": "lý", "dki": "đăng ký", "đki": "đăng ký",
    "hem": "không", "khum": "không", "hông": "không",
    "dc": "được", "đc": "được", "dk": "đăng ký", "đk": "đăng ký", "dky": "đăng ký",
    "đky": "đăng ký", "j": "gì", "gj": "gì", "zì": "gì", "z": "vậy", "v": "vậy",
    "hs": "hồ sơ", "sdt": "số điện thoại", "sđt": "số điện thoại", "đt": "điện thoại",
    "tks": "cảm ơn", "thks": "cảm ơn", "thanks": "cảm ơn", "thank": "cảm ơn",
    "ad": "admin", "adm": "admin", "mn": "mọi người", "ns": "nói", "nt": "nhắn tin",
    "ntn": "như thế nào", "ntnao": "như thế nào", "nhiu": "nhiêu", "bnhiu": "bao nhiêu",
    "bnh": "bao nhiêu", "bh": "bây giờ", "bgio": "bây giờ", "h": "giờ", "lm": "làm",
    "ng": "người", "ngta": "người ta", "cx": "cũng", "cg": "cũng", "vs": "với",
    "mk": "mình", "mik": "mình", "mh": "mình", "b": "bạn", "dt": "điện thoại",
    "ck": "chồng", "vk": "vợ", "cmnd": "chứng minh nhân dân", "cccd": "căn cước công dân",
    "gplx": "giấy phép lái xe", "gcn": "giấy chứng nhận", "qsdd": "quyền sử dụng đất",
    "qsdđ": "quyền sử dụng đất", "ubnd": "ủy ban nhân dân", "ub": "ủy ban",
    "tthc": "thủ tục hành chính", "dvc": "dịch vụ công", "dvcqg": "dịch vụ công quốc gia",
    "oke": "ok", "okie": "ok", "okela": "ok", "uk": "ừ", "uh": "ừ", "um": "ừ", "ukm": "ừ",
    "r": "rồi", "nv": "nhân viên", "cb": "cán bộ",
    "hk": "không", "hum": "không", "trc": "trước", "sn": "sinh nhật",
    "ktra": "kiểm tra", "tg": "thời gian", "tgian": "thời gian", "ạk": "ạ",
}

# "bn" is "bao nhiêu" next to quantities, "bạn" when addressing someone.
_BN_QUANTITY_NEXT = {"tiền", "tien", "ngày", "ngay", "lâu", "lau", "phí", "phi", "đồng", "dong",
                     "k", "tháng", "thang", "giờ", "gio", "lần", "lan", "năm", "nam", "buổi", "buoi",
                     "hôm", "hom", "tuần", "tuan", "xu", "trang", "bản", "ban", "nghìn", "nghin", "ngàn"}
_BN_QUANTITY_PREV = {"hết", "het", "mất", "mat", "là", "la", "giá", "gia", "phí", "phi", "tốn", "ton",
                     "trả", "tra", "nộp", "nop", "đóng", "dong", "được", "duoc", "dc", "đc", "tầm", "tam",
                     "khoảng", "khoang", "lâu", "lau", "tiền", "tien", "lệ", "le"}

# "ty" is "thank you" on its own ("ok ty", "ty ad"), but a word of "công ty" (company), "tỷ"
# typed without its accent ("2 ty dong", "ty le"), or "ty" of "tỷ giá" next to these.
_TY_NOT_THANKS_PREV = {"công", "cong", "cty"}
_TY_NOT_THANKS_NEXT = {"lệ", "le", "đồng", "dong", "giá", "gia", "usd", "vnd", "vnđ", "phú", "phu", "người", "nguoi"}


def strip_controls(text: str) -> str:
    """Remove control and invisible formatting characters, keep newlines as spaces."""
    return _CONTROL_RE.sub("", text.replace("\r", " ").replace("\n", " ").replace("\t", " "))


def clean(text: Optional[str], max_chars: int = 0) -> str:
    """NFC, standard tone placement, controls removed, whitespace collapsed.

    Args:
        text: raw user text (may be NFD, contain control characters or be None).
        max_chars: when positive, truncate the result to this many characters
            (on a word boundary when one is near).
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", strip_controls(text))
    text = normalize_tone_placement(text)
    text = _SPACE_RE.sub(" ", text).strip()
    if max_chars and len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars)
        text = text[: cut if cut > max_chars // 2 else max_chars]
    return text


def fold(text: str) -> str:
    """Remove every Vietnamese diacritic (``"Đăng ký" -> "Dang ky"``)."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_TABLE))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def has_diacritics(text: str) -> bool:
    """True when the text contains at least one Vietnamese diacritic or đ."""
    return fold(text) != text


# Old/new tone placement: "hoà" vs "hòa", "thuỷ" vs "thủy", "khoẻ" vs "khỏe".
# We normalise to the traditional placement (tone on the first vowel of an open
# oa/oe/uy rhyme), which is what most citizens and underthesea's lexicon use.
_SYLLABLE_RE = re.compile(r"\w+", re.UNICODE)
_OPEN_RHYMES = {"oa", "oe", "uy"}


def _retone_syllable(syl: str) -> str:
    nfd = unicodedata.normalize("NFD", syl)
    tones = [c for c in nfd if c in TONE_MARKS]
    if len(tones) != 1:
        return syl
    bare = "".join(c for c in nfd if c not in TONE_MARKS)
    bare_nfc = unicodedata.normalize("NFC", bare)
    low = bare_nfc.lower()
    rhyme = low[-2:]
    if rhyme not in _OPEN_RHYMES or len(low) < 2:
        return syl
    prefix = low[:-2]
    if rhyme == "uy" and prefix.endswith("q"):
        return syl  # "quý": u belongs to the onset, tone stays on y
    # Position (in NFC chars) of the vowel currently carrying the tone.
    plain = [unicodedata.normalize("NFD", ch) for ch in syl]
    tone_idx = next((i for i, ch in enumerate(plain) if any(c in TONE_MARKS for c in ch)), -1)
    target = len(bare_nfc) - 2
    if tone_idx != len(bare_nfc) - 1:
        return syl
    chars = list(bare_nfc)
    chars[target] = unicodedata.normalize("NFC", chars[target] + tones[0])
    return "".join(chars)


def normalize_tone_placement(text: str) -> str:
    """Move tone marks of open oa/oe/uy rhymes to the traditional position.

    Length-preserving on NFC input, so entity offsets stay valid.
    """
    if not has_diacritics(text):
        return text
    return _SYLLABLE_RE.sub(lambda m: _retone_syllable(m.group(0)), text)


def expand_teen_code(words: Sequence[str]) -> List[str]:
    """Expand teen-code per word; returns one (possibly multi-word) string per input word.

    ``words`` must already be lower-case and cleaned. Ambiguous ``bn`` is
    resolved from its neighbours ("hết bn tiền" -> "bao nhiêu", "bn ơi" -> "bạn"), and so is
    ``ty`` ("ok ty" -> "cảm ơn", "công ty", "2 ty dong" stay).
    """
    out: List[str] = []
    for i, word in enumerate(words):
        if word == "bn":
            nxt = words[i + 1] if i + 1 < len(words) else ""
            prev = words[i - 1] if i > 0 else ""
            if nxt in _BN_QUANTITY_NEXT or prev in _BN_QUANTITY_PREV or nxt in {"", "?"} and prev:
                out.append("bao nhiêu")
            else:
                out.append("bạn")
            continue
        if word == "ty":
            nxt = words[i + 1] if i + 1 < len(words) else ""
            prev = words[i - 1] if i > 0 else ""
            company_or_number = prev in _TY_NOT_THANKS_PREV or prev.isdigit() or nxt in _TY_NOT_THANKS_NEXT
            out.append(word if company_or_number else "cảm ơn")
            continue
        out.append(TEEN_CODE.get(word, word))
    return out


def folded_words(text: str) -> List[str]:
    """The words of ``text`` cleaned, lower-cased, teen-code expanded and folded (``"đk hs"`` -> ``dang ky ho so``)."""
    words = _WORD_RE.findall(clean(text).lower())
    return fold(" ".join(expand_teen_code(words))).split()
