"""In-process procedure search over the whole catalogue (issue 12).

A BM25 index over folded words and adjacent word pairs of procedure names and aliases (fields weigh less), built once
from plain records (the same on SQLite and PostgreSQL). Unknown words are corrected against the catalogue's vocabulary
with ``rapidfuzz`` (a corrected word counts less); everyday words ("bằng lái", "cà vẹt") add the official terms
(``data/search_vocabulary.yml``, :mod:`.search_text`). Candidates are re-ranked by how much of the question they explain
and how much of their name it says, with the level named ("ở tỉnh") a soft boost, the action said ("mất", "đổi")
favouring the names that carry it out; a word written with diacritics a name holds only as another word ("thuê"/"thuế"),
a sibling's unsaid qualifier and another province's record cost a little, an armed force's own procedure the question
does not name a lot (:mod:`.search_forces`); the province's own records, then the shorter name, come first on ties. Two
similarities are fused into the re-rank, never as evidence of a find: a character n-gram cosine with names, which adds
candidates (:mod:`.search_char`: typos, words run together), and a candidate's best cosine with one of its phrases
(:mod:`.search_phrase`: names, aliases, hints without places). Same-named records are one hit (:meth:`_collapse`);
hints (``data/search_hints.yml``) add the words the name lacks to BM25. :meth:`decide` gives ``sure``, ``choose``,
``maybe`` or ``none`` (:mod:`.search_decide`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np
from rapidfuzz import fuzz, process

from bot.catalogue import search_text as st
from bot.catalogue.search_bm25 import invert
from bot.catalogue.search_char import CharIndex
from bot.catalogue.search_cover import Key, TermSets, VariantShares, cover_key, question_side, share
from bot.catalogue.search_forces import said_forces, unnamed
from bot.catalogue.search_groups import build_groups, sibling_qualifiers
from bot.catalogue.search_hint_words import hint_words as words_of_hint
from bot.catalogue.search_phrase import PhraseIndex
from bot.catalogue.search_records import SearchRecord, is_local_row, records_from_files, records_from_session
from bot.text.normalize import fold

__all__ = ["Decision", "Hit", "ProcedureIndex", "SearchRecord", "is_local_row", "records_from_files",
           "records_from_session"]

ALIAS_WEIGHT, FIELD_WEIGHT, HINT_WEIGHT = 1.0, 0.25, 0.5   # BM25: a hint adds only the words the name lacks
HINT_NAME_MIN = 0.25   # a hint counts as the name said from this share on (a word in passing is no name)
CANDIDATES = 100
CHAR_CANDIDATES, W_CHAR, CHAR_FLOOR = 30, 0.15, 0.5   # a cosine below the floor counts as weak
W_PHRASE, PHRASE_FLOOR = 0.2, 0.3   # the best phrase of a candidate: its name, an alias or a hint
UNIT_WEIGHT = 2.0   # an everyday phrase weighs at most this many of its strongest word (an abbreviation 1 more)
# Re-ranking weights: share of the question explained, share of the name said, BM25 relative to the best.
W_QUERY, W_NAME, W_BM25 = 0.55, 0.25, 0.20
LEVEL_BONUS, LEVEL_MISMATCH, UNSAID_PENALTY, LOCAL_BONUS, ACTION_BONUS = 0.06, 0.06, 0.03, 0.01, 0.05
# foreign: another province's record; force: an armed force's own procedure, that force unnamed (search_forces)
CENTRAL_PENALTY, LACKS_PENALTY, FOREIGN_PENALTY, FORCE_PENALTY = 0.02, 0.04, 0.03, 0.3
ACCENT_PENALTY = 0.05   # per word the citizen wrote with diacritics that the name has only as another word
QUALIFIER_PENALTY, QUALIFIER_BONUS = 0.02, 0.02   # a sibling's qualifier unsaid (plain sibling first) / said
# A typo is corrected from a rapidfuzz ratio of 80, a short word only by one dropped letter; a corrected word
# counts at most half a written one, less the further it is from what was written.
TYPO_CUTOFF, SHORT_WORD, CORRECTED_WEIGHT, SLIP_WEIGHT = 80.0, 4, 0.5, 0.75


@dataclass(frozen=True)
class Hit:
    """A ranked candidate; ``score`` is about 0..1.1 (comparable across questions)."""

    code: str
    name: str
    score: float


@dataclass(frozen=True)
class Decision:
    """What to do with a question: ``sure`` (answer ``code``), ``choose`` or ``maybe`` (offer ``hits``), ``none``."""

    kind: str
    hits: Tuple[Hit, ...] = ()
    code: Optional[str] = None
    reason: str = ""


@dataclass
class _Query:
    said: List[str]                      # the citizen's folded words (level hint removed)
    effective: List[str]                 # words that count: said minus colloquial triggers, plus official ones
    terms: List[str]
    level: Optional[str]
    distinctive: FrozenSet[str]
    plain: Sequence[str] = ()            # said words that are no colloquial trigger
    corrected: FrozenSet[str] = frozenset()   # words that come from a typo correction, not from the text
    implied: FrozenSet[str] = frozenset()     # distinctive phrases the actions said stand for ("mất": cấp lại)
    covered: FrozenSet[str] = frozenset()     # phrases a name may carry unsaid (st.COVERS: a foreigner for abroad)
    units: Sequence[Tuple[List[str], List[str]]] = ()   # (everyday phrase, official words) found
    accented: Dict[str, FrozenSet[str]] = field(default_factory=dict)   # folded -> the forms written (thông, thống)
    forces: FrozenSet[str] = frozenset()      # the armed forces named (search_forces: "bộ đội", "công an")


class ProcedureIndex:
    """BM25 index of procedure names/aliases/fields with typo tolerance and a decision rule."""

    def __init__(self) -> None:
        self.records: List[SearchRecord] = []
        self._postings: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
        self._field_postings: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
        self._hint_postings: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
        self._doc_starts: np.ndarray = np.zeros(1, dtype=np.int64)   # per record its first document; then their count
        self._idf: Dict[str, float] = {}
        self._max_idf = 1.0
        self._vocabulary: List[str] = []
        self._vocab_set: FrozenSet[str] = frozenset()
        self._name_words: List[List[List[str]]] = []   # per record, per variant (name, aliases)
        self._shares = VariantShares([])   # every record's name variants
        self._qualifier_key: List[Optional[Key]] = []
        self._all_words: List[FrozenSet[str]] = []
        self._accented: List[FrozenSet[str]] = []       # per record: its words written with diacritics
        self._folded_accented: List[FrozenSet[str]] = []   # and those words folded
        self._all_terms = TermSets([])
        self._official_terms = TermSets([])   # the name's, aliases' and field's: no hint's
        self._distinctive: List[FrozenSet[str]] = []
        self._core_distinctive: List[FrozenSet[str]] = []   # in the name's core (before qualifiers, lists)
        self._name_level: List[Optional[str]] = []
        self._qualifier: List[Tuple[List[str], bool]] = []   # per record: (qualifier, whether a plain sibling is)
        self._fixes: Dict[str, Optional[Tuple[str, float]]] = {}
        self._fix_weight: Dict[str, float] = {}        # a corrected word: how much it counts
        self._idx: Dict[str, int] = {}
        self._char: Optional[CharIndex] = None
        self._phrase = PhraseIndex([])
        self._group: List[int] = []                    # per record: its group (same name but the level)
        self._members: List[List[int]] = []            # per group: its records
        self._contested: List[List[int]] = []          # per record: other groups whose name it has as alias

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, records: Iterable[SearchRecord]) -> "ProcedureIndex":
        """An index over ``records`` (a later record with the same code replaces an earlier one)."""
        self = cls()
        by_code: Dict[str, SearchRecord] = {}
        for rec in records:
            by_code[rec.code] = rec
        self.records = list(by_code.values())
        self._idx = {r.code: i for i, r in enumerate(self.records)}
        docs: List[Tuple[int, List[str], float]] = []   # (record, terms, weight)
        fields: List[List[str]] = []
        hints: List[List[str]] = []   # per record: the terms of its everyday phrases that its name lacks
        df: Counter = Counter()
        official_terms: List[FrozenSet[str]] = []   # per record: the name's, aliases' and field's terms
        all_terms: List[FrozenSet[str]] = []        # and the hints'
        for i, rec in enumerate(self.records):
            variants = [st.record_words(rec.name)] + [st.record_words(a) for a in rec.aliases if a]
            variants += [e for e in map(st.expand_abbreviations, variants) if e]   # "GTGT" -> giá trị gia tăng
            field_words = st.record_words(rec.field)
            core = st.head(rec.name)
            hint_words = [words_of_hint(h) for h in rec.hints]
            self._name_words.append([st.expand_abbreviations(core) or core] + st.parentheticals(rec.name)
                                    + st.alternatives(rec.name) + variants[1:] + hint_words)
            words = {w for v in variants + hint_words for w in v} | set(field_words)
            self._all_words.append(frozenset(words))
            accented = frozenset().union(*(st.accented_words(t) for t in (rec.name, *rec.aliases)))
            self._accented.append(accented)
            self._folded_accented.append(frozenset(fold(w) for w in accented))
            official_terms.append(frozenset(t for v in variants + [field_words] for t in st.terms(v)))
            all_terms.append(official_terms[-1] | {t for v in hint_words for t in st.terms(v)})
            self._distinctive.append(st.name_distinctive(st.record_words(st.without_inclusions(rec.name))))
            self._core_distinctive.append(st.name_distinctive(st.core(rec.name)))
            self._name_level.append(st.name_level(variants[0]))
            rec_terms = set()
            for k, v in enumerate(variants):
                t = st.terms(v)
                docs.append((i, t, 1.0 if k == 0 else ALIAS_WEIGHT))
                rec_terms.update(t)
            ft = st.terms(field_words)
            fields.append(ft)
            hints.append([t for t in dict.fromkeys(t for v in hint_words for t in st.terms(v)) if t not in rec_terms])
            df.update(rec_terms | set(ft) | set(hints[-1]))
        n = max(len(self.records), 1)
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._max_idf = math.log(1 + (n - 0.5) / 1.5)
        self._vocabulary = sorted({w for ws in self._all_words for w in ws})
        self._vocab_set = frozenset(self._vocabulary)
        self._postings = invert([(t, w) for _, t, w in docs], self._idf)
        self._doc_starts = np.searchsorted([i for i, _, _ in docs], np.arange(len(self.records) + 1))   # in order
        self._field_postings = invert([(t, FIELD_WEIGHT) for t in fields], self._idf)
        self._hint_postings = invert([(t, HINT_WEIGHT) for t in hints], self._idf)
        self._group, self._members, self._contested = build_groups(self.records)
        self._qualifier = sibling_qualifiers(self.records, self._group)
        keys: List[Tuple[List[Key], Tuple[int, int]]] = []
        for rec, words, (qualifier, _) in zip(self.records, self._name_words, self._qualifier):
            first_hint = len(words) - len(rec.hints)   # the hints' variants come last
            official = list(dict.fromkeys(map(tuple, words[:first_hint])))
            variants = list(map(list, dict.fromkeys(official + [tuple(w) for w in words[first_hint:]])))
            keys.append(([cover_key(v, self._idf_of) for v in variants] + [cover_key(v, self._idf_of, True) for v in
                         variants], (len(variants), len(variants) + len(official))))   # as is | plain: name | hints
            self._qualifier_key.append(cover_key(qualifier, self._idf_of) if qualifier else None)
        self._shares = VariantShares(keys)
        self._all_terms, self._official_terms = TermSets(all_terms), TermSets(official_terms)
        self._char = CharIndex([" ".join(w for t in (r.name, *r.aliases) for w in st.record_words(t))
                                for r in self.records])
        self._phrase = PhraseIndex([(r.name, *r.aliases, *map(" ".join, words[len(words) - len(r.hints):]))
                                    for r, words in zip(self.records, self._name_words)])   # hints without places
        return self

    def __len__(self) -> int:
        return len(self.records)

    # ------------------------------------------------------------------ query
    def _fix(self, word: str) -> str:
        """A word the catalogue knows, or its closest known spelling (typos: "khai sin", "chung thuc").

        Chat words are never corrected, and a short word (<= 4 letters) only by one dropped letter
        ("sin" -> "sinh"): "chao" is not "cao"."""
        if word in self._vocab_set or len(word) < 3 or word.isdigit() or word in st.QUERY_STOPWORDS:
            return word
        if word not in self._fixes:
            found = process.extract(word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF, limit=5)
            if len(word) <= SHORT_WORD:
                found = [f for f in found if len(f[0]) == len(word) + 1 and st.drops_one(f[0], word)]
            self._fixes[word] = found[0][:2] if found else None
            if found:   # a letter dropped or doubled is a likelier slip than another letter
                best, ratio = found[0][:2]
                slip = abs(len(best) - len(word)) == 1 and (st.drops_one(best, word) or st.drops_one(word, best))
                self._fix_weight[best] = SLIP_WEIGHT if slip else min(
                    CORRECTED_WEIGHT, (ratio - TYPO_CUTOFF) / (100 - TYPO_CUTOFF))
        return self._fixes[word][0] if self._fixes[word] else word

    def _query(self, text: str, level_hint: Optional[str]) -> _Query:
        words = st.query_words(text)
        hint, words = st.level_hint(words)
        words = st.cut_chat(words)
        level = level_hint or hint
        triggers = {w for phrase in st.colloquial_in(words) for w in phrase.split()}
        fixed = [w if w in triggers else self._fix(w) for w in words]
        corrected = frozenset(f for w, f in zip(words, fixed) if f != w) - set(words)
        words = fixed
        said_units = st.colloquial_in(words)
        triggers = {w for phrase in said_units for w in phrase.split()}
        expanded = st.expand_colloquial(words, said_units)
        official = expanded[len(words) + 1:] if "|" in expanded else []
        effective = [w for w in words if w not in triggers] + official
        said_distinctive = set(st.distinctive(words)) | set(st.distinctive(official))
        if level:
            said_distinctive |= {{"province": "cap tinh", "commune": "cap xa", "central": "cap trung uong"}[level]}
            if level == "central":
                said_distinctive.add("cap bo")
        terms = list(dict.fromkeys(st.terms(expanded, st.QUERY_STOPWORDS)))
        units = [(phrase.split(), st.COLLOQUIAL[phrase].split()) for phrase in said_units]
        return _Query(said=words, effective=effective, terms=terms, level=level,
                      distinctive=frozenset(said_distinctive),
                      plain=[w for w in words if w not in triggers], units=units, corrected=corrected,
                      implied=st.implied(words), covered=st.covered(said_distinctive, expanded),
                      accented=st.by_fold(st.accented_words(text)), forces=said_forces(words))

    def _idf_of(self, word: str) -> float:
        return self._idf.get(word, self._max_idf)

    def search(self, text: str, *, level_hint: Optional[str] = None, limit: int = 3) -> List[Hit]:
        """The best ``limit`` procedures for a citizen's words, best first."""
        return [h for h, _ in self._ranked(text, level_hint)[1][:limit]]

    def _ranked(self, text: str, level_hint: Optional[str]) -> Tuple[_Query, List[Tuple[Hit, tuple]]]:
        """The query and its candidates with (share of the question explained, share of the name said)."""
        q = self._query(text, level_hint)
        if not q.terms or not self.records:
            return q, []
        doc_scores = np.zeros(int(self._doc_starts[-1]))
        field_scores = np.zeros(len(self.records))
        for t in q.terms:
            if t in self._postings:
                ids, ws = self._postings[t]
                doc_scores[ids] += ws
            for extra in (self._field_postings, self._hint_postings):   # summed: they add to the name
                if t in extra:
                    ids, ws = extra[t]
                    field_scores[ids] += ws
        scores = np.maximum.reduceat(doc_scores, self._doc_starts[:-1]) + field_scores   # a record's best name
        k = min(CANDIDATES, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[scores[top] > 0]
        char_text = " ".join(w for w in q.effective if w not in st.QUERY_STOPWORDS and w != "|")
        char_scores = self._char.scores(char_text) if self._char is not None else np.zeros(len(scores))
        extra = [i for i, _ in CharIndex.top(char_scores, CHAR_CANDIDATES)]
        top = np.unique(np.concatenate([top, np.array(extra, dtype=top.dtype)])) if extra else top
        if not len(top):
            return q, []
        best_bm25 = float(scores[top].max()) or 1.0
        best_char = max(float(char_scores[top].max()), CHAR_FLOOR)
        phrase_scores = np.zeros(len(scores), dtype=np.float32)
        phrase_scores[top] = self._phrase.scores(" ".join(q.said), top)
        best_phrase = max(float(phrase_scores[top].max()), PHRASE_FLOOR)
        # the question's terms that can count: known to the catalogue, or content words it lacks
        told = set(st.terms(q.said + ["|"] + q.effective))   # what the citizen said; with the ordinary cases:
        said_terms = told | set(st.terms(" | ".join(st.DEFAULTS).split()))
        content = [t for t in dict.fromkeys(st.terms(q.plain, st.QUERY_STOPWORDS)) if t in self._idf or "_" not in t]
        # what the decision counts as said: no pair of two chat words ("giấy tờ", "cho em")
        chat = {t for t in content if "_" in t and set(t.split("_")) <= st.QUERY_STOPWORDS}
        # an everyday phrase counts as one unit, as heavy as its strongest official word (at most two of it, three
        # for an abbreviation), covered by the share of its official terms (or of its own words) a record holds
        units = []
        for phrase, official in q.units:
            alts = [[t for t in dict.fromkeys(st.terms(v, st.QUERY_STOPWORDS)) if t in self._idf or "_" not in t]
                    for v in (official, phrase)]
            alts = [(a, sum(self._idf_of(t) for t in a) or 1.0) for a in alts if a]
            singles = [self._idf_of(w) for w in official if w not in st.QUERY_STOPWORDS]
            if alts and singles:   # (an abbreviation: the very official words, written short)
                cap = (UNIT_WEIGHT + (" ".join(phrase) in st.ABBREVIATIONS)) * max(singles)
                units.append((min(sum(singles), cap), alts))
        conf = {t: min(self._fix_weight.get(w, CORRECTED_WEIGHT) for w in set(t.split("_")) & q.corrected)
                for t in content if set(t.split("_")) & q.corrected}
        unit_weight = sum(w for w, _ in units)
        q_weight = (sum(self._idf_of(t) for t in content) + unit_weight) or 1.0
        d_weight = (sum(self._idf_of(t) for t in content if t not in chat) + unit_weight) or 1.0
        out, side = [], question_side(self._idf_of, content, conf, chat, units)
        cover = np.column_stack([self._all_terms.coverage(side, top), self._official_terms.coverage(side, top),
                                 self._shares.best(said_terms, top)])
        for i, (covered, chatted, official, chatted_official, n_rank, n_name, n_hint) in zip(top.tolist(),
                                                                                             cover.tolist()):
            rec = self.records[i]
            q_rank, q_cov = covered / q_weight, (covered - chatted) / d_weight
            q_official = (official - chatted_official) / d_weight   # explained without the hints: for a sure answer
            qualifier = self._qualifier_key[i]
            n_cov = max(n_name, n_hint if n_hint >= HINT_NAME_MIN else 0.0)
            char = (W_CHAR * float(char_scores[i]) / best_char + W_PHRASE * float(phrase_scores[i]) / best_phrase
                    - FORCE_PENALTY * unnamed(rec.forces, q.forces))   # orders only: no evidence of a find
            score = W_QUERY * q_rank + W_NAME * n_rank + W_BM25 * float(scores[i]) / best_bm25 + char
            rec_level = self._name_level[i] or rec.level
            if q.level and rec_level:
                score += LEVEL_BONUS if rec_level == q.level else -LEVEL_MISMATCH
            elif not q.level and rec_level == "central":   # no level said: the province's and communes' first
                score -= CENTRAL_PENALTY
            score -= UNSAID_PENALTY * st.special_count(self._distinctive[i] - q.distinctive - q.covered - st.DEFAULTS)
            score -= LACKS_PENALTY * len(self._lacks(q, rec.code))   # "nước ngoài" said, not in the name
            # the action said or implied ("đính chính", "mất": "Cấp lại ...") is the one the name carries out
            if (q.implied | (q.distinctive & st.ACTIONS)) & self._core_distinctive[i]:
                score += ACTION_BONUS
            score += LOCAL_BONUS * rec.local - FOREIGN_PENALTY * rec.foreign   # the province's own / another's
            if qualifier:   # "... đối với người nước ngoài" said, or not (the plain sibling first)
                said = share(qualifier, told)
                score += QUALIFIER_BONUS * said - QUALIFIER_PENALTY * (1 - said) * self._qualifier[i][1]
            if q.accented:   # "thuê" written, the name only has "thuế" ("lái" / "lại" ...): another word
                score -= ACCENT_PENALTY * self._accent_mismatches(q, i)
            out.append((Hit(rec.code, rec.name, round(score, 4)), (q_cov, n_cov, char, n_name, q_official)))
        out.sort(key=lambda h: (-h[0].score, not self.records[self._idx[h[0].code]].local, len(h[0].name), h[0].name))
        return q, self._collapse(out, q.level)

    def _accent_mismatches(self, q: _Query, i: int) -> int:
        """How many words the citizen wrote with diacritics record ``i`` has only in another accented form."""
        return sum(1 for f, forms in q.accented.items() if f in self._folded_accented[i]
                   and not forms & self._accented[i] and f not in st.QUERY_STOPWORDS)

    def _level(self, i: int) -> Optional[str]:
        return self._name_level[i] or self.records[i].level

    def _collapse(self, ranked, level: Optional[str]):
        """One hit per group of same-named records (published at several levels or by several provinces): the
        group's best score, answered by :meth:`representative`. Entries are ``(hit, (share of question, share of
        name, ordering-only part, ambiguous, share of the name without the hints, share of question without the
        hints))``; ambiguous: several members remain equally right (same level, none the province's own)."""
        seen, out = set(), []
        for hit, (q_cov, n_cov, char, n_name, q_official) in ranked:
            i = self._idx[hit.code]
            g = self._group[i]
            if g in seen:
                continue
            seen.add(g)
            members = self._members[g]
            ambiguous = False
            if len(members) > 1:
                best = self.representative(g, level, i)
                rec = self.records[best]
                hit = Hit(rec.code, rec.name, hit.score)
                ambiguous = not rec.local and sum(self._level(m) == self._level(best) for m in members) > 1
            out.append((hit, (q_cov, n_cov, char, ambiguous, n_name, q_official)))
        return out

    def representative(self, group: int, level: Optional[str], first: int = -1) -> int:
        """The member of a group that answers a citizen of this province: the level named, else the
        province's own record, else not a central one, else ``first`` (the best-ranked)."""
        return min(self._members[group], key=lambda m: (
            level is not None and self._level(m) != level, not self.records[m].local, self._level(m) == "central",
            m != first, self.records[m].code))

    # ------------------------------------------------------------------ decision
    def _lacks(self, q: _Query, code: str) -> Set[str]:
        """Distinctive words the citizen said that record ``code`` lacks ("quốc tế", "cấp lại" ...)."""
        i = self._idx[code]
        return st.lacking(q.distinctive, self._distinctive[i], self._all_words[i])

    def contradicts(self, text: str, code: str) -> List[str]:
        """What in ``text`` makes ``code`` the wrong procedure: a distinctive word it lacks (sorted)."""
        return sorted(self._lacks(self._query(text, None), code)) if code in self._idx else []

    def names_pair(self, first: str, second: str) -> bool:
        """Whether the folded words stand side by side in a procedure's name or alias ("tai nan")."""
        return f"{first}_{second}" in self._postings

    def decide(self, text: str, *, level_hint: Optional[str] = None) -> Decision:
        """Search, then answer, offer, offer as a maybe or not find (:func:`bot.catalogue.search_decide.decide`)."""
        from bot.catalogue.search_decide import decide

        q, ranked = self._ranked(text, level_hint)
        return decide(self, q, ranked)

