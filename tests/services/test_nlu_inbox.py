"""The NLU inbox on SQLite and PostgreSQL: incremental collection from the tracker store, grouping by
folded text, masking of personal data, labelling into training examples."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.db.models import Feedback, HandoffRequest
from bot.db.models_training_data import NluInboxItem
from bot.db.session import session_scope
from bot.text.codes import find_dossier_codes
from bot.training.annotations import Span
from bot.training.collect import collect_inbox
from bot.training.export import render_files
from bot.training.inbox import dismiss_item, label_item, list_items, propose_intent
from tests.support.training_data import create_events, insert_events, turn

T0 = 1_733_000_000.0
CODE = "000.00.15.H65-240312-0001"


def _items(url: str) -> dict:
    with session_scope(url) as s:
        return {i.key: (i.count, sorted(i.reasons), i.text, list(i.entities), list(i.guesses))
                for i in s.execute(select(NluInboxItem)).scalars()}


def test_collection_is_incremental_grouped_and_masked(db_url: str):
    create_events(db_url)
    rows = [
        *turn("telegram:1", T0, "lam cccd o dau vay ad", "nlu_fallback", "utter_default", 0.3,
              [("nlu_fallback", 0.35), ("ask_place", 0.3), ("ask_procedure", 0.2)]),
        *turn("zalo:2", T0 + 10, "Làm CCCD ở đâu vậy ad?", "ask_place", "action_default_fallback", 0.5),
        *turn("telegram:3", T0 + 20, f"hs {CODE} sdt 091•••••••", "check_status", "action_check_status", 0.41),
        *turn("telegram:4", T0 + 30, "xin chào", "greet", "utter_greet", 0.99),
        *turn("telegram:4", T0 + 40, "sao lâu thế", "ask_duration", "action_answer", 0.8),
        *turn("telegram:4", T0 + 50, "cho gặp nhân viên", "request_human", "action_request_human", 0.95),
    ]
    insert_events(db_url, rows)
    with session_scope(db_url) as s:
        stats = collect_inbox(s, now=T0 + 1000, threshold=0.6)
    assert stats.added == 4
    items = _items(db_url)
    assert items["lam can cuoc cong dan o dau vay admin"][:2] == (2, ["fallback", "low_confidence"])
    assert items["lam can cuoc cong dan o dau vay admin"][4][0] == {"intent": "ask_place", "confidence": 0.5}  # the latest guess
    assert items["sao lau the"][:2] == (1, ["handoff"])
    count, reasons, text, entities, _ = items["ho so dossier_code_x so dien thoai phone_x"]
    assert reasons == ["low_confidence"] and CODE not in text and "•" not in text
    code = next(e for e in entities if e["entity"] == "dossier_code")
    assert find_dossier_codes(text[code["start"]:code["end"]])[0].value != CODE
    assert {e["entity"] for e in entities} == {"dossier_code", "phone"}
    # nothing new: nothing changes; a new event and a low rating are picked up
    with session_scope(db_url) as s:
        assert collect_inbox(s, now=T0 + 2000, threshold=0.6).added == 0
    insert_events(db_url, turn("zalo:5", T0 + 3000, "lam can cuoc o dau", "nlu_fallback", "utter_default", 0.2)
                  + turn("zalo:5", T0 + 3010, "2", "inform", "action_handle_feedback", 0.9))
    with session_scope(db_url) as s:
        s.add(Feedback(sender_key="zalo:5", rating=2, created_at=dt.datetime.utcfromtimestamp(T0 + 3011)))
        s.add(HandoffRequest(sender_key="telegram:4", reason="x", transcript=[],
                             created_at=dt.datetime.utcfromtimestamp(T0 + 51)))
    with session_scope(db_url) as s:
        stats = collect_inbox(s, now=T0 + 4000, threshold=0.6)
    assert stats.added == 1
    assert _items(db_url)["lam can cuoc o dau"][:2] == (1, ["fallback", "low_rating"])
    assert _items(db_url)["sao lau the"][:2] == (1, ["handoff"])


def test_labelling_dismissing_and_new_intent_notes(db_url: str):
    create_events(db_url)
    insert_events(db_url, [
        *turn("telegram:1", T0, f"ho so {CODE} xong chua", "nlu_fallback", "utter_default", 0.2),
        *turn("telegram:2", T0 + 5, "dk lam so do o xa nao", "nlu_fallback", "utter_default", 0.2),
        *turn("telegram:3", T0 + 9, "hat 1 bai di", "nlu_fallback", "utter_default", 0.2),
        *turn("telegram:4", T0 + 12, "cho vay von lam an", "nlu_fallback", "utter_default", 0.2),
    ])
    with session_scope(db_url) as s:
        collect_inbox(s, now=T0 + 1000)
    with session_scope(db_url) as s:
        total, items = list_items(s)
        by_text = {i.text.split()[0] + i.text.split()[-1]: i.id for i in items}
        assert total == 4
        view, _ = label_item(s, by_text["hochua"], "check_status", None, "trainer1")
        assert view.text.startswith("ho so [000.00.15.H65-") and view.text.endswith("](dossier_code) xong chua")
        view, _ = label_item(s, by_text["dknao"], "ask_place", [Span(3, 12, "procedure")], "trainer1")
        assert view.text == "dk [lam so do](procedure) o xa nao"
        dismiss_item(s, by_text["hatdi"], "trainer1")
        propose_intent(s, "ask_loan", "hỏi vay vốn ngân hàng chính sách", "trainer1", by_text["choan"])
        assert list_items(s)[0] == 0 and list_items(s, "labelled")[0] == 2
        files = b"".join(render_files(s).values()).decode()
    assert "    - dk [lam so do](procedure) o xa nao\n" in files and CODE not in files


def test_the_scheduled_collection_is_idempotent_and_run_by_serve(db_url: str, monkeypatch):
    import json
    import os
    import subprocess
    import sys

    from bot.cli.serve import training_inbox_command
    from bot.settings import ROOT, get_settings

    create_events(db_url)
    insert_events(db_url, turn("zalo:9", T0, "giay khai sinh lam o dau dc ad", "nlu_fallback", "utter_default", 0.2))
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    runs = [subprocess.run([sys.executable, "-m", "workers.training_inbox", "--once"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
    assert [json.loads(r.stdout)["added"] for r in runs] == [1, 0]
    assert "giay khai sinh" not in runs[0].stderr + runs[1].stderr  # no citizen text in the logs
    for mode, expected in (("embedded", ["-m", "workers.training_inbox", "--supervised"]), ("separate", None)):
        monkeypatch.setenv("SCHEDULER_MODE", mode)
        get_settings.cache_clear()
        command = training_inbox_command(get_settings())
        assert (command[1:] if command else None) == expected
    get_settings.cache_clear()
