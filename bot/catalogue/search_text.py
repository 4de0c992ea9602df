"""Text side of the procedure search (:mod:`bot.catalogue.search`): tokens, citizen vocabulary, level hints and the
distinctive words that turn one procedure into another. Everything works on folded text (no diacritics, lower case,
teen-code expanded by :func:`bot.text.normalize.folded_words`): "hộ chiếu", "ho chieu", "Hộ Chiếu" are one term."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

import yaml

from bot.text.normalize import clean, fold, folded_words

_WORD_RE = re.compile(r"\w+")
_CODE_RE = re.compile(r"\b\d\.\d{6}\b")   # a national procedure code ("1.010719")

# Chat and question words that say nothing about *which* procedure is meant. They are dropped as
# single terms of the query (the two-word terms around them are kept, so "lễ hội" still matches).
QUERY_STOPWORDS: FrozenSet[str] = frozenset("""
    thu tuc hanh chinh lam xin muon can gi bao nhieu tien phi lau ngay may o dau nop the nao nhu nhung
    cho toi minh em anh chi a ad admin oi voi va la cua co khong duoc thi phai giay to ho so huong dan hoi ve
    viec de gio mat het ton ban nhe nha vay roi sao dang nay kia u uh ok a e oi tui cu moi cai
    bi gium giup di den ra len vao nua chua xong luon ma neu khi can thiet tai duoc ai nguoi ta
    mot hai ba bon nam sau bay tam chin muoi trong ngoai tren duoi
    """.split()) - frozenset({"nam", "trong", "ngoai"})  # "lao động nam", "trong nước", "nước ngoài"

# Chat phrases that name no procedure and must not pair with the words around them: "làm thủ tục hưởng
# lương hưu" is no "tiếp tục hưởng", the "làm" of "làm sao" is no "cấp" (folded, longest first); a greeting
# ("xin chào", "chào ad") is no "chào bán" nor "chào đời".
_CHAT_PHRASES = re.compile(r"(?:^| )(?:thu tuc hanh chinh|thu tuc|lam sao|lam nhu the nao|lam the nao|lam gi|lam j"
                           r"|xin chao|chao (?:ban|ad|admin|anh|chi|em|bac|co|chu|ca nha|moi nguoi))(?= |$)")


def cut_chat(words: Sequence[str]) -> List[str]:
    """The words with each chat phrase ("thủ tục", "làm sao") replaced by a phrase break ("|")."""
    return _CHAT_PHRASES.sub(" |", " ".join(words)).split()


VOCABULARY_FILE = Path(__file__).resolve().parents[2] / "data" / "search_vocabulary.yml"


def _folded(text: str) -> str:
    return " ".join(_WORD_RE.findall(fold(clean(str(text)).lower())))


def load_vocabulary(path: Path = VOCABULARY_FILE) -> Tuple[Dict[str, str], Dict[str, str]]:
    """The citizen vocabulary (everyday phrase -> official words) and the abbreviations of official
    names (abbreviation -> words) of ``data/search_vocabulary.yml``, folded. An abbreviation is also
    an everyday phrase (a citizen writes "BHYT" too) unless the file says otherwise."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    colloquial = {_folded(k): _folded(v) for k, v in (data.get("colloquial") or {}).items() if _folded(k)}
    abbreviations = {_folded(k): _folded(v) for k, v in (data.get("abbreviations") or {}).items() if _folded(k)}
    for abbr, words in abbreviations.items():
        colloquial.setdefault(abbr, words)
    return colloquial, abbreviations


# Everyday words (ordinary Vietnamese) that citizens write for the official terms of the national
# catalogue ("bằng lái" -> giấy phép lái xe, "sổ đỏ" -> giấy chứng nhận quyền sử dụng đất), and the
# abbreviations of the names ("GTGT"): general vocabulary of the domain, kept as data.
COLLOQUIAL, ABBREVIATIONS = load_vocabulary()


