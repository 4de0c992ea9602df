"""Analytics and conversation review for the staff console (issue 13, items 5 and 6).

Pages call, with a session and a validated :func:`period`:

* :func:`traffic`, :func:`intents`, :func:`fallback`, :func:`handoffs`, :func:`satisfaction`,
  :func:`unanswered`, :func:`reminders` (or :func:`dashboard` for all) → :class:`Report`;
* :func:`to_csv` / :func:`chart_data` of a report;
* :func:`browse_conversations`, :func:`find_conversation`, :func:`transcript`, :func:`add_tag`, :func:`remove_tag`,
  :func:`flag_for_review`, :func:`resolve_flag`, :func:`tags_in_use`.

The rollup job (:func:`run_rollup`, ``python -m workers.analytics``) keeps the daily tables
current (:func:`freshness` says how current); bad input raises :class:`AnalyticsInputError` (a 4xx for the console).
"""

from bot.analytics.export import chart_data, report_rows, to_csv
from bot.analytics.periods import MAX_RANGE_DAYS, AnalyticsInputError, Period, period
from bot.analytics.reports import (
    REPORTS,
    SATISFACTION_TARGET,
    Report,
    dashboard,
    fallback,
    handoffs,
    intents,
    reminders,
    report,
    satisfaction,
    traffic,
    unanswered,
)
from bot.analytics.review import (
    ConversationFilter,
    ConversationPage,
    ConversationSummary,
    TranscriptLine,
    add_tag,
    browse_conversations,
    find_conversation,
    flag_for_review,
    remove_tag,
    resolve_flag,
    tags_in_use,
    transcript,
)
from bot.analytics.rollup import RollupStats, run_rollup
from bot.analytics.status import Freshness, freshness

__all__ = [
    "MAX_RANGE_DAYS", "REPORTS", "SATISFACTION_TARGET", "AnalyticsInputError", "ConversationFilter",
    "ConversationPage", "ConversationSummary", "Freshness", "Period", "Report", "RollupStats", "TranscriptLine",
    "add_tag", "browse_conversations", "chart_data", "dashboard", "fallback", "find_conversation", "flag_for_review",
    "freshness", "handoffs", "intents", "period", "reminders", "remove_tag", "report", "report_rows", "resolve_flag",
    "run_rollup", "satisfaction", "tags_in_use", "to_csv", "traffic", "transcript", "unanswered",
]
