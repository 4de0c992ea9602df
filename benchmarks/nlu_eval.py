"""NLU evaluation on the held-out test set (``make eval``).

Prints intent accuracy, macro-F1, per-intent F1, accuracy on examples written
without diacritics vs. with them, ``dossier_code`` precision/recall, the most
frequent confusion pairs and parse latency. Used by ``benchmarks/run.py`` too.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bot.settings import ROOT
from bot.text.codes import normalize_dossier_code
from bot.text.normalize import fold, has_diacritics

logger = logging.getLogger(__name__)
TEST_SET = ROOT / "tests" / "nlu" / "test_nlu.yml"
CODE_SET = ROOT / "tests" / "nlu" / "code_renderings.yml"
NLU_DATA = ROOT / "nlu_data" / "nlu"
LOOKUPS = ROOT / "nlu_data" / "lookups"


def train_nlu(config: Path, out_dir: Path, name: str) -> Tuple[Path, float]:
    """Train an NLU-only model from ``config`` on the training data; returns (path, seconds)."""
    from rasa.model_training import train_nlu as rasa_train_nlu

    started = time.perf_counter()
    nlu_paths = [str(NLU_DATA)] + ([str(LOOKUPS)] if any(LOOKUPS.glob("*.yml")) else [])
    with tempfile.TemporaryDirectory() as tmp:
        merged = Path(tmp) / "nlu"
        merged.mkdir()
        for i, src in enumerate(p for d in nlu_paths for p in sorted(Path(d).glob("*.yml"))):
            (merged / f"{i:02d}_{src.name}").write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
        path = rasa_train_nlu(str(config), str(merged), str(out_dir), fixed_model_name=name)
    return Path(str(path)), time.perf_counter() - started


def load_test_set(path: Path = TEST_SET) -> List[Dict[str, Any]]:
    """Examples of the held-out set: text, intent, gold entities."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [
        {"text": m.get("text"), "intent": m.get("intent"), "entities": m.get("entities") or []}
        for m in data.intent_examples
    ]


def _f1(tp: int, fp: int, fn: int) -> float:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def quiet_rasa() -> None:
    """Silence Rasa's per-message debug logging."""
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


_AGENTS: Dict[str, Any] = {}  # one loaded model per path: evaluate() and evaluate_codes() share it


async def _parse_all(model_path: Path, texts: List[str]) -> Tuple[List[Dict[str, Any]], List[float]]:
    from rasa.core.agent import Agent

    quiet_rasa()
    agent = _AGENTS.get(str(model_path))
    if agent is None:
        agent = _AGENTS[str(model_path)] = Agent.load(str(model_path))
    await agent.parse_message("xin chào")  # warm-up
    results, latencies = [], []
    for text in texts:
        t0 = time.perf_counter()
        results.append(await agent.parse_message(text))
        latencies.append((time.perf_counter() - t0) * 1000)
    return results, latencies


