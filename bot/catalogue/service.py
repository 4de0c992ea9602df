"""Finding procedures: by code, by the citizen's words (the search index of :mod:`bot.catalogue.search`),
by field or level."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.catalogue.facts import Snapshot, procedure_facts
from bot.catalogue.index import curated_phrases, procedure_index
from bot.catalogue.query import topic as question_topic
from bot.catalogue.search import Decision, ProcedureIndex
from bot.catalogue.search_decide import names_a_procedure
from bot.db.models import Field, Procedure
from bot.text.normalize import folded_words

PAGE_SIZE = 8
VERBATIM_WORDS = 3  # a name or alias this long, written out, identifies a curated procedure


def first_decision(index: ProcedureIndex, texts: Sequence[str]) -> Decision:
    """The search's decision on the first of ``texts`` that gets an answer or a choice; else the first
    "maybe" (not found for sure, the nearest offered); else "none". The fullest words come first: a part
    of them (an entity span) never overrides what the rest says."""
    decision = Decision("none")
    for found in map(index.decide, texts):
        if found.kind not in ("none", "maybe"):
            return found
        if found.kind == "maybe" and decision.kind == "none":
            decision = found
    return decision


def decide_message(index: ProcedureIndex, text: str) -> Decision:
    """The decision on a whole message as the assistant takes it when the NLU named no procedure: the
    question's topic first ("cho hỏi ... cần gì" stripped), then the message (what the benchmark scores)."""
    own = question_topic(text, joined=index.names_pair)
    return first_decision(index, [t for t in dict.fromkeys((own, text)) if t.strip()])


def asks_procedure(index: ProcedureIndex, text: str) -> bool:
    """Whether a message the NLU could not place (unsure, out of scope) is, on the search's own
    evidence, a question about a procedure: the search finds one, and the message says a good share of
    its name in words rare in the catalogue (:func:`bot.catalogue.search_decide.names_a_procedure`).
    "lam cai nay the nao" or "giá vàng hôm nay" names none; "cấp phép bắn pháo hoa" does."""
    if decide_message(index, text).kind == "none":
        return False
    return names_a_procedure(index, question_topic(text, joined=index.names_pair) or text)


@dataclass(frozen=True)
class Match:
    """A procedure candidate and its score in [0, 1.1]; ``tentative``: offered although the search did not find
    the question's procedure for sure (a ``maybe`` decision: the citizen is told so)."""

    code: str
    name: str
    score: float
    tentative: bool = False


class CatalogueService:
    """Read access to the procedure catalogue for one unit of work (session)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._vocabulary: Optional[set] = None

    def get(self, code: str) -> Optional[Snapshot]:
        """A procedure with its field, channels and documents, by national code: a read-only snapshot at the
        current catalogue version (:mod:`bot.catalogue.facts`); None when the catalogue has none."""
        return procedure_facts(self.session, code)

    def index(self) -> ProcedureIndex:
        """The search index of the whole catalogue (rebuilt when the catalogue changes)."""
        return procedure_index(self.session)

    def asks_procedure(self, text: str) -> bool:
        """See :func:`asks_procedure`."""
        return asks_procedure(self.index(), text)

    def find(self, text: str, limit: int = 3) -> List[Match]:
        """Procedures whose names, aliases and field best match ``text``, best first (none: ``[]``)."""
        index = self.index()
        if not text.strip() or index.decide(text).kind == "none":
            return []
        return [Match(h.code, h.name, round(h.score, 3)) for h in index.search(text, limit=limit)]

    def resolve(self, *queries: str, known_code: Optional[str] = None,
                topic: str = "") -> Tuple[Optional[str], List[Match]]:
        """One confident procedure code, or None and the candidates to choose from (none: not found).

        Args:
            queries: texts naming the procedure (an entity span, the whole message), tried in
                order after ``topic`` until one finds something.
            known_code: a code the NLU already mapped by an exact synonym; it stands unless the
                citizen's words name a distinctive variant it lacks ("quốc tế", "cấp lại", "ở xã").
            topic: the citizen's own words (searched first).
        """
        index = self.index()
        texts = [t for t in dict.fromkeys((topic, *queries)) if t and t.strip()]
        decision = first_decision(index, texts)
        tentative = decision.kind == "maybe"
        matches = [Match(h.code, h.name, round(h.score, 3), tentative) for h in decision.hits] \
            if decision.kind != "none" else []
        verbatim = next((v for v in map(self._verbatim, reversed(texts)) if v), None)  # whole message first
        if verbatim and decision.code in (None, verbatim) and not any(index.contradicts(t, verbatim) for t in texts):
            # the citizen wrote one of the province's own names for it, word for word
            return verbatim, [m for m in matches if m.code == verbatim] + [m for m in matches if m.code != verbatim]
        known = self.get(known_code) if known_code else None
        if known is None:
            return decision.code, matches
        if decision.kind == "sure":
            return decision.code, matches
        offered = [Match(known.code, known.name, 1.0)] + [m for m in matches if m.code != known.code][:2]
        # a tentative first hit ("maybe": not found for sure) is no evidence against the synonym
        if any(index.contradicts(t, known.code) for t in texts) or (
                matches and not tentative and matches[0].code != known.code):
            return None, offered  # the words name something more specific (or other) than the synonym
        return known.code, offered

    def _verbatim(self, text: str) -> Optional[str]:
        """The curated procedure whose name or alias (3+ words) the text contains word for word, when the
        longest such phrase belongs to that procedure alone."""
        said = f" {' '.join(folded_words(text))} "
        found: dict = {}
        for code, phrases in curated_phrases(self.session):
            for phrase in phrases:
                if len(phrase.split()) >= VERBATIM_WORDS and f" {phrase} " in said:
                    found.setdefault(len(phrase.split()), set()).add(code)
        if not found:
            return None
        longest = found[max(found)]
        return next(iter(longest)) if len(longest) == 1 else None

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
