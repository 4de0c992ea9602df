"""Generate a large dossier table (set-based SQL on PostgreSQL) and time the dossier lookup.

``python -m benchmarks.dossier_data postgresql://…/db 1000000`` fills an existing,
migrated database. Codes follow the official form and are unique:
``000.QQ.00.H65-YYMMDD-RRRR`` with ``i = 10000·QQ + RRRR`` (plus a date derived from i).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from typing import Dict, List

from sqlalchemy import create_engine, select, text

from bot.db.models import Dossier
from bot.db.session import get_sessionmaker


def code_for(i: int) -> str:
    """The generated code of row ``i`` (same formula as the SQL below)."""
    import datetime as dt

    day = dt.date(2024, 1, 1) + dt.timedelta(days=i % 700)
    return f"000.{(i // 10000) % 100:02d}.00.H65-{day:%y%m%d}-{i % 10000:04d}"


def last4_for(i: int) -> str:
    """Phone ending of row ``i``."""
    return f"{i % 10000:04d}"


GENERATE_SQL = """
INSERT INTO dossiers (code, procedure_code, procedure_name, applicant_name, applicant_phone, phone_last4,
                      status, agency_name, pickup_place, received_at, appointment_date, missing_documents,
                      status_changed_at, updated_at)
SELECT '000.' || lpad(((i / 10000) % 100)::text, 2, '0') || '.00.H65-'
         || to_char(date '2024-01-01' + (i % 700), 'YYMMDD') || '-' || lpad((i % 10000)::text, 4, '0'),
       '1.001193', 'Đăng ký khai sinh', 'Công dân ' || i,
       '09' || lpad(((i::bigint * 7919) % 10000)::text, 4, '0') || lpad((i % 10000)::text, 4, '0'),
       lpad((i % 10000)::text, 4, '0'),
       (ARRAY['received','in_progress','need_documents','waiting_fee','ready','returned','refused'])[1 + i % 7],
       'UBND xã', 'Bộ phận Một cửa', now() - ((i % 30) || ' days')::interval,
       current_date + (i % 30 - 10), '[]'::json, now() - ((i % 30) || ' days')::interval, now()
FROM generate_series(:start, :stop) AS s(i)
"""


def generate(database_url: str, count: int, batch: int = 250_000) -> float:
    """Insert ``count`` generated dossiers; returns seconds."""
    engine = create_engine(database_url, future=True)
    started = time.perf_counter()
    with engine.begin() as conn:
        for start in range(0, count, batch):
            conn.execute(text(GENERATE_SQL), {"start": start, "stop": min(start + batch, count) - 1})
        conn.execute(text("ANALYZE dossiers"))
    engine.dispose()
    return time.perf_counter() - started


def time_lookups(database_url: str, count: int, samples: int = 2000) -> Dict[str, float]:
    """Median and p95 (ms) of the lookup the assistant does: one dossier by code, in its own session."""
    factory = get_sessionmaker(database_url)
    rng = random.Random(7)
    codes = [code_for(rng.randrange(count)) for _ in range(samples)]
    timings: List[float] = []
    for code in codes:
        session = factory()
        t0 = time.perf_counter()
        row = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one_or_none()
        timings.append((time.perf_counter() - t0) * 1000)
        session.close()
        assert row is not None, code
    timings.sort()
    with factory() as session:
        plan = session.execute(text("EXPLAIN SELECT * FROM dossiers WHERE code = :c"), {"c": codes[0]}).scalars().all()
    return {"median_ms": statistics.median(timings), "p95_ms": timings[int(0.95 * (len(timings) - 1))],
            "plan": " ".join(plan)[:120]}


if __name__ == "__main__":
    url, n = sys.argv[1], int(sys.argv[2])
    print(f"generated {n} dossiers in {generate(url, n):.1f} s")
    print(time_lookups(url, n))
