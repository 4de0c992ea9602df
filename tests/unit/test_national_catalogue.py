"""The national-catalogue parser on real records of the 2026-07-17 snapshot (tests/unit/data/national/)."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import national_catalogue  # noqa: E402
from national.record import RecordError, clean, parse_fee_item, parse_record, split_sections  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "national"


def record(code: str) -> dict:
    return parse_record((DATA / f"{code}.txt").read_text("utf-8"), f"data/Data_DVC/{code}.txt")


def fees(rec: dict) -> list[dict]:
    return [f for ch in rec["channels"] for f in ch["fees"]]


def test_passport_fees_per_channel_with_conditions_and_expired_rate() -> None:
    rec = record("1.001456")
    assert rec["name"] == "Cấp hộ chiếu phổ thông ở trong nước (thực hiện tại cấp tỉnh)"
    assert rec["level"] == "province" and rec["decision"] == "5568/QĐ-BCA"
    by_mode = {m: ch for ch in rec["channels"] for m in ch["modes"]}
    assert set(by_mode) == {"direct", "online", "post"}
    assert by_mode["direct"]["fees"][0]["vnd"] == 200000
    assert by_mode["online"] is by_mode["post"]  # identical blocks are merged
    online = by_mode["online"]["fees"][0]
    assert online["vnd"] == 160000 and online["conditional"] and online["expired_rate_in_note"]
    assert by_mode["direct"]["duration"] == {"raw": "8 WORKING_DAY", "unit": "WORKING_DAY", "value": 8}
    assert {"fee_conditional", "fee_expired_rate_in_note"} <= set(rec["flags"])
    assert rec["provenance"]["snapshot"] == "2026-07-17"
    assert "channels.fees" in rec["provenance"]["unconfirmed"]


def test_international_permit_zero_fee_with_real_figures_in_note_is_doubtful() -> None:
    rec = record("3.000353")
    (fee,) = fees(rec)
    assert fee["amount"] == "0 VNĐ" and fee["status"] == "doubtful" and fee["vnd"] is None
    assert fee["doubt"] == ["figures_only_in_note"]
    assert "fee_doubtful" in rec["flags"]
    # "06/2007/QH12 (Luật Hóa chất)": number and title come swapped in the source
    assert rec["legal_basis"] == [{"number": "06/2007/QH12", "title": "Luật Hóa chất"}]
    assert rec["competent_agency"] is None  # "Không có thông tin"


def test_fee_in_thousands_and_duration_one_other() -> None:
    rec = record("1.000014")
    (fee,) = fees(rec)
    assert fee["amount"] == "20 VNĐ" and fee["status"] == "doubtful" and fee["doubt"] == ["thousands"]
    assert fee["vnd"] is None
    (ch,) = rec["channels"]
    assert ch["duration"]["unit"] == "OTHER" and ch["duration"]["value"] is None
    assert ch["duration"]["text"] is None  # "1 OTHER": the 1 is not a duration
    assert {"duration_without_number", "duration_unit_other", "fee_doubtful"} <= set(rec["flags"])


def test_visa_fees_are_several_and_never_quoted_as_dong() -> None:
    rec = record("1.003342")
    items = fees(rec)
    assert len(items) >= 9 and all(f["vnd"] is None and f["status"] == "doubtful" for f in items)
    assert "fee_several" in rec["flags"]


def test_duration_other_takes_the_channel_description() -> None:
    rec = record("1.115650")
    (ch,) = rec["channels"]
    assert ch["duration"]["raw"] == "Theo mô tả OTHER" and ch["duration"]["value"] is None
    assert ch["duration"]["text"].startswith("Không quá 15 ngày làm việc")
    assert ch["fees"][0]["status"] == "see_note" and ch["fees"][0]["vnd"] is None


def test_days_unit_conflicting_with_working_days_text() -> None:
    rec = record("1.014230")
    (ch,) = rec["channels"]
    assert ch["duration"]["value"] == 15 and ch["duration"]["unit"] == "DAY" and ch["duration"]["unit_conflict"]
    assert "duration_unit_conflict" in rec["flags"]
    assert rec["documents"][0] == {
        "copies": 0, "group": None, "name": "Đơn đề nghị cấp Giấy chứng nhận theo biểu mẫu SCTBM.ATTP.01.01",
        "originals": 1,
    }


def test_stray_keyword_lines_and_description_repeating_conditions() -> None:
    rec = record("1.004411")
    assert rec["keywords"] is None
    assert rec["conditions"].startswith("Tổ chức đề nghị cấp Giấy chứng nhận đủ điều kiện bay xuất khẩu")
    assert "Từ khóa" not in rec["conditions"]
    assert rec["description"] is None and "description_repeats_conditions" in rec["flags"]


def test_decomposed_diacritics_are_composed() -> None:
    text = (DATA / "1.000055.txt").read_text("utf-8")
    assert text != __import__("unicodedata").normalize("NFC", text)
    rec = record("1.000055")
    assert "text_nfd" in rec["flags"]
    blob = json.dumps(rec, ensure_ascii=False)
    assert blob == __import__("unicodedata").normalize("NFC", blob)


def test_repeated_step_lines_are_kept_once() -> None:
    rec = record("3.000353")
    assert len(rec["steps"]) == len({s.casefold() for s in rec["steps"]})
    assert "steps_deduplicated" in rec["flags"]


@pytest.mark.parametrize(
    ("item", "status", "vnd"),
    [
        ("0 VNĐ ()", "zero_without_note", 0),
        ("0 VNĐ (Miễn phí)", "free", 0),
        ("0 VNĐ (Theo quy định của Bộ Tài chính)", "see_note", None),
        ("50000 VNĐ (50.000 đồng/hồ sơ)", "amount", 50000),
        ("100 VNĐ (Phí công bố: 100.000 đồng/lần)", "doubtful", None),
        ("10 VNĐ (10USD/giấy)", "doubtful", None),
        ("300000 VNĐ (500.000 đồng/lần)", "doubtful", None),
        ("Hội đồng nhân dân cấp tỉnh quy định.", "text", None),
    ],
)
def test_fee_items(item: str, status: str, vnd: int | None) -> None:
    fee = parse_fee_item(item)
    assert (fee["status"], fee["vnd"]) == (status, vnd)


def test_clean_drops_private_use_and_control_characters() -> None:
    assert clean("a\uf0fc\tb\u200e c\u00ad d\u00a0e") == "a b c d e"


def test_missing_header_is_an_error() -> None:
    with pytest.raises(RecordError):
        split_sections("Chi tiết thủ tục hành chính\nMã thủ tục: 1.000001\n")


def test_whole_run_is_deterministic(tmp_path: Path) -> None:
    out = tmp_path / "p.json.gz"
    assert national_catalogue.main(["--source", str(DATA), "--out", str(out)]) == 0
    first = out.read_bytes()
    assert national_catalogue.main(["--source", str(DATA), "--out", str(out)]) == 0
    assert out.read_bytes() == first
    cat = json.loads(gzip.decompress(first))
    assert [p["code"] for p in cat["procedures"]] == sorted(p.stem for p in DATA.glob("*.txt"))
    assert cat["provenance"]["snapshot"] == "2026-07-17"
