"""How much of a procedure's name a question says (the name side of the search's re-rank), and how
much of the question a record's terms explain (:func:`coverage`, the question side).

Each name variant (the name's core, its parentheticals and alternatives, aliases, search hints) is
reduced once, when the index is built, to its content terms with their IDF weights, so a question
only sums the weights of the terms it says."""

from __future__ import annotations

from typing import AbstractSet, Callable, Dict, Sequence, Tuple

from bot.catalogue import search_text as st

Key = Tuple[Tuple[Tuple[str, float], ...], float]   # ((term, idf), ...), total idf


def cover_key(variant: Sequence[str], idf_of: Callable[[str], float], plain: bool = False) -> Key:
    """The weighted content terms of a name variant; with ``plain``, without the generic action the
    name starts with ("Đăng ký khai sinh" is all said by "khai sinh")."""
    for action in st.GENERIC_ACTIONS if plain else ():
        n = len(action.split())
        if len(variant) > n + 1 and " ".join(variant[:n]) == action:
            variant = variant[n:]
            break
    content = list(dict.fromkeys(st.terms(variant, st.QUERY_STOPWORDS))) or list(variant)
    pairs = tuple((t, idf_of(t)) for t in content)
    return pairs, (sum(w for _, w in pairs) or 1.0)


def share(key: Key, said: set) -> float:
    """IDF-weighted share of the variant's terms that are in ``said``."""
    pairs, total = key
    return sum(w for t, w in pairs if t in said) / total


def best_share(keys: Sequence[Key], said: set) -> float:
    """The largest share over a record's variants (0 without any)."""
    return max((share(k, said) for k in keys), default=0.0)


def coverage(idf_of: Callable[[str], float], terms: AbstractSet[str], content: Sequence[str], conf: Dict[str, float],
             chat: AbstractSet[str], units: Sequence[Tuple[float, list]]) -> Tuple[float, float]:
    """The question side: summed IDF of the question's content terms (a typo-corrected one at ``conf``) and
    everyday phrases (each as heavy as its weight, by the best share of one of its alternatives) that a
    record's ``terms`` hold, and summed IDF of its chat pairs they hold."""
    covered = sum(idf_of(t) * conf.get(t, 1.0) for t in content if t in terms)
    for weight, alts in units:
        covered += weight * max(sum(idf_of(t) for t in a if t in terms) / total for a, total in alts)
    return covered, sum(idf_of(t) for t in chat if t in terms)
