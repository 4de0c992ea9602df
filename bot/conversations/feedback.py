"""Feedback and satisfaction ratings from citizens."""

from __future__ import annotations

import re
from typing import Optional

from bot.db.models import Feedback
from bot.db.session import session_scope

RATING_RE = re.compile(r"(?<!\d)([1-5])(?!\d)")
MAX_TEXT = 4000


def rating_of(value: Optional[str], text: str = "", typed: bool = False) -> Optional[int]:
    """The rating 1–5 in ``value`` (the ``rating`` entity) or, when ``typed`` and there is none,
    the lone digit 1–5 in ``text`` (a bare "5"); None when there is no valid rating."""
    if value is None and typed:
        found = RATING_RE.search(text)
        value = found.group(1) if found else None
    return int(value) if value and value.isdigit() and 1 <= int(value) <= 5 else None


def record_feedback(sender_key: str, rating: Optional[int], text: str, database_url: Optional[str] = None) -> None:
    """Store a rating and/or a free-text feedback (a rating button's ``/…`` payload is not kept as text)."""
    with session_scope(database_url) as session:
        session.add(Feedback(sender_key=sender_key, rating=rating,
                             text=None if rating and text.startswith("/") else text[:MAX_TEXT]))
