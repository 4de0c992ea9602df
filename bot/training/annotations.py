"""Rasa's entity annotations in example texts (``[text](entity)``, ``[text]{"entity": .., "value": ..}``),
the NLU contract read from the domain, and the folded key of a text. Pure functions, no Rasa import."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from bot.db.models_training_data import MAX_EXAMPLE
from bot.settings import ROOT
from bot.text.normalize import clean, folded_words

# The same pattern as rasa/shared/nlu/training_data/entities_parser.py (ENTITY_REGEX).
ENTITY_RE = re.compile(
    r"\[(?P<entity_text>[^\]]+?)\](\((?P<entity>[^:)]+?)(?:\:(?P<value>[^)]+))?\)"
    r"|\{(?P<entity_dict>[^}]+?)\}|\[(?P<list_entity_dicts>.*?)\])"
)
DICT_KEYS = {"entity", "value", "role", "group"}
DOMAIN_DIR = ROOT / "domain"


class ExampleError(ValueError):
    """An example text that cannot become training data (message in Vietnamese)."""


@dataclass(frozen=True)
class Span:
    """An entity span in a plain text: ``text[start:end]`` is ``entity`` (canonical ``value`` if set)."""

    start: int
    end: int
    entity: str
    value: Optional[str] = None


@dataclass(frozen=True)
class Contract:
    """The intents and entities of the domain (the NLU contract)."""

    intents: Tuple[str, ...]
    entities: Tuple[str, ...]


@lru_cache(maxsize=4)
def contract(domain_dir: Path = DOMAIN_DIR) -> Contract:
    """The intents and entities listed in the domain files, in file order."""
    intents: List[str] = []
    entities: List[str] = []
    for path in sorted(domain_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name in data.get("intents") or []:
            name = next(iter(name)) if isinstance(name, dict) else name
            if name not in intents:
                intents.append(str(name))
        for name in data.get("entities") or []:
            name = next(iter(name)) if isinstance(name, dict) else name
            if name not in entities:
                entities.append(str(name))
    return Contract(tuple(intents), tuple(entities))


def folded_key(plain: str) -> str:
    """The comparison key of a plain text: its words folded, lower case, teen-code expanded."""
    return " ".join(folded_words(plain))


def _entity_of(match: "re.Match[str]") -> Tuple[str, Optional[str]]:
    if match.group("entity"):
        return match.group("entity"), match.group("value")
    if match.group("entity_dict"):
        try:
            data = json.loads("{" + match.group("entity_dict") + "}")
        except ValueError:
            raise ExampleError(f"Chú thích thực thể không phải JSON hợp lệ: {match.group(0)[:80]}") from None
        if not isinstance(data, dict) or not isinstance(data.get("entity"), str) or set(data) - DICT_KEYS:
            raise ExampleError(f"Chú thích thực thể không hợp lệ: {match.group(0)[:80]}")
        value = data.get("value")
        if value is not None and not isinstance(value, str):
            raise ExampleError(f"Giá trị thực thể phải là chuỗi: {match.group(0)[:80]}")
        return data["entity"], value
    raise ExampleError("Không hỗ trợ chú thích nhiều thực thể lồng nhau ([..][..]).")


def parse(text: str) -> Tuple[str, List[Span]]:
    """The plain text of an annotated example and its entity spans (as Rasa reads them)."""
    plain: List[str] = []
    spans: List[Span] = []
    pos = 0
    length = 0
    for match in ENTITY_RE.finditer(text):
        before = text[pos:match.start()]
        plain.append(before)
        length += len(before)
        entity, value = _entity_of(match)
        inner = match.group("entity_text")
        spans.append(Span(length, length + len(inner), entity, value))
        plain.append(inner)
        length += len(inner)
        pos = match.end()
    plain.append(text[pos:])
    return "".join(plain), spans


def render(plain: str, spans: Sequence[Span]) -> str:
    """The annotated text of ``plain`` with ``spans`` (``[text](entity)`` or the JSON form with a value)."""
    out: List[str] = []
    pos = 0
    for span in sorted(spans, key=lambda s: s.start):
        out.append(plain[pos:span.start])
        inner = plain[span.start:span.end]
        if span.value is not None and span.value != inner:
            out.append(f"[{inner}]" + json.dumps({"entity": span.entity, "value": span.value}, ensure_ascii=False))
        else:
            out.append(f"[{inner}]({span.entity})")
        pos = span.end
    out.append(plain[pos:])
    return "".join(out)


def check_spans(plain: str, spans: Sequence[Span], entities: Sequence[str]) -> List[Span]:
    """``spans`` sorted, trimmed of surrounding spaces and checked: inside the text, not overlapping, known entities.

    Raises:
        ExampleError: a span outside the text, empty, overlapping another, or of an unknown entity.
    """
    out: List[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if not 0 <= span.start < span.end <= len(plain):
            raise ExampleError("Đoạn đánh dấu thực thể nằm ngoài câu.")
        start, end = span.start, span.end
        while start < end and plain[start].isspace():
            start += 1
        while end > start and plain[end - 1].isspace():
            end -= 1
        if start == end:
            raise ExampleError("Đoạn đánh dấu thực thể trống.")
        if span.entity not in entities:
            raise ExampleError(f"Thực thể không có trong domain: {span.entity[:60]}")
        if out and start < out[-1].end:
            raise ExampleError("Các đoạn đánh dấu thực thể chồng lên nhau.")
        out.append(Span(start, end, span.entity, span.value))
    return out


def sanitize_plain(text: str) -> str:
    """A citizen's message as example text: cleaned, one line, no brackets that Rasa would read as annotations."""
    text = clean(text)
    return text.translate(str.maketrans({"[": "(", "]": ")"}))


def normalize_example(text: str, entities: Sequence[str], exact: bool = False) -> Tuple[str, str, List[Span]]:
    """Check an annotated example; returns (annotated text as stored, plain text, spans).

    The annotated text is kept exactly as written: with ``exact`` (imports) byte for byte,
    else only cleaned (NFC, one line, single spaces).

    Raises:
        ExampleError: empty, too long, malformed annotation, stray brackets or an unknown entity.
    """
    if not isinstance(text, str):
        raise ExampleError("Câu ví dụ phải là chuỗi.")
    if exact:
        if text != text.strip() or any(ch in text for ch in "\r\n\u2028\u2029\x85"):
            raise ExampleError("Câu ví dụ phải nằm trên một dòng, không có khoảng trắng ở đầu/cuối.")
    else:
        text = clean(text)
    if not text:
        raise ExampleError("Câu ví dụ trống.")
    if len(text) > MAX_EXAMPLE:
        raise ExampleError(f"Câu ví dụ dài quá {MAX_EXAMPLE} ký tự.")
    plain, spans = parse(text)
    if any(ch in plain for ch in "[]"):
        raise ExampleError("Dấu [ ] chỉ dùng để đánh dấu thực thể: [đoạn chữ](thực_thể).")
    for span in spans:
        if span.entity not in entities:
            raise ExampleError(f"Thực thể không có trong domain: {span.entity[:60]}")
        if not plain[span.start:span.end].strip():
            raise ExampleError("Đoạn đánh dấu thực thể trống.")
    if not plain.strip():
        raise ExampleError("Câu ví dụ trống.")
    return text, plain, spans


def spans_json(spans: Sequence[Span]) -> List[Dict[str, object]]:
    """Spans as JSON-able dicts."""
    return [{"start": s.start, "end": s.end, "entity": s.entity, **({"value": s.value} if s.value else {})}
            for s in spans]
