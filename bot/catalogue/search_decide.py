"""The decision rule of the procedure search (:meth:`bot.catalogue.search.ProcedureIndex.decide`).

From the ranked hits of a question: ``sure`` (answer one procedure), ``choose`` (offer the top 3),
``maybe`` (say it was not found for sure, and offer the top 3 all the same) or ``none`` ("not in the
catalogue").

* ``none`` when the best record scores too little on the words (not the letters; a word the catalogue
  only knows after a typo correction counts half), or when none of the three that would be offered
  explains enough of the question.
* ``maybe`` when the best word score is just under that floor (from MAYBE_FROM): there, a citizen telling
  a long situation whose procedure is among the three is about as frequent as a question no procedure
  covers, so the assistant says both: not found for sure (with the hotline), and the nearest three.
* never ``sure`` when the citizen said a distinctive word the best record lacks ("quốc tế"), when the
  best record carries a distinctive word the citizen did not say beyond the ordinary case ("cấp lại"
  for "giấy phép lái xe"), when a close rival has the same core name, when several records of that
  name remain at the same level, when the level said is not the best's, or when the best record
  leaves a significant word another candidate explains (a partial name is enough when the best
  explains the whole question and stands clear of the rest). A rival with an *extra* distinctive word ("Đăng ký lại khai
  sinh" beside "Đăng ký khai sinh") is no reason to ask: the plain record is what an unqualified
  question means.
* never ``sure`` when the citizen's words reach into a qualifier of the best's name that carries a foreign
  element they did not say ("... tại Việt Nam của luật sư nước ngoài" for "giấy phép hành nghề luật sư").
* never ``sure`` with an armed force's own procedure (:mod:`.search_forces`) when the citizen named neither
  that force nor its people.
* never ``sure`` when the citizen said an action ("mất", "đổi": cấp lại, cấp đổi) that the best does not
  carry out while a close candidate does, nor when the best is a curated record one of whose aliases is
  another procedure's very name (both are offered: the data cannot tell them apart).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Tuple

from bot.catalogue import search_text as st
from bot.catalogue.search_forces import unnamed

if TYPE_CHECKING:  # pragma: no cover
    from bot.catalogue.search import Decision, ProcedureIndex

# Three records that explain less than EXPLAIN_MIN of the question (or a best scoring less than NONE_BELOW
# on the words) are no answer; SURE_* are the floors of a sure answer.
NONE_BELOW, EXPLAIN_MIN, NAME_MIN = 0.45, 0.25, 0.1
MAYBE_FROM = 0.40   # a best word score from here to NONE_BELOW: "not found for sure", with the three offered
SURE_FROM, SURE_MARGIN, CONFLICT_WINDOW = 0.70, 0.10, 0.15
SURE_QUERY, SURE_NAME, SIGNIFICANT_IDF = 0.8, 0.85, 2.5
SURE_OFFICIAL = 0.6
CLEAR_MARGIN, CLEAR_QUERY, SURE_NAME_CLEAR = 0.2, 0.95, 0.5
ACTION_WINDOW = 0.3   # how far below the best a candidate carrying out the action said still counts
RIVALS = 10   # candidates looked at for a word the best leaves unexplained
LEVEL_PHRASES = frozenset({"cap tinh", "cap xa", "cap trung uong", "cap bo"})
# A message the NLU could not place names a procedure when it says NAME_SAID_MIN of the best record's name
# with words that record holds worth WORD_MASS_MIN of summed rarity (IDF: about two uncommon words).
NAME_SAID_MIN, WORD_MASS_MIN = 0.35, 8.0
FOREIGN_ELEMENT = frozenset(st.DISTINCTIVE[1]) - st.DEFAULTS   # "nước ngoài", "quốc tế", "nhập khẩu" ...


def _said(q) -> frozenset:
    """The distinctive phrases a name may carry without being a case the citizen did not ask for."""
    return q.distinctive | q.implied | q.covered | st.DEFAULTS | LEVEL_PHRASES


def unsaid(index: "ProcedureIndex", q, code: str) -> frozenset:
    """Distinctive words of record ``code``'s core name the citizen did not say, beyond the ordinary
    case and the level."""
    return index._core_distinctive[index._idx[code]] - _said(q)


def special(index: "ProcedureIndex", q, code: str) -> frozenset:
    """Like :func:`unsaid` over the whole name ("... thực hiện bằng dịch vụ công trực tuyến toàn trình")."""
    return index._distinctive[index._idx[code]] - _said(q)


def foreign_qualifier(index: "ProcedureIndex", q, code: str) -> frozenset:
    """A foreign element ("nước ngoài") the citizen did not say in the qualifier of record ``code``'s name, when
    the question's words are found there: "giấy phép hành nghề luật sư" is not "Cấp Giấy phép hành nghề tại
    Việt Nam của luật sư nước ngoài" (a qualifier the question does not reach is a case, not the procedure)."""
    i = index._idx[code]
    name = index.records[i].name
    tail = set(st.record_words(name)) - set(index._name_words[i][0]) - st.QUERY_STOPWORDS
    if not tail & set(q.effective):
        return frozenset()
    return frozenset(p for p in special(index, q, code) & FOREIGN_ELEMENT if not set(p.split()) <= set(q.said))


