"""Ranking rules of the procedure search added after the second fresh set (issue 12): each rule is
general (no phrasing of a test set) and is checked here on small synthetic records."""

import pytest

from bot.catalogue import search_text as st
from bot.catalogue.search import ProcedureIndex, SearchRecord


@pytest.mark.parametrize("text", ["giay phep mat bao lau", "lam so do mat may ngay", "mat bao nhieu tien",
                                  "mat 5 ngay moi co", "lam ho chieu mat tien khong"])
def test_mat_of_a_duration_or_a_cost_is_no_loss(text):
    assert st.implied(text.split()) == frozenset()


@pytest.mark.parametrize("text", ["lam lai so do bi mat", "mat ho chieu", "bi mat giay phep mat bao lau"])
def test_mat_of_a_paper_is_still_a_loss(text):
    assert "cap lai" in st.implied(text.split())


def test_nha_o_xa_hoi_names_no_commune():
    assert st.level_hint("thue nha o xa hoi".split()) == (None, ["thue", "nha", "o", "xa", "hoi"])
    assert st.level_hint("lam so do o xa".split())[0] == "commune"
    assert st.level_hint("dong bao hiem xa hoi o xa".split())[0] == "commune"


def test_social_housing_is_not_read_as_a_commune_question():
    index = ProcedureIndex.build([
        SearchRecord("T1", "Đăng ký thuế", (), "Thuế", "commune"),
        SearchRecord("H1", "Đăng ký mua, thuê nhà ở xã hội", (), "Nhà ở", "province"),
    ])
    assert index.search("dang ky thue nha o xa hoi")[0].code == "H1"


def test_the_action_said_outright_is_the_one_the_name_carries_out(monkeypatch):
    """"điều chỉnh" said outright: the record whose name carries that action out gains the action bonus
    (as "mất" gives it to "Cấp lại ..."); the other record's score does not move."""
    from bot.catalogue import search as search_module

    index = ProcedureIndex.build([
        SearchRecord("X1", "Cấp điều chỉnh giấy phép xây dựng đối với công trình cấp III", (), "Xây dựng", "province"),
        SearchRecord("X2", "Cấp giấy phép xây dựng mới đối với công trình cấp III, nhà ở riêng lẻ", (), "Xây dựng",
                     "province"),
    ])
    text = "dieu chinh giay phep xay dung nha o"
    with_rule = {h.code: h.score for h in index.search(text)}
    monkeypatch.setattr(st, "ACTIONS", frozenset())
    without = {h.code: h.score for h in index.search(text)}
    assert with_rule["X1"] == pytest.approx(without["X1"] + search_module.ACTION_BONUS)
    assert with_rule["X2"] == without["X2"]
    assert max(with_rule, key=with_rule.get) == "X1"


def test_a_word_written_with_diacritics_is_not_its_homograph():
    """"thuê" (rent) written with its diacritics: the name that has only "thuế" (tax) is another word and
    ranks below; without diacritics ("thue") both stay possible, unpenalised."""
    index = ProcedureIndex.build([
        SearchRecord("TAX", "Đăng ký thuế nhà đất cho hộ gia đình", (), "Thuế", "commune"),
        SearchRecord("RENT", "Đăng ký thuê nhà đất của hộ gia đình", (), "Nhà ở", "commune"),
    ])
    assert index.search("đăng ký thuê nhà đất")[0].code == "RENT"
    assert index.search("đăng ký thuế nhà đất")[0].code == "TAX"
    plain = {h.code: h.score for h in index.search("dang ky thue nha dat")}   # no diacritics: no penalty
    written = {h.code: h.score for h in index.search("đăng ký thuê nhà đất")}
    assert written["RENT"] == plain["RENT"] and written["TAX"] < plain["TAX"]
    q = index._query("đăng ký thuê nhà đất", None)
    assert index._accent_mismatches(q, index._idx["TAX"]) == 1
    assert index._accent_mismatches(q, index._idx["RENT"]) == 0


def test_two_written_forms_of_one_folded_word_are_both_said():
    """"thông tin ... hệ thống": both "thông" and "thống" were written, so a name with "thông" is no
    homograph. (With one form per folded word the one kept depended on the hash seed.)"""
    index = ProcedureIndex.build([SearchRecord("R", "Điều chỉnh thông tin về cư trú", (), "Cư trú", "commune")])
    q = index._query("điều chỉnh thông tin cư trú trên hệ thống", None)
    assert q.accented["thong"] == frozenset({"thông", "thống"})
    assert index._accent_mismatches(q, index._idx["R"]) == 0
    assert st.by_fold(["thuê", "thuế", "nhà"]) == {"thue": frozenset({"thuê", "thuế"}), "nha": frozenset({"nhà"})}