def expand_abbreviations(words: Sequence[str]) -> Optional[List[str]]:
    """A catalogue text's words with its abbreviations spelt out, or None when it holds none."""
    if not any(w in ABBREVIATIONS for w in words):
        return None
    return [x for w in words for x in (ABBREVIATIONS[w].split() if w in ABBREVIATIONS else [w])]


# Words that turn one procedure into another of the same family ("cấp lại" vs "lần đầu", "quốc tế"
# vs "trong nước", "toàn trình", the level). Folded phrases, grouped; a phrase implies its group.
DISTINCTIVE: Tuple[Tuple[str, ...], ...] = (
    ("cap lai", "lan dau", "cap doi", "cap moi", "dang ky lai", "gia han", "dieu chinh", "thu hoi",
     "tam thoi", "chuyen nhuong", "bo sung", "thay doi", "xoa", "cham dut", "khoi phuc",
     "trinh bao", "dinh chinh"),
    ("quoc te", "nuoc ngoai", "trong nuoc", "yeu to nuoc ngoai", "nhap khau", "xuat khau", "nguoi nuoc ngoai"),
    ("toan trinh", "mot phan", "truc tiep"),
    ("bat buoc", "tu nguyen"),
    ("cap dac biet",),   # works of special grade, I, II: not a citizen's house (cấp III, IV)
    ("cap tinh", "cap xa", "cap trung uong", "cap bo"),
)
# The action a citizen says ("mất", "đổi", "hết hạn") and the distinctive phrases of the names that
# carry it out: a record whose name carries one of them is not a special case the citizen did not ask
# for (the phrase is not required either: "mất hộ chiếu" is also "trình báo mất").
ACTION_IMPLIES: Dict[str, Tuple[str, ...]] = {   # folded: no word that folds together with a common other
    "mat": ("cap lai", "trinh bao"),                # ("lai" is also "lái", "hong" "hồng", "bo" "bộ")
    "bi hong": ("cap lai", "cap doi"),
    "hu hong": ("cap lai", "cap doi"),
    "rach": ("cap lai", "cap doi"),
    "doi": ("cap doi",),
    "het han": ("gia han", "cap doi", "cap lai"),
    "sai": ("dieu chinh", "dinh chinh", "thay doi"),
    "sua": ("dieu chinh", "dinh chinh", "thay doi"),
    "cai chinh": ("dieu chinh", "dinh chinh", "thay doi"),
    "doi ten": ("thay doi",),
    "huy": ("xoa", "cham dut", "thu hoi"),
    "them": ("bo sung",),
    "sang ten": ("chuyen nhuong", "thay doi"),
}
ACTIONS: FrozenSet[str] = frozenset(DISTINCTIVE[0])
# A foreigner ("người nước ngoài") is not abroad ("ở nước ngoài"), but a name with a foreign element
# ("có yếu tố nước ngoài") does not lack them.
SATISFIED_BY: Dict[str, FrozenSet[str]] = {"nguoi nuoc ngoai": frozenset({"yeu to nuoc ngoai"})}
# What a said distinctive phrase leaves said in a name too, without the name needing it: "nước ngoài" said
# ("bằng lái nước ngoài", "định cư ở nước ngoài") leaves no foreigner unsaid, a foreigner said no foreign element.
# A key may also be words said ("trực tuyến" leaves no "toàn trình", "một phần" of the online channel unsaid).
COVERS: Dict[str, FrozenSet[str]] = {"nuoc ngoai": frozenset({"nguoi nuoc ngoai"}),
                                     "nguoi nuoc ngoai": frozenset({"yeu to nuoc ngoai"}),
                                     "truc tuyen": frozenset({"toan trinh", "mot phan"})}


def covered(said: Iterable[str], words: Sequence[str] = ()) -> FrozenSet[str]:
    """The distinctive phrases the ``said`` ones (or the ``words``) cover in a name (:data:`COVERS`)."""
    said, text = set(said), f" {' '.join(words)} "
    return frozenset(c for p, found in COVERS.items() if p in said or f" {p} " in text for c in found)

