"""CSV export and the chart-ready shape of every analytics report."""

from __future__ import annotations

import csv
import io
from typing import Any, Dict, List

from bot.analytics.reports import Report

#: Cells starting with these are formulas in Excel/LibreOffice: quoted with a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def report_rows(report: Report) -> List[Dict[str, Any]]:
    """The report as rows: its ranked table, or one row per bucket with every series as a column."""
    if report.table is not None:
        return [dict(row) for row in report.table]
    return [{"bucket": label, **{name: values[i] for name, values in report.series.items()}}
            for i, label in enumerate(report.labels)]


def to_csv(report: Report) -> str:
    """CSV (UTF-8 text, header row, ``,`` separated) of :func:`report_rows`; safe to open in Excel."""
    rows = report_rows(report)
    columns = list(rows[0]) if rows else (["bucket", *report.series] if report.table is None else [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue()


def chart_data(report: Report) -> Dict[str, Any]:
    """JSON-ready chart data: ``labels`` (buckets) and one dataset per series (Chart.js' shape), plus totals."""
    return {
        "name": report.name,
        "granularity": report.period.granularity,
        "start": report.period.start.isoformat(),
        "end": report.period.end.isoformat(),
        "labels": list(report.labels),
        "datasets": [{"key": name, "data": list(values)} for name, values in report.series.items()],
        "totals": dict(report.totals),
        "table": report_rows(report) if report.table is not None else None,
    }
