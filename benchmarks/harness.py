"""Start the real assistant (action server + Rasa server) on free loopback ports, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Dict, Iterator, Optional

import httpx
import sqlalchemy as sa

from bot.cli import _free_port, latest_model, wait_for_port
from bot.db.session import get_engine, upgrade
from bot.settings import ROOT

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


class PostgresUnavailable(RuntimeError):
    """The local PostgreSQL server cannot be reached."""


@contextlib.contextmanager
def scratch_postgres(prefix: str = "scratch", migrate: bool = True) -> Iterator[str]:
    """A new PostgreSQL database (migrated unless told otherwise), dropped afterwards.

    Raises:
        PostgresUnavailable: when the server cannot be reached (tests turn this into a skip).
    """
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise PostgresUnavailable(str(exc)) from exc
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        if migrate:
            upgrade(url)
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def running_assistant(database_url: str, workdir: Path, extra_env: Optional[Dict[str, str]] = None,
                      startup_timeout: float = 240.0) -> Iterator[str]:
    """Run ``python -m bot.cli serve`` on ``database_url``; yields the base URL (http://127.0.0.1:port)."""
    latest_model()  # fails clearly when `make train` was not run
    env = {**os.environ, "DATABASE_URL": database_url, "RASA_PORT": str(_free_port()),
           "ACTION_PORT": str(_free_port()), "SCHEDULER_MODE": "off", "LOG_LEVEL": "WARNING",
           "RUN_DIR": str(workdir), "APP_ENV": "test", **(extra_env or {})}
    for name in ("TELEGRAM_BOT_TOKEN", "ZALO_APP_ID", "ONESTOP_PUSH_TOKEN"):
        if name not in (extra_env or {}):
            env.pop(name, None)
    with open(workdir / "serve.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            wait_for_port("127.0.0.1", int(env["RASA_PORT"]), timeout=startup_timeout, proc=proc)
            url = f"http://127.0.0.1:{env['RASA_PORT']}"
            httpx.get(f"{url}/", timeout=120)  # Rasa's root route (the HTTP API is off)
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