# Distinctive phrases that name the ordinary case: a name holding one is not penalised for it.
DEFAULTS: FrozenSet[str] = frozenset({"trong nuoc", "lan dau", "cap moi", "mot phan", "truc tiep", "pho thong",
                                      "bat buoc"})
# The generic action a name starts with ("Đăng ký khai sinh", "Cấp thẻ căn cước"): what an unqualified
# question means, so a name is not less said for it.
GENERIC_ACTIONS: Tuple[str, ...] = ("dang ky", "cap", "thu tuc", "giai quyet", "thuc hien", "de nghi", "xet")
LEVEL_PHRASES: FrozenSet[str] = frozenset(DISTINCTIVE[-1])


def special_count(unsaid: FrozenSet[str]) -> int:
    """How many special cases the distinctive phrases ``unsaid`` make: the levels a name lists ("thực hiện
    tại cấp tỉnh, cấp xã") are one."""
    return len(unsaid - LEVEL_PHRASES) + bool(unsaid & LEVEL_PHRASES)


_DISTINCTIVE_ALL: Tuple[str, ...] = tuple(sorted({p for group in DISTINCTIVE for p in group}, key=len, reverse=True))

# "ở tỉnh", "công an xã", "cấp trung ương": a level the citizen names (folded, on word boundaries).
_LEVEL_PATTERNS: Tuple[Tuple[str, re.Pattern], ...] = (
    ("province", re.compile(r"\b(?:o|tai|cap|len|ve|den|ra|bao|so|cong an|ubnd|uy ban nhan dan|uy ban)"
                            r" (?:tinh|thanh pho)\b")),
    ("commune", re.compile(r"\b(?:o|tai|cap|len|ve|den|ra|bao|cong an|ubnd|uy ban nhan dan|uy ban)"
                           r" (?:xa(?! hoi\b)|phuong|thi tran)\b")),   # "nhà ở xã hội" names no commune
    # an office of the level named a few words away from it ("phòng cảnh sát QLHC tỉnh", "chủ tịch xã"): only
    # the level word ("cut") goes, the office may be what the citizen asks about ("phòng khám")
    ("province", re.compile(r"\b(?:phong|chi cuc|cuc|chu tich|giam doc) (?:\w+ ){0,3}?(?P<cut>tinh)\b(?! khac)")),
    ("commune", re.compile(r"\b(?:(?:chu tich|can bo) (?:\w+ ){0,2}?|cua )(?P<cut>xa(?! hoi\b)|phuong)\b")),
    ("central", re.compile(r"\b(?:cap trung uong|trung uong|cap bo|o bo|tai bo|len bo)\b")),
)


def _number(word: str) -> str:
    """A number without its leading zeros ("mức độ 02" is "mức 2"); other words unchanged."""
    return (word.lstrip("0") or "0") if word.isdigit() else word


def record_words(text: Optional[str]) -> List[str]:
    """Folded words of a catalogue text (a name, an alias, a field); no teen-code expansion:
    official texts hold none, and "B", "K" are licence classes there. Numbers lose leading zeros, and a
    procedure code in a name ("Cấp giấy phép môi trường (1.010719)") is no word of it."""
    return [_number(w) for w in _WORD_RE.findall(_CODE_RE.sub(" ", fold(clean(text or "").lower())))]


def query_words(text: str) -> List[str]:
    """Folded words of a citizen's text, teen-code expanded ("đk hs" -> dang ky ho so), numbers
    without leading zeros."""
    return [_number(w) for w in folded_words(text)]


def accented_words(text: Optional[str]) -> FrozenSet[str]:
    """The lower-case words of ``text`` written with Vietnamese diacritics ("thuê", "thuế", "lái"), cleaned
    (standard tone placement): what folding cannot tell apart ("thue" is thuê or thuế)."""
    words = _WORD_RE.findall(clean(text or "").lower())
    return frozenset(w for w in words if fold(w) != w)


