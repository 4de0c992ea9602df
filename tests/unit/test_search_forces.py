"""An armed force's own procedures in the procedure search (issue 12, :mod:`bot.catalogue.search_forces`):
the police's "Cấp lại thẻ bảo hiểm y tế" for its officers' relatives is no answer to "mất thẻ BHYT"."""

import pytest

from bot.catalogue import search as search_module
from bot.catalogue.search import ProcedureIndex, SearchRecord
from bot.catalogue.search_forces import record_forces, said_forces, unnamed
from bot.text.normalize import folded_words

POLICE_PLACE = ("Sĩ quan, hạ sĩ quan, chiến sĩ nghĩa vụ, học viên Công an nhân dân đại diện cho thân nhân; "
                "công nhân Công an")


@pytest.mark.parametrize("field, place, expected", [
    ("Chính sách", POLICE_PLACE, {"police"}),
    ("Chính sách BQP", None, {"army"}),
    ("Khám bệnh, chữa bệnh BQP", "", {"army"}),
    ("Chính sách", "Nộp tại đơn vị quản lý trực tiếp sĩ quan, quân nhân chuyên nghiệp", {"army"}),
    ("Chính sách", "Nộp tại đơn vị quản lý trực tiếp sĩ quan, hạ sĩ quan", {"police", "army"}),   # no force named
    ("Cấp, quản lý căn cước", "Công an cấp xã nơi công dân cư trú", set()),   # the police serving everyone
    ("Hộ tịch", "Bộ phận một cửa UBND cấp xã", set()),
    ("", None, set()),
    ("Quản lý BQP nhà nước", None, {"army"}),   # a mark is a word of the field, wherever it stands
    ("Chính sách BQPX", None, set()),            # not a part of a word
])
def test_which_force_a_record_serves(field, place, expected):
    assert record_forces(field, place) == frozenset(expected)


@pytest.mark.parametrize("text, expected", [
    ("mất thẻ bhyt thì làm lại ở đâu", set()),
    ("bo e la cong an, mat the bhyt cua me thi lam lai o dau", {"police"}),
    ("Bố tôi đi bộ đội 10 năm rồi xuất ngũ", {"army"}),
    ("ck e dang tai ngu", {"army"}),
    ("thân nhân chiến sĩ làm thẻ bảo hiểm y tế", {"police", "army"}),   # the people of either
    ("quan he cong tac", set()),   # "quan" alone, "cong" alone: no force
    ("làm căn cước ở công an xã", {"police"}),
])
def test_which_force_a_question_names(text, expected):
    assert said_forces(folded_words(text)) == frozenset(expected)


def test_unnamed():
    assert unnamed(frozenset({"police"}), frozenset())
    assert not unnamed(frozenset({"police"}), frozenset({"police"}))
    assert unnamed(frozenset({"police"}), frozenset({"army"}))
    assert not unnamed(frozenset(), frozenset())


RECORDS = [
    SearchRecord("P1", "Cấp lại thẻ bảo hiểm y tế (thực hiện tại cấp tỉnh)", (), "Chính sách", "province",
                 forces=record_forces("Chính sách", POLICE_PLACE)),
    SearchRecord("C1", "Cấp lại, đổi, điều chỉnh thông tin trên sổ BHXH, thẻ BHYT", (), "Cấp sổ BHXH, thẻ BHYT",
                 "commune"),
    SearchRecord("C2", "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên", (), "Cấp, quản lý căn cước", "province",
                 forces=record_forces("Cấp, quản lý căn cước", "Công an cấp xã nơi công dân cư trú")),
    SearchRecord("A1", "Thủ tục cấp mới giấy phép hành nghề khám bệnh, chữa bệnh.", (), "Khám bệnh, chữa bệnh BQP",
                 "central", forces=record_forces("Khám bệnh, chữa bệnh BQP", None)),
]


@pytest.fixture(scope="module")
def index():
    return ProcedureIndex.build(RECORDS)


@pytest.mark.parametrize("text", ["mất thẻ bảo hiểm y tế làm lại", "lam lai the bhyt", "mat the bao hiem y te",
                                  "cấp lại thẻ bảo hiểm y tế"])
def test_the_forces_own_procedure_is_no_sure_answer_when_no_force_is_named(index, text):
    decision = index.decide(text)
    assert not (decision.kind == "sure" and decision.code == "P1"), decision
    assert "C1" in [h.code for h in decision.hits]   # the procedure for everyone is offered


def test_the_police_procedure_counts_when_the_police_is_named(index):
    """Named, the force's own procedure loses nothing: it is first, as its name says it best."""
    plain = dict((h.code, h.score) for h, _ in index._ranked("cấp lại thẻ bảo hiểm y tế", None)[1])
    named = index._ranked("cấp lại thẻ bảo hiểm y tế cho thân nhân công an", None)[1]
    assert named[0][0].code == "P1"
    assert named[0][0].score > plain["P1"]


def test_only_a_force_own_procedure_loses_the_sure_answer(index):
    """The citizen ID card is made by the police for everyone: still a sure answer."""
    decision = index.decide("cấp thẻ căn cước cho người từ đủ 14 tuổi")
    assert (decision.kind, decision.code) == ("sure", "C2")


def test_the_army_medical_licence_is_asked_about(index):
    decision = index.decide("cấp mới giấy phép hành nghề khám bệnh chữa bệnh")
    assert decision.kind != "sure" and decision.hits[0].code == "A1"   # the only one: first, but asked
    assert "own procedure" in decision.reason


def test_the_force_penalty_orders_but_is_no_evidence_of_a_find(index, monkeypatch):
    """Lowering a force's own procedure reorders the hits; the part the decision counts as words is unchanged."""
    text = "mất thẻ bảo hiểm y tế làm lại"
    ranked = index._ranked(text, None)[1]
    monkeypatch.setattr(search_module, "FORCE_PENALTY", 0.0)
    without = index._ranked(text, None)[1]
    words = {h.code: h.score - c[2] for h, c in ranked}
    assert words == pytest.approx({h.code: h.score - c[2] for h, c in without}, abs=1e-3)
    scores = {h.code: h.score for h, _ in ranked}
    assert scores["P1"] < {h.code: h.score for h, _ in without}["P1"] - 0.2
    assert scores["C1"] == pytest.approx({h.code: h.score for h, _ in without}["C1"], abs=1e-3)
