"""The staff console for tests: a real server (``python -m console``) on a free port, staff accounts, Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, Optional

import httpx

from bot.cli.processes import free_port, wait_for_port
from bot.db.session import session_scope
from bot.settings import ROOT
from bot.staff.accounts import create_user

SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "mat-khau-thu-nghiem-1"  # noqa: S105 - test accounts on a scratch database
ROLES = ("admin", "editor", "trainer", "agent", "analyst")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def make_staff(database_url: str) -> Dict[str, str]:
    """One account per role (``<role>1``, password :data:`PASSWORD`); returns role → username."""
    with session_scope(database_url) as session:
        for role in ROLES:
            create_user(session, f"{role}1", PASSWORD, role, f"Cán bộ {role}", actor="test")
    return {role: f"{role}1" for role in ROLES}


@contextlib.contextmanager
def running_console(database_url: str, workdir: Path, extra_env: Optional[Dict[str, str]] = None) -> Iterator[str]:
    """``python -m console`` on ``database_url``; yields its base URL (``http://127.0.0.1:PORT``)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CONSOLE_PORT": str(port), "APP_ENV": "test",
           "LOG_LEVEL": "WARNING", "RUN_DIR": str(workdir), "PYTHONPATH": str(ROOT), **(extra_env or {})}
    with open(workdir / "console.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "console"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port("127.0.0.1", port, timeout=60, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group of ``proc`` (started with a new session), SIGKILL after 15 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def login_client(base_url: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """An HTTP client logged in as ``username``; its ``headers`` carry the session's CSRF token."""
    client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
    response = client.post("/console/login", data={"username": username, "password": password, "next": "/console/"})
    assert response.status_code == 303, response.text[:300]
    page = client.get("/console/").text
    assert 'name="csrf_token"' in page, page[-1500:]
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    client.headers["X-CSRF-Token"] = page[start:page.index('"', start)]
    return client


def chromium_path() -> str:
    """Debian's chromium (``make browser`` installs it).

    Raises:
        RuntimeError: chromium is not installed.
    """
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("chromium is not installed: run `make browser` (apt-get install chromium)")
    return path


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """Save a full-page screenshot of ``page`` as ``docs/screenshots/<name>.png`` (README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def browser_login(page, base_url: str, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Log in through the login form, as a person would."""
    page.goto(f"{base_url}/console/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base_url}/console/**")
