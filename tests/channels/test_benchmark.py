"""The webhook benchmark runs and loses nothing (tiny load; the real numbers come from ``python -m benchmarks.webhooks``)."""

from __future__ import annotations

from benchmarks import webhooks


def test_benchmark_smoke():
    rows = webhooks.run(senders=5, requests=30, warmup=5, postgres=False)
    assert [(r["channel"], r["database"]) for r in rows] == [("telegram", "sqlite"), ("zalo", "sqlite")]
    for row in rows:
        assert row["accepted"] == row["reached_agent"] == 30 and row["non_200"] == 0
        assert row["per_second"] > 0 and row["p95_ms"] >= row["median_ms"] > 0
    assert "| telegram | sqlite |" in webhooks.format_table(rows)
