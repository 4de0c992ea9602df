"""Retraining pages and API over a real console: roles, CSRF, bad input, the OpenAPI document."""

from __future__ import annotations

from contextlib import closing

import pytest

from tests.support.console import login_client

PAGES = ["/console/training/jobs", "/console/training/models"]


@pytest.mark.parametrize("role", ["editor", "agent", "analyst"])
def test_other_roles_may_neither_see_nor_change(console_url: str, role: str) -> None:
    client = login_client(console_url, f"{role}1")
    with closing(client):
        for path in PAGES + ["/console/api/training/jobs", "/console/api/training/models"]:
            assert client.get(path).status_code == 403, path
        assert client.post("/console/api/training/jobs").status_code == 403
        assert client.post("/console/api/training/models/1/activate", json={}).status_code == 403
        assert client.post("/console/api/training/models/rollback", json={}).status_code == 403
        assert client.post("/console/training/jobs", data={"csrf_token": client.headers["X-CSRF-Token"]}).status_code == 403
        # analysts read the training data (inbox, examples), so the area is in their navigation; jobs and
        # model versions above stay closed to them
        in_nav = 'href="/console/training"' in client.get("/console/").text
        assert in_nav == (role == "analyst")


def test_trainer_starts_one_job_at_a_time(console_url: str) -> None:
    client = login_client(console_url, "trainer1")
    with closing(client):
        for path in PAGES:
            assert client.get(path).status_code == 200
        assert 'href="/console/training"' in client.get("/console/").text
        no_csrf = client.post("/console/api/training/jobs", headers={"X-CSRF-Token": "wrong"})
        assert no_csrf.status_code == 403
        started = client.post("/console/api/training/jobs")
        assert started.status_code == 201, started.text
        job = started.json()
        assert job["state"] == "queued" and job["requested_by"] == "trainer1" and job["gate"] is None
        again = client.post("/console/api/training/jobs")
        assert again.status_code == 409 and f"#{job['id']}" in again.json()["detail"]
        assert client.get(f"/console/api/training/jobs/{job['id']}").json()["id"] == job["id"]
        page = client.get(f"/console/training/jobs/{job['id']}")
        assert page.status_code == 200 and "Đang chờ" in page.text
        listed = client.get("/console/api/training/jobs").json()
        assert [j["id"] for j in listed] == [job["id"]]


def test_bad_ids_and_bodies_are_4xx(console_url: str) -> None:
    client = login_client(console_url, "admin1")
    with closing(client):
        assert client.get("/console/api/training/jobs/999999").status_code == 404
        assert client.get("/console/training/jobs/999999").status_code == 404
        assert client.get("/console/api/training/jobs/abc").status_code == 422
        assert client.get(f"/console/api/training/jobs/{2**70}").status_code == 422
        assert client.get("/console/api/training/jobs/0").status_code == 422
        missing = client.post("/console/api/training/models/424242/activate", json={"reason": "x"})
        assert missing.status_code == 404
        assert client.post("/console/api/training/models/1/activate", content=b"{not json",
                           headers={"content-type": "application/json"}).status_code == 422
        assert client.post("/console/api/training/models/1/activate", json={"reason": "x" * 5000}).status_code == 422
        assert client.post("/console/api/training/models/rollback", json={}).status_code == 409  # nothing before
        schema = client.get("/console/api/openapi.json").json()
        assert "/console/api/training/jobs" in schema["paths"] and "/console/api/training/models" in schema["paths"]
        assert not any(path.startswith("/console/model-server") for path in schema["paths"])
