"""The console's SVG charts, Vietnamese number formats and conversation references (pure functions)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from bot.analytics import AnalyticsInputError
from console.analytics_view import column_label, decode_ref, encode_ref, vi_error
from console.charts import BOTTOM, HEIGHT, TOP, Series, bar_chart, hbar_chart, line_chart, number, short_label

NS = {"s": "http://www.w3.org/2000/svg"}


def _svg(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # well-formed XML, or this raises


def test_numbers_are_written_the_vietnamese_way() -> None:
    assert number(1234567) == "1.234.567" and number(1234.56) == "1.234,6" and number(None) == "–"
    assert number(0.99, percent=True) == "99 %" and number(0.2173, percent=True) == "21,7 %"
    assert number(4.3333, digits=2) == "4,33"
    assert short_label("2024-03-04") == "04/03" and short_label("2024-W10") == "T10/24"


def test_bars_are_proportional_and_stacked_bars_add_up() -> None:
    svg = _svg(bar_chart("Hội thoại", "c", ["2024-03-04", "2024-03-05"],
                         [Series("a", "Zalo", [1, 3]), Series("b", "Telegram", [1, None])], stacked=True))
    bars = svg.findall("s:rect[@class='bar']", NS)
    assert [(b.get("data-series"), float(b.get("data-value"))) for b in bars] == [("a", 1), ("b", 1), ("a", 3)]
    heights = [float(b.get("height")) for b in bars]
    assert abs(heights[2] - 3 * heights[0]) < 0.2
    plot = HEIGHT - TOP - BOTTOM
    assert abs(heights[2] - plot * 3 / 5) < 0.2  # axis up to 5 (the next nice number above 3 + 0)
    assert svg.find("s:title", NS).text == "Hội thoại"
    assert [t.text for t in svg.findall("s:text[@class='xlabel']", NS)] == ["04/03", "05/03"]
    assert [t.text for t in svg.findall("s:text[@class='legend']", NS)] == ["Zalo", "Telegram"]


def test_target_line_and_percent_axis() -> None:
    svg = _svg(line_chart("Hài lòng", "s", ["2024-W10", "2024-W11", "2024-W12"],
                          [Series("share", "4–5 sao", [0.5, None, 1.0])], percent=True, target=0.99,
                          target_label="Mục tiêu"))
    target = svg.find("s:line[@class='target']", NS)
    assert target.get("data-value") == "0.99"
    assert abs(float(target.get("y1")) - (TOP + (HEIGHT - TOP - BOTTOM) * 0.01)) < 0.2
    assert svg.find("s:text[@class='target-label']", NS).text == "Mục tiêu 99 %"
    assert [t.text for t in svg.findall("s:text[@class='tick']", NS)][-1] == "100 %"
    assert len(svg.findall("s:polyline", NS)) == 2  # the missing week breaks the line
    assert [p.get("data-value") for p in svg.findall("s:circle[@class='point']", NS)] == ["0.5", "1.0"]


def test_labels_are_escaped_and_empty_charts_say_so() -> None:
    svg = hbar_chart("Câu hỏi", "u", [("<script>alert(1)</script> & gọi 098•••", 3)])
    assert "<script>" not in str(svg) and "&lt;script&gt;" in str(svg)
    _svg(svg)
    empty = str(bar_chart("x", "e", ["2024-03-04"], [Series("a", "A", [0])]))
    assert "Không có số liệu trong khoảng này" in empty
    assert "Không có số liệu" in str(hbar_chart("x", "h", []))
    assert len(re.findall('class="xlabel"', str(bar_chart("x", "m", [f"l{i}" for i in range(100)],
                                                          [Series("a", "A", [1] * 100)])))) <= 14


def test_conversation_refs_are_opaque_and_tamper_proof() -> None:
    ref = encode_ref("zalo:0912345678")
    assert "0912345678" not in ref and ":" not in ref and "/" not in ref
    assert decode_ref(ref) == "zalo:0912345678" and encode_ref("zalo:0912345678") == ref
    assert decode_ref(ref[:-2] + ("AA" if not ref.endswith("AA") else "BB")) is None
    assert decode_ref("") is None and decode_ref("%%%") is None and decode_ref("A" * 700) is None


def test_errors_and_columns_in_vietnamese() -> None:
    assert vi_error(AnalyticsInputError("end must not be before start")) == "Ngày kết thúc không được trước ngày bắt đầu."
    assert vi_error(AnalyticsInputError("invalid page cursor")).startswith("Con trỏ trang")
    assert column_label("conversations.telegram_group") == "Hội thoại · Nhóm Telegram"
