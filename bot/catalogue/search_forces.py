"""The armed forces' own procedures in the procedure search (issue 12).

The national catalogue holds, beside a procedure for everyone, the police's or the army's own version for
their people ("Cấp lại thẻ bảo hiểm y tế" submitted at the police unit that manages the officer, "Thủ tục cấp
mới giấy phép hành nghề khám bệnh, chữa bệnh" of the army's medical department), often under the very same
name. Which force a record serves, and which force a question names, come from the ``forces:`` section of
``data/search_vocabulary.yml`` (a field's mark such as "BQP", the words a citizen uses for a force, the
people of a force a place of submission names)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Optional, Sequence, Tuple

import yaml

from bot.catalogue.search_text import VOCABULARY_FILE, record_words


def _folded(text: Optional[str]) -> str:
    """Folded words of a text, padded with spaces (phrases are then found at word bounds)."""
    return f" {' '.join(record_words(text))} "


@lru_cache(maxsize=4)
def load_forces(path: Path = VOCABULARY_FILE) -> Tuple[Dict[str, Tuple[FrozenSet[str], Tuple[str, ...]]],
                                                       Tuple[str, ...]]:
    """Per force its field marks and words (folded, padded with spaces), and the members' phrases."""
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("forces") or {}
    forces = {name: (frozenset(_folded(m).strip() for m in spec.get("field_marks") or ()),
                     tuple(_folded(w) for w in spec.get("words") or ()))
              for name, spec in data.items() if name != "members" and isinstance(spec, dict)}
    return forces, tuple(_folded(m) for m in data.get("members") or ())


def _named(text: str) -> FrozenSet[str]:
    """The forces whose words or people a folded, padded text names (the people of any force: all)."""
    forces, members = load_forces()
    named = frozenset(f for f, (_, words) in forces.items() if any(w in text for w in words))
    return named or (frozenset(forces) if any(m in text for m in members) else frozenset())


def record_forces(field: Optional[str], submit_place: Optional[str]) -> FrozenSet[str]:
    """The forces a record serves: its field's mark ("Chính sách BQP"), or the forces its place of
    submission names with their people ("... đơn vị Công an quản lý trực tiếp sĩ quan, hạ sĩ quan ...")."""
    forces, members = load_forces()
    field_words = set(_folded(field).split())
    marked = frozenset(f for f, (marks, _) in forces.items() if marks & field_words)
    if marked:
        return marked
    place = _folded(submit_place)
    return _named(place) if any(m in place for m in members) else frozenset()


def said_forces(words: Sequence[str]) -> FrozenSet[str]:
    """The forces a question's folded words name, by the force ("bộ đội", "công an") or its people."""
    return _named(f" {' '.join(words)} ")


def unnamed(forces: FrozenSet[str], said: FrozenSet[str]) -> bool:
    """Whether a record is an armed force's own procedure (``forces``) while the question names none of them."""
    return bool(forces) and not forces & said
