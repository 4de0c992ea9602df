"""The texts service on SQLite and PostgreSQL: search, edit checks, history, revert, audit, live reading."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bot.db.models_staff import AuditEntry
from bot.db.session import session_scope
from bot.responses import Responses
from bot.texts import service
from bot.texts.live import LiveOverrides, live_overrides
from bot.texts.nlg import nlg_answer

GREET = "utter_greet"


def _save(url: str, name: str, text: str, channel: str = "", buttons=None, variation: int = 0) -> None:
    with session_scope(url) as session:
        service.save(session, name, variation, channel, text, buttons, "editor1")


def _placeholder_response() -> str:
    """A response whose default has a placeholder (the action fills it)."""
    from bot.texts.domain import domain_texts, placeholders

    for name, variations in sorted(domain_texts().responses.items()):
        if len(variations) == 1 and placeholders(variations[0].get("text")) == ["procedure_name", "durations"]:
            return name
    raise AssertionError("no response with {procedure_name} and {durations}")


def test_search_ignores_diacritics_and_case(db_url: str) -> None:
    with session_scope(db_url) as session:
        plain = {row.name for row in service.list_texts(session, "xin chao")}
        marked = {row.name for row in service.list_texts(session, "Xin chào")}
        by_name = [row.name for row in service.list_texts(session, "utter_greet")]
    assert GREET in plain and plain == marked
    assert by_name == [GREET]
    _save(db_url, GREET, "Kính chào quý khách, trợ lý sẵn sàng hỗ trợ.")
    with session_scope(db_url) as session:
        found = service.list_texts(session, "kinh chao quy khach")
    assert [(row.name, row.edited_channels) for row in found] == [(GREET, ["default"])]


def test_edit_is_versioned_audited_and_revertible(db_url: str) -> None:
    live = LiveOverrides(db_url)
    version0, overrides = live.snapshot()
    assert overrides == {}
    _save(db_url, GREET, "Chào bạn! (bản 1)")
    _save(db_url, GREET, "Chào bạn! (bản 2)", buttons=[{"title": "Trợ giúp", "payload": "/help"}])
    version2, overrides = live.snapshot()
    assert version2 == version0 + 2
    assert overrides[GREET][(0, "")].text == "Chào bạn! (bản 2)"
    with session_scope(db_url) as session:
        views = service.get_text(session, GREET)
        assert views[0].wordings[""].text == "Chào bạn! (bản 2)"
        assert views[0].wordings[""].buttons == [{"title": "Trợ giúp", "payload": "/help"}]
        assert views[0].wordings["zalo"].text == "Chào bạn! (bản 2)"  # follows the default
        revisions = service.history(session, GREET)
        assert [r.action for r in revisions] == ["edit", "edit"]
        first = revisions[-1].id
        audit = session.execute(select(AuditEntry).where(AuditEntry.entity == service.ENTITY)).scalars().all()
        assert [(a.actor, a.action, a.entity_id) for a in audit] == [("editor1", "texts.edit", "utter_greet#0@default")] * 2
        assert audit[1].before["text"] == "Chào bạn! (bản 1)" and audit[1].after["text"] == "Chào bạn! (bản 2)"
        service.revert(session, GREET, first, "editor1")
    assert live.current()[GREET][(0, "")].text == "Chào bạn! (bản 1)"
    assert live.current()[GREET][(0, "")].buttons is None  # revision 1 followed the domain's buttons
    with session_scope(db_url) as session:
        service.reset(session, GREET, 0, "", "editor1")
        assert [r.action for r in service.history(session, GREET)][:2] == ["reset", "revert"]
        with pytest.raises(service.TextNotFound):
            service.reset(session, GREET, 0, "", "editor1")  # nothing left to reset
    assert GREET not in live.current()


@pytest.mark.parametrize(("text", "expected"), [
    ("", "Câu trả lời không được để trống."),
    ("   \n ", "Câu trả lời không được để trống."),
    ("Thời hạn: {durations}", "Thiếu chỗ điền {procedure_name}"),
    ("Thủ tục {procedure_nam}: {durations}", "có phải là {procedure_name}?"),
    ("Thủ tục {procedure_name} ở {ten_xa}: {durations}", "Chỗ điền {ten_xa} không có trong câu gốc"),
    ("Thủ tục {procedure_name} }: {durations}", "Dấu ngoặc nhọn"),
    ("x" * 2001 + " {procedure_name} {durations}", "quá giới hạn 2000 ký tự của Zalo"),
])
def test_bad_wording_is_refused_with_the_reason(sqlite_url: str, text: str, expected: str) -> None:
    name = _placeholder_response()
    with session_scope(sqlite_url) as session, pytest.raises(service.TextError) as refused:
        service.save(session, name, 0, "", text, None, "editor1")
    assert any(expected in message for message in refused.value.errors["text"]), refused.value.errors
    with session_scope(sqlite_url) as session:
        assert service.history(session, name) == []


def test_channel_limits_and_buttons(sqlite_url: str) -> None:
    long_text = "Ô" * 2500
    _save(sqlite_url, GREET, long_text, channel="telegram")  # Telegram takes 4096
    with session_scope(sqlite_url) as session:
        with pytest.raises(service.TextError) as refused:
            service.save(session, GREET, 0, "zalo", long_text, None, "editor1")
        assert "quá giới hạn 2000 ký tự của Zalo" in refused.value.errors["text"][0]
        with pytest.raises(service.TextError) as refused:
            service.save(session, GREET, 0, "telegram", "😀" * 2049, None, "editor1")  # 4098 UTF-16 units
        assert "Telegram" in refused.value.errors["text"][0]
        six = [{"title": f"Nút {i}", "payload": "/help"} for i in range(6)]
        with pytest.raises(service.TextError) as refused:
            service.save(session, GREET, 0, "zalo", "Chào bạn", six, "editor1")
        assert "Zalo chỉ hiển thị tối đa 5 nút." in refused.value.errors["buttons"]
        with pytest.raises(service.TextError) as refused:
            service.save(session, GREET, 0, "", "Chào bạn", [{"title": "", "payload": "/no_such_intent"}], "editor1")
        assert refused.value.errors["buttons"] == ["Nút 1: chưa có tiêu đề.",
                                                   "Nút 1: ý định /no_such_intent không có trong domain."]
        with pytest.raises(service.TextNotFound):
            service.save(session, GREET, 0, "viber", "Chào bạn", None, "editor1")
        with pytest.raises(service.TextNotFound):
            service.save(session, "utter_no_such_thing", 0, "", "Chào bạn", None, "editor1")


def test_every_reader_sees_the_edit_at_once(db_url: str) -> None:
    name = _placeholder_response()
    renderer = Responses.from_files(live=True, database_url=db_url)
    live_overrides(db_url).expire()
    domain_only = Responses.from_files()
    before = renderer.fragment(name, procedure_name="Đăng ký khai sinh")
    assert before == domain_only.fragment(name, procedure_name="Đăng ký khai sinh")
    _save(db_url, name, "Mới: {procedure_name}. {durations}")
    _save(db_url, GREET, "Chào bạn qua Zalo!", channel="zalo")
    live_overrides(db_url).expire()  # as the console does after saving; other processes: see below
    assert renderer.fragment(name, procedure_name="Đăng ký khai sinh", durations="1 ngày") == (
        "Mới: Đăng ký khai sinh. 1 ngày")
    assert renderer.render(name, {"procedure_name": "A", "durations": "B"}) == "Mới: A. B"
    assert renderer.message(GREET, "zalo")["text"] == "Chào bạn qua Zalo!"
    assert renderer.message(GREET, "telegram")["text"] == domain_only.message(GREET)["text"]
    assert not domain_only.fragment(name, procedure_name="X").startswith("Mới")  # not live: the domain only
    # the NLG endpoint's answer: arguments and slots fill the placeholders, Rasa's way
    live = live_overrides(db_url)
    slots = {"procedure_name": "từ slot", "durations": "2 ngày"}
    assert nlg_answer(name, "rest", slots, {}, live=live)["text"] == "Mới: từ slot. 2 ngày"
    assert nlg_answer(name, "rest", slots, {"procedure_name": "từ action"}, live=live)["text"] == (
        "Mới: từ action. 2 ngày")
    zalo = nlg_answer(GREET, "zalo", {}, {}, live=live)
    assert zalo["text"] == "Chào bạn qua Zalo!" and [b["payload"] for b in zalo["buttons"]] == [
        "/help", "/check_status", "/ask_contact"]
    assert "channel" not in zalo
    assert nlg_answer("utter_no_such_thing", "rest", {}, {}, live=live) is None


def test_other_processes_see_the_edit_within_the_refresh_interval(sqlite_url: str) -> None:
    reader = LiveOverrides(sqlite_url, max_age_s=0.3)
    assert reader.current() == {}
    _save(sqlite_url, GREET, "Chào bạn (đợi làm mới)")
    assert reader.current() == {}  # checked less than 0.3 s ago: the cached wording
    time.sleep(0.35)
    assert reader.current()[GREET][(0, "")].text == "Chào bạn (đợi làm mới)"


def test_an_unreadable_database_keeps_the_last_wording(tmp_path) -> None:
    empty = tmp_path / "not-migrated.db"
    empty.touch()
    assert LiveOverrides(f"sqlite:///{empty}").snapshot() == (0, {})  # no table: no overrides, no error
    absent = tmp_path / "absent.db"
    assert LiveOverrides(f"sqlite:///{absent}").snapshot() == (0, {})
    assert not absent.exists()  # reading texts never creates a database