def test_accented_words_are_the_ones_folding_changes():
    assert st.accented_words("Đăng ký THUÊ nhà ok") == frozenset({"đăng", "ký", "thuê", "nhà"})


def test_names_that_differ_only_by_diacritics_are_two_procedures():
    """"thuê" (rent) and "thuế" (tax): two names, two hits (both offered), while the same name at two levels
    stays one hit."""
    assert st.group_key("Đăng ký thuê nhà (thực hiện tại cấp tỉnh)") == st.group_key("Đăng ký thuê nhà cấp xã")
    assert st.group_key("Thủ tục đăng ký thuê nhà") == "đăng ký thuê nhà"
    assert st.group_key("Đăng ký thuê nhà") != st.group_key("Đăng ký thuế nhà")
    assert st.folded_key(st.group_key("Đăng ký thuê nhà")) == st.folded_key(st.group_key("Đăng ký thuế nhà"))
    index = ProcedureIndex.build([
        SearchRecord("TAX", "Đăng ký thuế nhà", (), "Thuế", "commune"),
        SearchRecord("RENT", "Đăng ký thuê nhà", (), "Nhà ở", "commune"),
        SearchRecord("RENT2", "Đăng ký thuê nhà (thực hiện tại cấp tỉnh)", (), "Nhà ở", "province"),
    ])
    codes = [h.code for h in index.search("dang ky thue nha")]
    assert "TAX" in codes and len({"RENT", "RENT2"} & set(codes)) == 1


def test_an_alias_without_diacritics_contests_every_name_it_folds_to():
    index = ProcedureIndex.build([
        SearchRecord("TAX", "Đăng ký thuế nhà", (), "Thuế", "commune"),
        SearchRecord("RENT", "Đăng ký thuê nhà", (), "Nhà ở", "commune"),
        SearchRecord("L1", "Hỗ trợ nhà ở", ("dang ky thue nha",), "Nhà ở", "commune", True),
    ])
    contested = index._contested[index._idx["L1"]]
    assert contested == sorted({index._group[index._idx["TAX"]], index._group[index._idx["RENT"]]})


def test_a_trailing_qualifier_and_the_name_before_it():
    assert st.qualifier("Đổi giấy phép lái xe quân sự do Bộ Quốc phòng cấp") == (
        "doi giay phep lai xe quan su", ["bo", "quoc", "phong", "cap"])
    assert st.qualifier("Cấp lại chứng chỉ hành nghề (trong trường hợp bị mất) (thực hiện tại cấp tỉnh)") == (
        "lai chung chi hanh nghe", ["bi", "mat"])
    assert st.qualifier("Giải quyết hưởng chế độ thai sản")[0] == st.qualifier(
        "Hưởng chế độ thai sản đối với người lao động nhận nuôi con nuôi")[0] == "huong che do thai san"
    assert st.qualifier("Đăng ký khai sinh") == ("khai sinh", [])
    assert st.qualifier("Cấp giấy phép đo đạc bản đồ")[1] == []   # "đo" is no "do ... cấp"


def _siblings() -> ProcedureIndex:
    return ProcedureIndex.build([
        SearchRecord("PLAIN", "Đổi giấy phép lái xe", (), "Giao thông", "province"),
        SearchRecord("MIL", "Đổi giấy phép lái xe quân sự do Bộ Quốc phòng cấp", (), "Giao thông", "province"),
        SearchRecord("FOR", "Đổi giấy phép lái xe đối với người nước ngoài", (), "Giao thông", "province"),
        SearchRecord("ALONE", "Cấp phép khai thác cát đối với hộ gia đình", (), "Khoáng sản", "province"),
    ])


