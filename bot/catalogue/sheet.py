"""The catalogue as an Excel workbook staff can open, edit and import again (openpyxl).

Three sheets: ``Thủ tục`` (one row per procedure; lists one item per line in the cell),
``Cách nộp`` (one row per channel) and ``Giấy tờ`` (one row per document), joined by the code.
Reading gives records of the curated format, each with where it came from ("Thủ tục, hàng 5"),
and the problems of the cells, each with its sheet and row; the importer validates the records.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any, Dict, List, Optional, Tuple

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

MAIN, CHANNELS, DOCUMENTS, GUIDE = "Thủ tục", "Cách nộp", "Giấy tờ", "Hướng dẫn"
MAIN_COLUMNS = (
    ("code", "Mã"), ("name", "Tên thủ tục"), ("aliases", "Tên gọi khác (mỗi dòng một tên)"), ("field", "Lĩnh vực"),
    ("level", "Cấp (central/province/commune)"), ("agency", "Cơ quan giải quyết"), ("submit_place", "Nơi nộp"),
    ("steps", "Các bước (mỗi dòng một bước)"), ("conditions", "Điều kiện"), ("result", "Kết quả"),
    ("legal_basis", "Căn cứ pháp lý (mỗi dòng một văn bản)"), ("online_level", "Mức trực tuyến (full/partial/none)"),
    ("online_url", "Địa chỉ trực tuyến"), ("notes", "Ghi chú"), ("unconfirmed", "Chưa xác minh (cách nhau dấu phẩy)"),
    ("source", "Nguồn"), ("checked_on", "Ngày kiểm tra (NNNN-TT-NN)"),
)
CHANNEL_COLUMNS = (
    ("code", "Mã"), ("kind", "Cách nộp (direct/post/online)"), ("duration", "Thời hạn"), ("duration_days", "Số ngày"),
    ("fee", "Lệ phí"), ("fee_vnd", "Lệ phí (đồng)"), ("fee_status", "Tình trạng lệ phí"),
    ("fee_doubtful", "Lệ phí đáng ngờ (có/không)"), ("note", "Trường hợp"),
)
DOCUMENT_COLUMNS = (
    ("code", "Mã"), ("name", "Tên giấy tờ"), ("kind", "Loại (submit/show)"), ("original", "Bản chính"),
    ("copy", "Bản sao"), ("template", "Mẫu"), ("group", "Trường hợp"),
)
LIST_KEYS = {"aliases", "steps", "legal_basis"}
WHOLE_KEYS = {"duration_days", "fee_vnd", "original", "copy"}
MAX_ROWS = 100_000
CELL_LIMIT = 32_767  # characters Excel keeps in a cell
TRUNCATED = "_truncated"  # key of a read record: {column key: the cut cell text}
GUIDE_LINES = (
    "Sửa trực tiếp trong các trang Thủ tục, Cách nộp, Giấy tờ rồi nhập lại tệp trong bảng điều khiển.",
    "Không đổi tên cột và tên trang. Trang Cách nộp và Giấy tờ nối với trang Thủ tục bằng cột Mã.",
    "Các ô danh sách (tên gọi khác, các bước, căn cứ pháp lý): mỗi dòng trong ô là một mục (Alt+Enter).",
    "Tệp được nhập toàn bộ hoặc không gì cả: nếu có lỗi, trang nhập liệt kê từng lỗi theo trang và hàng.",
    "Thủ tục có nội dung không đổi được bỏ qua; thủ tục thay đổi được ghi là đã xác minh bởi người nhập.",
    f"Excel chỉ giữ {CELL_LIMIT} ký tự mỗi ô: ô dài hơn bị cắt; nếu không sửa ô đó, nội dung đầy đủ được giữ nguyên.",
)


class SheetError(ValueError):
    """The workbook cannot be imported; ``problems`` lists ``(where, message)`` ("Thủ tục, hàng 5")."""

    def __init__(self, problems: List[Tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{w}: {m}" for w, m in problems))


# -- writing ------------------------------------------------------------------------------------

def _header(sheet: Any, label: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=label)
    cell.font = Font(bold=True)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def cell_text(key: str, value: Any) -> Any:
    """A record's value as its cell holds it (lists one item per line)."""
    if key in LIST_KEYS:
        return "\n".join(str(v) for v in value or [])
    if key == "unconfirmed":
        return ", ".join(str(v) for v in value or [])
    return value


def _value(sheet: Any, key: str, value: Any) -> Any:
    value = ("có" if value else "") if key == "fee_doubtful" else cell_text(key, value)
    if isinstance(value, str) and value.startswith("="):  # text, never a formula Excel would run
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def write_workbook(records: List[Dict[str, Any]]) -> bytes:
    """The records (curated format) as an .xlsx file."""
    book = Workbook(write_only=True)
    layout = ((MAIN, MAIN_COLUMNS, lambda r: [r]), (CHANNELS, CHANNEL_COLUMNS, lambda r: r["channels"]),
              (DOCUMENTS, DOCUMENT_COLUMNS, lambda r: r["documents"]))
    for title, columns, rows_of in layout:
        sheet = book.create_sheet(title)
        for index, (key, _label) in enumerate(columns):
            letter = chr(ord("A") + index)
            sheet.column_dimensions[letter].width = 14 if key in WHOLE_KEYS | {"code", "kind", "level"} else 40
        sheet.freeze_panes = "B2"
        sheet.append([_header(sheet, label) for _key, label in columns])
        for record in records:  # plain values: a styled cell each would make 5,700 records take minutes
            for item in rows_of(record):
                sheet.append([record["code"] if key == "code" else _value(sheet, key, item.get(key))
                              for key, _label in columns])
    guide = book.create_sheet(GUIDE)
    for line in GUIDE_LINES:
        guide.append([line])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- reading ------------------------------------------------------------------------------------

