"""Benchmark of the analytics pages and conversation review on PostgreSQL: 1,000,000 conversations, 10,000,000 events.

Creates a throwaway database (dropped at the end), fills Rasa's ``events`` table and the
feedback / handoff / reminder tables with set-based SQL (``INSERT … SELECT generate_series``):
a year of conversations on every channel, ten events each (session start, two turns), about 8 %
of citizen messages falling back. Then it times

* the full rollup (first run), an incremental rollup after a burst of new conversations, and a
  steady-state run (nothing new);
* every analytics page (each report, and the dashboard with all of them) over 7 and 30 days per
  day and 365 days per ISO week, with a tail of events the rollup has not seen yet;
* the conversation browse / search queries and a transcript;
* the console's own pages and JSON API over HTTP (:mod:`benchmarks.console_pages`: a real
  ``python -m console`` on the same database, an analyst logged in);

each page ``BENCH_REPEAT`` times (default 20) in a fresh session, reporting median and p95.

    python -m benchmarks.analytics           # BENCH_PG_ADMIN_URL overrides the server
    BENCH_CONVERSATIONS=100000 python -m benchmarks.analytics
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import statistics
import time
import uuid
from typing import Any, Callable, Dict, List, Tuple

import sqlalchemy as sa

logger = logging.getLogger(__name__)

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
ZONE_NAME = "Asia/Ho_Chi_Minh"
NOW_LOCAL = dt.datetime(2025, 3, 5, 10, 0)
TARGET_MS = 500
INTENTS = ["greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "help", "ask_procedure", "ask_documents",
           "ask_fee", "ask_duration", "ask_place", "ask_online", "search_procedures", "check_status",
           "subscribe_reminders", "unsubscribe_reminders", "ask_contact", "feedback", "out_of_scope", "inform"]
SENDER = ("CASE g % 10 WHEN 8 THEN 'telegram:group:-100' || (g % 50) || ':' || g WHEN 9 THEN 'rest:' || g "
          "ELSE (CASE WHEN g % 10 < 4 THEN 'zalo:' ELSE 'telegram:' END) || g END")


def _events_sql(first: int, last: int, start: float, step: float, id_base: int) -> str:
    """INSERT of conversations ``first..last`` (ten events each), the first starting at ``start``."""
    intents = "ARRAY[" + ",".join(f"'{i}'" for i in INTENTS) + "]"
    return f"""
    INSERT INTO events (id, sender_id, type_name, timestamp, intent_name, action_name, data)
    SELECT {id_base} + (g - {first}) * 10 + k + 1, {SENDER}, t.type_name, t.ts, t.intent, t.action,
           CASE WHEN t.type_name = 'user' THEN json_build_object('event', 'user', 'timestamp', t.ts, 'text', t.txt,
                  'parse_data', json_build_object('intent', json_build_object('name', t.intent, 'confidence', 0.93)),
                  'input_channel', split_part({SENDER}, ':', 1))::text
                WHEN t.type_name = 'bot' THEN json_build_object('event', 'bot', 'timestamp', t.ts,
                  'text', 'Câu trả lời của trợ lý số ' || (g % 97))::text
                ELSE json_build_object('event', t.type_name, 'timestamp', t.ts, 'name', t.action)::text END
    FROM generate_series({first}, {last}) g CROSS JOIN generate_series(0, 9) k
    CROSS JOIN LATERAL (SELECT (g * 7 + k * 13) % 100 AS dice, {start} + (g - {first}) * {step} + k * 7 AS ts) r
    CROSS JOIN LATERAL (SELECT
        CASE k WHEN 1 THEN 'session_started' WHEN 3 THEN 'user' WHEN 7 THEN 'user' WHEN 5 THEN 'bot'
               WHEN 9 THEN 'bot' ELSE 'action' END AS type_name,
        r.ts AS ts,
        CASE WHEN k IN (3, 7) THEN
            CASE WHEN r.dice < 6 THEN 'nlu_fallback' WHEN k = 7 AND g % 200 = 0 THEN 'request_human'
                 ELSE ({intents})[1 + (g * 31 + k * 17) % {len(INTENTS)}] END END AS intent,
        CASE k WHEN 0 THEN 'action_session_start' WHEN 2 THEN 'action_listen' WHEN 6 THEN 'action_listen'
               WHEN 4 THEN CASE WHEN (g * 7 + 3 * 13) % 100 BETWEEN 6 AND 7 THEN 'action_default_fallback'
                                ELSE 'action_answer' END
               WHEN 8 THEN CASE WHEN (g * 7 + 7 * 13) % 100 BETWEEN 6 AND 7 THEN 'action_default_fallback'
                                ELSE 'action_answer' END END AS action,
        CASE WHEN r.dice < 8 THEN 'Cho hỏi việc số ' || floor(3000 * power(((g * 2654435761) % 1000003) / 1000003.0, 3))
                 || CASE WHEN g % 5 = 0 THEN ' gọi 09' || lpad((g % 100000000)::text, 8, '0') ELSE '' END
             ELSE 'xin hỏi về thủ tục ' || (g % 58) END AS txt
    ) t"""


def _fill(conn: sa.engine.Connection, conversations: int, now: float) -> None:
    year = 365 * 86400
    start = now - year
    step = (year - 3600) / conversations
    conn.execute(sa.text("CREATE TABLE events (id integer NOT NULL, sender_id varchar(255) NOT NULL, "
                         "type_name varchar(255) NOT NULL, timestamp double precision, intent_name varchar(255), "
                         "action_name varchar(255), data text)"))
    conn.execute(sa.text(_events_sql(1, conversations, start, step, 0)))
    conn.execute(sa.text("ALTER TABLE events ADD PRIMARY KEY (id)"))
    conn.execute(sa.text("CREATE INDEX ix_events_sender_id ON events (sender_id)"))  # as Rasa creates it
    conn.execute(sa.text("CREATE INDEX ix_events_timestamp ON events (timestamp)"))  # as migration 0004 does
    params = {"n": conversations, "start": start, "step": step}
    conn.execute(sa.text(f"""
        INSERT INTO feedback (sender_key, text, rating, created_at)
        SELECT {SENDER}, NULL, CASE WHEN g % 70 = 0 THEN 3 WHEN g % 130 = 0 THEN 1 WHEN g % 3 = 0 THEN 4 ELSE 5 END,
               to_timestamp(:start + g * :step + 90) AT TIME ZONE 'UTC'
        FROM generate_series(10, :n, 10) g"""), params)
    conn.execute(sa.text(f"""
        INSERT INTO handoff_requests (sender_key, reason, transcript, status, created_at, taken_at, closed_at)
        SELECT {SENDER}, 'gặp cán bộ', '[]'::json, CASE WHEN g % 10 = 0 THEN 'open' ELSE 'closed' END,
               to_timestamp(:start + g * :step + 60) AT TIME ZONE 'UTC',
               CASE WHEN g % 10 <> 0 THEN to_timestamp(:start + g * :step + 60 + 30 + (g * 37) % 1800)
                    AT TIME ZONE 'UTC' END,
               CASE WHEN g % 10 <> 0 THEN to_timestamp(:start + g * :step + 3000) AT TIME ZONE 'UTC' END
        FROM generate_series(33, :n, 33) g"""), params)
    conn.execute(sa.text("""
        INSERT INTO chat_users (id, channel, channel_user_id, reachable, created_at)
        SELECT g, 'zalo', g::text, true, now() FROM generate_series(1, 50000) g"""))
    conn.execute(sa.text("""
        INSERT INTO dossiers (id, code, procedure_name, status, missing_documents, status_changed_at, updated_at)
        SELECT g, 'BENCH-' || g, 'Thủ tục', 'in_progress', '[]'::json, now(), now()
        FROM generate_series(1, 50000) g"""))
    conn.execute(sa.text("""
        INSERT INTO notification_log (key, dossier_id, chat_user_id, kind, state, attempts, next_attempt_at,
                                      payload, created_at)
        SELECT 'bench:' || g, 1 + g % 50000, 1 + g % 50000, 'status',
               (ARRAY['sent','sent','sent','sent','sent','sent','failed','undeliverable','unconfirmed','pending'])
               [1 + g % 10], 1, now(), '{}'::json, to_timestamp(:start + g * (:step * 3.3)) AT TIME ZONE 'UTC'
        FROM generate_series(1, 300000) g"""), params)
    for table in ("events", "feedback", "handoff_requests", "chat_users", "dossiers", "notification_log"):
        conn.execute(sa.text(f"ANALYZE {table}"))


def _time(fn: Callable[[], Any], repeat: int) -> Tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]


def run(conversations: int = 0, repeat: int = 0) -> Dict[str, Any]:
    """Run the benchmark; returns the setup timings and one row per timed page."""
    from bot import analytics as an
    from bot.db.session import get_engine, session_scope, upgrade

    conversations = conversations or int(os.environ.get("BENCH_CONVERSATIONS", 1_000_000))
    repeat = repeat or int(os.environ.get("BENCH_REPEAT", 20))
    zone = an.period("2025-01-01", "2025-01-01", zone=ZONE_NAME).zone
    now = NOW_LOCAL.replace(tzinfo=zone).timestamp()
    today = NOW_LOCAL.date()
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    name = f"analytics_bench_{uuid.uuid4().hex[:8]}"
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    setup: List[Tuple[str, float, str]] = []
    console_rows: List[Dict[str, Any]] = []
    pages: List[Dict[str, Any]] = []
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        engine = get_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            _fill(conn, conversations, now)
            events = conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
        setup.append(("generate data (set-based SQL, indexes, ANALYZE)", time.perf_counter() - started,
                      f"{conversations:,} conversations, {events:,} events"))
        stats = an.run_rollup(engine, now=now, zone=zone)
        setup.append(("rollup: first run (full)", stats.seconds,
                      f"{stats.days} days, {stats.conversations:,} conversations"))
        burst = 2000
        with engine.begin() as conn:
            conn.execute(sa.text(_events_sql(conversations + 1, conversations + burst, now - 1800, 0.9, events)))
        stats = an.run_rollup(engine, now=now + 60, zone=zone)
        setup.append(("rollup: incremental after new events", stats.seconds,
                      f"{stats.new_events:,} new events, {stats.days} days, {stats.conversations:,} conversations"))
        stats = an.run_rollup(engine, now=now + 120, zone=zone)
        setup.append(("rollup: steady state (nothing new)", stats.seconds,
                      f"{stats.days} days, {stats.conversations:,} conversations re-checked"))
        with engine.begin() as conn:  # a tail the rollup has not seen yet, read by every page
            conn.execute(sa.text(_events_sql(conversations + burst + 1, conversations + burst + 100, now + 130, 1.0,
                                             events + burst * 10)))

        ranges = [("7 days, per day", an.period(today - dt.timedelta(days=6), today, "day", zone)),
                  ("30 days, per day", an.period(today - dt.timedelta(days=29), today, "day", zone)),
                  ("365 days, per week", an.period(today - dt.timedelta(days=364), today, "week", zone))]
        for label, per in ranges:
            for report in (*an.REPORTS, "dashboard"):
                def page(report: str = report, per: an.Period = per) -> None:
                    with session_scope(url) as s:
                        result = an.dashboard(s, per) if report == "dashboard" else an.report(s, report, per)
                        an.to_csv(result["traffic"] if report == "dashboard" else result)
                median, p95 = _time(page, repeat)
                pages.append({"page": f"analytics: {report}", "range": label, "median": median, "p95": p95})

        year_ago = (today - dt.timedelta(days=364)).isoformat()
        cursor_holder: Dict[str, Any] = {}
        with session_scope(url) as s:
            cursor = None
            for _ in range(20):
                cursor = an.browse_conversations(s, limit=50, cursor=cursor, zone=zone).next_cursor
            cursor_holder["deep"] = cursor
            sender = s.execute(sa.text("SELECT sender_id FROM analytics_conversations ORDER BY last_at DESC LIMIT 1 "
                                       "OFFSET 5000")).scalar_one()
        searches = [
            ("browse: newest, no filter", {}, None),
            ("browse: page 21 (keyset cursor)", {}, cursor_holder["deep"]),
            ("search: channel zalo, last 30 days", {"channel": "zalo",
                                                    "start": (today - dt.timedelta(days=29)).isoformat()}, None),
            ("search: intent request_human, year", {"intent": "request_human", "start": year_ago}, None),
            ("search: rating ≤ 2", {"max_rating": 2}, None),
            ("search: fallback and handoff", {"had_fallback": True, "had_handoff": True}, None),
            ("search: telegram group, fallback, a day 6 months ago",
             {"channel": "telegram_group", "had_fallback": True,
              "start": (today - dt.timedelta(days=180)).isoformat(),
              "end": (today - dt.timedelta(days=180)).isoformat()}, None),
        ]
        for label, filters, cursor in searches:
            def browse(filters: Dict[str, Any] = filters, cursor: Any = cursor) -> None:
                with session_scope(url) as s:
                    an.browse_conversations(s, an.ConversationFilter(**filters), limit=50, cursor=cursor, zone=zone)
            median, p95 = _time(browse, repeat)
            pages.append({"page": label, "range": "50 per page", "median": median, "p95": p95})

        def read_transcript() -> None:
            with session_scope(url) as s:
                an.transcript(s, sender)
        median, p95 = _time(read_transcript, repeat)
        pages.append({"page": "transcript of one conversation (masked)", "range": "–", "median": median, "p95": p95})

        from benchmarks import console_pages

        console_rows = console_pages.run(url, today, repeat)
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return {"setup": setup, "pages": pages, "repeat": repeat, "conversations": conversations,
            "console": console_rows}


def _tables(result: Dict[str, Any]) -> str:
    lines = ["| step | seconds | what |", "|---|---:|---|"]
    lines += [f"| {step} | {seconds:.1f} | {what} |" for step, seconds, what in result["setup"]]
    lines += ["", f"Pages and queries, {result['repeat']} runs each (a fresh session per run; "
              f"the analytics pages also read a 1,000-event tail not yet rolled up):", "",
              "| page | range | median ms | p95 ms | p95 < 500 ms |", "|---|---|---:|---:|---|"]
    for row in result["pages"]:
        ok = "yes" if row["p95"] < TARGET_MS else "**no**"
        lines.append(f"| {row['page']} | {row['range']} | {row['median']:.1f} | {row['p95']:.1f} | {ok} |")
    worst = max(result["pages"], key=lambda r: r["p95"])
    lines += ["", f"Slowest p95: {worst['page']} ({worst['range']}), {worst['p95']:.0f} ms."]
    if result["console"]:
        from benchmarks import console_pages

        lines += ["", console_pages.table(result["console"], result["repeat"], TARGET_MS)]
    return "\n".join(lines)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    outcome = run()
    print(f"Analytics on PostgreSQL: {outcome['conversations']:,} conversations, ten events each\n")
    print(_tables(outcome))