def by_fold(words: Iterable[str]) -> Dict[str, FrozenSet[str]]:
    """Words grouped by their folded form: "thông tin ... hệ thống" says both "thông" and "thống"."""
    out: Dict[str, Set[str]] = {}
    for w in words:
        out.setdefault(fold(w), set()).add(w)
    return {f: frozenset(ws) for f, ws in out.items()}


def level_hint(words: Sequence[str]) -> Tuple[Optional[str], List[str]]:
    """The level a question names ("ở tỉnh" -> province) and the words left without the hint.

    The hint words are removed so that "xã" does not match "bảo hiểm xã hội".
    """
    text = " ".join(words)
    for level, pattern in _LEVEL_PATTERNS:
        match = pattern.search(text)
        if match:
            start, end = match.span("cut") if "cut" in pattern.groupindex else match.span()
            rest = (text[:start] + " " + text[end:]).split()
            return level, rest
    return None, list(words)


_FIRST_WORD: Dict[str, List[Tuple[int, List[str]]]] = {}   # an everyday phrase's first word -> (its rank, its words)
for _rank, _phrase in enumerate(COLLOQUIAL):
    _FIRST_WORD.setdefault(_phrase.split()[0], []).append((_rank, _phrase.split()))


def colloquial_in(words: Sequence[str]) -> List[str]:
    """The everyday phrases (:data:`COLLOQUIAL`) the words say, whole words, in the vocabulary's order."""
    found = {(rank, " ".join(phrase)) for i, word in enumerate(words) for rank, phrase in _FIRST_WORD.get(word, ())
             if list(words[i:i + len(phrase)]) == phrase}
    return [phrase for _, phrase in sorted(found)]


def expand_colloquial(words: Sequence[str], said: Optional[Sequence[str]] = None) -> List[str]:
    """The words plus the official phrases of the everyday words found in them (``said``, when already found)."""
    extra = [w for phrase in (colloquial_in(words) if said is None else said) for w in COLLOQUIAL[phrase].split()]
    return list(words) + ["|"] + extra if extra else list(words)


def terms(words: Sequence[str], stopwords: Iterable[str] = ()) -> List[str]:
    """Index terms of a word sequence: content words and adjacent word pairs ("ho_chieu").

    A "|" in the sequence separates phrases (no pair across it). Pairs are kept even
    around stopwords ("le hoi"), single stopwords are not.
    """
    stop = set(stopwords)
    out: List[str] = [w for w in words if w != "|" and w not in stop]
    for a, b in zip(words, words[1:]):
        if a != "|" and b != "|":
            out.append(f"{a}_{b}")
    return out


_INCLUSION = re.compile(r"\(\s*(?:bao gồm|kể cả)[^()]*\)", re.IGNORECASE)


def without_inclusions(name: str) -> str:
    """A name without what it says it includes too ("Cấp Chứng chỉ hành nghề dược (bao gồm cả trường hợp ...
    bị thu hồi ...)"): an inclusion widens the procedure, it makes no special case of it."""
    return _INCLUSION.sub(" ", name or "")


def name_distinctive(words: Sequence[str]) -> FrozenSet[str]:
    """The distinctive phrases of a record's (folded) name; a name starting with "Đổi" is an exchange
    ("cấp đổi"), which the folded "doi" cannot say elsewhere ("đối với")."""
    found = distinctive(words)
    return found | {"cap doi"} if list(words[:1]) == ["doi"] else found


# "mất" before a duration or an amount is "it takes" ("mất bao lâu", "mất mấy ngày", "mất bao nhiêu
# tiền"), not "lost": no action then. Folded, matched on the words right after "mat".
_TAKES = re.compile(r" mat (?:bao|may|khoang|tam|chung|het|tien|phi|thoi gian|\d+|mot|hai|ba|nam|muoi|nhieu|lau|it"
                    r"|mua) ")
# "mất" right after a person is a death ("bố mất", "chồng mất", "người thân mất", "cựu chiến binh mất"), not
# a loss ("bị mất", "mất hộ chiếu"); "mất mùa" is a failed harvest.
_DIES = re.compile(r" (?:bo|me|cha|chong|vo|ong|than|nguoi|ngoai|binh|moi) mat ")


