"""The evaluation gate: may a candidate model replace the active one? (a pure function)

Metrics are those of ``benchmarks/nlu_eval.py`` (``make eval``) on the held-out set:
``accuracy`` and ``per_intent_f1`` as fractions, ``code_precision`` / ``code_recall`` of
``dossier_code``, and optionally ``codes`` (the code-rendering set: ``precision``, ``recall``).
Differences are in percentage points. Without an active model only the absolute rules apply.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from bot.settings import SettingsGroup

EPSILON = 1e-9  # float noise: 0.9 - 0.905 must not fail a 0.5-point rule by rounding


@dataclass(frozen=True)
class GateThresholds(SettingsGroup):
    """The gate's limits (settings ``GATE_*``; :meth:`from_settings` reads them).

    Attributes:
        max_accuracy_drop: overall intent accuracy may drop by at most this many points.
        max_intent_f1_drop: no intent's F1 may drop by more than this many points.
        min_code_precision: dossier_code precision must stay at least this (fraction).
        min_code_recall: dossier_code recall must stay at least this (fraction).
    """

    max_accuracy_drop: float = 0.5
    max_intent_f1_drop: float = 5.0
    min_code_precision: float = 1.0
    min_code_recall: float = 1.0

    SETTINGS_PREFIX = "gate_"


@dataclass(frozen=True)
class GateRow:
    """One compared metric: before (active model) → after (candidate), delta in points, verdict."""

    key: str
    label: str
    before: Optional[float]
    after: Optional[float]
    delta: Optional[float]
    limit: str
    ok: bool
    reason: Optional[str] = None


@dataclass(frozen=True)
class GateResult:
    """The verdict: passed, the rows (failing ones carry a reason), whether there was a baseline."""

    passed: bool
    rows: List[GateRow] = field(default_factory=list)
    has_baseline: bool = True

    @property
    def reasons(self) -> List[str]:
        """Why the gate blocked (empty when it passed)."""
        return [row.reason for row in self.rows if not row.ok and row.reason]

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready form (stored on the job)."""
        return {"passed": self.passed, "has_baseline": self.has_baseline, "reasons": self.reasons,
                "rows": [asdict(row) for row in self.rows]}


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _points(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value * 100, 2)


def _fmt(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _relative_row(key: str, label: str, before: Optional[float], after: Optional[float], max_drop: float,
                  what: str) -> GateRow:
    """A metric that may not drop by more than ``max_drop`` points against the active model."""
    limit = f"giảm tối đa {_fmt(max_drop)} điểm"
    if after is None:
        return GateRow(key, label, _points(before), None, None, limit, before is None,
                       None if before is None else f"{what}: mô hình mới không có số đo")
    if before is None:
        return GateRow(key, label, None, _points(after), None, limit, True)
    delta = round((after - before) * 100, 2)
    ok = delta >= -max_drop - EPSILON
    reason = None if ok else f"{what} giảm {_fmt(-delta)} điểm (tối đa {_fmt(max_drop)})"
    return GateRow(key, label, _points(before), _points(after), delta, limit, ok, reason)


def _floor_row(key: str, label: str, before: Optional[float], after: Optional[float], minimum: float) -> GateRow:
    """A metric that must stay at least ``minimum`` whatever the active model had."""
    limit = f"tối thiểu {_fmt(minimum * 100)}%"
    delta = None if before is None or after is None else round((after - before) * 100, 2)
    ok = after is not None and after >= minimum - EPSILON
    reason = None if ok else (f"{label} là {_fmt(after * 100)}% (cần ít nhất {_fmt(minimum * 100)}%)"
                              if after is not None else f"{label}: mô hình mới không có số đo")
    return GateRow(key, label, _points(before), _points(after), delta, limit, ok, reason)


def check_gate(candidate: Mapping[str, Any], active: Optional[Mapping[str, Any]],
               thresholds: GateThresholds = GateThresholds()) -> GateResult:
    """Compare the candidate's metrics with the active model's, intent by intent.

    Args:
        candidate: the candidate's evaluation.
        active: the active model's stored evaluation, or None (no active model, or none measured).
        thresholds: the limits.

    Returns:
        The verdict with one row per compared metric (overall accuracy, each intent's F1,
        dossier_code precision and recall); intents only the candidate knows pass.
    """
    base: Mapping[str, Any] = active or {}
    rows = [_relative_row("accuracy", "Độ chính xác ý định (toàn bộ)", _number(base.get("accuracy")),
                          _number(candidate.get("accuracy")), thresholds.max_accuracy_drop,
                          "Độ chính xác ý định")]
    before_f1 = base.get("per_intent_f1") or {}
    after_f1 = candidate.get("per_intent_f1") or {}
    for intent in sorted(set(before_f1) | set(after_f1)):
        after = _number(after_f1.get(intent))
        if after is None and intent in before_f1:
            after = 0.0  # an intent the candidate no longer predicts at all scores 0
        rows.append(_relative_row(f"f1:{intent}", f"F1 · {intent}", _number(before_f1.get(intent)), after,
                                  thresholds.max_intent_f1_drop, f"F1 của ý định {intent}"))
    rows.append(_floor_row("code_precision", "dossier_code — precision", _number(base.get("code_precision")),
                           _number(candidate.get("code_precision")), thresholds.min_code_precision))
    rows.append(_floor_row("code_recall", "dossier_code — recall", _number(base.get("code_recall")),
                           _number(candidate.get("code_recall")), thresholds.min_code_recall))
    codes, base_codes = candidate.get("codes"), base.get("codes") or {}
    if isinstance(codes, Mapping):
        rows.append(_floor_row("codes_precision", "dossier_code (tập mã hồ sơ) — precision",
                               _number(base_codes.get("precision")), _number(codes.get("precision")),
                               thresholds.min_code_precision))
        rows.append(_floor_row("codes_recall", "dossier_code (tập mã hồ sơ) — recall",
                               _number(base_codes.get("recall")), _number(codes.get("recall")),
                               thresholds.min_code_recall))
    return GateResult(all(row.ok for row in rows), rows, has_baseline=active is not None)
