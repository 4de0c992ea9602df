"""How Telegram and Zalo would show a message: sample values in the placeholders, parts, buttons."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

from bot.text.split import split_message, utf16_len
from bot.texts.domain import CHANNEL_LIMITS, ZALO_MAX_BUTTON_TITLE, ZALO_MAX_BUTTONS, placeholders
from bot.texts.render import interpolate_text

SAMPLES: Dict[str, str] = {
    "procedure_name": "Đăng ký khai sinh", "procedure_code": "1.001193", "name": "Đăng ký khai sinh",
    "code": "1.001193", "dossier_code": "000.00.15.H65-240312-0001", "agency": "UBND xã Tân Thịnh",
    "agency_name": "UBND xã Tân Thịnh", "submit_place": "Bộ phận Một cửa UBND xã Tân Thịnh",
    "pickup_place": "Bộ phận Một cửa UBND xã Tân Thịnh", "place": "xã Tân Thịnh", "address": "Số 1 đường Hoà Bình",
    "hotline": "1800 1096", "email": "motcua@laocai.gov.vn", "hours": "7:30–11:30, 13:30–17:00 thứ Hai đến thứ Sáu",
    "fee": "Miễn phí", "fees": "• Trực tiếp: miễn phí", "fee_due": "Không", "durations": "• Trực tiếp: ngay trong ngày",
    "channels": "trực tiếp, qua bưu chính, trực tuyến", "channel": "Trực tiếp", "value": "Miễn phí",
    "appointment": "15/03/2025", "appointment_date": "15/03/2025", "appointment_weekday": "thứ Bảy",
    "new_appointment_date": "18/03/2025", "new_appointment_weekday": "thứ Ba", "new_date": "18/03/2025",
    "days_late": "2", "count": "3", "n": "3", "dossier_count": "2", "page": "1", "pages": "3", "remaining": "4",
    "field": "hộ tịch", "field_name": "Hộ tịch", "level_name": "cấp xã", "scope": "lĩnh vực hộ tịch",
    "district": "Trấn Yên", "communes": "Tân Thịnh, Minh Quân", "old_name": "huyện Trấn Yên",
    "new_name": "xã Tân Thịnh", "status_text": "đang giải quyết", "minutes": "30", "ticket": "HT-0012",
    "portal_url": "https://dichvucong.gov.vn", "online_url": "https://dichvucong.laocai.gov.vn",
    "query": "làm sổ đỏ", "rating": "5", "checked_on": "01/12/2026", "source": "Cổng Dịch vụ công quốc gia",
}
"""Sample values shown in the preview (any other placeholder shows as ‹name›)."""


def sample_values(names: Sequence[str]) -> Dict[str, str]:
    """A sample value for each placeholder name."""
    return {name: SAMPLES.get(name, f"‹{name}›") for name in names}


def preview(text: str, buttons: Optional[Sequence[Mapping[str, Any]]]) -> Dict[str, Dict[str, Any]]:
    """Per platform: ``parts`` (the message bubbles), ``buttons`` (titles shown) and ``notes``."""
    filled = interpolate_text(text or "", sample_values(placeholders(text)))
    titles = [str(b.get("title") or "").strip() for b in buttons or []]
    result: Dict[str, Dict[str, Any]] = {}
    telegram_parts = split_message(filled, CHANNEL_LIMITS["telegram"], utf16_len) if filled.strip() else []
    result["telegram"] = {"parts": telegram_parts, "buttons": [t for t in titles if t], "notes": _notes(
        len(telegram_parts), CHANNEL_LIMITS["telegram"])}
    zalo_parts = split_message(filled, CHANNEL_LIMITS["zalo"]) if filled.strip() else []
    zalo_titles = [t[:ZALO_MAX_BUTTON_TITLE] for t in titles if t]
    notes = _notes(len(zalo_parts), CHANNEL_LIMITS["zalo"])
    if len(zalo_titles) > ZALO_MAX_BUTTONS:
        notes.append(f"Zalo chỉ hiện {ZALO_MAX_BUTTONS} nút đầu; {len(zalo_titles) - ZALO_MAX_BUTTONS} nút bị bỏ.")
        zalo_titles = zalo_titles[:ZALO_MAX_BUTTONS]
    if any(len(t) > ZALO_MAX_BUTTON_TITLE for t in titles):
        notes.append(f"Zalo cắt tiêu đề nút ở {ZALO_MAX_BUTTON_TITLE} ký tự.")
    result["zalo"] = {"parts": zalo_parts, "buttons": zalo_titles, "notes": notes}
    return result


def _notes(parts: int, limit: int) -> List[str]:
    return [f"Tin dài hơn {limit} ký tự nên được gửi thành {parts} tin."] if parts > 1 else []
