"""NLU benchmark: our Vietnamese pipeline vs. stock Rasa on the same data, plus ablations.

Every model is trained in the same run on the same training data and evaluated on
the held-out set (``tests/nlu/test_nlu.yml``).
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from benchmarks.nlu_eval import evaluate, evaluate_codes, train_nlu
from bot.settings import ROOT

# The language-agnostic pipeline that `rasa init` writes (minus ResponseSelector, which needs FAQ data).
STOCK_PIPELINE: List[Dict[str, Any]] = [
    {"name": "WhitespaceTokenizer"},
    {"name": "RegexFeaturizer"},
    {"name": "LexicalSyntacticFeaturizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "DIETClassifier", "epochs": 100, "constrain_similarities": True},
    {"name": "EntitySynonymMapper"},
    {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1},
]


def _ours() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))


def _variant(tokenizer: Optional[Dict[str, Any]] = None, drop: Optional[str] = None) -> Dict[str, Any]:
    """Our config with tokenizer options changed or a component removed."""
    config = copy.deepcopy(_ours())
    pipeline = []
    for component in config["pipeline"]:
        if drop and component["name"].endswith(drop):
            continue
        if tokenizer and component["name"].endswith("VietnameseTokenizer"):
            component = {**component, **tokenizer}
        pipeline.append(component)
    config["pipeline"] = pipeline
    return config


def configurations() -> Dict[str, Dict[str, Any]]:
    """Name → NLU config of every model compared."""
    ours = _ours()
    return {
        "stock Rasa (rasa init pipeline)": {**ours, "pipeline": STOCK_PIPELINE},
        "ours (config.yml)": ours,
        "ours without diacritic folding": _variant({"fold_lemma": False, "fold_lexicon": False}),
        "ours without underthesea segmentation": _variant({"use_underthesea": False, "fold_lexicon": False}),
        "ours without teen-code expansion": _variant({"teen_code": False}),
        "ours without the regex entity extractor": _variant(drop="StructuredEntityExtractor"),
    }


def run(names: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    """Train and evaluate each configuration; one row of metrics per configuration.

    Rasa's training cache is switched off, so every model (and its training time) is new.
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RASA_MAX_CACHE_SIZE"] = "0"
        os.environ["RASA_CACHE_DIRECTORY"] = str(Path(tmp) / "cache")
        for i, (name, config) in enumerate(configurations().items()):
            if names and name not in names:
                continue
            config_path = Path(tmp) / f"config_{i}.yml"
            config.pop("policies", None)
            config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
            model, seconds = train_nlu(config_path, Path(tmp) / "models", f"m{i}")
            result = evaluate(model)
            codes = evaluate_codes(model)
            rows.append({"name": name, "train_s": seconds, **result,
                         "render_precision": codes["precision"], "render_recall": codes["recall"]})
    return rows


def print_tables(rows: List[Dict[str, Any]]) -> None:
    """Markdown tables: quality and speed."""
    print("\n### NLU quality on the held-out set\n")
    print("| pipeline | intent acc | macro-F1 | acc with diacritics | acc without | same sentences folded "
          "| dossier_code P / R | code renderings P / R |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['acc_diacritics']:.3f} "
              f"| {r['acc_no_diacritics']:.3f} | {r['acc_folded_copies']:.3f} "
              f"| {r['code_precision']:.3f} / {r['code_recall']:.3f} "
              f"| {r['render_precision']:.3f} / {r['render_recall']:.3f} |")
    base = rows[0]
    print("\n### NLU speed (same run, same machine)\n")
    print("| pipeline | training time | parse median | parse p95 | p95 vs stock |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['train_s']:.0f} s | {r['latency_median_ms']:.1f} ms | {r['latency_p95_ms']:.1f} ms "
              f"| {r['latency_p95_ms'] / base['latency_p95_ms']:.2f}× |")


if __name__ == "__main__":
    from benchmarks.nlu_eval import quiet_rasa

    quiet_rasa()
    print_tables(run())
