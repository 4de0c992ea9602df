"""Analytics (console item 6): charts per day / ISO week, CSV downloads, rollup freshness and refresh.

Every role reads; analysts (and admins) may run the rollup now. The reports read the rollup
tables plus the events not rolled up yet, so figures are current either way; the page says
when the rollup last ran.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from bot import analytics as an
from bot.analytics.periods import parse_date, zone_of
from bot.settings import get_settings
from bot.staff import audit
from bot.staff.sessions import ActiveSession
from console.analytics_view import REPORT_TITLES, panels, tiles, vi_error
from console.deps import DB, READ_ROLES, allowed, require
from console.templating import local_time, render

logger = logging.getLogger(__name__)
router = APIRouter(tags=["analytics"])
REFRESH_ROLES = ("analyst",)
DEFAULT_DAYS = 30


class Dataset(BaseModel):
    """One series of a chart: ``data[i]`` belongs to ``labels[i]``."""

    key: str
    data: List[Optional[float]]


class ReportOut(BaseModel):
    """An analytics report: buckets (``labels``), one dataset per series, totals, ranked table rows."""

    name: str
    granularity: str
    start: dt.date
    end: dt.date
    labels: List[str]
    datasets: List[Dataset]
    totals: Dict[str, Any]
    table: Optional[List[Dict[str, Any]]]


class FreshnessOut(BaseModel):
    """When the rollup last ran and how many events it has not seen (the reports still count them)."""

    last_run_at: Optional[dt.datetime]
    last_event_id: Optional[int]
    pending_events: int
    pending_capped: bool


class DashboardOut(BaseModel):
    """Every report of the period, and the rollup's freshness."""

    reports: Dict[str, ReportOut]
    freshness: FreshnessOut


class RefreshOut(BaseModel):
    """What one rollup run did."""

    full: bool
    new_events: int
    days: int
    conversations: int
    watermark: Optional[int]
    seconds: float


def _today() -> dt.date:
    return dt.datetime.now(zone_of()).date()


def _period(start: Optional[str], end: Optional[str], granularity: str) -> an.Period:
    """The requested period (default: the last 30 days, per day); bad input → 400 in Vietnamese."""
    try:
        last = parse_date(end, "end") if end else _today()
        first = parse_date(start, "start") if start else last - dt.timedelta(days=DEFAULT_DAYS - 1)
        return an.period(first, last, granularity)
    except an.AnalyticsInputError as exc:
        raise HTTPException(400, vi_error(exc)) from None


def _report_out(report: an.Report) -> ReportOut:
    return ReportOut(**an.chart_data(report))


def _freshness_out(session: Session) -> FreshnessOut:
    return FreshnessOut(**an.freshness(session).__dict__)


def period_query(start: Optional[str] = Query(None, max_length=10, description="first day, YYYY-MM-DD"),
                 end: Optional[str] = Query(None, max_length=10, description="last day, YYYY-MM-DD"),
                 granularity: str = Query("day", max_length=10, description="day or week (ISO weeks)")) -> an.Period:
    """The period of an analytics request (query parameters ``start``, ``end``, ``granularity``)."""
    return _period(start, end, granularity)


@router.get("/console/analytics", include_in_schema=False)
def analytics_page(request: Request, per: an.Period = Depends(period_query), refreshed: Optional[int] = Query(None),
                   session: Session = DB, staff: ActiveSession = Depends(require(*READ_ROLES))) -> Response:
    """Charts of the period with their tables and CSV links, headline figures, rollup freshness."""
    reports = an.dashboard(session, per)
    fresh = an.freshness(session)
    query = {"start": per.start.isoformat(), "end": per.end.isoformat(), "granularity": per.granularity}
    other = {**query, "granularity": "week" if per.granularity == "day" else "day"}
    return render(request, "analytics.html", {
        "per": per, "query": query, "qs": urlencode(query), "other_qs": urlencode(other), "panels": panels(reports),
        "tiles": tiles(reports), "freshness": fresh, "titles": REPORT_TITLES,
        "ran_at": local_time(fresh.last_run_at.replace(tzinfo=None)) if fresh.last_run_at else "",
        "may_refresh": allowed(staff, REFRESH_ROLES), "refreshed": refreshed,
        "zone": get_settings().timezone})


def _refresh(session: Session, staff: ActiveSession) -> an.RollupStats:
    stats = an.run_rollup(session.get_bind())  # type: ignore[arg-type]
    audit.record(session, staff.username, "analytics_refresh", "analytics", None, None,
                 {"new_events": stats.new_events, "days": stats.days, "conversations": stats.conversations})
    return stats


@router.post("/console/analytics/refresh", include_in_schema=False)
def analytics_refresh(per: an.Period = Depends(period_query), session: Session = DB,
                      staff: ActiveSession = Depends(require(*REFRESH_ROLES))) -> Response:
    """Run the rollup now (form button), back to the page."""
    stats = _refresh(session, staff)
    query = {"start": per.start.isoformat(), "end": per.end.isoformat(), "granularity": per.granularity,
             "refreshed": stats.new_events}
    return RedirectResponse(f"/console/analytics?{urlencode(query)}", status_code=303)


@router.get("/console/api/analytics/dashboard", response_model=DashboardOut)
def dashboard_api(per: an.Period = Depends(period_query), session: Session = DB,
                  staff: ActiveSession = Depends(require(*READ_ROLES))) -> DashboardOut:
    """Every report of the period (``start``..``end``, per ``day`` or ISO ``week``)."""
    reports = an.dashboard(session, per)
    return DashboardOut(reports={name: _report_out(r) for name, r in reports.items()},
                        freshness=_freshness_out(session))


@router.get("/console/api/analytics/freshness", response_model=FreshnessOut)
def freshness_api(session: Session = DB, staff: ActiveSession = Depends(require(*READ_ROLES))) -> FreshnessOut:
    """When the rollup last ran and how many events came since."""
    return _freshness_out(session)


@router.post("/console/api/analytics/refresh", response_model=RefreshOut)
def refresh_api(session: Session = DB, staff: ActiveSession = Depends(require(*REFRESH_ROLES))) -> RefreshOut:
    """Run the rollup now (analyst, admin); audited."""
    return RefreshOut(**_refresh(session, staff).__dict__)


def _named(name: str, session: Session, per: an.Period) -> an.Report:
    if name not in an.REPORTS:
        raise HTTPException(404, "Không có báo cáo này.")
    return an.report(session, name, per)


@router.get("/console/api/analytics/{name}", response_model=ReportOut)
def report_api(name: str, per: an.Period = Depends(period_query), session: Session = DB,
               staff: ActiveSession = Depends(require(*READ_ROLES))) -> ReportOut:
    """One report: traffic, intents, fallback, handoffs, satisfaction, unanswered or reminders."""
    return _report_out(_named(name, session, per))


@router.get("/console/api/analytics/{name}/csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the report as CSV (UTF-8 with BOM)"}})
def report_csv(name: str, per: an.Period = Depends(period_query), session: Session = DB,
               staff: ActiveSession = Depends(require(*READ_ROLES))) -> Response:
    """One report as a CSV download (opens in Excel with Vietnamese letters intact)."""
    report = _named(name, session, per)
    filename = f"thong-ke-{name}-{per.start}-{per.end}-{per.granularity}.csv"
    return Response("\ufeff" + an.to_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