def evaluate(model_path: Path, examples: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    """Evaluate a trained model on the held-out set."""
    examples = examples or load_test_set()
    texts = [e["text"] for e in examples]
    # Paired check: the same sentences with every diacritic removed.
    parsed_all, latencies_all = asyncio.run(_parse_all(model_path, texts + [fold(t) for t in texts]))
    parsed, folded = parsed_all[: len(texts)], parsed_all[len(texts):]
    latencies = latencies_all[: len(texts)]
    intents = sorted({e["intent"] for e in examples})
    counts = {i: Counter() for i in intents}
    confusions: Counter = Counter()
    correct_plain = total_plain = correct_marked = total_marked = 0
    code_tp = code_fp = code_fn = 0
    for ex, res in zip(examples, parsed):
        gold, pred = ex["intent"], (res.get("intent") or {}).get("name")
        ok = gold == pred
        if ok:
            counts[gold]["tp"] += 1
        else:
            counts[gold]["fn"] += 1
            if pred in counts:
                counts[pred]["fp"] += 1
            confusions[(gold, pred)] += 1
        if has_diacritics(ex["text"]):
            total_marked += 1
            correct_marked += ok
        else:
            total_plain += 1
            correct_plain += ok
        gold_codes = Counter(normalize_dossier_code(e["value"]) or e["value"] for e in ex["entities"]
                             if e["entity"] == "dossier_code")
        pred_codes = Counter(e["value"] for e in res.get("entities", []) if e["entity"] == "dossier_code")
        code_tp += sum((gold_codes & pred_codes).values())
        code_fp += sum((pred_codes - gold_codes).values())
        code_fn += sum((gold_codes - pred_codes).values())
    per_intent = {i: _f1(c["tp"], c["fp"], c["fn"]) for i, c in counts.items()}
    folded_ok = sum(ex["intent"] == (res.get("intent") or {}).get("name") for ex, res in zip(examples, folded))
    lat_sorted = sorted(latencies)
    return {
        "n": len(examples),
        "accuracy": sum(c["tp"] for c in counts.values()) / len(examples),
        "macro_f1": statistics.mean(per_intent.values()),
        "per_intent_f1": per_intent,
        "acc_no_diacritics": correct_plain / total_plain if total_plain else float("nan"),
        "acc_diacritics": correct_marked / total_marked if total_marked else float("nan"),
        "n_no_diacritics": total_plain,
        "acc_folded_copies": folded_ok / len(examples),
        "code_precision": code_tp / (code_tp + code_fp) if code_tp + code_fp else 1.0,
        "code_recall": code_tp / (code_tp + code_fn) if code_tp + code_fn else 1.0,
        "code_support": code_tp + code_fn,
        "confusions": confusions.most_common(12),
        "latency_median_ms": statistics.median(latencies),
        "latency_p95_ms": lat_sorted[int(0.95 * (len(lat_sorted) - 1))],
    }


def evaluate_codes(model_path: Path, path: Path = CODE_SET) -> Dict[str, Any]:
    """``dossier_code`` precision and recall of the model on the code-rendering set.

    Positives are codes as citizens copy them (spaces, O for 0, trailing stops, inside
    sentences); negatives are phone numbers, dates, amounts and ids that must not be read.
    """
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    texts = [c["text"] for c in data["positives"]] + list(data["negatives"])
    gold = [c["code"] for c in data["positives"]] + [None] * len(data["negatives"])
    parsed, _ = asyncio.run(_parse_all(model_path, texts))
    tp = fp = fn = 0
    for want, res in zip(gold, parsed):
        got = [e["value"] for e in res.get("entities", []) if e["entity"] == "dossier_code"]
        tp += int(want is not None and want in got)
        fn += int(want is not None and want not in got)
        fp += len([g for g in got if g != want])
    return {"positives": len(data["positives"]), "negatives": len(data["negatives"]),
            "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0}


def print_codes(result: Dict[str, Any]) -> None:
    """Print :func:`evaluate_codes`."""
    print(f"\n## dossier_code on the code-rendering set ({result['positives']} renderings of codes, "
          f"{result['negatives']} look-alikes that are not codes)\n")
    print("| metric | value |\n|---|---|")
    print(f"| dossier_code precision | {result['precision']:.3f} |")
    print(f"| dossier_code recall | {result['recall']:.3f} |")


def print_report(result: Dict[str, Any], title: str = "NLU evaluation (held-out set)") -> None:
    """Print the metrics of :func:`evaluate` as tables."""
    print(f"\n## {title}\n")
    print(f"examples: {result['n']} ({result['n_no_diacritics']} without diacritics)\n")
    print("| metric | value |\n|---|---|")
    for key, label in [("accuracy", "intent accuracy"), ("macro_f1", "intent macro-F1"),
                       ("acc_diacritics", "accuracy, with diacritics"),
                       ("acc_no_diacritics", "accuracy, without diacritics"),
                       ("acc_folded_copies", "accuracy, all examples with diacritics removed"),
                       ("code_precision", "dossier_code precision"), ("code_recall", "dossier_code recall")]:
        print(f"| {label} | {result[key]:.3f} |")
    print(f"| dossier_code support | {result['code_support']} |")
    print(f"| parse latency median / p95 | {result['latency_median_ms']:.1f} / {result['latency_p95_ms']:.1f} ms |")
    print("\n| intent | F1 |\n|---|---|")
    for intent, f1 in sorted(result["per_intent_f1"].items(), key=lambda kv: kv[1]):
        print(f"| {intent} | {f1:.3f} |")
    print("\n| gold → predicted | count |\n|---|---|")
    for (gold, pred), n in result["confusions"]:
        print(f"| {gold} → {pred} | {n} |")


def latest_model(model_dir: Path = ROOT / "models") -> Path:
    """Newest model archive in ``model_dir``."""
    models = sorted(model_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("no trained model in models/: run `make train`")
    return models[-1]


def main() -> None:
    """Entry point of ``make eval``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="model archive (default: newest in models/)")
    parser.add_argument("--test-set", type=Path, default=TEST_SET, help="held-out set (Rasa NLU YAML)")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the metrics as JSON here (the retraining gate reads it)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    quiet_rasa()
    model = args.model or latest_model()
    result = evaluate(model, load_test_set(args.test_set))
    codes = evaluate_codes(model)
    print_report(result)
    print_codes(codes)
    if args.json:
        write_json(args.json, {**result, "codes": codes, "test_set": args.test_set.name})


def write_json(path: Path, result: Dict[str, Any]) -> None:
    """Write metrics as JSON (NaN, which JSON columns refuse, becomes null)."""
    import json
    import math

    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    path.write_text(json.dumps(clean(result), ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