def implied(words: Sequence[str]) -> FrozenSet[str]:
    """The distinctive phrases the actions said in ``words`` stand for (:data:`ACTION_IMPLIES`); "mất" of a
    duration or a cost ("mất bao lâu") or of a person ("bố mất") is no loss."""
    padded = _DIES.sub(" # ", _TAKES.sub(" # ", f" {' '.join(words)} "))
    return frozenset(p for action, phrases in ACTION_IMPLIES.items() if f" {action} " in padded for p in phrases)


def lacking(said: FrozenSet[str], found: FrozenSet[str], words: FrozenSet[str]) -> FrozenSet[str]:
    """The distinctive phrases ``said`` (but the level) that a record with the distinctive phrases ``found``
    and the words ``words`` lacks: neither among its phrases nor all among its words, nor satisfied by one
    of its phrases (:data:`SATISFIED_BY`)."""
    missing = said - found - {"cap tinh", "cap xa", "cap trung uong", "cap bo"}
    return frozenset(p for p in missing if not set(p.split()) <= words and not SATISFIED_BY.get(p, frozenset()) & found)


def distinctive(words: Sequence[str]) -> FrozenSet[str]:
    """The distinctive phrases a folded word sequence contains (longest first, no overlap)."""
    text = f" {' '.join(w for w in words if w != '|')} "
    found = set()
    for phrase in _DISTINCTIVE_ALL:
        needle = f" {phrase} "
        if needle in text:
            found.add(phrase)
            text = text.replace(needle, " # ")
    return frozenset(found)


# Where the core of a procedure name ends and its qualifiers begin ("... đối với ...", "(cấp tỉnh)", a condition
# "khi ..." but "sau khi", a purpose "để ..." but "đề nghị", "đề án" ...).
_HEAD_END = re.compile(r" (?:\(|;|doi voi |thuc hien |trong truong hop |tai |thuoc |bang dich vu cong |theo |"
                       r"trong cac truong hop |ap dung )|(?<! sau)(?<! truoc) khi | de (?!nghi|an |xuat|tai|cu|nghiep)")


_CORE_END = re.compile(r"[,;(]")


def core(name: str) -> List[str]:
    """The words of a name before its first comma, bracket or qualifier: where a distinctive word
    makes the procedure a special case ("Cấp lại ...", "... có yếu tố nước ngoài"); a list after a
    comma ("..., văn bản do cơ quan của Việt Nam ở nước ngoài") enumerates cases instead."""
    text = " " + fold(clean(name or "").lower()) + " "
    cut = [m.start() for m in (_CORE_END.search(text), _HEAD_END.search(text)) if m]
    words = _WORD_RE.findall(text[: min(cut)] if cut else text)
    return words if len(words) >= 2 else _WORD_RE.findall(text)


def head(name: str) -> List[str]:
    """The core words of a name (before its first qualifier), at least two words when it has them, without
    a leading "Thủ tục" (a label, not something a citizen must say)."""
    text = " " + fold(clean(name or "").lower()) + " "
    match = _HEAD_END.search(text)
    core = _WORD_RE.findall(text[: match.start()]) if match else []
    words = core if len(core) >= 2 else _WORD_RE.findall(text)
    return words[2:] if words[:2] == ["thu", "tuc"] and len(words) > 3 else words


# Where a trailing qualifier of a name begins, on the written (lower-case) name: "... trong trường hợp ...",
# "... đối với ...", "... do <cơ quan> cấp" ("do" without diacritics is "by", never "đỏ" or "đo").
_QUALIFIER = re.compile(r"[\s(]+(?:trong (?:các )?trường hợp|đối với)\s|\sdo\s(?=.*\scấp\W*$)")


