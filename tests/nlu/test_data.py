"""Training data hygiene: the held-out set is never trained on; lookups are up to date."""

import re

import yaml

from bot.cli.nlu_data import LOOKUPS, generate_lookups
from bot.settings import ROOT


def _texts(path):
    out = {}
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        for line in block.get("examples", "").splitlines():
            text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line.strip()[2:]).strip().lower()
            if text:
                out[text] = block.get("intent")
    return out


def test_held_out_set_is_not_in_training_data():
    test = _texts(ROOT / "tests" / "nlu" / "test_nlu.yml")
    train = {}
    for path in (ROOT / "nlu_data" / "nlu").glob("*.yml"):
        train.update(_texts(path))
    assert not set(test) & set(train)
    assert len(set(test.values())) == 22
    for intent in set(test.values()):
        assert sum(1 for i in test.values() if i == intent) >= 10


def test_lookups_are_generated_from_the_catalogue(tmp_path):
    out = tmp_path / "catalogue.yml"
    generate_lookups(out=out)
    assert out.read_text(encoding="utf-8") == LOOKUPS.read_text(encoding="utf-8")
