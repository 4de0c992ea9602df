"""What the analytics and conversation pages show: Vietnamese labels, chart panels, tables, error texts."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Optional

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from markupsafe import Markup

from bot.analytics import Report, report_rows
from bot.settings import get_settings
from console.charts import Series, bar_chart, hbar_chart, line_chart, number

_PROCESS_SECRET = secrets.token_hex(32)  # development without SESSION_SECRET: refs last one process
CHANNELS = {"telegram": "Telegram", "telegram_group": "Nhóm Telegram", "zalo": "Zalo", "rest": "REST (thử nghiệm)",
            "web": "Web", "other": "Khác"}
INTENTS = {
    "greet": "Chào hỏi", "goodbye": "Tạm biệt", "thank": "Cảm ơn", "affirm": "Đồng ý", "deny": "Từ chối",
    "bot_challenge": "Hỏi có phải máy", "help": "Hỏi cách dùng", "ask_procedure": "Cách làm thủ tục",
    "ask_documents": "Hồ sơ cần nộp", "ask_fee": "Lệ phí", "ask_duration": "Thời hạn giải quyết",
    "ask_place": "Nơi nộp", "ask_online": "Làm trực tuyến", "search_procedures": "Tìm thủ tục",
    "check_status": "Tra cứu hồ sơ", "subscribe_reminders": "Đăng ký nhắc", "unsubscribe_reminders": "Hủy nhắc",
    "ask_contact": "Liên hệ", "feedback": "Góp ý", "request_human": "Gặp cán bộ", "out_of_scope": "Ngoài phạm vi",
    "inform": "Cung cấp thông tin", "nlu_fallback": "Không hiểu (fallback)", "other": "Khác", "(none)": "(không rõ)",
}
COLUMNS = {
    "bucket": "Ngày/tuần", "conversations": "Hội thoại", "user_messages": "Tin nhắn người dân",
    "bot_messages": "Tin nhắn trợ lý", "fallback_messages": "Tin không hiểu", "fallback_rate": "Tỷ lệ không hiểu",
    "intent": "Ý định", "messages": "Số tin", "share": "Tỷ lệ", "handoff_requests": "Yêu cầu gặp cán bộ",
    "handoff_rate": "Tỷ lệ chuyển cán bộ", "taken": "Đã tiếp nhận", "still_waiting": "Còn chờ",
    "wait_mean_s": "Chờ trung bình (giây)", "wait_median_s": "Chờ trung vị (giây)", "wait_p90_s": "Chờ P90 (giây)",
    "ratings": "Lượt đánh giá", "mean_rating": "Điểm trung bình", "share_4_or_5": "Tỷ lệ 4–5 sao",
    "target": "Mục tiêu", "rank": "Hạng", "question": "Câu hỏi (đã che số)",
    "share_of_fallbacks": "Tỷ lệ trong tin không hiểu",
    "sent": "Đã gửi", "failed": "Lỗi", "undeliverable": "Không gửi được", "unconfirmed": "Chưa xác nhận",
    "cancelled": "Đã hủy", "in_progress": "Đang xử lý",
}
PERCENT_COLUMNS = {"fallback_rate", "share", "handoff_rate", "share_4_or_5", "target", "share_of_fallbacks"}
REPORT_TITLES = {"traffic": "Lưu lượng", "intents": "Ý định", "fallback": "Không hiểu", "handoffs": "Chuyển cán bộ",
                 "satisfaction": "Hài lòng", "unanswered": "Câu hỏi chưa trả lời được", "reminders": "Nhắc hẹn"}
_ERRORS = (  # AnalyticsInputError texts (English, for developers) → what staff read
    ("cursor", "Con trỏ trang không hợp lệ: hãy quay lại trang đầu."),
    ("end must not be before start", "Ngày kết thúc không được trước ngày bắt đầu."),
    ("at most", "Khoảng thời gian dài nhất là 732 ngày."),
    ("between 2000 and 2100", "Ngày phải nằm trong khoảng năm 2000–2100."),
    ("YYYY-MM-DD", "Ngày phải viết dạng NNNN-TT-NN (ví dụ 2024-03-05)."),
    ("granularity", "Chỉ xem được theo ngày hoặc theo tuần."),
    ("channel", "Kênh không hợp lệ."),
    ("rating", "Điểm đánh giá phải là số nguyên từ 1 đến 5."),
    ("tag", "Nhãn phải dài từ 1 đến 60 ký tự."),
    ("limit", "Số dòng mỗi trang không hợp lệ."),
    ("unknown report", "Không có báo cáo này."),
)


def vi_error(exc: Exception) -> str:
    """The Vietnamese text of an analytics input error."""
    text = str(exc)
    return next((vi for key, vi in _ERRORS if key in text), "Tham số không hợp lệ.")


def column_label(name: str) -> str:
    """Column ``conversations.zalo`` → ``Hội thoại · Zalo``."""
    base, _, channel = name.partition(".")
    label = COLUMNS.get(base, base)
    return f"{label} · {CHANNELS.get(channel, channel)}" if channel else label


def cell(name: str, value: Any) -> str:
    """A table cell written the Vietnamese way."""
    base = name.partition(".")[0]
    if name == "intent":
        return f"{INTENTS.get(value, value)} ({value})"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, (int, float)):
        return number(value, base in PERCENT_COLUMNS, digits=2 if base == "mean_rating" else 1)
    return "" if value is None else str(value)


@lru_cache(maxsize=1)
def _cipher() -> AESSIV:
    secret = get_settings().session_secret or _PROCESS_SECRET
    return AESSIV(hashlib.sha512(b"conversation-ref:" + secret.encode("utf-8")).digest())


def encode_ref(conversation_id: str) -> str:
    """The opaque URL reference of a conversation: its id encrypted (AES-SIV, deterministic, keyed by
    ``SESSION_SECRET``), so neither a URL nor the page shows the channel user id to roles that may not see it."""
    sealed = _cipher().encrypt(conversation_id.encode("utf-8"), None)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def decode_ref(ref: str) -> Optional[str]:
    """The conversation id of a reference (None: not one of ours)."""
    if not ref or len(ref) > 600:
        return None
    try:
        return _cipher().decrypt(base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4)), None).decode("utf-8")
    except (binascii.Error, InvalidTag, UnicodeDecodeError, ValueError):
        return None


@dataclass
class Panel:
    """One chart with its table (behind <details>) and its CSV download."""

    key: str
    title: str
    charts: List[Markup]
    report: str
    columns: List[str] = field(default_factory=list)
    headers: List[str] = field(default_factory=list)
    rows: List[List[str]] = field(default_factory=list)
    note: str = ""


def _table(panel: Panel, report: Report, only: Optional[List[str]] = None) -> Panel:
    rows = report_rows(report)
    columns = only or (list(rows[0]) if rows else [])
    panel.columns = columns
    panel.headers = [column_label(c) for c in columns]
    panel.rows = [[cell(c, row.get(c)) for c in columns] for row in rows]
    return panel


def _channel_series(report: Report, name: str) -> List[Series]:
    prefix = f"{name}."
    return [Series(key, CHANNELS.get(key[len(prefix):], key[len(prefix):]), values)
            for key, values in report.series.items() if key.startswith(prefix)]


def _minutes(values: List[Any]) -> List[Any]:
    return [None if v is None else round(v / 60, 1) for v in values]


def panels(reports: Dict[str, Report]) -> List[Panel]:
    """The chart panels of the analytics page, from :func:`bot.analytics.dashboard`."""
    t, i, f, h = reports["traffic"], reports["intents"], reports["fallback"], reports["handoffs"]
    s, u, r = reports["satisfaction"], reports["unanswered"], reports["reminders"]
    labels = t.labels
    out = [
        _table(Panel("conversations", "Hội thoại theo kênh", [bar_chart(
            "Hội thoại (phiên) theo kênh", "chart-conversations", labels, _channel_series(t, "conversations"),
            stacked=True)], "traffic"), t),
        _table(Panel("messages", "Tin nhắn theo kênh", [bar_chart(
            "Tin nhắn của người dân theo kênh", "chart-messages", labels, _channel_series(t, "user_messages"),
            stacked=True), bar_chart("Tin nhắn: người dân và trợ lý", "chart-messages-both", labels,
                                     [Series("user_messages", "Người dân", t.series["user_messages"]),
                                      Series("bot_messages", "Trợ lý", t.series["bot_messages"])])], "traffic"),
               t, ["bucket", "user_messages", "bot_messages", *[k for k in t.series if k.startswith("user_messages.")]],
               ),
        _table(Panel("intents", "Ý định được hỏi nhiều nhất", [hbar_chart(
            "10 ý định được hỏi nhiều nhất (số tin)", "chart-intents",
            [(INTENTS.get(row["intent"], row["intent"]), row["messages"]) for row in (i.table or [])[:10]])],
            "intents"), i),
        _table(Panel("fallback", "Tỷ lệ trợ lý không hiểu", [line_chart(
            "Tỷ lệ tin nhắn trợ lý không hiểu", "chart-fallback", labels,
            [Series("fallback_rate", "Tỷ lệ không hiểu", f.series["fallback_rate"], "#cc0000")], percent=True)],
            "fallback"), f),
        _table(Panel("handoffs", "Chuyển sang cán bộ", [line_chart(
            "Tỷ lệ hội thoại xin gặp cán bộ", "chart-handoff-rate", labels,
            [Series("handoff_rate", "Tỷ lệ chuyển cán bộ", h.series["handoff_rate"])], percent=True),
            bar_chart("Thời gian chờ cán bộ tiếp nhận (phút)", "chart-handoff-wait", labels,
                      [Series("wait_median_min", "Trung vị", _minutes(h.series["wait_median_s"])),
                       Series("wait_p90_min", "P90", _minutes(h.series["wait_p90_s"]), "#e69138")])],
            "handoffs"), h),
        _table(Panel("satisfaction", "Mức độ hài lòng", [line_chart(
            "Tỷ lệ đánh giá 4–5 sao so với mục tiêu của tỉnh", "chart-satisfaction", labels,
            [Series("share_4_or_5", "Tỷ lệ 4–5 sao", s.series["share_4_or_5"], "#6aa84f")], percent=True,
            target=s.totals["target"], target_label="Mục tiêu"),
            line_chart("Điểm đánh giá trung bình (1–5)", "chart-rating", labels,
                       [Series("mean_rating", "Điểm trung bình", s.series["mean_rating"])], y_max=5)],
            "satisfaction"), s),
        _table(Panel("unanswered", "Câu hỏi chưa trả lời được", [hbar_chart(
            "Câu hỏi trợ lý chưa trả lời được nhiều nhất (số lần)", "chart-unanswered",
            [(row["question"], row["messages"]) for row in (u.table or [])[:10]], color="#cc0000")],
            "unanswered", note="Số điện thoại và mã hồ sơ trong câu hỏi đã được che."), u),
        _table(Panel("reminders", "Nhắc hẹn", [bar_chart(
            "Nhắc hẹn đã gửi, lỗi, không gửi được", "chart-reminders", labels,
            [Series("sent", "Đã gửi", r.series["sent"], "#6aa84f"), Series("failed", "Lỗi", r.series["failed"],
                                                                          "#cc0000"),
             Series("undeliverable", "Không gửi được", r.series["undeliverable"], "#999999")], stacked=True)],
            "reminders"), r),
    ]
    return out


def tiles(reports: Dict[str, Report]) -> List[Dict[str, str]]:
    """The headline figures of the period."""
    t, f, h = reports["traffic"].totals, reports["fallback"].totals, reports["handoffs"].totals
    s, r = reports["satisfaction"].totals, reports["reminders"].totals
    wait = h.get("wait_median_s")
    met = s.get("meets_target")
    return [
        {"label": "Hội thoại", "value": number(t.get("conversations", 0))},
        {"label": "Tin nhắn người dân", "value": number(t.get("user_messages", 0))},
        {"label": "Tỷ lệ không hiểu", "value": number(f.get("fallback_rate"), True)},
        {"label": "Tỷ lệ chuyển cán bộ", "value": number(h.get("handoff_rate"), True)},
        {"label": "Chờ cán bộ (trung vị)", "value": "–" if wait is None else f"{number(wait / 60)} phút"},
        {"label": "Điểm trung bình", "value": number(s.get("mean_rating"), digits=2)},
        {"label": "Tỷ lệ 4–5 sao (mục tiêu 99 %)", "value": number(s.get("share_4_or_5"), True),
         "state": "" if met is None else ("good" if met else "bad")},
        {"label": "Nhắc hẹn gửi / lỗi / không gửi được",
         "value": f"{number(r.get('sent', 0))} / {number(r.get('failed', 0))} / {number(r.get('undeliverable', 0))}"},
    ]
