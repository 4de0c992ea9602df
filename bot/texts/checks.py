"""Checks of a staff edit, field by field, with messages in Vietnamese shown next to the field.

* every placeholder the domain's variation has (the action fills it) must stay, spelt the same;
* no placeholder the response does not know may be added; braces must be balanced;
* the text may not be empty, nor longer than the channel takes (Telegram 4096 UTF-16 units,
  Zalo 2000 characters; the default wording goes to both);
* buttons need a title and a payload; an intent payload (``/name``) must name a domain intent;
  Zalo shows at most 5 buttons with titles of at most 100 characters.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from bot.text.split import utf16_len
from bot.texts.domain import (
    CHANNEL_LIMITS,
    MAX_BUTTONS,
    MAX_PAYLOAD_CHARS,
    ZALO_MAX_BUTTON_TITLE,
    ZALO_MAX_BUTTONS,
    placeholders,
)

Errors = Dict[str, List[str]]
"""Field (``text``, ``buttons``) → messages."""
_INTENT_PAYLOAD = re.compile(r"^/([A-Za-z0-9_]+)(\{.*\})?$", re.S)


def _closest(name: str, candidates: Iterable[str]) -> Optional[str]:
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def check_placeholders(text: str, required: Sequence[str], allowed: Iterable[str]) -> List[str]:
    """Messages for missing, misspelt or unknown placeholders and unbalanced braces."""
    allowed_set = set(allowed) | set(required)
    found = placeholders(text)
    messages: List[str] = []
    missing = [name for name in required if name not in found]
    for name in found:
        if name in allowed_set:
            continue
        guess = _closest(name, missing or allowed_set)
        if guess:
            messages.append(f"Chỗ điền {{{name}}} không có trong câu gốc — có phải là {{{guess}}}?")
        else:
            messages.append(f"Chỗ điền {{{name}}} không có trong câu gốc; hệ thống sẽ không điền được nó.")
    for name in missing:
        messages.append(f"Thiếu chỗ điền {{{name}}}: trợ lý điền giá trị này vào câu trả lời, không được xoá.")
    try:
        re.sub(r"{([^\n{}]+?)}", r"{0[\1]}", text).format({name: "" for name in found})
    except (ValueError, IndexError, KeyError, AttributeError):
        messages.append("Dấu ngoặc nhọn { } không khớp: chỉ dùng chúng quanh tên chỗ điền, ví dụ {procedure_name}.")
    return messages


def check_length(text: str, channel: str) -> List[str]:
    """Messages for empty text or text over the channel's limit."""
    if not text.strip():
        return ["Câu trả lời không được để trống."]
    messages = []
    limits = {channel: CHANNEL_LIMITS[channel]} if channel in CHANNEL_LIMITS else CHANNEL_LIMITS
    for name, limit in limits.items():
        length = utf16_len(text) if name == "telegram" else len(text)
        if length > limit:
            label = "Telegram" if name == "telegram" else "Zalo"
            messages.append(f"Dài {length} ký tự, quá giới hạn {limit} ký tự của {label}.")
    return messages


def check_buttons(buttons: Sequence[Mapping[str, Any]], channel: str, intents: Iterable[str]) -> List[str]:
    """Messages for buttons without a title or payload, unknown intents and Zalo's limits."""
    messages: List[str] = []
    known = set(intents)
    if len(buttons) > MAX_BUTTONS:
        messages.append(f"Tối đa {MAX_BUTTONS} nút.")
    if channel == "zalo" and len(buttons) > ZALO_MAX_BUTTONS:
        messages.append(f"Zalo chỉ hiển thị tối đa {ZALO_MAX_BUTTONS} nút.")
    for number, button in enumerate(buttons, start=1):
        title = str(button.get("title") or "").strip()
        payload = str(button.get("payload") or "").strip()
        if not title:
            messages.append(f"Nút {number}: chưa có tiêu đề.")
        elif len(title) > ZALO_MAX_BUTTON_TITLE:
            messages.append(f"Nút {number}: tiêu đề dài quá {ZALO_MAX_BUTTON_TITLE} ký tự (giới hạn của Zalo).")
        if not payload:
            messages.append(f"Nút {number}: chưa có nội dung gửi đi (payload).")
        elif len(payload) > MAX_PAYLOAD_CHARS:
            messages.append(f"Nút {number}: nội dung gửi đi dài quá {MAX_PAYLOAD_CHARS} ký tự.")
        elif payload.startswith("/"):
            match = _INTENT_PAYLOAD.match(payload)
            if not match or match.group(1) not in known:
                messages.append(f"Nút {number}: ý định {payload.split('{')[0]} không có trong domain.")
            elif match.group(2):
                try:
                    json.loads(match.group(2))
                except ValueError:
                    messages.append(f"Nút {number}: phần thực thể sau ý định không phải JSON hợp lệ.")
    return messages


def check_edit(text: str, buttons: Optional[Sequence[Mapping[str, Any]]], channel: str,
               default: Mapping[str, Any], variations: Sequence[Mapping[str, Any]],
               intents: Iterable[str]) -> Errors:
    """Every message about an edit, by field (empty: the edit may be saved).

    Args:
        text: the new wording.
        buttons: the new buttons (None: keep the domain's).
        channel: ``""``, ``"telegram"`` or ``"zalo"``.
        default: the domain's variation being reworded.
        variations: every domain variation of the response (their placeholders are allowed).
        intents: the domain's intents (button payloads).
    """
    errors: Errors = {}
    allowed = {name for variant in variations for name in placeholders(str(variant.get("text") or ""))}
    text_errors = check_length(text, channel)
    if text.strip():
        text_errors += check_placeholders(text, placeholders(str(default.get("text") or "")), allowed)
    if text_errors:
        errors["text"] = text_errors
    button_errors = check_buttons(list(buttons or []), channel, intents)
    if button_errors:
        errors["buttons"] = button_errors
    return errors
