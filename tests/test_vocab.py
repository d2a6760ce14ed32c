"""whatworks.vocab: every vocabulary file has the one shape, and a broken file says where."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from whatworks import vocab
from whatworks.vocab import VocabError, parse

DATA = Path(vocab.__file__).resolve().parent / "data"
FILES = sorted(p.stem for p in DATA.glob("*.yaml") if p.stem not in vocab.NOT_VOCABULARY)


@pytest.mark.parametrize("name", FILES)
def test_every_vocabulary_file_has_the_shape(name):
    v = vocab.load(name)
    assert len(v) > 0
    assert all(lang == vocab.ANY or len(lang) == 2 for lang in v.languages())


def test_terms_keep_file_order_without_repeats_and_settings_apart():
    v = parse({"final": {"en": ["final evaluation", "end of project"], "fr": ["évaluation finale"],
                         "pt": ["avaliação final", "final evaluation"]},
               "evaluation_report": {"en": ["evaluation report"], "title_weight": 3.0}}, "t")
    assert v.terms("final") == ["final evaluation", "end of project", "évaluation finale", "avaliação final"]
    assert v["evaluation_report"].get("title_weight") == 3.0
    assert v.terms("missing") == []


@pytest.mark.parametrize("raw, where", [
    ({"final": ["final evaluation"]}, "concept 'final'"),
    ({"final": {"english": ["final evaluation"]}}, "unknown key 'english'"),
    ({"final": {"en": "final evaluation"}}, "concept 'final', language 'en'"),
    ({"final": {"en": ["ok", 3]}}, "concept 'final', language 'en'"),
    ({"final": {"en": ["ok"], "title_weight": "high"}}, "setting 'title_weight'"),
    ([], "must map concept ids"),
])
def test_a_broken_file_names_the_file_and_the_concept(raw, where):
    with pytest.raises(VocabError) as e:
        parse(raw, "timing")
    assert "whatworks/data/timing.yaml" in str(e.value) and where in str(e.value)


def test_the_loader_reads_each_file_once():
    assert vocab.load("kinds") is vocab.load("kinds")


def test_a_new_language_needs_only_its_terms():
    text = "final:\n  en: [final evaluation]\n  it: [valutazione finale]\n"
    assert parse(yaml.safe_load(text), "timing").terms("final") == ["final evaluation", "valutazione finale"]
