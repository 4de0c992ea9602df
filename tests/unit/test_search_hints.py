"""Search hints (issue 12): everyday phrases per procedure (``data/search_hints.yml``) bridge what a
citizen says to a record whose name says it otherwise; only their words the name lacks count, and
they never change what an answer says."""

from pathlib import Path

import pytest

from bot.catalogue import search_records as sr
from bot.catalogue.search import ProcedureIndex, SearchRecord

TRUCK = "Xác định xe tạm dừng tham gia giao thông liên tục từ 30 ngày trở lên"
RECORDS = [
    SearchRecord("V1", TRUCK, (), "Đường bộ", "province", False, ("xe tải nằm gara lâu không chạy",)),
    SearchRecord("V2", "Cấp giấy phép lưu hành xe quá tải trọng", (), "Đường bộ", "province"),
    SearchRecord("F1", "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", (), "An toàn thực phẩm",
                 "province", False, ("giấy an toàn thực phẩm cho quán ăn",)),
    SearchRecord("F2", "Cấp Giấy chứng nhận đủ điều kiện an toàn thực phẩm đối với cơ sở sản xuất", (),
                 "An toàn thực phẩm", "province"),
]


@pytest.fixture(scope="module")
def index():
    return ProcedureIndex.build(RECORDS)


def test_a_hint_finds_a_record_its_name_would_not(index):
    plain = ProcedureIndex.build([SearchRecord(r.code, r.name, r.aliases, r.field, r.level) for r in RECORDS])
    said = "xe tai nam gara khong chay"
    assert plain.decide(said).kind == "none"          # the name alone: "not in the catalogue"
    decision = index.decide(said)
    assert decision.hits[0].code == "V1" and decision.kind != "none"


def test_words_the_name_has_count_once_with_or_without_a_hint(index):
    """"an toàn thực phẩm" is in both names: the hint of F1 must not make it F1's more than F2's."""
    hits = {h.code: h.score for h in index.search("an toan thuc pham co so san xuat")}
    assert max(hits, key=hits.get) == "F2"


def test_hints_are_read_from_data(tmp_path: Path):
    path = tmp_path / "hints.yml"
    path.write_text('hints:\n  "1.000001": ["xe nằm gara", "  ", "báo xe không chạy"]\n  "2": []\n', encoding="utf-8")
    assert sr.load_hints(path) == {"1.000001": ("xe nằm gara", "báo xe không chạy"), "2": ()}
    assert sr.load_hints(tmp_path / "missing.yml") == {}


def test_the_shipped_hints_name_catalogue_codes():
    hints = sr.load_hints()
    records = {r.code for r in sr.records_from_files(
        Path(sr.HINTS_FILE).parents[0] / "national" / "procedures.json.gz", None)}
    assert len(hints) > 1000 and set(hints) <= records
    assert all(1 <= len(p) <= 10 for p in hints.values())   # four passes: two or three phrases each


def test_a_hint_s_place_names_are_no_words_of_the_procedure():
    """"cam Văn Chấn", "cửa khẩu Lào Cai": a place colours a hint but would match any question naming it;
    a country or its language says which procedure, and an abbreviation stays."""
    from bot.catalogue.search_hint_words import hint_words

    assert hint_words("cửa khẩu Lào Cai sang Hà Khẩu") == ["cua", "khau", "sang"]
    assert hint_words("dịch giấy tờ sang tiếng Trung") == ["dich", "giay", "to", "sang", "tieng", "trung"]
    assert hint_words("đi Hàn Quốc làm việc") == ["di", "han", "quoc", "lam", "viec"]
    assert hint_words("làm lại thẻ BHYT bị mất") == ["lam", "lai", "the", "bhyt", "bi", "mat"]
    index = ProcedureIndex.build([SearchRecord("O", "Công nhận sản phẩm OCOP", (), "Nông nghiệp", "province",
                                               False, ("chấm sao cho cam Văn Chấn",))])
    assert index.decide("du lich van chan").kind == "none"


def test_a_hint_alone_never_makes_a_sure_answer(index):
    """A hint is someone's guess at the citizen's words: said in full it ranks its record first, but the
    citizen is asked (buttons); the official name said is what makes an answer sure."""
    decision = index.decide("xe tải nằm gara lâu không chạy")
    assert decision.hits[0].code == "V1" and decision.kind == "choose"
    assert index.decide("xác định xe tạm dừng tham gia giao thông liên tục từ 30 ngày").kind == "sure"


def test_what_only_a_hint_explains_makes_no_sure_answer():
    """The best record's name says the question, and its hints explain the rest: sure only when the
    record's own words (name, aliases, field) explain enough of it too."""
    from bot.catalogue.search import Hit
    from bot.catalogue.search_decide import SURE_OFFICIAL, decide

    name = "Khóa tài khoản định danh điện tử"
    index = ProcedureIndex.build([SearchRecord("A", name, (), "Cư trú", "commune")])
    q = index._query("khóa tài khoản định danh điện tử", None)

    def kind(official: float) -> str:
        return decide(index, q, [(Hit("A", name, 1.2), (1.0, 1.0, 0.0, False, 1.0, official))]).kind

    assert kind(1.0) == "sure"
    assert kind(SURE_OFFICIAL - 0.05) == "choose"


def test_the_coverage_without_hints_leaves_the_hints_words_out():
    index = ProcedureIndex.build(RECORDS)
    ranked = dict((h.code, c) for h, c in index._ranked("xe tải nằm gara lâu không chạy", None)[1])
    q_cov, q_official = ranked["V1"][0], ranked["V1"][5]
    assert q_cov > q_official      # "gara", "nằm" ... are the hint's, not the name's
