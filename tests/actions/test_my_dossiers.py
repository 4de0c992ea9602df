"""'Hồ sơ của tôi sao rồi': linked dossiers at once, the form otherwise."""

from __future__ import annotations

import datetime as dt

from rasa_sdk.events import SlotSet

from actions.dossiers import ActionCheckStatus
from bot.db.session import session_scope
from bot.dossiers.demo import demo_dossiers
from bot.dossiers.service import link_dossier, upsert_dossier
from tests.actions.conftest import CODE, TODAY, run, tracker

OWNER = "zalo:84123"


def _route(events: list) -> str:
    return next(e["value"] for e in events if e["name"] == "status_route")


async def test_no_link_asks_through_the_form(dossier_db: str) -> None:
    events, said, _ = await run(ActionCheckStatus(), tracker(OWNER, text="hồ sơ của tôi sao rồi"))
    assert _route(events) == "form" and said == []


async def test_one_linked_dossier_is_shown_at_once(dossier_db: str) -> None:
    with session_scope(dossier_db) as session:
        link_dossier(session, CODE, "zalo", "84123")
    events, said, messages = await run(ActionCheckStatus(), tracker(OWNER, text="ho so cua toi den dau roi"))
    assert _route(events) == "answered" and said == ["utter_dossier_status"]
    assert messages[0]["dossier_code"] == CODE
    assert SlotSet("answered", True) in events


async def test_several_linked_dossiers_are_listed(dossier_db: str) -> None:
    others = demo_dossiers(TODAY)[1:3]
    with session_scope(dossier_db) as session:
        for record in others:
            upsert_dossier(session, record)
        for code in [CODE] + [r.code for r in others]:
            link_dossier(session, code, "zalo", "84123")
    domain = {"responses": {"utter_my_dossier_line": [{"text": "{dossier_code}: {status_text}"}],
                            "utter_status_in_progress": [{"text": "Đang giải quyết"}]}}
    events, said, messages = await run(ActionCheckStatus(), tracker(OWNER, text="hs cua e sao r"), domain)
    assert said == ["utter_my_dossiers"] and messages[0]["count"] == 3
    for code in [CODE] + [r.code for r in others]:
        assert code in messages[0]["lines"]


async def test_a_code_in_the_message_goes_to_the_form(dossier_db: str) -> None:
    with session_scope(dossier_db) as session:
        link_dossier(session, CODE, "zalo", "84123")
    trk = tracker(OWNER, text=f"ho so {CODE}")
    trk.latest_message["entities"] = [{"entity": "dossier_code", "value": CODE}]
    events, said, _ = await run(ActionCheckStatus(), trk)
    assert _route(events) == "form" and said == []
    assert SlotSet("dossier_code", CODE) in events


async def test_links_of_someone_else_or_in_a_group_are_not_shown(dossier_db: str) -> None:
    with session_scope(dossier_db) as session:
        link_dossier(session, CODE, "zalo", "84123")
    events, said, _ = await run(ActionCheckStatus(), tracker("rest:zalo:84123", text="hs cua toi"))
    assert _route(events) == "form" and said == []
    events, said, _ = await run(ActionCheckStatus(), tracker("telegram:group:-1:84123", text="hs cua toi"))
    assert said == ["utter_dossier_private_only"]


def test_today_is_local() -> None:
    from actions.dossiers import _today

    assert abs((_today() - dt.date.today()).days) <= 1