def test_an_unsaid_qualifier_costs_its_name_and_a_said_one_favours_it(monkeypatch):
    """Siblings that differ by a trailing qualifier: unsaid, the qualifier costs a little (the plain sibling
    ranks first); said, it earns a little. A qualifier without a sibling is a scope and changes nothing."""
    from bot.catalogue import search as search_module

    index = _siblings()
    # the plain name begins the qualified one: what it adds is the qualifier
    assert index._qualifier[index._idx["MIL"]] == (["quan", "su", "|", "bo", "quoc", "phong", "cap"], True)
    assert index._qualifier[index._idx["FOR"]] == (["nguoi", "nuoc", "ngoai"], True)
    assert index._qualifier[index._idx["PLAIN"]] == ([], False)
    assert index._qualifier[index._idx["ALONE"]] == ([], False)

    def scores(text: str, rule: bool) -> dict:
        monkeypatch.setattr(search_module, "QUALIFIER_PENALTY", 0.02 if rule else 0.0)
        monkeypatch.setattr(search_module, "QUALIFIER_BONUS", 0.02 if rule else 0.0)
        return {h.code: h.score for h in index.search(text, limit=4)}

    plain, plain_without = scores("doi bang lai xe", True), scores("doi bang lai xe", False)
    assert plain["PLAIN"] == plain_without["PLAIN"]
    assert plain["MIL"] < plain_without["MIL"] and plain["FOR"] == pytest.approx(plain_without["FOR"] - 0.02)
    assert max(plain, key=plain.get) == "PLAIN"
    said, said_without = scores("doi giay phep lai xe quan su do bo quoc phong cap", True), \
        scores("doi giay phep lai xe quan su do bo quoc phong cap", False)
    assert said["MIL"] == pytest.approx(said_without["MIL"] + 0.02)   # all of it said
    assert max(said, key=said.get) == "MIL"
    foreign = scores("doi giay phep lai xe cho nguoi nuoc ngoai", True)
    assert max(foreign, key=foreign.get) == "FOR"
    alone, alone_without = scores("cap phep khai thac cat", True), scores("cap phep khai thac cat", False)
    assert alone["ALONE"] == alone_without["ALONE"]


def test_an_office_of_the_level_named_away_from_it():
    assert st.level_hint("lam cccd tai phong canh sat qlhc tinh".split())[0] == "province"
    assert st.level_hint("tranh chap dat chu tich ubnd xa giai quyet".split())[0] == "commune"
    assert st.level_hint("ke hoach khuyen nong cua xa".split())[0] == "commune"
    assert st.level_hint("chuyen noi huong luong huu sang tinh khac".split())[0] is None
    assert st.level_hint("chu tich hoi bao hiem xa hoi".split())[0] is None
    assert st.level_hint("mo phong kham tinh hai duong".split()) == ("province", ["mo", "phong", "kham", "hai", "duong"])


def test_thu_tuc_is_a_chat_phrase_that_pairs_with_nothing():
    assert st.cut_chat("lam thu tuc huong luong huu".split()) == ["lam", "|", "huong", "luong", "huu"]
    assert st.cut_chat("can luat su thi lam sao".split()) == ["can", "luat", "su", "thi", "|"]
    assert st.cut_chat("phai lam lai giay".split()) == ["phai", "lam", "lai", "giay"]
    assert st.head("Thủ tục xoá tiền thuế nợ") == ["xoa", "tien", "thue", "no"]
    index = ProcedureIndex.build([
        SearchRecord("T1", "Tiếp tục hưởng lương hưu khi bị tạm dừng", (), "BHXH", "province"),
        SearchRecord("H1", "Hưởng lương hưu", (), "BHXH", "province"),
    ])
    assert index.search("làm thủ tục hưởng lương hưu")[0].code == "H1"


def test_a_foreigner_is_not_abroad():
    index = ProcedureIndex.build([
        SearchRecord("A1", "Thủ tục cấp thị thực tại cơ quan đại diện Việt Nam ở nước ngoài", (), "XNC", "central"),
        SearchRecord("F1", "Cấp thị thực cho người nước ngoài tại Việt Nam", (), "XNC", "central"),
    ])
    assert index.search("cap thi thuc cho nguoi nuoc ngoai")[0].code == "F1"
    words = frozenset("dang ky ket hon co yeu to nuoc ngoai".split())
    assert st.lacking(frozenset({"nguoi nuoc ngoai"}), frozenset({"yeu to nuoc ngoai"}), words) == frozenset()
    assert "nguoi nuoc ngoai" in index._query("doi bang lai nuoc ngoai", None).covered


def test_a_name_listing_procedures_with_a_slash_is_said_by_one_of_them():
    name = "Đăng ký sử dụng hoá đơn điện tử/ Thay đổi nội dung đăng ký sử dụng hoá đơn điện tử"
    assert st.alternatives(name)[0] == ["dang", "ky", "su", "dung", "hoa", "don", "dien", "tu"]
    assert st.alternatives("Cấp Giấy chứng nhận xuất xứ hàng hoá (C/O) mẫu Venezuela") == []
    assert st.alternatives("Hỗ trợ theo Nghị quyết số 90/2025/NQ-HĐND") == []


def test_cai_chinh_is_a_correction():
    assert {"dinh chinh", "thay doi"} <= st.implied("cai chinh ho tich".split())


@pytest.mark.parametrize("text", ["bo mat nhan tro cap mai tang", "chong mat vo duoc huong tuat", "ho tro cho nguoi mat",
                                  "mat mua xin mien thue"])
