"""The evaluation gate as a pure function: many cases at and around each threshold."""

from __future__ import annotations

import copy
from typing import Any, Dict

import pytest

from bot.training.gate import GateThresholds, check_gate

BASE: Dict[str, Any] = {
    "accuracy": 0.950,
    "per_intent_f1": {"ask_fee": 0.90, "ask_duration": 0.92, "greet": 1.0},
    "code_precision": 1.0, "code_recall": 1.0,
    "codes": {"precision": 1.0, "recall": 1.0},
}


def cand(**changes: Any) -> Dict[str, Any]:
    """A candidate: BASE with changes (``f1`` updates per-intent F1)."""
    metrics = copy.deepcopy(BASE)
    metrics["per_intent_f1"].update(changes.pop("f1", {}))
    metrics.update(changes)
    return metrics


def failing(result) -> set:  # type: ignore[no-untyped-def]
    return {row.key for row in result.rows if not row.ok}


def test_identical_metrics_pass() -> None:
    result = check_gate(cand(), BASE)
    assert result.passed and result.has_baseline and result.reasons == []
    assert {row.key for row in result.rows} >= {"accuracy", "f1:ask_fee", "f1:ask_duration", "f1:greet",
                                                "code_precision", "code_recall", "codes_precision", "codes_recall"}


@pytest.mark.parametrize("accuracy, passed", [
    (0.9451, True),   # -0.49 points
    (0.945, True),    # exactly -0.5 points: allowed
    (0.9449, False),  # -0.51 points
    (0.90, False),
    (0.99, True),     # better
])
def test_accuracy_drop_limit(accuracy: float, passed: bool) -> None:
    result = check_gate(cand(accuracy=accuracy), BASE)
    assert result.passed is passed
    assert ("accuracy" in failing(result)) is not passed


@pytest.mark.parametrize("f1, passed", [(0.85, True), (0.8501, True), (0.8499, False), (0.0, False), (0.99, True)])
def test_intent_f1_drop_limit(f1: float, passed: bool) -> None:
    result = check_gate(cand(f1={"ask_fee": f1}), BASE)
    assert result.passed is passed
    assert failing(result) == (set() if passed else {"f1:ask_fee"})


def test_fee_examples_moved_to_duration_is_blocked_with_reasons() -> None:
    """The harmful edit: ask_fee is never predicted any more (absent from the candidate's F1)."""
    harmful = cand(accuracy=0.90, f1={"ask_duration": 0.70})
    del harmful["per_intent_f1"]["ask_fee"]
    result = check_gate(harmful, BASE)
    assert not result.passed
    assert failing(result) == {"accuracy", "f1:ask_fee", "f1:ask_duration"}
    fee = next(row for row in result.rows if row.key == "f1:ask_fee")
    assert (fee.before, fee.after, fee.delta) == (90.0, 0.0, -90.0)
    assert any("ask_fee" in reason and "90,0" in reason for reason in result.reasons)
    assert result.as_dict()["reasons"] == result.reasons


@pytest.mark.parametrize("key", ["code_precision", "code_recall"])
def test_dossier_code_must_stay_perfect(key: str) -> None:
    result = check_gate(cand(**{key: 0.99}), BASE)
    assert not result.passed and failing(result) == {key}


def test_code_rendering_set_counts_too() -> None:
    result = check_gate(cand(codes={"precision": 1.0, "recall": 0.95}), BASE)
    assert failing(result) == {"codes_recall"}


def test_dossier_code_floor_applies_even_when_the_active_model_was_worse() -> None:
    weak_base = {**BASE, "code_recall": 0.8}
    assert check_gate(cand(code_recall=0.9), weak_base).passed is False
    assert check_gate(cand(), weak_base).passed is True


def test_no_active_model_only_absolute_rules() -> None:
    result = check_gate(cand(accuracy=0.3, f1={"ask_fee": 0.1}), None)
    assert result.passed and not result.has_baseline
    assert all(row.before is None and row.delta is None for row in result.rows)
    assert not check_gate(cand(code_precision=0.5), None).passed


def test_new_intent_in_candidate_passes() -> None:
    result = check_gate(cand(f1={"ask_online": 0.4}), BASE)
    row = next(row for row in result.rows if row.key == "f1:ask_online")
    assert result.passed and row.ok and row.before is None


def test_missing_or_malformed_candidate_metrics_fail() -> None:
    assert not check_gate({}, BASE).passed
    assert not check_gate(cand(accuracy=float("nan")), BASE).passed
    assert not check_gate(cand(accuracy="0.95"), BASE).passed
    assert not check_gate(cand(code_precision=None), BASE).passed


def test_thresholds_are_settings() -> None:
    lenient = GateThresholds(max_accuracy_drop=10, max_intent_f1_drop=50, min_code_precision=0.9,
                             min_code_recall=0.9)
    assert check_gate(cand(accuracy=0.86, f1={"ask_fee": 0.41}, code_recall=0.95), BASE, lenient).passed
    strict = GateThresholds(max_accuracy_drop=0.0, max_intent_f1_drop=0.0)
    assert not check_gate(cand(f1={"greet": 0.999}), BASE, strict).passed

    class Conf:
        gate_max_accuracy_drop, gate_max_intent_f1_drop, gate_min_code_precision, gate_min_code_recall = 1, 2, .5, .6

    assert GateThresholds.from_settings(Conf()) == GateThresholds(1, 2, .5, .6)


def test_rows_are_json_ready() -> None:
    import json

    data = check_gate(cand(f1={"greet": 0.5}), BASE).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["passed"] is False and data["rows"][0]["key"] == "accuracy"
