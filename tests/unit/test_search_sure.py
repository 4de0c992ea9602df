"""When the procedure search may answer ``sure`` (issue 12): the action said must be the best's, a
curated alias that is another procedure's name makes both a question, a word a name repeats counts
once, numbers lose their leading zeros, and the citizen vocabulary is data."""

from pathlib import Path

import pytest

from bot.catalogue import search_text as st
from bot.catalogue.search import ProcedureIndex, SearchRecord

RECORDS = [
    SearchRecord("K1", "Xác định, xác định lại mức độ khuyết tật và cấp Giấy xác nhận khuyết tật",
                 ("xác nhận khuyết tật",), "Bảo trợ xã hội", "commune", True),
    SearchRecord("K2", "Đổi, cấp lại Giấy xác nhận khuyết tật", (), "Bảo trợ xã hội", "commune"),
    SearchRecord("L1", "Giao đất, cho thuê đất, chuyển mục đích sử dụng đất đối với hộ gia đình",
                 ("chuyển mục đích sử dụng đất", "chuyển đất vườn lên đất ở"), "Đất đai", "commune", True),
    SearchRecord("L2", "Chuyển mục đích sử dụng đất", (), "Đất đai", "province"),
    SearchRecord("M1", "Cấp tài khoản định danh điện tử mức độ 01", (), "Căn cước", "commune"),
    SearchRecord("M2", "Cấp tài khoản định danh điện tử mức độ 02", (), "Căn cước", "commune"),
    SearchRecord("P1", "Cấp giấy phép môi trường (cấp Tỉnh) (1.010727)", (), "Môi trường", "province"),
    SearchRecord("H1", "Cấp hộ chiếu phổ thông", (), "Xuất nhập cảnh", "province"),
]


@pytest.fixture(scope="module")
def index():
    return ProcedureIndex.build(RECORDS)


@pytest.mark.parametrize("text", ["mất giấy xác nhận khuyết tật làm lại ở đâu", "đổi giấy xác nhận khuyết tật"])
def test_an_action_said_that_a_close_rival_carries_out_is_a_question(index, text):
    decision = index.decide(text)
    assert decision.kind == "choose"
    assert "K2" in [h.code for h in decision.hits]


def test_the_plain_question_still_answers_the_plain_record(index):
    decision = index.decide("làm giấy xác nhận khuyết tật")
    assert decision.hits[0].code == "K1"


def test_a_curated_alias_naming_another_procedure_offers_both(index):
    decision = index.decide("chuyen dat vuon len dat o can lam thu tuc gi")
    assert decision.kind == "choose"
    assert decision.hits[0].code == "L1"
    assert "L2" in [h.code for h in decision.hits]


def test_numbers_lose_leading_zeros(index):
    assert index.search("tai khoan dinh danh muc do 2")[0].code == "M2"
    assert index.search("tài khoản định danh mức 1")[0].code == "M1"
    assert st.query_words("mức 007") == ["muc", "7"]


def test_a_procedure_code_in_a_name_is_no_word_of_it():
    assert st.record_words("Cấp giấy phép môi trường (cấp Tỉnh) ( 1.010727 )") == [
        "cap", "giay", "phep", "moi", "truong", "cap", "tinh"]


def test_a_word_a_name_repeats_counts_once():
    index = ProcedureIndex.build([
        SearchRecord("R1", "Hỗ trợ khuyết tật, khuyết tật nặng, khuyết tật đặc biệt nặng", (), "", "commune"),
        SearchRecord("R2", "Hỗ trợ khuyết tật đặc biệt nặng", (), "", "commune")])
    ids, weights = index._postings["khuyet"]
    weight = dict(zip(ids.tolist(), weights.tolist()))
    assert weight[0] <= weight[1]   # the longer name gets no credit for saying it thrice


def test_the_vocabulary_is_data_folded_on_load(tmp_path: Path):
    path = tmp_path / "vocabulary.yml"
    path.write_text('colloquial:\n  "Sổ Đỏ": "giấy chứng nhận quyền sử dụng đất"\n'
                    'abbreviations:\n  "HDV": "hướng dẫn viên"\n', encoding="utf-8")
    colloquial, abbreviations = st.load_vocabulary(path)
    assert colloquial["so do"] == "giay chung nhan quyen su dung dat"
    assert abbreviations == {"hdv": "huong dan vien"}
    assert colloquial["hdv"] == "huong dan vien"   # a citizen writes the abbreviation too


