"""Only trainers and admins change training data: every mutating training route, every role, real HTTP."""

from __future__ import annotations

import pytest

from console.app import create_app
from tests.support.console import login_client

MUTATING = [  # method, path, body, the status a trainer or admin gets (ids 999999 do not exist)
    ("POST", "/console/api/training/examples", {"intent": "ask_fee", "text": "phí làm [sổ đỏ](procedure) bao nhiêu ạ"},
     201),
    ("POST", "/console/api/training/examples/999999/move", {"intent": "ask_duration"}, 404),
    ("POST", "/console/api/training/examples/move", {"ids": [999999], "intent": "ask_duration"}, 404),
    ("DELETE", "/console/api/training/examples/999999", None, 404),
    ("POST", "/console/api/training/synonyms", {"value": "9.999999", "text": "gì đó"}, 404),
    ("DELETE", "/console/api/training/synonyms/999999", None, 404),
    ("POST", "/console/api/training/inbox/collect", None, 200),
    ("POST", "/console/api/training/inbox/999999/label", {"intent": "ask_fee", "entities": None}, 404),
    ("POST", "/console/api/training/inbox/999999/dismiss", {}, 404),
    ("POST", "/console/api/training/inbox/999999/new-intent", {"name": "ask_loan", "note": "vay vốn"}, 404),
    ("POST", "/console/api/training/proposals", {"name": "ask_loan", "note": "vay vốn"}, 201),
]


def test_every_mutating_training_route_is_listed():
    retraining = ("/console/api/training/jobs", "/console/api/training/models")  # test_training_roles.py
    routes = {(m, r.path) for r in create_app().routes
              if r.path.startswith("/console/api/training") and not r.path.startswith(retraining)
              for m in getattr(r, "methods", ()) if m not in {"GET", "HEAD"}}
    listed = {(m, p.replace("999999", "{example_id}" if "examples" in p else
                            "{synonym_id}" if "synonyms" in p else "{item_id}")) for m, p, _, _ in MUTATING}
    assert routes == listed


@pytest.mark.parametrize("role", ["editor", "agent", "analyst"])
def test_other_roles_get_403(console_url: str, role: str):
    client = login_client(console_url, f"{role}1")
    for method, path, body, _ in MUTATING:
        response = client.request(method, path, json=body)
        assert response.status_code == 403, (role, method, path, response.text[:200])
    reading = client.get("/console/api/training/intents")
    assert reading.status_code == (200 if role == "analyst" else 403)


@pytest.mark.parametrize("role", ["trainer", "admin"])
def test_trainers_and_admins_may_change(console_url: str, role: str):
    client = login_client(console_url, f"{role}1")
    for method, path, body, expected in MUTATING[1:]:
        response = client.request(method, path, json=body)
        assert response.status_code == expected, (method, path, response.text)
    # The module's tests share one database: each role adds its own example (the same text twice is a 409).
    text = f"{role} hỏi phí làm [sổ đỏ](procedure) bao nhiêu ạ"
    added = client.post("/console/api/training/examples", json={"intent": "ask_fee", "text": text})
    assert added.status_code == 201, added.text
    example_id = added.json()["example"]["id"]
    again = client.post("/console/api/training/examples", json={"intent": "ask_fee", "text": text})
    assert again.status_code == 409, again.text
    found = client.get("/console/api/training/examples", params={"intent": "ask_fee", "q": f"{role} hoi phi lam so do"})
    assert [e["id"] for e in found.json()["examples"]] == [example_id]
    audit = login_client(console_url, "admin1").get("/console/api/audit", params={"entity": "training_example"})
    assert [(e["actor"], e["action"]) for e in audit.json() if e["entity_id"] == str(example_id)] == [
        (f"{role}1", "training.example.add")]
    anonymous = login_client(console_url, "trainer1")
    anonymous.headers.pop("X-CSRF-Token")
    assert anonymous.post("/console/api/training/inbox/collect").status_code == 403  # CSRF


def test_bad_input_is_4xx(console_url: str):
    client = login_client(console_url, "trainer1")
    assert client.post("/console/api/training/examples", json={"intent": "ask_fee"}).status_code == 422
    assert client.post("/console/api/training/examples", json={"intent": "x" * 90, "text": "a"}).status_code == 422
    assert client.post("/console/api/training/examples", json={"intent": "ask_fee", "text": "[a](nope)"}
                       ).status_code == 422
    assert client.delete(f"/console/api/training/examples/{2**40}").status_code == 422
    json_header = {"content-type": "application/json"}
    # Not UTF-8: FastAPI cannot read the body at all (400); UTF-8 but not JSON: a validation error (422).
    assert client.post("/console/api/training/examples", content=b"\xff{", headers=json_header).status_code == 400
    assert client.post("/console/api/training/examples", content=b'{"intent": ', headers=json_header
                       ).status_code == 422


def test_bulk_move_is_all_or_nothing_and_audited(console_url: str):
    client = login_client(console_url, "trainer1")
    ids = [client.post("/console/api/training/examples", json={"intent": "ask_place", "text": text}).json()["example"]["id"]
           for text in ("nộp hồ sơ [sổ đỏ](procedure) ở đâu nhỉ", "lam [cccd](procedure) o dau vay")]
    # one unknown id: nothing moves
    failed = client.post("/console/api/training/examples/move", json={"ids": [*ids, 999999], "intent": "ask_online"})
    assert failed.status_code == 404 and "#999999" in failed.json()["detail"]
    listed = client.get("/console/api/training/examples", params={"intent": "ask_place"}).json()["examples"]
    assert sorted(e["id"] for e in listed) == sorted(ids)

    moved = client.post("/console/api/training/examples/move", json={"ids": [*ids, ids[0]], "intent": "ask_online"})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["intent"], body["moved"], body["merged"], body["unchanged"]) == ("ask_online", 2, 0, 0)
    assert body["warnings"] == ["Ý định ask_place không còn ví dụ nào: mô hình sẽ không nhận ra ý định này."]
    assert client.get("/console/api/training/examples", params={"intent": "ask_place"}).json()["total"] == 0
    again = client.post("/console/api/training/examples/move", json={"ids": ids, "intent": "ask_online"}).json()
    assert (again["moved"], again["unchanged"]) == (0, 2)

    audit = login_client(console_url, "admin1").get("/console/api/audit", params={"limit": 500}).json()
    moves = [e for e in audit if e["actor"] == "trainer1" and e["action"] == "training.example.move" and e["entity_id"] in map(str, ids)]
    assert len(moves) == 2
    bulk = [e for e in audit if e["action"] == "training.example.move_bulk"]
    assert bulk and bulk[0]["entity_id"] == "ask_online"

    for bad in ({"ids": [], "intent": "ask_online"}, {"ids": [0], "intent": "ask_online"},
                {"ids": [2**40], "intent": "ask_online"}, {"ids": list(range(1, 502)), "intent": "ask_online"},
                {"ids": "1,2", "intent": "ask_online"}, {"ids": ids}):
        assert client.post("/console/api/training/examples/move", json=bad).status_code == 422, bad
    unknown = client.post("/console/api/training/examples/move", json={"ids": ids, "intent": "ask_loan"})
    assert unknown.status_code == 404
