"""Groups of the procedure search (:mod:`bot.catalogue.search`): records of the same name but the level
note are one procedure published at several levels (one hit), a curated alias that is another group's
very name contests that group, and names that differ by a trailing qualifier are siblings."""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Sequence, Set, Tuple

from bot.catalogue import search_text as st
from bot.catalogue.search_records import SearchRecord


def build_groups(records: Sequence[SearchRecord]) -> Tuple[List[int], List[List[int]], List[List[int]]]:
    """Per record its group, per group its records, and per record the other groups whose name it has
    as an alias. Names are compared with their diacritics ("thuê" / "thuế" are two procedures); an
    alias written without them names every group of that folded name."""
    keys: Dict[str, int] = {}
    group: List[int] = []
    members: List[List[int]] = []
    for i, rec in enumerate(records):
        g = keys.setdefault(st.group_key(rec.name), len(keys))
        if g == len(members):
            members.append([])
        group.append(g)
        members[g].append(i)
    folded: Dict[str, Set[int]] = defaultdict(set)
    for key, g in keys.items():
        folded[st.folded_key(key)].add(g)
    # a curated alias that is another procedure's very name ("chuyển mục đích sử dụng đất" on a record
    # of "Giao đất, cho thuê đất, chuyển mục đích ..."): both records claim it, so neither is sure
    contested = [sorted(set().union(*(folded.get(st.folded_key(st.group_key(a)), set()) for a in rec.aliases))
                        - {group[i]}) for i, rec in enumerate(records)]
    return group, members, contested


def sibling_qualifiers(records: Sequence[SearchRecord], group: Sequence[int]) -> List[Tuple[List[str], bool]]:
    """Per record the trailing qualifier of its name (:func:`bot.catalogue.search_text.qualifier`) when it
    has a sibling, with whether that sibling is plain. A sibling is another procedure of the same name
    before the qualifier, or a plain one whose whole name begins it ("Đổi giấy phép lái xe" beside "Đổi
    giấy phép lái xe quân sự do Bộ Quốc phòng cấp": the qualifier is then "quân sự do Bộ Quốc phòng
    cấp"). Other names' qualifiers are a scope, not what tells two records apart, and are dropped."""
    qualifiers = [st.qualifier(rec.name) for rec in records]
    families: Dict[str, Set[int]] = defaultdict(set)
    for (key, _), g in zip(qualifiers, group):
        families[key].add(g)
    plain = {key for key, words in qualifiers if not words}
    out: List[Tuple[List[str], bool]] = []
    for key, words in qualifiers:
        head = key.split()
        shorter = next((n for n in range(len(head), 1, -1) if " ".join(head[:n]) in plain), 0) if words else 0
        if shorter:
            out.append(((head[shorter:] + ["|"] if shorter < len(head) else []) + words, True))
        else:
            out.append((words if len(families[key]) > 1 else [], False))
    return out
