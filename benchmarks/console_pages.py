"""The console's own analytics and conversation pages over HTTP, timed against the analytics benchmark database.

Used by :mod:`benchmarks.analytics`: it starts ``python -m console`` on the benchmark's database,
logs in an analyst (and an admin for the refresh), and times each page / API call end to end
(routing, role and CSRF checks, queries, SVG charts, templates, JSON) from an HTTP client.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import httpx

from bot.cli.processes import free_port, wait_for_port
from bot.db.session import session_scope
from bot.settings import ROOT
from bot.staff.accounts import create_user
from tests.support.console import stop_group

PASSWORD = "benchmark-password-1"  # noqa: S105 - a throwaway account in a throwaway database


@contextlib.contextmanager
def console(database_url: str) -> Iterator[str]:
    """``python -m console`` on ``database_url``; yields its base URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CONSOLE_PORT": str(port), "APP_ENV": "test",
           "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as run_dir:
        env["RUN_DIR"] = run_dir
        proc = subprocess.Popen([sys.executable, "-m", "console"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for_port("127.0.0.1", port, timeout=90, proc=proc)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_group(proc)


def _login(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    response = client.post("/console/login", data={"username": username, "password": PASSWORD, "next": "/console/"})
    if response.status_code != 303:
        raise RuntimeError(f"login of {username}: HTTP {response.status_code}")
    page = client.get("/console/").text
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    client.headers["X-CSRF-Token"] = page[start:page.index('"', start)]
    return client


def _time(client: httpx.Client, method: str, path: str, params: Optional[Dict[str, Any]],
          repeat: int) -> Tuple[float, float, int]:
    samples: List[float] = []
    size = 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.request(method, path, params=params)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code}")
        size = len(response.content)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))], size


def run(database_url: str, today: dt.date, repeat: int) -> List[Dict[str, Any]]:
    """Time every console page and API call of analytics and conversation review; one row per call."""
    with session_scope(database_url) as s:
        create_user(s, "bench_analyst", PASSWORD, "analyst", "Phân tích", actor="benchmark")
        create_user(s, "bench_admin", PASSWORD, "admin", "Quản trị", actor="benchmark")

    def days(n: int, granularity: str = "day") -> Dict[str, str]:
        return {"start": (today - dt.timedelta(days=n - 1)).isoformat(), "end": today.isoformat(),
                "granularity": granularity}

    rows: List[Dict[str, Any]] = []
    with console(database_url) as base:
        analyst, admin = _login(base, "bench_analyst"), _login(base, "bench_admin")
        try:
            first = analyst.get("/console/api/conversations", params={"limit": 50}).json()
            ref = first["items"][0]["ref"]
            cursor = first["next_cursor"]
            for _ in range(19):
                cursor = analyst.get("/console/api/conversations", params={"limit": 50, "cursor": cursor}
                                     ).json()["next_cursor"]
            year_ago = (today - dt.timedelta(days=364)).isoformat()
            calls = [
                ("page /console/analytics", "7 days, per day", "GET", "/console/analytics", days(7)),
                ("page /console/analytics", "30 days, per day", "GET", "/console/analytics", days(30)),
                ("page /console/analytics", "365 days, per week", "GET", "/console/analytics", days(365, "week")),
                ("API analytics/dashboard", "30 days, per day", "GET", "/console/api/analytics/dashboard", days(30)),
                ("API analytics/intents", "365 days, per week", "GET", "/console/api/analytics/intents",
                 days(365, "week")),
                ("API analytics/unanswered", "30 days", "GET", "/console/api/analytics/unanswered", days(30)),
                ("CSV analytics/traffic", "365 days, per day", "GET", "/console/api/analytics/traffic/csv",
                 days(365)),
                ("API analytics/freshness", "–", "GET", "/console/api/analytics/freshness", None),
                ("page /console/conversations", "newest, no filter", "GET", "/console/conversations", None),
                ("page /console/conversations", "page 21 (keyset cursor)", "GET", "/console/conversations",
                 {"cursor": cursor}),
                ("page /console/conversations", "fallback and handoff", "GET", "/console/conversations",
                 {"fallback": "1", "handoff": "1"}),
                ("page /console/conversations", "zalo, last 30 days", "GET", "/console/conversations",
                 {"channel": "zalo", "start": days(30)["start"]}),
                ("API conversations", "intent request_human, year", "GET", "/console/api/conversations",
                 {"intent": "request_human", "start": year_ago}),
                ("API conversations", "rating ≤ 2", "GET", "/console/api/conversations", {"max_rating": "2"}),
                ("page /console/conversations/{ref}", "transcript, masked", "GET", f"/console/conversations/{ref}",
                 None),
                ("API conversations/{ref}", "transcript, masked", "GET", f"/console/api/conversations/{ref}", None),
            ]
            for name, what, method, path, params in calls:
                median, p95, size = _time(analyst, method, path, params, repeat)
                rows.append({"page": name, "range": what, "median": median, "p95": p95, "bytes": size})
            median, p95, size = _time(admin, "POST", "/console/api/analytics/refresh", None, repeat)
            rows.append({"page": "API analytics/refresh (rollup now)", "range": "after the 100-conversation tail",
                         "median": median, "p95": p95, "bytes": size})
        finally:
            analyst.close()
            admin.close()
    return rows


def table(rows: List[Dict[str, Any]], repeat: int, target_ms: float) -> str:
    """The rows as a Markdown table."""
    lines = [f"Console pages and API calls over HTTP (a real `python -m console`, logged in as an analyst; "
             f"{repeat} requests each, one at a time):", "",
             "| page / call | what | median ms | p95 ms | size KB | p95 < 500 ms |", "|---|---|---:|---:|---:|---|"]
    for row in rows:
        ok = "yes" if row["p95"] < target_ms else "**no**"
        lines.append(f"| {row['page']} | {row['range']} | {row['median']:.1f} | {row['p95']:.1f} | "
                     f"{row['bytes'] / 1024:.0f} | {ok} |")
    worst = max(rows, key=lambda r: r["p95"])
    lines += ["", f"Slowest console p95: {worst['page']} ({worst['range']}), {worst['p95']:.0f} ms."]
    return "\n".join(lines)
