"""Webhook acceptance throughput of the Telegram and Zalo channels (``python -m benchmarks.webhooks``).

What is measured: signed webhooks (Telegram secret-token header, Zalo ``X-ZEvent-Signature``)
posted by 50 concurrent senders over loopback to the real channel code mounted in a Sanic
server - exactly as ``rasa run`` mounts it - running in its own process. Each request
is verified, parsed, de-duplicated and rate-limited in the database
(``processed_messages``, ``rate_limit_hits``, ``chat_users``: one transaction) and
answered 200; the message is then handed to a stand-in agent that only counts it (NLU
and actions are measured by ``benchmarks/nlu_eval.py``). Reported: webhooks accepted
per second, median and p95 latency to the HTTP 200, and how many messages reached the
agent (nothing may be lost). Rows for SQLite (temporary file) and, when reachable,
PostgreSQL (temporary database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
TOKEN = "123456789:BenchmarkTokenForLoopbackOnly_000"
SECRET = "bench-secret_token"
APP_ID = "4291763606161179100"
OA_SECRET_KEY = "bench-oa-secret-key"
DEAD = "http://127.0.0.1:9"  # outbound API calls (there should be none) can never leave the machine


def _env(database_url: str) -> Dict[str, str]:
    return {
        "APP_ENV": "test", "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING",
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_BOT_USERNAME": "bench_bot",
        "TELEGRAM_API_BASE": DEAD, "ZALO_APP_ID": APP_ID, "ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
        "ZALO_APP_SECRET": "bench-app-secret", "ZALO_API_BASE": DEAD, "ZALO_OAUTH_BASE": DEAD, "ZALO_ZNS_BASE": DEAD,
        "USER_RATE_LIMIT_PER_MINUTE": "20",
    }


# -- server process -------------------------------------------------------------------------------


def _serve(env: Dict[str, str], ready: Any, stop: Any, processed: Any) -> None:
    """Child process: the channels in a Sanic server until ``stop`` is set."""
    import logging

    os.environ.update(env)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("sanic").setLevel(logging.ERROR)
    asyncio.run(_serve_async(ready, stop, processed))


async def _serve_async(ready: Any, stop: Any, processed: Any) -> None:
    from rasa.core.channels.channel import UserMessage, register
    from sanic import Sanic

    from bot.cli.runtime import MESSAGING_CHANNELS
    from bot.settings import get_settings
    from integrations.telegram import channel as telegram
    from integrations.zalo import channel as zalo

    class CountingAgent:
        """Stands in for the Rasa agent: counts what reaches it."""

        nlg = None
        domain = None
        tracker_store = None

        async def handle_message(self, message: UserMessage) -> None:
            with processed.get_lock():
                processed.value += 1

    settings = get_settings()
    app = Sanic("bench_webhooks", configure_logging=False)
    app.ctx.agent = CountingAgent()
    channels = [telegram.TelegramInput.from_credentials(MESSAGING_CHANNELS["telegram"].entry(settings)),
                zalo.ZaloInput.from_credentials(MESSAGING_CHANNELS["zalo"].entry(settings))]
    register(channels, app, route="/webhooks/")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    ready.put(sock.getsockname()[1])
    while not stop.is_set():
        await asyncio.sleep(0.05)
    await server.before_stop()  # drains the background tasks
    await server.close()
    await server.after_stop()


# -- load generator -------------------------------------------------------------------------------


def _telegram_requests(n: int, offset: int) -> List[Tuple[str, bytes, Dict[str, str]]]:
    requests = []
    for i in range(n):
        user = 10_000 + (offset + i) % 5_000
        update = {"update_id": 900_000_000 + offset + i, "message": {
            "message_id": offset + i, "date": int(time.time()), "text": f"thủ tục đăng ký khai sinh {i}",
            "from": {"id": user, "is_bot": False, "first_name": "Lan", "language_code": "vi"},
            "chat": {"id": user, "type": "private", "first_name": "Lan"}}}
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        requests.append(("/webhooks/telegram/webhook", json.dumps(update, ensure_ascii=False).encode(), headers))
    return requests


def _zalo_requests(n: int, offset: int) -> List[Tuple[str, bytes, Dict[str, str]]]:
    import hashlib

    requests = []
    for i in range(n):
        timestamp = str(int(time.time() * 1000))
        event = {"app_id": APP_ID, "sender": {"id": str(7_000_000 + (offset + i) % 5_000)},
                 "user_id_by_app": "552177279717587730", "recipient": {"id": "388613280878808645"},
                 "event_name": "user_send_text", "timestamp": timestamp,
                 "message": {"text": f"lệ phí cấp đổi căn cước {i}", "msg_id": f"bench{offset + i:010d}"}}
        body = json.dumps(event, ensure_ascii=False).encode()
        mac = hashlib.sha256(APP_ID.encode() + body + timestamp.encode() + OA_SECRET_KEY.encode()).hexdigest()
        headers = {"Content-Type": "application/json", "X-ZEvent-Signature": f"mac={mac}"}
        requests.append(("/webhooks/zalo/webhook", body, headers))
    return requests


async def _load(base: str, requests: List[Tuple[str, bytes, Dict[str, str]]], senders: int) -> Dict[str, Any]:
    import aiohttp

    latencies: List[float] = []
    statuses: Dict[int, int] = {}
    accepted = 0
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=senders)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def sender() -> None:
            nonlocal accepted
            while True:
                try:
                    path, body, headers = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                async with session.post(base + path, data=body, headers=headers) as reply:
                    payload = await reply.json(content_type=None)
                latencies.append(time.perf_counter() - started)
                statuses[reply.status] = statuses.get(reply.status, 0) + 1
                accepted += reply.status == 200 and payload.get("status") == "accepted"

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(senders)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"elapsed": elapsed, "accepted": accepted, "statuses": statuses,
            "median_ms": statistics.median(latencies) * 1000,
            "p95_ms": latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000}


# -- orchestration --------------------------------------------------------------------------------


def _wait_for(counter: Any, target: int, timeout: float = 30.0) -> None:
    """Wait until ``counter`` (a shared Value) reaches ``target``: the background work is done."""
    deadline = time.monotonic() + timeout
    while counter.value < target and time.monotonic() < deadline:
        time.sleep(0.05)


def _bench_database(label: str, database_url: str, senders: int, requests: int, warmup: int) -> List[Dict[str, Any]]:
    from bot.db.session import upgrade

    upgrade(database_url)
    ctx = mp.get_context("spawn")
    ready, stop, processed = ctx.Queue(), ctx.Event(), ctx.Value("i", 0)
    proc = ctx.Process(target=_serve, args=(_env(database_url), ready, stop, processed), daemon=True)
    proc.start()
    rows: List[Dict[str, Any]] = []
    try:
        port = ready.get(timeout=180)
        base = f"http://127.0.0.1:{port}"
        offset = 0
        expected = 0
        for channel, build in (("telegram", _telegram_requests), ("zalo", _zalo_requests)):
            if warmup:
                expected += asyncio.run(_load(base, build(warmup, offset), senders))["accepted"]
                offset += warmup
                _wait_for(processed, expected)  # warm-up stragglers must not count below
            before = processed.value
            result = asyncio.run(_load(base, build(requests, offset), senders))
            offset += requests
            expected += result["accepted"]
            _wait_for(processed, expected)
            rows.append({
                "channel": channel, "database": label, "senders": senders, "requests": requests,
                "accepted": result["accepted"], "non_200": requests - result["statuses"].get(200, 0),
                "per_second": round(result["accepted"] / result["elapsed"], 1),
                "median_ms": round(result["median_ms"], 1), "p95_ms": round(result["p95_ms"], 1),
                "reached_agent": processed.value - before,
            })
    finally:
        stop.set()
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()
    return rows


def _postgres_database() -> Optional[Tuple[str, Any]]:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    name = f"bench_webhooks_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception:  # noqa: BLE001 - no PostgreSQL: the row is skipped
        admin.dispose()
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


def run(senders: int = 50, requests: int = 2000, warmup: int = 200, postgres: bool = True) -> List[Dict[str, Any]]:
    """Benchmark both channels on SQLite and (if reachable) PostgreSQL; returns one row per channel and database."""
    rows: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += _bench_database("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", senders, requests, warmup)
    if postgres:
        created = _postgres_database()
        if created is not None:
            url, drop = created
            try:
                rows += _bench_database("postgresql", url, senders, requests, warmup)
            finally:
                from bot.db.session import get_engine

                get_engine(url).dispose()
                drop()
    return rows


def format_table(rows: List[Dict[str, Any]]) -> str:
    """Rows as a Markdown table."""
    columns = ["channel", "database", "senders", "requests", "accepted", "non_200", "per_second", "median_ms",
               "p95_ms", "reached_agent"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200, help="requests per channel before measuring")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the rows as JSON to PATH")
    args = parser.parse_args()
    rows = run(senders=args.senders, requests=args.requests, warmup=args.warmup, postgres=not args.no_postgres)
    print(f"Signed webhooks accepted over loopback ({os.cpu_count()} CPU cores, server in its own process)")
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
