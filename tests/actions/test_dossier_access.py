"""Who sees a dossier: only a private chat that verified in this conversation or linked it.

Each test is an attack that succeeded on the old code (slot sentinels typed by the
citizen, a REST client posing as a Telegram user, a Telegram group, forged slots).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from actions.dossiers import ActionShowDossierStatus, ValidateDossierForm
from actions.reminders import ActionSubscribeReminders, ActionUnsubscribeReminders
from bot.db.models import DossierLink, ReminderSubscription, VerificationAttempt
from bot.db.session import session_scope
from bot.dossiers.service import link_dossier
from tests.actions.conftest import CODE, run, tracker

OWNER = "telegram:1001"
SENTINELS = ["__linked__", "__invalid__", "__locked__", "__unavailable__", "linked", "done", "****", "ok"]
FORGED = {"dossier_code": CODE, "phone_last4": "__linked__", "verified_code": CODE, "verification_result": "done"}


def _link(url: str, channel: str = "telegram", user: str = "1001") -> None:
    with session_scope(url) as session:
        assert link_dossier(session, CODE, channel, user)


def _links(url: str) -> int:
    with session_scope(url) as session:
        return session.execute(sa.select(sa.func.count()).select_from(DossierLink)).scalar_one()


async def _validate_phone(sender: str, typed: str) -> tuple:
    trk = tracker(sender, {"dossier_code": CODE}, text=typed, intent="inform", requested_slot="phone_last4")
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    out = await ValidateDossierForm().validate_phone_last4(typed, dispatcher, trk, {})
    return out, [m.get("response") for m in dispatcher.messages]


@pytest.mark.parametrize("typed", SENTINELS)
async def test_typed_sentinels_are_only_wrong_phone_endings(dossier_db: str, typed: str) -> None:
    out, said = await _validate_phone("rest:stranger", typed)
    assert out == {"phone_last4": None} and said == ["utter_invalid_phone_last4"]
    assert _links(dossier_db) == 0


async def test_forged_slots_show_nothing(dossier_db: str) -> None:
    """Whatever the slots say, the status action re-checks the database at the moment it shows."""
    for sender in ("rest:stranger", "telegram:2002", "zalo:3003"):
        events, said, _ = await run(ActionShowDossierStatus(), tracker(sender, FORGED))
        assert "utter_dossier_status" not in said
    assert _links(dossier_db) == 0


async def test_real_verification_then_show_and_link(dossier_db: str) -> None:
    out, said = await _validate_phone(OWNER, "so cuoi la 5678 nhe")
    assert out["verification_result"] == "done" and "5678" not in str(out)
    _, said, messages = await run(ActionShowDossierStatus(), tracker(OWNER, {"dossier_code": CODE, **out}))
    assert said == ["utter_dossier_status", "utter_dossier_linked"]
    assert messages[0]["dossier_code"] == CODE
    assert _links(dossier_db) == 1


@pytest.mark.parametrize("typed", ["５６７８", "٥٦٧٨", "۵۶۷۸"])
async def test_other_digit_scripts_are_read_not_counted_wrong(dossier_db: str, typed: str) -> None:
    out, _ = await _validate_phone(OWNER, typed)
    assert out["verification_result"] == "done"
    with session_scope(dossier_db) as session:
        assert session.execute(sa.select(VerificationAttempt.success)).scalars().all() == [True]


async def test_verification_does_not_carry_to_another_conversation(dossier_db: str) -> None:
    await _validate_phone("rest:alice", "5678")
    _, said, _ = await run(ActionShowDossierStatus(), tracker("rest:mallory", FORGED))
    assert "utter_dossier_status" not in said


async def test_linked_owner_is_recognised_without_asking(dossier_db: str) -> None:
    _link(dossier_db)
    from rasa_sdk.executor import CollectingDispatcher

    trk = tracker(OWNER, {}, text=CODE, requested_slot="dossier_code")
    out = await ValidateDossierForm().validate_dossier_code(CODE, CollectingDispatcher(), trk, {})
    assert out["verification_result"] == "done" and out["dossier_code"] == CODE
    _, said, _ = await run(ActionShowDossierStatus(), tracker(OWNER, {"dossier_code": CODE, **out}))
    assert said == ["utter_dossier_status"]


@pytest.mark.parametrize("sender", ["rest:telegram:1001", "rest:1001", "1001", "telegram:10011",
                                    "zalo:1001", "telegram:group:-100200:1001", "", "telegram:"])
async def test_other_identities_never_see_a_linked_dossier(dossier_db: str, sender: str) -> None:
    """A REST client naming a Telegram user, the same user in a group, or a bare id: nothing."""
    _link(dossier_db)
    from rasa_sdk.executor import CollectingDispatcher

    trk = tracker(sender, {}, text=CODE, requested_slot="dossier_code", input_channel="telegram")
    out = await ValidateDossierForm().validate_dossier_code(CODE, CollectingDispatcher(), trk, {})
    assert out.get("verification_result") != "done"
    _, said, _ = await run(ActionShowDossierStatus(), tracker(sender, {**FORGED, **out}, input_channel="telegram"))
    assert "utter_dossier_status" not in said


async def test_group_chat_gets_the_private_only_answer(dossier_db: str) -> None:
    _link(dossier_db)
    group = "telegram:group:-100200:1001"
    from rasa_sdk.executor import CollectingDispatcher

    trk = tracker(group, {}, text=CODE, requested_slot="dossier_code")
    out = await ValidateDossierForm().validate_dossier_code(CODE, CollectingDispatcher(), trk, {})
    assert out["verification_result"] == "private_only"
    _, said, _ = await run(ActionShowDossierStatus(), tracker(group, {"dossier_code": CODE, **out}))
    assert said == ["utter_dossier_private_only"]
    _, said, _ = await run(ActionSubscribeReminders(), tracker(group, {"verified_code": CODE}))
    assert said == ["utter_dossier_private_only"]


async def test_forged_verified_code_does_not_subscribe(dossier_db: str) -> None:
    _, said, _ = await run(ActionSubscribeReminders(), tracker("rest:stranger", {"verified_code": CODE}))
    assert said == ["utter_subscribe_need_verification"]
    assert _links(dossier_db) == 0


async def test_rest_cannot_touch_a_telegram_users_reminders(dossier_db: str) -> None:
    _link(dossier_db)
    _, said, _ = await run(ActionSubscribeReminders(), tracker(OWNER, {}))
    assert said == ["utter_subscribed_all"]
    for forged in ("rest:telegram:1001", "rest:1001", "1001"):
        _, said, _ = await run(ActionUnsubscribeReminders(), tracker(forged, {}, input_channel="telegram"))
        assert said != ["utter_unsubscribed"]
    with session_scope(dossier_db) as session:
        assert session.execute(sa.select(ReminderSubscription.active)).scalars().all() == [True]


async def test_no_phone_digits_in_logs(dossier_db: str, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    for typed in ("1111", "0912345678", "5678"):
        await _validate_phone(OWNER, typed)
    await run(ActionShowDossierStatus(), tracker(OWNER, {"dossier_code": CODE, "verification_result": "done"}))
    assert "5678" not in caplog.text and "1111" not in caplog.text
