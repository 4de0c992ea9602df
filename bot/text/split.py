"""Cutting long replies into the pieces a messaging platform accepts (pure).

Paragraphs are packed greedily; a paragraph longer than the limit is cut at line
breaks, then at spaces, and only a single word longer than the limit is cut mid-word.
"""

from __future__ import annotations

import re
from typing import Callable, List, Sequence


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (how Telegram counts its 4096 limit)."""
    return len(text.encode("utf-16-le")) // 2


_SEPARATORS = ("\n\n", "\n", " ")


def split_message(text: str, limit: int, length: Callable[[str], int] = len) -> List[str]:
    """Split ``text`` into chunks of at most ``limit``, preferring paragraph boundaries.

    Paragraphs (blank-line separated) are packed greedily; a paragraph longer than the
    limit is cut at line breaks, then at spaces, and only a single word longer than the
    limit is cut mid-word.

    Args:
        text: the reply.
        limit: maximum chunk length.
        length: how to measure (``len``, or :func:`utf16_len` for Telegram).
    """
    text = re.sub(r"\n[ \t]*\n\s*", "\n\n", text.replace("\r\n", "\n")).strip()
    if not text:
        return []
    return [chunk for chunk in _split(text, limit, length, _SEPARATORS) if chunk.strip()]


def _split(text: str, limit: int, length: Callable[[str], int], seps: Sequence[str]) -> List[str]:
    if length(text) <= limit:
        return [text]
    if not seps:
        return _hard_cut(text, limit, length)
    sep, rest = seps[0], seps[1:]
    chunks: List[str] = []
    current = ""
    for piece in text.split(sep):
        for sub in _split(piece, limit, length, rest):
            candidate = sub if not current else current + sep + sub
            if length(candidate) <= limit:
                current = candidate
            else:
                if current:
                    chunks.append(current)
                current = sub
    if current:
        chunks.append(current)
    return chunks


def _hard_cut(text: str, limit: int, length: Callable[[str], int]) -> List[str]:
    chunks: List[str] = []
    current: List[str] = []
    size = 0
    for char in text:
        width = length(char)
        if size + width > limit and current:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        chunks.append("".join(current))
    return chunks
