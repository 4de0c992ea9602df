"""What a procedure question is about: the question's own words are stripped, the procedure's are kept."""

from __future__ import annotations

import pytest

from bot.catalogue.query import aspect_words, topic

BARE = ["le phi bn", "phí bao nhiêu vậy", "mat bao lau", "bao lâu thì có kết quả", "bao lau thi co ket qua",
        "mấy ngày thì nhận được kết quả", "khi nào thì có kết quả", "bao giờ lấy được", "còn lệ phí thì sao?",
        "nộp ở đâu", "cần giấy tờ gì ạ"]
NAMED = [("làm giấy khai sinh mấy ngày thì có kết quả", "giấy khai sinh"),
         ("cho hỏi thủ tục làm hộ chiếu cần gì ạ", "hộ chiếu"),
         ("thi bang lai xe o dau", "thi bang lai xe"),  # "thi" (an exam) is no "thì"
         ("xác nhận kết quả thi hành án", "xác nhận kết quả thi hành án"),
         ("dang ky ket hon het bao nhieu tien", "dang ky ket hon"),
         ("cấp lại giấy khai sinh mất bao lâu", "cấp lại giấy khai sinh"),
         # a negation in front is the question's sense ("no longer"), not its frame
         ("ko muon lam nguoi giam ho nua thi lam sao", "ko muon lam nguoi giam ho"),
         ("không muốn làm người giám hộ nữa thì làm sao", "không muốn làm người giám hộ")]


@pytest.mark.parametrize("text", BARE)
def test_a_bare_question_has_no_topic(text: str) -> None:
    assert topic(text) == ""


@pytest.mark.parametrize("text, expected", NAMED)
def test_the_procedure_words_are_kept(text: str, expected: str) -> None:
    assert topic(text) == expected


@pytest.mark.parametrize("text, aspect", [
    ("dang ky khai sinh cho con can gi", "documents"), ("lam cccd het bn", "fee"),
    ("dk ket hon mat may ngay", "duration"), ("nop o dau", "place"), ("co nop online dc ko", "online"),
    ("dang ky khai tu cho bo", None), ("chung thuc giay to o xa duoc ko", None),
    ("can gi va het bao nhieu tien", None),  # two aspects: none is picked
    ("dang ky khai sinh mat bao nhieu ngay", "duration"),  # "bao nhiêu ngày" is a duration, not a fee
])
def test_aspect_words(text: str, aspect: str) -> None:
    assert aspect_words(text) == aspect


@pytest.mark.parametrize("text, expected", [
    ("làm căn cước ở công an tỉnh", "căn cước ở công an tỉnh"),   # "căn" written: no "cần"
    ("xin cấp số nhà", "cấp số nhà"),                             # "nhà" written: no "nhé"
    ("cấp lại thẻ căn cước", "cấp lại thẻ căn cước"),              # "thẻ" written: no "thế"
    ("cần làm hộ chiếu gấp", "hộ chiếu gấp"),                      # "cần" written: the frame goes
])
def test_a_word_written_as_another_word_is_not_stripped(text: str, expected: str) -> None:
    assert topic(text) == expected


def test_a_pair_of_a_procedure_name_is_never_cut() -> None:
    """Without diacritics "tai" may be "tại": the catalogue's names say whether "tai nan" is one thing."""
    names = {("tai", "nan"), ("so", "nha")}
    joined = lambda first, second: (first, second) in names   # noqa: E731
    assert topic("bi tai nan lao dong huong che do gi") == "nan lao dong huong che do"
    assert topic("bi tai nan lao dong huong che do gi", joined=joined) == "tai nan lao dong huong che do"
    assert topic("xin cap so nha", joined=joined) == "cap so nha"
    assert topic("lam ho chieu can giay to gi", joined=joined) == "ho chieu"