def qualifier(name: str) -> Tuple[str, List[str]]:
    """The name before its trailing qualifier (folded, without level notes: the key its siblings share)
    and the folded words of the qualifier without its level note (empty when the name has none); the key
    leaves out a leading generic action ("giải quyết", "cấp" ...). The qualifier is what
    sets "Đổi giấy phép lái xe quân sự do Bộ Quốc phòng cấp" apart from "Đổi giấy phép lái xe"."""
    text = clean(name or "").lower()
    match = _QUALIFIER.search(text)
    if not match or len(_WORD_RE.findall(text[: match.start()])) < 2:
        return _family(name), []
    return _family(text[: match.start()]), _WORD_RE.findall(_LEVEL_NOTE.sub(" ", fold(text[match.end():])))


def _family(name: str) -> str:
    """The folded :func:`group_key` of a name without the generic action it starts with: "Giải quyết hưởng
    chế độ thai sản" and "Hưởng chế độ thai sản đối với ..." are one family."""
    words = folded_key(group_key(name)).split()
    for action in GENERIC_ACTIONS:
        n = len(action.split())
        if len(words) > n + 1 and " ".join(words[:n]) == action:
            return " ".join(words[n:])
    return " ".join(words)


_PAREN = re.compile(r"\(([^()]{6,})\)")
_ALTERNATIVE = re.compile(r"\s*/\s+|\s+/\s*")   # a slash between words, not in "C/O" or "131/2021"


def alternatives(name: str) -> List[List[str]]:
    """The core words of each procedure a name lists with a slash ("Đăng ký sử dụng hoá đơn điện tử/
    Thay đổi nội dung ..."): each is said in full by a question that says only it. Empty for one procedure."""
    parts = [head(p) for p in _ALTERNATIVE.split(name or "") if p.strip()]
    return [p for p in parts if len(p) >= 2] if len(parts) > 1 else []


def parentheticals(name: str) -> List[List[str]]:
    """Words of the name's bracketed parts that are not a level note ("(đăng ký sang tên xe)")."""
    out = []
    for part in _PAREN.findall(name or ""):
        words = record_words(part)
        if len(words) >= 2 and not distinctive(words) & {"cap tinh", "cap xa", "cap trung uong", "cap bo"}:
            out.append(words)
    return out


def name_level(words: Sequence[str]) -> Optional[str]:
    """The level a record's name states ("(thực hiện tại cấp tỉnh)"), if any."""
    found = distinctive(words)
    for phrase, level in (("cap tinh", "province"), ("cap xa", "commune"),
                          ("cap trung uong", "central"), ("cap bo", "central")):
        if phrase in found:
            return level
    return None


# Level notes of a name ("(thực hiện tại cấp tỉnh)", "cấp xã", "tại Công an cấp huyện"): dropped from
# the key under which records of the same procedure at several levels are grouped.
_LEVEL_NOTE = re.compile(r"\b(?:thuc hien )?(?:tai |o )?(?:cong an |ubnd |uy ban nhan dan )?"
                         r"cap (?:tinh|xa|huyen|trung uong|bo)\b")


def group_key(name: str) -> str:
    """The lower-case name without level notes, brackets, a leading "thủ tục" and punctuation, its
    diacritics kept: records sharing it are one procedure published at several levels or twice; names
    that differ only by diacritics ("thuê" / "thuế") are two procedures."""
    text = clean(name or "").lower()
    folded = fold(text)
    if len(folded) == len(text):   # the notes are found on the folded text, cut from the written one
        for match in reversed(list(_LEVEL_NOTE.finditer(folded))):
            text = text[: match.start()] + " " + text[match.end():]
    else:
        text = _LEVEL_NOTE.sub(" ", folded)
    words = _WORD_RE.findall(text)
    if [fold(w) for w in words[:2]] == ["thu", "tuc"]:
        words = words[2:]
    return " ".join(words)


def folded_key(key: str) -> str:
    """A :func:`group_key` without diacritics: how an alias written without them names a record."""
    return fold(key)


def drops_one(longer: str, shorter: str) -> bool:
    """Whether ``shorter`` is ``longer`` with one letter left out."""
    return any(longer[:k] + longer[k + 1:] == shorter for k in range(len(longer)))