def evidence(index: "ProcedureIndex", text: str) -> Tuple[float, float]:
    """How strongly ``text`` names its best record: (share of that record's name said, summed IDF of the
    question's content words the record holds); (0, 0) when nothing matches."""
    q, ranked = index._ranked(text, None)
    if not ranked:
        return 0.0, 0.0
    top, (_, n_cov, *_) = ranked[0]
    words = index._all_words[index._idx[top.code]]
    content = {w for w in q.effective if w not in st.QUERY_STOPWORDS and w != "|"}
    return n_cov, sum(index._idf_of(w) for w in content if w in words)


def names_a_procedure(index: "ProcedureIndex", text: str) -> bool:
    """Whether the search's own evidence says ``text`` is about a procedure (see NAME_SAID_MIN)."""
    said, mass = evidence(index, text)
    return said >= NAME_SAID_MIN and mass >= WORD_MASS_MIN


def decide(index: "ProcedureIndex", q, ranked: List[Tuple[object, tuple]]) -> "Decision":
    from bot.catalogue.search import Decision, Hit

    if not ranked:
        return Decision("none", reason="no match")
    hits = tuple(h for h, _ in ranked[:3])
    top, (q_cov, n_cov, char, ambiguous, n_name, q_official) = ranked[0]
    words = top.score - char   # found-or-not is for the words to say, not likeness or an unnamed force
    if words < MAYBE_FROM:
        return Decision("none", hits, reason=f"best word score {words:.2f} < {MAYBE_FROM}")
    shown = max(c[0] for _, c in ranked[:3])   # the buttons: one of them may explain what the best does not
    if shown < EXPLAIN_MIN:
        return Decision("none", hits, reason=f"the best three explain {shown:.2f} of the question < {EXPLAIN_MIN}")
    if n_cov < NAME_MIN and q_cov < SURE_QUERY:  # a word or two in passing, and the rest unexplained
        return Decision("none", hits, reason=f"question says {n_cov:.2f} of the best name, explains {q_cov:.2f}")
    if words < NONE_BELOW:
        return Decision("maybe", hits, reason=f"best word score {words:.2f} < {NONE_BELOW}")
    idx = index._idx
    contested = index._contested[idx[top.code]]
    if contested:   # an alias of the best is another record's name: offer that record too
        other = index.records[index.representative(contested[0], q.level)]
        if other.code not in {h.code for h in hits}:
            hits = (hits[0], Hit(other.code, other.name, hits[0].score)) + hits[1:2]
        return Decision("choose", hits, reason=f"an alias of the best is the name of {other.code}")
    if index.records[idx[top.code]].foreign:   # its agency and address are another province's: ask
        return Decision("choose", hits, reason="best is another province's record")
    forces = index.records[idx[top.code]].forces
    if unnamed(forces, q.forces):   # the army's or police's own procedure, asked by someone naming neither
        return Decision("choose", hits, reason=f"best is the own procedure of {sorted(forces)}, none named")
    missing = index._lacks(q, top.code)
    if missing:
        return Decision("choose", hits, reason=f"best lacks said {sorted(missing)}")
    extra = unsaid(index, q, top.code)
    if extra:
        return Decision("choose", hits, reason=f"best carries unsaid {sorted(extra)}")
    foreign = foreign_qualifier(index, q, top.code)
    if foreign:
        return Decision("choose", hits, reason=f"the question's words are in a qualifier with unsaid {sorted(foreign)}")
    # an action the citizen said ("mất", "đổi": cấp lại, cấp đổi) that the best does not carry out while
    # a close candidate does: the words point at the other record
    if q.implied and not q.implied & index._distinctive[idx[top.code]]:
        for hit, _ in ranked[1:RIVALS]:
            if hit.score < top.score - ACTION_WINDOW:
                break
            if q.implied & index._distinctive[idx[hit.code]]:
                return Decision("choose", hits, reason=f"said action {sorted(q.implied)} is {hit.code}'s")
    top_special = special(index, q, top.code)
    for hit, _ in ranked[1:]:
        if hit.score < top.score - CONFLICT_WINDOW:
            break
        if index._name_words[idx[hit.code]][0] == index._name_words[idx[top.code]][0] and (
                top_special or not special(index, q, hit.code)):   # not: the plain one beside a special case
            return Decision("choose", hits, reason="same core name")
    if ambiguous:
        return Decision("choose", hits, reason="several records of that name at that level")
    top_level = index._level(idx[top.code])
    if q.level and top_level and top_level != q.level:
        return Decision("choose", hits, reason=f"said level {q.level}, best is {top_level}")
    top_words = index._all_words[idx[top.code]]
    # a significant word the best leaves unexplained matters when another candidate explains it (or it
    # is a number: "mức 1" is not "mức 02"); a typo-corrected word is no evidence, and an everyday phrase
    # is explained by any of its official words
    others = [index._all_words[idx[h.code]] for h, _ in ranked[1:RIVALS]]
    unit_words = {w for _, official in q.units for w in official}
    explained_units = {w for _, official in q.units if top_words & set(official) for w in official}
    unexplained = [w for w in dict.fromkeys(q.effective) if w not in st.QUERY_STOPWORDS and w not in top_words
                   and w not in q.corrected and w not in explained_units and index._idf_of(w) >= SIGNIFICANT_IDF
                   and (w.isdigit() or w in unit_words or any(w in o for o in others))]
    if unexplained:
        return Decision("choose", hits, reason=f"best leaves {unexplained} unexplained")
    # a partial name is enough when the best explains the whole question and stands clear of the rest
    rivals = [h for h, _ in ranked[1:] if not unsaid(index, q, h.code)]
    clear = not rivals or rivals[0].score <= top.score - CLEAR_MARGIN
    # a sure answer needs the official name (or a curated alias) said, and the question explained by the
    # record's own words: what only a search hint says or explains is asked about
    if (q_cov < SURE_QUERY or q_official < SURE_OFFICIAL
            or n_name < (SURE_NAME_CLEAR if clear and q_cov >= CLEAR_QUERY else SURE_NAME)):
        return Decision("choose", hits, reason=f"coverage {q_cov:.2f}/{n_name:.2f}, without hints {q_official:.2f}")
    if top.score < SURE_FROM:
        return Decision("choose", hits, reason=f"best score {top.score:.2f} < {SURE_FROM}")
    # a rival that is a special case the citizen did not ask for ("Đăng ký lại ...") is no rival of
    # the plain record (the best one carries no unsaid distinctive word here)
    if rivals and rivals[0].score > top.score - SURE_MARGIN:
        return Decision("choose", hits, reason="close second")
    return Decision("sure", hits, code=top.code, reason="clear winner")
