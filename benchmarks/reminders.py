"""Benchmark of the reminder sweep on PostgreSQL: 1,000,000 dossiers, 100,000 subscriptions.

Creates a throwaway database (dropped at the end), fills it with set-based SQL
(``INSERT … SELECT generate_series``), then measures with a fixed clock (a Tuesday,
10:00 local, outside quiet hours):

* the first sweep's planning (every due notice queued): seconds, notices queued per second;
* a steady-state sweep (nothing new to queue), the cost paid every interval;
* delivery through a no-op sender (claim, re-check, render, record) for a slice of the queue.

    python -m benchmarks.reminders            # BENCH_PG_ADMIN_URL overrides the server
    BENCH_DOSSIERS=100000 BENCH_SUBSCRIPTIONS=10000 python -m benchmarks.reminders
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
import uuid
from typing import Any, Dict, List

import sqlalchemy as sa

logger = logging.getLogger(__name__)

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
NOW_LOCAL = "2024-03-05 10:00"  # a Tuesday, offices open
STATUSES = ["received", "in_progress", "need_documents", "waiting_fee", "ready", "returned", "refused", "in_progress"]


def _fill(conn: sa.engine.Connection, dossiers: int, subscriptions: int, now: dt.datetime, today: dt.date) -> int:
    """Generate users, dossiers, links and subscriptions; returns the number of (user, dossier) targets."""
    users = subscriptions  # one subscription per user
    singles = int(users * 0.7)
    statuses = "ARRAY[" + ",".join(f"'{s}'" for s in STATUSES) + "]"
    params = {"now": now, "today": today, "users": users, "dossiers": dossiers, "singles": singles}
    conn.execute(sa.text("""
        INSERT INTO chat_users (id, channel, channel_user_id, reachable, last_interaction_at, created_at)
        SELECT g, CASE WHEN g % 2 = 0 THEN 'telegram' ELSE 'zalo' END, g::text, true,
               :now - make_interval(days => g % 10), :now - interval '30 days'
        FROM generate_series(1, :users) g"""), params)
    conn.execute(sa.text(f"""
        INSERT INTO dossiers (id, code, procedure_code, procedure_name, applicant_phone, phone_last4, status,
                              agency_name, pickup_place, received_at, appointment_date, new_appointment_date,
                              missing_documents, fee_due_vnd, status_changed_at, updated_at)
        SELECT g, 'BENCH-' || lpad(g::text, 8, '0'), '1.00' || (g % 50), 'Thủ tục số ' || (g % 50),
               '09' || lpad((g % 100000000)::text, 8, '0'), lpad((g % 10000)::text, 4, '0'),
               ({statuses})[1 + g % 8], 'UBND xã ' || (g % 100), NULL, :now - interval '12 days',
               :today + ((g % 21) - 10), CASE WHEN g % 13 = 0 THEN :today + 3 END,
               '["Tờ khai theo mẫu"]'::json, CASE WHEN g % 8 = 3 THEN 150000 END,
               :now - make_interval(hours => g % 240), :now
        FROM generate_series(1, :dossiers) g"""), params)
    # 70 % subscribe to one dossier, 30 % to all their linked dossiers (three each)
    conn.execute(sa.text("""
        INSERT INTO dossier_links (chat_user_id, dossier_id, verified_at)
        SELECT u, ((u * 10 + k) % :dossiers) + 1, :now - interval '6 days'
        FROM generate_series(1, :users) u, generate_series(0, 2) k
        WHERE u <= :singles AND k = 0 OR u > :singles"""), params)
    conn.execute(sa.text("""
        INSERT INTO reminder_subscriptions (chat_user_id, dossier_id, active, created_at)
        SELECT u, CASE WHEN u <= :singles THEN ((u * 10) % :dossiers) + 1 END, true, :now - interval '5 days'
        FROM generate_series(1, :users) u"""), params)
    for table in ("chat_users", "dossiers", "dossier_links", "reminder_subscriptions"):
        conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        conn.execute(sa.text(f"ANALYZE {table}"))
    return singles + (users - singles) * 3


class _NullSender:
    """Accepts every message at once (measures our side of delivery only)."""

    async def send_text(self, recipient_id: str, text: str) -> None:
        return None

    async def send_template(self, phone: str, template_id: str, data: Any, tracking_id: str) -> None:
        return None


def run(dossiers: int = 0, subscriptions: int = 0, deliver: int = 0) -> List[Dict[str, Any]]:
    """Run the benchmark; returns one row per measurement."""
    from bot.db.session import get_engine, get_sessionmaker, upgrade
    from bot.reminders.clock import get_zone, to_db
    from bot.reminders.delivery import Router
    from bot.reminders.outbox import OutboxConfig
    from bot.reminders.service import ReminderService
    from bot.reminders.workdays import QuietHours, load_calendar

    dossiers = dossiers or int(os.environ.get("BENCH_DOSSIERS", 1_000_000))
    subscriptions = subscriptions or int(os.environ.get("BENCH_SUBSCRIPTIONS", 100_000))
    deliver = deliver or int(os.environ.get("BENCH_DELIVER", 10_000))
    zone = get_zone("Asia/Ho_Chi_Minh")
    now = dt.datetime.strptime(NOW_LOCAL, "%Y-%m-%d %H:%M").replace(tzinfo=zone)

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    name = f"reminders_bench_{uuid.uuid4().hex[:8]}"
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    rows: List[Dict[str, Any]] = []
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        engine = get_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            targets = _fill(conn, dossiers, subscriptions, to_db(now), now.date())
        rows.append({"case": "generate data (set-based SQL)", "seconds": time.perf_counter() - started,
                     "notices": 0, "per_s": None})
        base = {"dossiers": dossiers, "subscriptions": subscriptions, "targets": targets}

        null = _NullSender()
        router = Router(text_senders={"telegram": null, "zalo": null}, zns=null, zns_template_id="bench")
        service = ReminderService(get_sessionmaker(url), router, now=lambda: now, zone=zone,
                                  calendar=load_calendar(), quiet=QuietHours(21, 7),
                                  config=OutboxConfig(worker_id="bench", batch_size=500, concurrency=8,
                                                      max_batches=max(1, deliver // 500)))
        for case in ("first sweep: plan (queue every due notice)", "steady-state sweep: plan (nothing new)"):
            started = time.perf_counter()
            planned = service.plan()
            seconds = time.perf_counter() - started
            rows.append({"case": case, "seconds": seconds, "notices": planned.total,
                         "per_s": planned.total / seconds if planned.total else None, **base,
                         "by_kind": dict(planned.queued)})

        started = time.perf_counter()
        stats = asyncio.run(service.outbox.deliver_due())
        seconds = time.perf_counter() - started
        rows.append({"case": "deliver via no-op sender (claim, check, render, record)", "seconds": seconds,
                     "notices": stats.sent, "per_s": stats.sent / seconds if stats.sent else None, **base})
        service.close()
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return rows


def _table(rows: List[Dict[str, Any]]) -> str:
    lines = ["| case | seconds | notices | notices/s |", "|---|---:|---:|---:|"]
    for row in rows:
        per_s = f"{row['per_s']:,.0f}" if row.get("per_s") else "–"
        lines.append(f"| {row['case']} | {row['seconds']:.2f} | {row['notices']:,} | {per_s} |")
    return "\n".join(lines)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    result = run()
    first = next(r for r in result if "dossiers" in r)
    print(f"Reminder sweep on PostgreSQL: {first['dossiers']:,} dossiers, {first['subscriptions']:,} subscriptions "
          f"({first['targets']:,} subscribed user–dossier pairs)\n")
    print(_table(result))
    kinds = next(r for r in result if r.get("by_kind"))["by_kind"]
    print("\nqueued by kind: " + ", ".join(f"{k} {v:,}" for k, v in kinds.items()))