def _text(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    text = str(value).strip()
    return text or None


def _whole(value: Any) -> Optional[int]:
    """A whole number from a cell (None when empty). Raises ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        return int(value)
    if isinstance(value, int):
        return value
    return int(str(value).strip().replace(".", "").replace(" ", ""))


def _flag(value: Any) -> bool:
    text = (_text(value) or "").lower()
    if text in ("", "không", "khong", "0", "false", "no"):
        return False
    if text in ("có", "co", "x", "1", "true", "yes"):
        return True
    raise ValueError


def _rows(book: Any, title: str, columns: Tuple[Tuple[str, str], ...],
          problems: List[Tuple[str, str]]) -> List[Tuple[int, Dict[str, Any]]]:
    """The sheet's rows as (row number, raw values by key); missing sheet or columns are problems."""
    if title not in book.sheetnames:
        problems.append((title, f"thiếu trang «{title}»"))
        return []
    rows = book[title].iter_rows(values_only=True)
    header = [(_text(h) or "") for h in next(rows, ())]
    index: Dict[str, int] = {}
    for key, label in columns:
        if label in header:
            index[key] = header.index(label)
        else:
            problems.append((f"{title}, hàng 1", f"thiếu cột «{label}»"))
    if len(index) < len(columns):
        return []
    found = []
    for number, row in enumerate(rows, start=2):
        if number > MAX_ROWS:
            problems.append((title, f"quá {MAX_ROWS} hàng"))
            break
        values = {key: (row[i] if i < len(row) else None) for key, i in index.items()}
        if any(_text(v) for v in values.values()):
            found.append((number, values))
    return found


def _child(title: str, number: int, values: Dict[str, Any], problems: List[Tuple[str, str]]) -> Dict[str, Any]:
    item: Dict[str, Any] = {}
    for key, raw in values.items():
        if key == "code":
            continue
        try:
            item[key] = _whole(raw) if key in WHOLE_KEYS else _flag(raw) if key == "fee_doubtful" else _text(raw)
        except ValueError:
            label = dict(CHANNEL_COLUMNS if title == CHANNELS else DOCUMENT_COLUMNS)[key]
            problems.append((f"{title}, hàng {number}", f"«{label}» phải là số nguyên"
                             if key in WHOLE_KEYS else f"«{label}» phải là có hoặc không"))
    if title == DOCUMENTS:
        item["original"], item["copy"] = item.get("original") or 0, item.get("copy") or 0
    return {k: v for k, v in item.items() if v is not None or k in ("duration_days", "fee_vnd", "template")}


def read_cells(data: bytes) -> Tuple[List[Tuple[str, Dict[str, Any]]], List[Tuple[str, str]]]:
    """The workbook's records with their place, not yet validated, and the problems of its cells.

    Raises:
        SheetError: an unreadable file, missing sheets or columns (nothing can be read).
    """
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same problem to the user
        raise SheetError([("Tệp", "không đọc được tệp Excel (.xlsx)")]) from exc
    problems: List[Tuple[str, str]] = []
    main = _rows(book, MAIN, MAIN_COLUMNS, problems)
    children = {title: _rows(book, title, cols, problems)
                for title, cols in ((CHANNELS, CHANNEL_COLUMNS), (DOCUMENTS, DOCUMENT_COLUMNS))}
    book.close()
    if problems:
        raise SheetError(problems)
    records: Dict[str, Dict[str, Any]] = {}
    where: Dict[str, str] = {}
    for number, values in main:
        code = _text(values["code"]) or ""
        place = f"{MAIN}, hàng {number}"
        if code in records:
            problems.append((place, f"{code}: trùng mã (lần đầu ở {where[code]})"))
            continue
        record: Dict[str, Any] = {}
        for key, raw in values.items():
            text = _text(raw)
            if text and len(str(raw)) >= CELL_LIMIT:  # Excel cut it: the importer compares with the stored text
                record.setdefault(TRUNCATED, {})[key] = str(raw)
            if key in LIST_KEYS:
                record[key] = [line.strip() for line in (text or "").splitlines() if line.strip()]
            elif key == "unconfirmed":
                record[key] = [p.strip() for p in (text or "").replace("\n", ",").split(",") if p.strip()]
            else:
                record[key] = text
        record.update(code=code, channels=[], documents=[])
        records[code], where[code] = record, place
    for title, key in ((CHANNELS, "channels"), (DOCUMENTS, "documents")):
        for number, values in children[title]:
            code = _text(values["code"]) or ""
            if code not in records:
                problems.append((f"{title}, hàng {number}", f"mã «{code}» không có trong trang {MAIN}"))
                continue
            records[code][key].append(_child(title, number, values, problems))
    return [(where[code], record) for code, record in records.items()], problems
