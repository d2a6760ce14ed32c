"""The review protocol: both shipped protocols load, and every mistake names its line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from whatworks.errors import ProtocolError
from whatworks.project import builtin_protocols
from whatworks.protocol import load_protocol, parse_protocol

MINIMAL = """\
name: test-review
title: A test review
questions:
  - What works?
period:
  start: 2012
  end: 2018
queries:
  en: ['"social protection"']
terms:
  topic:
    en: [social protection, pension*]
criteria:
  inclusion:
    - id: I1
      text: Social protection is a stated objective.
      test: {terms: topic, where: [title, summary], min: 1}
  exclusion:
    - id: X1
      text: Not about social protection.
      test: {terms: topic, where: [text], max: 0}
"""


def error_of(text: str) -> ProtocolError:
    with pytest.raises(ProtocolError) as e:
        parse_protocol(text, "protocol.yaml")
    return e.value


def test_shipped_protocols_load():
    protocols = builtin_protocols()
    assert {"ilo-social-protection", "canada-social-security"} <= set(protocols)
    ilo = load_protocol(protocols["ilo-social-protection"])
    assert ilo.period == (2012, 2018) and ilo.period_basis == "period_evaluated"
    assert set(ilo.languages) == {"en", "fr", "es", "pt"}
    assert ilo.supersede_midterm and ilo.codebook == "ilo-social-protection"
    assert [o.name for o in ilo.organisations] == ["ILO"]
    # the seed's keyword search, in four languages
    assert '"social exclusion"' in ilo.queries["en"] and '"protección social"' in ilo.queries["es"]
    # figure 2: four inclusion, three possible, three exclusion criteria, each with a machine test
    # (for a report; a database record has its own forms of three of them: I5/I6/I7, X4)
    reports = {t: [c for c in ilo.criteria[t] if c.applies("evaluation_report")] for t in ilo.criteria}
    assert [len(reports[t]) for t in ("inclusion", "possible", "exclusion")] == [4, 3, 3]
    records = {t: [c.id for c in ilo.criteria[t] if c.applies("database_record")] for t in ilo.criteria}
    assert records == {"inclusion": ["I1", "I2", "I3", "I5", "I6", "I7"], "possible": ["P1", "P2", "P3"],
                       "exclusion": ["X4", "X3"]}
    assert all(c.test is not None for c in ilo.all_criteria())
    assert any(c.test.period == "outside" for c in ilo.criteria["exclusion"])
    # quality: four criteria, recommendations/lessons/good practices required
    assert len([c for c in ilo.quality if c.applies("evaluation_report")]) == 4
    assert [c.id for c in ilo.quality if c.required] == ["Q4"]
    assert [c.id for c in ilo.quality if c.applies("database_record")] == ["Q5", "Q6"]
    # a record holding no entries is judged on its title and the ILO's themes instead
    assert ilo.without_entries.kinds == ["database_record"] and ilo.without_entries.include_when == ["I5", "I7"]
    # term sets resolved into the tests, per language
    i1 = ilo.criteria["inclusion"][0]
    assert "social protection" in i1.test.terms["en"] and "protección social" in i1.test.terms["es"]
    assert i1.test.near and i1.test.term_sets == ["topic"]

    canada = load_protocol(protocols["canada-social-security"])
    assert canada.period is None and canada.codebook == "canada-social-security"
    assert canada.kinds == ["evaluation_report"]
    assert any("employment insurance" in q for q in canada.queries["en"])


def test_minimal_protocol_and_defaults():
    p = parse_protocol(MINIMAL)
    assert p.name == "test-review" and p.period == (2012, 2018) and p.period_basis == "report_year"
    assert p.kinds == ["evaluation_report"] and p.supersede_midterm is True
    assert p.codebook == "test-review"  # defaults to the protocol's name
    assert p.criteria["possible"] == [] and p.criteria["exclusion"][0].test.max == 0


@pytest.mark.parametrize("old,new,line,words", [
    # unknown field, with a suggestion
    ("title: A test review", "title: A test review\nquestons: [x]", 3, ["unknown field 'questons'", "questions"]),
    # end before start
    ("  end: 2018", "  end: 2010", 7, ["ends (2010) before it starts (2012)", "swap"]),
    # not a year
    ("  start: 2012", "  start: twenty-twelve", 6, ["period.start must be a year"]),
    ("  start: 2012", "  start: 12", 6, ["period.start must be a year"]),
    # empty query
    ("  en: ['\"social protection\"']", "  en: ['']", 9, ["empty"]),
    ("  en: ['\"social protection\"']", "  en: []", 9, ["empty list"]),
    ("  en: ['\"social protection\"']", "  en: ['\"social protection']", 9, ["unclosed quote"]),
    # wrong type
    ("questions:\n  - What works?", "questions: What works?", 3, ["questions must be a list"]),
    ("      test: {terms: topic, where: [title, summary], min: 1}",
     "      test: {terms: topic, where: [title, summary], min: one}", 17, ["min must be a whole number"]),
    ("      test: {terms: topic, where: [title, summary], min: 1}",
     "      test: {terms: topic, where: [title, abstract], min: 1}", 17, ["'abstract' is not one of", "where"]),
    ("      test: {terms: topic, where: [title, summary], min: 1}",
     "      test: {terms: topics, where: [title, summary], min: 1}", 17, ["term set 'topics'", "did you mean 'topic'"]),
    ("    - id: X1", "    - id: I1", 19, ["already used on line 15"]),
    ("period:\n  start: 2012\n  end: 2018", "period:\n  start: 2012\n  end: 2018\n  basis: calendar", 8,
     ["period.basis"]),
    # an exclusion that outweighs an inclusion criterion that does not exist
    ("      text: Not about social protection.", "      text: Not about social protection.\n      overrides: [I9]",
     21, ["overrides 'I9'", "inclusion ids: I1"]),
    ("      test: {terms: topic, where: [text], max: 0}", "      test: {terms: topic, where: [text], max: 0, "
     "distinct_min: 0}", 21, ["distinct_min must be at least 1"]),
    # a record without entries judged on a criterion that is not an inclusion criterion
    ("      test: {terms: topic, where: [text], max: 0}", "      test: {terms: topic, where: [text], max: 0}\n"
     "without_entries:\n  kinds: [database_record]\n  include_when: [I1, X1]", 24,
     ["without_entries names 'X1'", "inclusion ids: I1"]),
])
def test_errors_name_the_line(old, new, line, words):
    assert old in MINIMAL
    e = error_of(MINIMAL.replace(old, new, 1))
    assert e.line == line, str(e)
    assert f"line {line}" in str(e) and "protocol.yaml" in str(e)
    for w in words:
        assert w in str(e), str(e)


def test_missing_and_broken_files(tmp_path: Path):
    e = error_of(MINIMAL.replace("queries:\n  en: ['\"social protection\"']\n", ""))
    assert "'queries' is missing" in str(e) and e.line == 1
    e = error_of("name: x\n  title: [unclosed\n")
    assert "not valid YAML" in str(e) and e.line is not None
    e = error_of("")
    assert "empty" in str(e)
    with pytest.raises(ProtocolError, match="no such file"):
        load_protocol(tmp_path / "nope.yaml")
    bad = tmp_path / "p.yaml"
    bad.write_text(MINIMAL.replace("period:\n  start: 2012\n  end: 2018", "period: any"), encoding="utf-8")
    assert load_protocol(bad).period is None


@pytest.mark.parametrize("old,new,line,words", [
    # an unknown key inside a flow mapping: the line and the column, and a "did you mean"
    ("      test: {terms: topic, where: [text], max: 0}", "      test: {terms: topic, where: [text], mx: 0}", 21,
     ["line 21, column 43", "criterion 'X1': unknown field 'mx' in test — did you mean 'max'?"]),
    # wrong types, in the reviewer's words
    ("queries:", "supersede_midterm: maybe\nqueries:", 8, ["supersede_midterm must be true or false, not 'maybe'"]),
    ("queries:", "quality_min_score: 2\nqueries:", 8, ["quality_min_score must be a number between 0 and 1"]),
    ("queries:", "languages: [english]\nqueries:", 8,
     ["'english' is not a two-letter ISO 639-1 language code", "column 13"]),
    ("  start: 2012", "  start: twenty twelve", 6, ["period.start must be a year such as 2012, not 'twenty twelve'"]),
    ("period:\n  start: 2012\n  end: 2018", "period: sometimes", 5, ["period must be `any` or {start: YEAR, end: YEAR}"]),
    ("    - id: I1\n", "    - id: I1\n      required: true\n", 16,
     ["criterion 'I1': `required` applies to quality criteria only — remove it"]),
    ("      test: {terms: topic, where: [text], max: 0}", "      test: {where: [text], max: 0}", 21,
     ["criterion 'X1': test sets thresholds but no `terms:` to count"]),
    ("name: test-review", "name: Test Review", 1, ["name 'Test Review' must be lower-case letters, digits and dashes"]),
    ("name: test-review", "name: test-review\nname: again", 2, ["the key 'name' appears twice"]),
])
def test_errors_say_what_to_write(old, new, line, words):
    assert old in MINIMAL
    e = error_of(MINIMAL.replace(old, new, 1))
    assert e.line == line, str(e)
    for w in words:
        assert w in str(e), str(e)


def test_every_problem_is_listed():
    e = error_of(MINIMAL.replace("queries:", "supersede_midterm: maybe\nshortlist_min: 0\nqueries:"))
    assert e.line == 8 and "supersede_midterm" in e.message
    assert [(line, "shortlist_min must be at least 1, not 0" in m) for line, _col, m in e.also] == [(9, True)]


def test_unquoted_yes_and_no_keep_the_meaning_they_always_had():
    p = parse_protocol(MINIMAL + "supersede_midterm: no\n")
    assert p.supersede_midterm is False
    e = error_of(MINIMAL.replace("  - What works?", "  - no"))
    assert "must be text, not false" in str(e) and 'put the word in quotes, e.g. "no"' in str(e)


def test_local_names_in_a_protocol():
    p = parse_protocol(MINIMAL + "local_names:\n  - {name: SPF, means: social protection floor, languages: [en]}\n")
    assert [(n.name, n.means, n.languages) for n in p.local_names] == [("SPF", "social protection floor", ["en"])]
    e = error_of(MINIMAL + "local_names:\n  - {name: SPF, means: social protection floor, themes: [x]}\n")
    assert "local name 'SPF': unknown field 'themes'" in str(e) and e.line == 23
    e = error_of(MINIMAL + "local_names:\n  - {name: SPF, means: a}\n  - {name: spf, means: b}\n")
    assert "the local name 'spf' is declared twice for en, es, fr, pt (first on line 23)" in str(e) and e.line == 24
