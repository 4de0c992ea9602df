"""Analytics and conversation review over real HTTP: roles, charts, CSV, JSON API, bad input, audit."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from bot.db.session import get_engine, upgrade
from tests.support import analytics as data
from tests.support.console import login_client, make_staff, running_console

WEEK = {"start": "2024-03-04", "end": "2024-03-11"}
READERS = ("analyst", "agent", "trainer", "editor", "admin")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A console on a migrated SQLite database with staff and the hand-made conversation set, rolled up."""
    url = f"sqlite:///{tmp_path_factory.mktemp('analytics') / 'console.db'}"
    upgrade(url)
    make_staff(url)
    data.seed_console(url)
    with running_console(url, Path(tmp_path_factory.mktemp("analytics-run"))) as console:
        yield console
    get_engine(url).dispose()


@pytest.fixture(scope="module")
def clients(base: str) -> Iterator[dict]:
    """A logged-in HTTP client per role."""
    made = {role: login_client(base, f"{role}1") for role in READERS}
    yield made
    for client in made.values():
        client.close()


def _ref(client: httpx.Client, **filters: str) -> str:
    items = client.get("/console/api/conversations", params=filters).json()["items"]
    assert len(items) == 1, items
    return items[0]["ref"]


def test_every_reading_role_sees_the_charts(clients: dict) -> None:
    for role in READERS:
        page = clients[role].get("/console/analytics", params=WEEK)
        assert page.status_code == 200, role
        html = page.text
        assert html.count('<svg class="chart"') >= 10 and 'class="bar"' in html and 'class="point"' in html
        assert 'class="target"' in html and "Mục tiêu 99 %" in html  # the province's satisfaction target
        assert "<details>" in html and "/console/api/analytics/traffic/csv?start=2024-03-04" in html
        assert ("Tổng hợp ngay" in html) == (role in ("analyst", "admin")), role
        for path in ("/console/conversations", "/console/api/conversations", "/console/api/analytics/traffic"):
            assert clients[role].get(path, params=WEEK if "analytics" in path else None).status_code == 200


def test_without_login_pages_redirect_and_api_says_401(base: str) -> None:
    with httpx.Client(base_url=base) as anonymous:
        page = anonymous.get("/console/analytics")
        assert page.status_code == 303 and "/console/login" in page.headers["location"]
        assert anonymous.get("/console/api/analytics/dashboard").status_code == 401
        assert anonymous.get("/console/api/conversations").status_code == 401
        assert anonymous.get("/console/api/analytics/traffic/csv").status_code == 401


def test_report_api_figures(clients: dict) -> None:
    traffic = clients["analyst"].get("/console/api/analytics/traffic", params=WEEK).json()
    assert traffic["labels"][:2] == ["2024-03-04", "2024-03-05"] and len(traffic["labels"]) == 8
    series = {d["key"]: d["data"] for d in traffic["datasets"]}
    assert series["conversations"][:2] == [2, 1] and traffic["totals"]["conversations"] == 4
    weekly = clients["analyst"].get("/console/api/analytics/satisfaction",
                                    params={**WEEK, "granularity": "week"}).json()
    assert weekly["labels"] == ["2024-W10", "2024-W11"] and weekly["totals"]["target"] == 0.99
    board = clients["agent"].get("/console/api/analytics/dashboard", params=WEEK).json()
    assert set(board["reports"]) == {"traffic", "intents", "fallback", "handoffs", "satisfaction", "unanswered",
                                     "reminders"}
    assert board["freshness"]["last_run_at"] and board["freshness"]["pending_events"] == 0


