"""Finding procedures: by code, by (diacritic-insensitive, fuzzy) name, by field or level."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.db.models import Field, Procedure, Unit
from bot.text.normalize import fold, folded_words

# Words that carry no procedure identity in a question (folded).
STOPWORDS = set(
    """thu tuc hanh chinh lam xin muon can gi bao nhieu tien phi le lau ngay may o dau nop the nao nhu nhung
    cho toi minh em anh chi a a ad admin oi voi va la cua co khong duoc dc ko k thi can phai giay to ho so
    huong dan hoi ve viec de nao gio online truc tuyen qua mang mat het ton bn nhe nha a.""".split()
)
PAGE_SIZE = 8


@dataclass(frozen=True)
class Match:
    """A procedure candidate and its score in [0, 1.1]."""

    code: str
    name: str
    score: float


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


class CatalogueService:
    """Read access to the procedure catalogue for one unit of work (session)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._vocabulary: Optional[set] = None

    def vocabulary(self) -> set:
        """Every folded word of procedure names, aliases, fields and unit names (for this unit of work)."""
        if self._vocabulary is None:
            words: set = set()
            for key in self.session.execute(select(Procedure.search_key)).scalars():
                words.update(key.replace("|", " ").split())
            for key in self.session.execute(select(Unit.search_key)).scalars():
                words.update((key or "").replace("|", " ").split())
            for key in self.session.execute(select(Field.search_key)).scalars():
                words.update((key or "").split())
            self._vocabulary = words
        return self._vocabulary

    def unknown_words(self, text: str) -> List[str]:
        """Content words of ``text`` the whole catalogue has never seen (typos tolerated):
        "thực phẩm", "rượu", "visa" name a procedure the catalogue lacks."""
        vocabulary = self.vocabulary()
        out = []
        for word in dict.fromkeys(w for w in folded_words(text) if w not in STOPWORDS and w not in COMMON):
            if len(word) <= 2 or word.isdigit() or word in vocabulary:
                continue
            if len(word) >= 3 and difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.8):
                continue
            out.append(word)
        return out

    def unexplained(self, text: str, code: str) -> List[str]:
        """Content words of ``text`` that would make procedure ``code`` the wrong answer.

        A word counts when the procedure's names and aliases lack it (typos tolerated) and it
        is either unknown to the whole catalogue ("rượu", "hộ chiếu", "visa") or one of the
        :data:`MODIFIERS` that distinguish procedures ("quốc tế", "cấp lại", "lần đầu").
        """
        key = self.session.execute(select(Procedure.search_key).where(Procedure.code == code)).scalar_one_or_none()
        if key is None:
            return []
        own = set(key.replace("|", " ").split())
        vocabulary = self.vocabulary()
        out = []
        for word in dict.fromkeys(w for w in folded_words(text) if w not in STOPWORDS and w not in COMMON):
            if word in own or (len(word) >= 3 and difflib.get_close_matches(word, own, n=1, cutoff=0.8)):
                continue
            if word in MODIFIERS or (len(word) > 2 and word not in vocabulary and not word.isdigit()):
                out.append(word)
        return out

    def get(self, code: str) -> Optional[Procedure]:
        """A procedure with its channels and documents, by national code."""
        stmt = (select(Procedure).where(Procedure.code == code)
                .options(selectinload(Procedure.channels), selectinload(Procedure.documents)))
        return self.session.execute(stmt).unique().scalar_one_or_none()

    def find(self, text: str, limit: int = 3, min_score: float = 0.6) -> List[Match]:
        """Procedures whose name or aliases best match ``text``, best first."""
        query_words = folded_words(text)
        query_content = [w for w in query_words if w not in STOPWORDS]
        if not query_content:
            return []
        rows = self.session.execute(select(Procedure.code, Procedure.name, Procedure.search_key)).all()
        scored: List[Match] = []
        for code, name, key in rows:
            best = max(_score(query_words, query_content, c.strip()) for c in key.split("|"))
            if best >= min_score:
                scored.append(Match(code, name, round(best, 3)))
        scored.sort(key=lambda m: (-m.score, m.name))
        return scored[:limit]

    def resolve(self, *queries: str, known_code: Optional[str] = None,
                topic: str = "") -> Tuple[Optional[str], List[Match]]:
        """One confident procedure code, or None and the candidates to choose from.

        Args:
            queries: texts naming the procedure (an entity span, the whole message).
            known_code: a code the NLU already mapped by an exact synonym; it wins
                unless the text names another procedure more specifically.
            topic: the citizen's own words; a winner that leaves a distinctive word of
                them unexplained (:meth:`unexplained`) becomes a question, not an answer.
        """
        best: dict = {}
        for query in queries:
            for match in self.find(query, limit=5):
                if match.score > best.get(match.code, Match(match.code, match.name, -1)).score:
                    best[match.code] = match
        if known_code and (proc := self.get(known_code)) is not None:
            known = best.get(known_code)
            best[known_code] = Match(known_code, proc.name, max(known.score if known else 0, 1.1) + 0.01)
        matches = sorted(best.values(), key=lambda m: (-m.score, m.name))[:3]
        if topic and self.unknown_words(topic):
            # words the catalogue has never seen: a procedure it lacks; offer choices only when
            # one of its names is written out in the question ("kết hôn với người Trung Quốc")
            return None, (matches if matches and matches[0].score >= 1.0 else [])
        code = decide(matches)
        if code is None and len(matches) > 1 and topic:
            code = decide(_without_unsaid_modifiers(matches, set(folded_words(topic))))
        if code and topic and self.unexplained(topic, code):
            return None, matches
        return code, matches

    def fields(self) -> List[Field]:
        """All fields, alphabetically."""
        return list(self.session.execute(select(Field).order_by(Field.name)).scalars())

    def find_field(self, text: str) -> Optional[Field]:
        """The field named (loosely) in ``text``."""
        key = " ".join(folded_words(text))
        best, best_score = None, 0.0
        for field in self.fields():
            if f" {field.search_key} " in f" {key} ":
                return field
            score = difflib.SequenceMatcher(None, key, field.search_key).ratio()
            if score > best_score:
                best, best_score = field, score
        return best if best_score >= 0.75 else None

    def list_procedures(self, field_id: Optional[int] = None, level: Optional[str] = None,
                        page: int = 1) -> Tuple[List[Procedure], int]:
        """One page of procedures of a field and/or level, and the number of pages."""
        stmt = select(Procedure)
        count = select(func.count(Procedure.id))
        if field_id is not None:
            stmt, count = stmt.where(Procedure.field_id == field_id), count.where(Procedure.field_id == field_id)
        if level is not None:
            stmt, count = stmt.where(Procedure.level == level), count.where(Procedure.level == level)
        total = self.session.execute(count).scalar_one()
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(page, 1), pages)
        rows = self.session.execute(stmt.order_by(Procedure.name).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
        return list(rows.unique().scalars()), pages