def test_the_shipped_vocabulary_maps_everyday_words():
    assert st.COLLOQUIAL["bang lai"] == "giay phep lai xe"
    assert st.COLLOQUIAL["bhyt"] == "bao hiem y te"
    assert st.ABBREVIATIONS["thpt"] == "trung hoc pho thong"


def test_another_provinces_record_is_never_the_answer():
    """A record whose agency is another province's (the importer's flags) would give that province's
    agency and address: it scores a little less than an equal record and is offered, never answered."""
    from bot.catalogue.search_records import is_foreign

    assert is_foreign(["agency_names_other_province"], "province")
    assert not is_foreign(["agency_names_other_province"], "central")   # a ministry's address in Hà Nội
    assert not is_foreign(["agency_names_other_province", "agency_names_own_province"], "commune")
    assert not is_foreign(None, "commune")
    alone = ProcedureIndex.build([SearchRecord("B1", "Hỗ trợ chi phí hỏa táng", (), "Bảo trợ xã hội", "commune",
                                               foreign=True)])
    decision = alone.decide("hỗ trợ chi phí hỏa táng")
    assert decision.kind == "choose" and decision.hits[0].code == "B1"
    ours = ProcedureIndex.build([SearchRecord("B1", "Hỗ trợ chi phí hỏa táng", (), "Bảo trợ xã hội", "commune")])
    assert ours.decide("hỗ trợ chi phí hỏa táng").kind == "sure"
    assert alone.search("hỗ trợ chi phí hỏa táng")[0].score < ours.search("hỗ trợ chi phí hỏa táng")[0].score


def test_not_found_only_when_none_of_the_buttons_explains_the_question():
    """"Not found" hides the buttons: it is right only when none of the three explains enough of the
    question, not when the best-scored one alone does not (a long situation, the right record third)."""
    from bot.catalogue.search import Hit
    from bot.catalogue.search_decide import EXPLAIN_MIN, decide

    index = ProcedureIndex.build([SearchRecord(c, n, (), "Cư trú", "commune") for c, n in
                                  [("A", "Khóa tài khoản định danh điện tử"), ("B", "Cấp tài khoản định danh"),
                                   ("C", "Mở khóa tài khoản")]])
    q = index._query("mất điện thoại muốn khóa tài khoản định danh", None)

    def ranked(third: float):
        return [(Hit("B", "Cấp tài khoản định danh", 0.9), (EXPLAIN_MIN - 0.1, 0.6, 0.0, False, 0.6, 0.1)),
                (Hit("C", "Mở khóa tài khoản", 0.8), (EXPLAIN_MIN - 0.1, 0.6, 0.0, False, 0.6, 0.1)),
                (Hit("A", "Khóa tài khoản định danh điện tử", 0.7), (third, 0.6, 0.0, False, 0.6, third))]

    assert decide(index, q, ranked(EXPLAIN_MIN - 0.1)).kind == "none"
    shown = decide(index, q, ranked(EXPLAIN_MIN + 0.2))
    assert shown.kind == "choose" and [h.code for h in shown.hits] == ["B", "C", "A"]


def test_just_under_the_floor_the_three_are_offered_as_a_maybe():
    """Below NONE_BELOW but from MAYBE_FROM on the words, a long situation's procedure is among the three
    about as often as nothing fits: "maybe" (not found for sure, the three offered); further down, "none"."""
    from bot.catalogue.search import Hit
    from bot.catalogue.search_decide import MAYBE_FROM, NONE_BELOW, decide

    index = ProcedureIndex.build([SearchRecord("A", "Khóa tài khoản định danh điện tử", (), "Cư trú", "commune")])
    q = index._query("khóa tài khoản", None)

    def kind(words: float, char: float = 0.1) -> str:
        return decide(index, q, [(Hit("A", "Khóa tài khoản định danh điện tử", words + char),
                                  (0.6, 0.6, char, False, 0.6, 0.6))]).kind

    assert MAYBE_FROM < NONE_BELOW
    assert kind(MAYBE_FROM - 0.01) == "none"
    assert kind(MAYBE_FROM + 0.01) == kind(NONE_BELOW - 0.01) == "maybe"
    assert kind(NONE_BELOW - 0.01, char=0.3) == "maybe"   # the letters never lift a question out of it
    assert kind(NONE_BELOW + 0.01) == "choose"
