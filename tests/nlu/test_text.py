"""Vietnamese normalisation, patterns and segmentation (no model needed)."""

import unicodedata

import pytest

from bot.text.codes import find_dossier_codes
from bot.text.normalize import clean, expand_teen_code, fold, has_diacritics, normalize_tone_placement
from bot.text.phone import find_last4, find_phones
from bot.text.segmenter import segment


def test_fold_removes_every_diacritic():
    assert fold("Đăng ký khai sinh ở xã Âu Lâu") == "Dang ky khai sinh o xa Au Lau"
    assert not has_diacritics("muon lam so do")
    assert has_diacritics("muốn làm sổ đỏ")


@pytest.mark.parametrize("new,old", [("hoà", "hòa"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"), ("Hoà Bình", "Hòa Bình")])
def test_tone_placement_is_normalised(new, old):
    assert normalize_tone_placement(new) == old
    assert normalize_tone_placement(old) == old


def test_tone_placement_keeps_qu_and_closed_rhymes():
    assert normalize_tone_placement("quý") == "quý"
    assert normalize_tone_placement("hoàng") == "hoàng"
    assert normalize_tone_placement("toán") == "toán"


def test_clean_handles_nfd_controls_and_length():
    nfd = unicodedata.normalize("NFD", "đăng ký khai sinh")
    assert clean(nfd) == "đăng ký khai sinh"
    assert clean("a\x00b\u200bc\r\n  d\te") == "abc d e"
    assert clean(None) == ""
    assert len(clean("xin chào " * 2000, max_chars=1000)) <= 1000


def test_teen_code_expansion_and_bn_context():
    assert expand_teen_code(["ko", "dc", "hs", "dk"]) == ["không", "được", "hồ sơ", "đăng ký"]
    assert expand_teen_code(["hết", "bn", "tiền"])[1] == "bao nhiêu"
    assert expand_teen_code(["mất", "bn", "ngày"])[1] == "bao nhiêu"
    assert expand_teen_code(["bn", "ơi", "cho", "hỏi"])[0] == "bạn"


def test_ty_is_thanks_only_on_its_own():
    assert expand_teen_code(["ok", "ty"]) == ["ok", "cảm ơn"]
    assert expand_teen_code(["ty", "ad", "nhe"])[0] == "cảm ơn"
    assert expand_teen_code(["ty"]) == ["cảm ơn"]
    assert expand_teen_code("dong cua cong ty".split())[-1] == "ty"
    assert expand_teen_code("công ty tnhh".split())[1] == "ty"
    assert expand_teen_code("von 2 ty dong".split())[2] == "ty"
    assert expand_teen_code("ty le ho ngheo".split())[0] == "ty"


@pytest.mark.parametrize("text,value", [
    ("hs 000.00.15.H65-240312-0001 sao roi", "000.00.15.H65-240312-0001"),
    ("ma 000.00.15.h65-240312-0001", "000.00.15.H65-240312-0001"),
    ("000.00.15.H65 - 240312 - 0001", "000.00.15.H65-240312-0001"),
    ("000. 00. 15.H65-240312-0001", "000.00.15.H65-240312-0001"),
    ("000.30.25.H65_250917_0042 nhé", "000.30.25.H65-250917-0042"),
])
def test_dossier_codes_are_found_and_canonicalised(text, value):
    found = find_dossier_codes(text)
    assert [m.value for m in found] == [value]
    assert text[found[0].start:found[0].end].replace(" ", "").upper().replace("_", "-").startswith(value[:3])


@pytest.mark.parametrize("text", ["0912345678", "12/03/2024", "200.000đ", "000.00.15-240312-0001", "1.001193",
                                  "000.00.15.H65-240312-00011", "abc.00.15.H65-2403-0001"])
def test_non_codes_are_not_dossier_codes(text):
    assert find_dossier_codes(text) == []


def test_phones_and_last4():
    assert [m.value for m in find_phones("sdt e 0912 345 678 nhe")] == ["0912345678"]
    assert [m.value for m in find_phones("+84 912 345 678")] == ["0912345678"]
    assert find_phones("000.00.15.H65-240312-0001") == []
    assert find_last4("4 số cuối là 5678 ạ") == "5678"
    assert find_last4("5678") == "5678"
    assert find_last4("56789") is None
    assert find_last4("1234 hay 5678") is None


def test_segmentation_groups_with_and_without_diacritics():
    def words(text):
        syl = text.split()
        return [" ".join(syl[a:b]) for a, b in segment(syl)]

    assert "khai sinh" in words("đăng ký khai sinh cho con")
    assert "khai sinh" in words("dang ky khai sinh cho con")
    assert "so do" in words("muon lam so do")
    assert words("") == []