def test_csv_download(clients: dict) -> None:
    response = clients["trainer"].get("/console/api/analytics/traffic/csv", params={**WEEK, "granularity": "week"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="thong-ke-traffic-2024-03-04-2024-03-11-week.csv"' in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert [(r["bucket"], r["conversations"], r["user_messages"]) for r in rows] == [("2024-W10", "3", "6"),
                                                                                     ("2024-W11", "1", "2")]
    unanswered = clients["analyst"].get("/console/api/analytics/unanswered/csv", params=WEEK).content.decode()
    assert "question" in unanswered.splitlines()[0] and data.PHONE_B not in unanswered


@pytest.mark.parametrize("params, status, words", [
    ({"start": "hôm qua"}, 400, "NNNN-TT-NN"),
    ({"start": "2024-03-10", "end": "2024-03-01"}, 400, "không được trước"),
    ({"granularity": "month"}, 400, "theo ngày hoặc theo tuần"),
    ({"start": "2020-01-01", "end": "2024-03-01"}, 400, "732 ngày"),
    ({"start": "1999-12-31"}, 400, "2000–2100"),
    ({"start": "x" * 5000}, 422, "start"),
])
def test_bad_period_is_a_clear_4xx(clients: dict, params: dict, status: int, words: str) -> None:
    api = clients["analyst"].get("/console/api/analytics/traffic", params=params)
    assert api.status_code == status and words in api.json()["detail"]
    page = clients["analyst"].get("/console/analytics", params=params)
    assert page.status_code == status and words in page.text


def test_unknown_report_is_404(clients: dict) -> None:
    assert clients["analyst"].get("/console/api/analytics/salaries").status_code == 404
    assert clients["analyst"].get("/console/api/analytics/salaries/csv").status_code == 404


def test_refresh_is_for_analysts_and_audited(clients: dict) -> None:
    assert clients["agent"].post("/console/api/analytics/refresh").status_code == 403
    assert clients["editor"].post("/console/analytics/refresh").status_code == 403
    without_csrf = httpx.post(f"{clients['analyst'].base_url}/console/api/analytics/refresh",
                              cookies=clients["analyst"].cookies)
    assert without_csrf.status_code == 403
    ran = clients["analyst"].post("/console/api/analytics/refresh")
    assert ran.status_code == 200 and ran.json()["new_events"] == 0
    form = clients["analyst"].post("/console/analytics/refresh", params=WEEK)
    assert form.status_code == 303 and "refreshed=0" in form.headers["location"]
    log = clients["admin"].get("/console/api/audit", params={"entity": "analytics"}).json()
    assert [e["action"] for e in log[:2]] == ["analytics_refresh", "analytics_refresh"]
    assert log[0]["actor"] == "analyst1"


def test_conversation_filters_and_masking(clients: dict) -> None:
    analyst = clients["analyst"]
    fell_back = analyst.get("/console/api/conversations", params={"fallback": "1"}).json()
    assert [c["display_id"] for c in fell_back["items"]] == ["telegram:group:-100:333", "zalo:222"]
    assert len(analyst.get("/console/api/conversations", params={"handoff": "0"}).json()["items"]) == 2
    assert [c["display_id"] for c in analyst.get("/console/api/conversations", params={"min_rating": "4"}).json()[
        "items"]] == ["telegram:group:-100:333", "telegram:111"]
    every_field = {"start": "", "end": "", "channel": "zalo", "intent": "", "min_rating": "", "max_rating": "",
                   "fallback": "1", "handoff": "", "flagged": "", "tag": ""}  # what the HTML form sends
    page = analyst.get("/console/conversations", params=every_field)
    assert page.status_code == 200 and "zalo:222" in page.text and "telegram:111" not in page.text
    first = analyst.get("/console/api/conversations", params={"limit": 3}).json()
    second = analyst.get("/console/api/conversations", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == 3 and len(second["items"]) == 1 and second["next_cursor"] is None
    ref = _ref(analyst, channel="telegram_group")
    transcript = analyst.get(f"/console/api/conversations/{ref}").json()
    text = " ".join(line["text"] for line in transcript["lines"])
    assert data.PHONE_C not in text and data.CODE not in text and "098•••••••" in text
    assert transcript["revealed"] is False and transcript["lines"][0]["fell_back"] is True
    html = analyst.get(f"/console/conversations/{ref}").text
    assert data.PHONE_C not in html and "098•••••••" in html and "Đánh dấu cần xem lại" in html
    assert "Đánh dấu cần xem lại" not in clients["agent"].get(f"/console/conversations/{ref}").text


def test_only_admins_unmask_and_it_is_audited(clients: dict) -> None:
    ref = _ref(clients["admin"], channel="telegram_group")
    for role in ("analyst", "agent", "trainer", "editor"):
        assert clients[role].get(f"/console/api/conversations/{ref}", params={"reveal": "true"}).status_code == 403
        assert clients[role].get("/console/conversations", params={"reveal": "true"}).status_code == 403
    clear = clients["admin"].get(f"/console/conversations/{ref}", params={"reveal": "true"})
    assert clear.status_code == 200 and data.PHONE_C in clear.text and data.CODE in clear.text
    log = clients["admin"].get("/console/api/audit", params={"entity": "conversation"}).json()
    assert log[0]["action"] == "conversation_reveal" and log[0]["entity_id"] == "telegram:group:-100:333"


def test_tagging_and_flagging_roles_and_audit(clients: dict) -> None:
    analyst = clients["analyst"]
    ref = _ref(analyst, channel="zalo")
    for role in ("agent", "trainer", "editor"):
        assert clients[role].post(f"/console/api/conversations/{ref}/tags", json={"tag": "x"}).status_code == 403
        assert clients[role].post(f"/console/api/conversations/{ref}/flag", json={}).status_code == 403
        assert clients[role].post(f"/console/conversations/{ref}/flag", data={"reason": "x"}).status_code == 403
    added = analyst.post(f"/console/api/conversations/{ref}/tags", json={"tag": " Sai  Nơi nộp "}).json()
    assert added["changed"] and added["conversation"]["tags"] == ["sai nơi nộp"]
    assert not analyst.post(f"/console/api/conversations/{ref}/tags", json={"tag": "sai nơi nộp"}).json()["changed"]
    assert analyst.post(f"/console/conversations/{ref}/flag", data={"reason": "trả lời sai"}).status_code == 303
    flagged = analyst.get("/console/api/conversations", params={"flagged": "1"}).json()["items"]
    assert [c["ref"] for c in flagged] == [ref] and flagged[0]["flag"]["reason"] == "trả lời sai"
    assert analyst.get("/console/api/conversations", params={"tag": "sai nơi nộp"}).json()["items"][0]["ref"] == ref
    assert analyst.get("/console/api/conversations/tags").json() == {"sai nơi nộp": 1}
    resolved = clients["admin"].post(f"/console/api/conversations/{ref}/flag/resolve").json()
    assert resolved["changed"] and resolved["conversation"]["flag"]["resolved_by"] == "admin1"
    removed = analyst.delete(f"/console/api/conversations/{ref}/tags", params={"tag": "sai nơi nộp"}).json()
    assert removed["changed"] and removed["conversation"]["tags"] == []
    log = clients["admin"].get("/console/api/audit", params={"entity": "conversation"}).json()
    actions = [e["action"] for e in log if e["entity_id"] == "zalo:222"]
    assert actions[:4] == ["conversation_tag_remove", "conversation_flag_resolve", "conversation_flag",
                           "conversation_tag_add"]
    assert log[0]["before"] == {"tag": "sai nơi nộp"}


@pytest.mark.parametrize("path, params, status", [
    ("/console/api/conversations", {"channel": "fax"}, 400),
    ("/console/api/conversations", {"min_rating": "9"}, 400),
    ("/console/api/conversations", {"min_rating": "0"}, 400),
    ("/console/api/conversations", {"max_rating": "abc"}, 422),
    ("/console/api/conversations", {"fallback": "x"}, 400),
    ("/console/api/conversations", {"cursor": "not-a-cursor"}, 400),
    ("/console/api/conversations", {"limit": "0"}, 422),
    ("/console/api/conversations", {"start": "2024-13-01"}, 400),
    ("/console/api/conversations", {"intent": "x" * 500}, 422),
    ("/console/api/conversations/not-a-ref", {}, 404),
    ("/console/api/conversations/" + "A" * 700, {}, 404),
    ("/console/conversations/bm9wZQ", {}, 404),
    ("/console/conversations", {"cursor": "%%%"}, 400),
    ("/console/api/conversations", {"intent": "ask\x00fee"}, 400),
    ("/console/api/conversations", {"tag": "\x00"}, 400),
    ("/console/api/conversations", {"cursor": "WzEuMCwiXHUwMDAwIl0"}, 400),  # [1.0,"\u0000"]
    ("/console/api/conversations", {"cursor": "WzFlOTk5LCJ4Il0"}, 400),  # [1e999,"x"]
    ("/console/conversations/x", {"after": str(2**63)}, 422),
])
def test_bad_review_input_is_a_clear_4xx(clients: dict, path: str, params: dict, status: int) -> None:
    response = clients["analyst"].get(path, params=params)
    assert response.status_code == status, response.text[:300]


def test_bad_tag_bodies_are_4xx(clients: dict) -> None:
    analyst = clients["analyst"]
    ref = _ref(analyst, channel="rest")
    assert analyst.post(f"/console/api/conversations/{ref}/tags", json={"tag": ""}).status_code == 422
    assert analyst.post(f"/console/api/conversations/{ref}/tags", json={"tag": "x" * 61}).status_code == 422
    assert analyst.post(f"/console/api/conversations/{ref}/tags", json={"tag": "   "}).status_code == 400
    assert analyst.post(f"/console/api/conversations/{ref}/tags", content=b"{not json",
                        headers={"content-type": "application/json"}).status_code == 422
    assert analyst.post(f"/console/api/conversations/{ref}/tags", json={"tag": "a\x00b"}).status_code == 400
    assert analyst.post(f"/console/api/conversations/{ref}/flag", json={"reason": "\x00"}).status_code == 400
    assert analyst.post("/console/api/conversations/nope/flag", json={}).status_code == 404


def test_openapi_documents_the_api(clients: dict) -> None:
    paths = clients["analyst"].get("/console/api/openapi.json").json()["paths"]
    for path in ("/console/api/analytics/{name}", "/console/api/analytics/{name}/csv",
                 "/console/api/analytics/dashboard", "/console/api/analytics/refresh",
                 "/console/api/conversations", "/console/api/conversations/{ref}",
                 "/console/api/conversations/{ref}/tags", "/console/api/conversations/{ref}/flag"):
        assert path in paths, path
    assert not any(p.startswith("/console/analytics") or p.startswith("/console/conversations") for p in paths)