def test_mat_of_a_person_or_a_harvest_is_no_loss(text):
    assert st.implied(text.split()) == frozenset()


def test_a_foreigner_said_leaves_no_foreign_element_unsaid():
    index = ProcedureIndex.build([
        SearchRecord("A1", "Đăng ký khai tử cho công dân Việt Nam ở nước ngoài", (), "Hộ tịch", "central"),
        SearchRecord("F1", "Đăng ký khai tử có yếu tố nước ngoài", (), "Hộ tịch", "province"),
    ])
    q = index._query("khai tu cho nguoi nuoc ngoai", None)
    assert "yeu to nuoc ngoai" in q.covered and "yeu to nuoc ngoai" not in q.distinctive
    assert index.search("khai tu nguoi nuoc ngoai")[0].code == "F1"


def test_what_a_name_includes_too_makes_no_special_case():
    name = "Cấp Chứng chỉ hành nghề dược (bao gồm cả trường hợp cho người bị thu hồi Chứng chỉ)"
    assert st.without_inclusions(name).strip() == "Cấp Chứng chỉ hành nghề dược"
    index = ProcedureIndex.build([SearchRecord("D1", name, (), "Dược", "province")])
    assert "thu hoi" not in index._distinctive[0]


def test_the_levels_a_name_lists_are_one_special_case():
    assert st.special_count(frozenset({"cap tinh", "cap xa", "toan trinh"})) == 2
    assert st.special_count(frozenset({"tam thoi", "toan trinh"})) == 2


def test_online_said_leaves_the_online_channel_said():
    assert {"toan trinh", "mot phan"} <= st.covered(frozenset(), "dang ky xe truc tuyen".split())
    assert st.covered(frozenset(), "dang ky xe".split()) == frozenset()


def test_a_condition_with_khi_is_no_core_of_a_name():
    assert st.head("Gia hạn sử dụng đất khi hết thời hạn sử dụng đất") == ["gia", "han", "su", "dung", "dat"]
    assert st.head("Hưởng trợ cấp dưỡng sức sau khi ốm đau")[-3:] == ["khi", "om", "dau"]
    assert st.head("Xác nhận đối tượng hộ thoát nghèo để miễn, giảm học phí") == "xac nhan doi tuong ho thoat ngheo".split()
    assert st.head("Đề nghị miễn giảm học phí")[:2] == ["de", "nghi"]


FOREIGN_LAWYERS = [
    SearchRecord("L1", "Cấp Giấy phép hành nghề tại Việt Nam của luật sư nước ngoài", (), "Luật sư", "province"),
    SearchRecord("L2", "Cấp Chứng chỉ hành nghề luật sư", (), "Luật sư", "province"),
    SearchRecord("W1", "Cấp giấy phép lao động đối với người lao động nước ngoài làm việc tại Việt Nam", (),
                 "Việc làm", "province"),
    SearchRecord("P1", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam",
                 (), "Lý lịch tư pháp", "province"),
]


@pytest.mark.parametrize("text", ["cap giay phep hanh nghe luat su", "giấy phép hành nghề luật sư cần gì"])
def test_a_foreign_element_in_the_qualifier_the_question_reaches_is_asked_about(text):
    """The citizen's "luật sư" is found only in the qualifier, which also says "nước ngoài": not sure."""
    decision = ProcedureIndex.build(FOREIGN_LAWYERS).decide(text)
    assert decision.kind != "sure" and "nuoc ngoai" in decision.reason


@pytest.mark.parametrize("text, code", [
    ("cap giay phep hanh nghe luat su nuoc ngoai", "L1"),          # said: the foreign element
    ("cấp giấy phép lao động cho người nước ngoài", "W1"),       # "người nước ngoài" says its words
])
def test_a_foreign_element_said_leaves_the_answer_sure(text, code):
    decision = ProcedureIndex.build(FOREIGN_LAWYERS).decide(text)
    assert (decision.kind, decision.code) == ("sure", code), decision


def test_a_foreign_element_the_question_does_not_reach_is_a_case():
    """"xin phiếu lý lịch tư pháp" stays in the name's core: the list of who may ask is no reason to ask."""
    from bot.catalogue.search_decide import foreign_qualifier

    index = ProcedureIndex.build(FOREIGN_LAWYERS)
    assert foreign_qualifier(index, index._query("xin phieu ly lich tu phap", None), "P1") == frozenset()
    assert foreign_qualifier(index, index._query("giay phep hanh nghe luat su", None), "L1") == {"nuoc ngoai"}
