"""The importer's validation problems in Vietnamese, for the staff console (the CLI keeps the English ones)."""

from __future__ import annotations

import re
from typing import List, Tuple

LABELS = {
    "code": "Mã thủ tục", "name": "Tên thủ tục", "aliases": "Tên gọi khác", "field": "Lĩnh vực",
    "level": "Cấp thực hiện", "agency": "Cơ quan giải quyết", "submit_place": "Nơi nộp", "steps": "Các bước",
    "channels": "Cách nộp", "documents": "Giấy tờ", "conditions": "Điều kiện", "result": "Kết quả",
    "legal_basis": "Căn cứ pháp lý", "online_level": "Mức trực tuyến", "online_url": "Địa chỉ trực tuyến",
    "notes": "Ghi chú", "unconfirmed": "Số liệu chưa xác minh", "source": "Nguồn", "checked_on": "Ngày kiểm tra",
    "verified_by": "Người xác minh",
}
CHANNEL_NAMES = {"direct": "trực tiếp", "post": "bưu chính", "online": "trực tuyến"}

#: The problems without a variable part.
_FIXED = {
    "aliases must be texts": "tên gọi khác phải là chữ",
    "checked_on must be a date YYYY-MM-DD": "ngày kiểm tra phải có dạng NNNN-TT-NN",
    "online procedures need an online_url": "thủ tục trực tuyến cần có địa chỉ trực tuyến",
    "channels must be a non-empty list": "cần ít nhất một cách nộp",
    "fee_vnd must be a non-negative integer or null": "lệ phí (đồng) phải là số nguyên không âm hoặc để trống",
    "duration_days must be a non-negative integer or null": "số ngày phải là số nguyên không âm hoặc để trống",
    "documents must be a list": "giấy tờ phải là một danh sách",
    "document original/copy must be whole numbers": "số bản chính/bản sao phải là số nguyên",
    "aliases and legal_basis must be lists": "tên gọi khác và căn cứ pháp lý phải là danh sách",
    "a procedure must be an object": "mỗi thủ tục phải là một đối tượng JSON",
    "expected an object with a 'procedures' list": "cần một đối tượng có danh sách 'procedures'",
}
#: The others: ``{label}`` and ``{channel}`` name the field or channel of the first group, ``{0}`` quotes it.
_RULES: List[Tuple[re.Pattern, str]] = [
    (re.compile(r"^missing '(\w+)'$"), "thiếu «{label}»"),
    (re.compile(r"^'(\w+)' must be text$"), "«{label}» phải là chữ"),
    (re.compile(r"^(\w+) must be a list of texts$"), "«{label}» phải là danh sách các dòng chữ"),
    (re.compile(r"^bad code (.+)$"), "mã thủ tục không hợp lệ: {0}"),
    (re.compile(r"^level must be one of .*$"), "cấp thực hiện phải là central (trung ương), province (tỉnh) "
                                               "hoặc commune (xã)"),
    (re.compile(r"^online_level must be one of .*$"), "mức trực tuyến phải là full (toàn trình), partial (một phần) "
                                                      "hoặc none (không)"),
    (re.compile(r"^channel kind must be one of .*$"), "cách nộp phải là direct (trực tiếp), post (bưu chính) "
                                                      "hoặc online (trực tuyến)"),
    (re.compile(r"^channel (\w+) needs duration and fee$"), "cách nộp {channel} cần có thời hạn và lệ phí"),
    (re.compile(r"^each document needs a name and kind in .*$"),
     "mỗi giấy tờ cần có tên và loại submit (nộp) hoặc show (xuất trình)"),
    (re.compile(r"^duplicate code \(first at line (\d+)\)$"), "trùng mã (lần đầu ở dòng {0})"),
    (re.compile(r"^invalid JSON: (.*)$"), "JSON không hợp lệ: {0}"),
]
_PREFIX = re.compile(r"^([^:\s]{1,40}): (.*)$")


def vietnamese(problem: str) -> str:
    """One problem message of :func:`bot.catalogue.importer.validate_record` (optionally ``code: ``-prefixed)."""
    prefix, message = "", problem
    found = _PREFIX.match(problem)
    if found and not problem.startswith("invalid JSON"):
        prefix, message = found.group(1) + ": ", found.group(2)
    if message in _FIXED:
        return prefix + _FIXED[message]
    for pattern, template in _RULES:
        match = pattern.match(message)
        if match:
            key = match.group(1) if match.groups() else ""
            text = template.format(*match.groups(), label=LABELS.get(key, key),
                                   channel=CHANNEL_NAMES.get(key, key))
            return prefix + text
    return problem
