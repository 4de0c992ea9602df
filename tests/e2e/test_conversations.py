"""End-to-end conversations over the REST channel: NLU → dialogue → actions → real database."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

from bot.conversations.identity import conversation_id
from bot.db.models import DossierLink, Feedback, HandoffRequest
from bot.db.session import session_scope
from bot.settings import ROOT
from bot.text.normalize import fold
from tests.e2e.trackers import stored_events

pytestmark = pytest.mark.slow

ASPECTS = {
    "{} cần giấy tờ gì": "utter_procedure_documents",
    "lệ phí {} bao nhiêu": "utter_procedure_fee",
    "{} mất bao lâu": "utter_procedure_duration",
    "{} nộp ở đâu": "utter_procedure_place",
    "{} có làm online được không": "utter_procedure_online",
}
CATALOGUE = json.loads((ROOT / "data" / "procedures.json").read_text(encoding="utf-8"))["procedures"]


def test_greeting_is_vietnamese(assistant, sender):
    turn = assistant.say(sender, "xin chào")
    assert turn.responses == ["utter_greet"]
    assert "Xin chào" in turn.text


@pytest.mark.parametrize("folded", [False, True], ids=["diacritics", "no-diacritics"])
def test_every_aspect_of_every_seeded_procedure(assistant, folded):
    """Each seeded procedure, by its first colloquial name, asked about each aspect."""
    failures = []
    for proc in CATALOGUE:
        name = (proc.get("aliases") or [proc["name"]])[0]
        for template, response in ASPECTS.items():
            question = template.format(name)
            question = fold(question) if folded else question
            turn = assistant.say(f"cat-{proc['code']}-{folded}-{response}", question)
            answered = [r for r in turn.responses if r and r.startswith(response)]
            chosen = "utter_procedure_choose" in turn.responses and any(
                proc["code"] in b["payload"] for b in turn.buttons)
            if not (answered and proc["name"] in turn.text) and not chosen:
                failures.append((question, turn.responses))
    total = len(CATALOGUE) * len(ASPECTS)
    # Every question must be answered for the right procedure, or offer it among the top-3 choices.
    assert len(failures) <= total * 0.03, f"{len(failures)}/{total} unanswered: {failures[:15]}"


def test_follow_up_keeps_the_procedure(assistant, sender):
    first = assistant.say(sender, "đăng ký kết hôn cần những giấy tờ gì")
    assert "utter_procedure_documents" in first.responses
    follow = assistant.say(sender, "còn lệ phí thì sao?")
    assert "utter_procedure_fee" in follow.responses
    assert "Đăng ký kết hôn" in follow.text


def test_routed_answers_keep_their_turn(assistant, sender):
    """A bare procedure name and an unsure message naming one are answered, not taken back by the core fallback."""
    first = assistant.say(sender, "lệ phí bao nhiêu vậy")
    assert first.responses == ["utter_ask_which_procedure"]
    bare = assistant.say(sender, '/inform{"procedure":"1.001193"}')
    assert bare.responses[0] == "utter_procedure_fee" and "utter_default" not in bare.responses
    unsure = assistant.say(sender, '/nlu_fallback{"procedure":"1.000894"}')
    assert unsure.responses[0].startswith("utter_procedure_") and "utter_default" not in unsure.responses
    follow = assistant.say(sender, "còn mất bao lâu")
    assert "utter_procedure_duration" in follow.responses and "Đăng ký kết hôn" in follow.text


def test_a_procedure_named_instead_of_a_rating_is_answered(assistant, sender):
    assistant.say(sender, "đăng ký kết hôn cần giấy tờ gì")
    assert "utter_ask_rating" in assistant.say(sender, "cảm ơn nhé").responses
    turn = assistant.say(sender, "khai sinh")
    assert turn.responses[0].startswith("utter_procedure_") and "utter_default" not in turn.responses
    assert "Đăng ký khai sinh" in turn.text


def test_unknown_procedure_is_said_not_guessed(assistant, sender):
    turn = assistant.say(sender, "thủ tục cấp phép nuôi cá sấu cảnh thế nào")
    assert not any(r and r.startswith("utter_procedure_") and not r.startswith("utter_procedure_not_found")
                   for r in turn.responses if r != "utter_procedure_choose"), turn.responses


def test_dossier_is_verified_then_shown_and_linked(assistant, sender):
    turn = assistant.say(sender, "tra cứu hồ sơ 000.00.15.H65-240312-0001")
    assert turn.responses == ["utter_ask_phone_last4"]
    turn = assistant.say(sender, "5678")
    assert "utter_dossier_status" in turn.responses
    assert "Đăng ký khai sinh" in turn.text and "Đang giải quyết" in turn.text
    with session_scope(assistant.database_url) as session:
        assert session.execute(select(func.count(DossierLink.id))).scalar_one() >= 1


def test_wrong_phone_endings_lock_the_code_without_revealing_it(assistant, sender):
    code = "000.00.15.H65-240312-0003"
    assistant.say(sender, f"kiem tra hs {code.lower()}")
    first = assistant.say(sender, "1111")
    second = assistant.say(sender, "2222")
    third = assistant.say(sender, "3333")
    assert "utter_verification_failed" in first.responses and "utter_verification_failed" in second.responses
    assert "utter_verification_locked" in third.responses
    # Two more wrong endings from another chat use up the code's daily budget (5, all chats):
    # then even the right answer is refused, in a third chat too.
    other = sender + "-b"
    assistant.say(other, f"tra cứu {code}")
    assistant.say(other, "1212")
    assistant.say(other, "3434")
    third = sender + "-c"
    turns = [assistant.say(third, f"tra cứu {code}"), assistant.say(third, "4455")]
    responses = [r for turn in turns for r in turn.responses]
    assert "utter_verification_locked" in responses and "utter_dossier_status" not in responses, responses


def test_unknown_code_looks_exactly_like_a_wrong_phone(assistant, sender):
    assistant.say(sender, "tra cứu hồ sơ 000.99.99.H65-200101-9999")
    unknown = assistant.say(sender, "5678")
    assistant.say(sender + "x", "tra cứu hồ sơ 000.00.15.H65-240312-0002")
    wrong = assistant.say(sender + "x", "5678")
    assert unknown.responses == wrong.responses
    assert unknown.text == wrong.text


def test_malformed_code_is_asked_again(assistant, sender):
    assistant.say(sender, "tra cứu hồ sơ")
    turn = assistant.say(sender, "mã của tôi là 12345")
    assert "utter_invalid_dossier_code" in turn.responses


def test_feedback_and_handoff_are_recorded(assistant, sender):
    turn = assistant.say(sender, "cán bộ xã làm hồ sơ chậm quá, đi lại 3 lần chưa xong")
    assert "utter_feedback_thanks" in turn.responses
    turn = assistant.say(sender, "cho tôi nói chuyện với cán bộ")
    assert "utter_handoff_recorded" in turn.responses
    with session_scope(assistant.database_url) as session:
        ticket = session.execute(select(HandoffRequest).where(HandoffRequest.sender_key == f"rest:{sender}")).scalar_one()
        assert any("chậm quá" in line["text"] for line in ticket.transcript)
        assert session.execute(select(Feedback).where(Feedback.sender_key == f"rest:{sender}")).scalars().first()


def test_rating_after_a_resolved_question(assistant, sender):
    assistant.say(sender, "phí chứng thực bản sao bao nhiêu")
    turn = assistant.say(sender, "cảm ơn ad")
    assert "utter_ask_rating" in turn.responses
    turn = assistant.say(sender, '/feedback{"rating":"4"}')
    assert "utter_rating_thanks" in turn.responses
    with session_scope(assistant.database_url) as session:
        ratings = session.execute(select(Feedback.rating).where(Feedback.sender_key == f"rest:{sender}")).scalars()
        assert 4 in list(ratings)


def test_contact_by_former_commune_name(assistant, sender):
    turn = assistant.say(sender, "địa chỉ một cửa xã Âu Lâu ở đâu")
    assert "utter_contact" in turn.responses
    assert "Âu Lâu" in turn.text


@pytest.mark.parametrize("message", ["", "   ", "😀🙏👍", "x" * 3999, "\x00\x07 alo"])
def test_bad_input_gets_an_answer(assistant, sender, message):
    turn = assistant.say(sender, message)
    assert turn.texts, "every message gets a reply"


def test_oversized_message_is_refused_and_not_stored(assistant, sender):
    reply = httpx.post(f"{assistant.url}/webhooks/rest/webhook", json={"sender": sender, "message": "x" * 900_000},
                       timeout=60)
    assert reply.status_code == 413 and "error" in reply.json()
    assert stored_events(assistant.database_url, conversation_id("rest", sender)) == []


@pytest.mark.parametrize("body", [b'[{"sender": "a", "message": "xin chao"}]', b"{garbage", b"[" * 100_000])
def test_malformed_body_is_400(assistant, body):
    reply = httpx.post(f"{assistant.url}/webhooks/rest/webhook", content=body, timeout=60,
                       headers={"Content-Type": "application/json"})
    assert reply.status_code == 400 and "error" in reply.json()


def test_a_client_cannot_write_into_a_channel_conversation(assistant):
    assistant.say("telegram:111", "xin chào")
    assert stored_events(assistant.database_url, "telegram:111") == []
    assert stored_events(assistant.database_url, "rest:telegram:111")
