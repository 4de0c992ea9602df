"""Logging in and out over real HTTP: lock-out, CSRF, roles, no open redirect, no traceback."""

from __future__ import annotations

import httpx

from bot.db.session import session_scope
from bot.staff.accounts import create_user
from tests.support.console import PASSWORD, login_client


def test_login_page_and_wrong_password(console_url: str):
    client = httpx.Client(base_url=console_url)
    assert "Đăng nhập" in client.get("/console/login").text
    response = client.post("/console/login", data={"username": "editor1", "password": "sai-mat-khau"})
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.text
    unknown = client.post("/console/login", data={"username": "khong-co", "password": "x"})
    assert unknown.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in unknown.text


def test_pages_need_a_session(console_url: str):
    client = httpx.Client(base_url=console_url)
    page = client.get("/console/staff")
    assert page.status_code == 303 and page.headers["location"].startswith("/console/login?next=")
    assert client.get("/console/api/me").status_code == 401


def test_lock_out_after_five_wrong_passwords(console_url: str, console_db: str):
    with session_scope(console_db) as session:
        create_user(session, "khoa1", PASSWORD, "analyst", actor="test")
    client = httpx.Client(base_url=console_url)
    for _ in range(4):
        client.post("/console/login", data={"username": "khoa1", "password": "sai-mat-khau"})
    assert login_client(console_url, "khoa1").get("/console/api/me").status_code == 200  # a success resets the count
    for _ in range(5):
        client.post("/console/login", data={"username": "khoa1", "password": "sai-mat-khau"})
    locked = client.post("/console/login", data={"username": "khoa1", "password": PASSWORD})
    assert locked.status_code == 401 and "tạm khóa" in locked.text


def test_session_csrf_and_logout(console_url: str):
    client = login_client(console_url, "admin1")
    assert client.get("/console/api/me").json() == {"username": "admin1", "display_name": "Cán bộ admin",
                                                    "role": "admin"}
    token = client.headers.pop("X-CSRF-Token")
    refused = client.post("/console/staff", data={"username": "moi1", "role": "agent", "password": "x" * 12})
    assert refused.status_code == 403 and "CSRF" in refused.text
    forged = client.post("/console/staff", data={"username": "moi1", "role": "agent", "password": "x" * 12,
                                                  "csrf_token": "forged"})
    assert forged.status_code == 403
    created = client.post("/console/staff", data={"username": "moi1", "role": "agent", "password": "x" * 12,
                                                   "csrf_token": token})
    assert created.status_code == 303
    audit = client.get("/console/api/audit", params={"entity": "staff_user"}).json()
    assert audit[0]["actor"] == "admin1" and audit[0]["entity_id"] == "moi1" and audit[0]["after"]["role"] == "agent"
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/console/api/me").status_code == 401


def test_roles_are_checked_on_the_server(console_url: str):
    analyst = login_client(console_url, "analyst1")
    assert analyst.get("/console/api/audit").status_code == 403
    assert analyst.get("/console/staff").status_code == 403
    assert analyst.post("/console/staff", data={"username": "x1", "role": "admin", "password": "y" * 12}
                        ).status_code == 403
    assert analyst.get("/console/api/me").json()["role"] == "analyst"


def test_no_open_redirect_and_clean_errors(console_url: str):
    client = httpx.Client(base_url=console_url)
    response = client.post("/console/login", data={"username": "editor1", "password": PASSWORD,
                                                    "next": "//evil.example/"})
    assert response.status_code == 303 and response.headers["location"] == "/console/"
    missing = client.get("/console/khong-co-trang-nay")
    assert missing.status_code == 404 and "Traceback" not in missing.text
    junk = client.post("/console/login", content=b"\xff\xfe{{{", headers={"content-type": "application/json"})
    assert junk.status_code < 500
