"""The codebook: shipped codebooks follow the seed review, and mistakes name their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from whatworks.codebook import LANGUAGES, QUESTIONS, load_codebook
from whatworks.errors import ProtocolError

SEED_BRANCHES = ["child_family", "maternity", "unemployment", "employment_injury", "sickness", "health", "old_age",
                 "disability", "survivors"]


@pytest.fixture(scope="module")
def ilo():
    return load_codebook("ilo-social-protection")


@pytest.fixture(scope="module")
def canada():
    return load_codebook("canada-social-security")


def test_ilo_codebook_follows_the_seed(ilo):
    assert [q.id for q in ilo.questions] == list(QUESTIONS)
    branches = [t.id for t in ilo.themes_for("what_is_being_done", "branches")]
    assert all(b in branches for b in SEED_BRANCHES)
    interventions = {t.id for t in ilo.themes_for("what_is_being_done", "interventions")}
    assert {"capacity_building", "knowledge_sharing", "social_dialogue", "abnd", "policy_legal_advice",
            "technical_assistance", "pilots", "ils"} <= interventions
    # the seed's ten success factors and eight challenges, kept apart
    assert len(ilo.themes_for("why", "success_factors")) == 10
    assert len(ilo.themes_for("why", "challenges")) == 8
    assert {g.id for g in ilo.question("for_whom").groups} == {"target_groups", "final_beneficiaries"}
    targets = {t.id for t in ilo.themes_for("for_whom", "target_groups")}
    finals = {t.id for t in ilo.themes_for("for_whom", "final_beneficiaries")}
    assert {"tg_policy_makers", "tg_administrators", "tg_social_partners", "tg_trade_unions", "tg_civil_society"} == targets
    assert {"fb_migrant_workers", "fb_domestic_workers", "fb_garment_workers", "fb_informal_economy", "fb_low_income",
            "fb_unemployed", "fb_working_poor", "fb_women", "fb_rural"} <= finals
    assert not targets & finals


def test_canada_codebook_has_its_programmes_and_factors(canada):
    programs = {t.id for t in canada.themes_for("what_is_being_done", "programs")}
    assert {"employment_insurance", "cpp", "oas_gis", "disability_programs", "family_children"} <= programs
    finals = {t.id for t in canada.themes_for("for_whom", "final_beneficiaries")}
    assert {"fb_seniors", "fb_persons_with_disabilities", "fb_unemployed", "fb_parents_families", "fb_indigenous",
            "fb_newcomers"} <= finals
    challenges = {t.id for t in canada.themes_for("why", "challenges")}
    assert {"ch_data_performance", "ch_takeup_awareness", "ch_admin_burden", "ch_service_delays"} <= challenges


@pytest.mark.parametrize("name", ["ilo-social-protection", "canada-social-security"])
def test_every_theme_has_descriptors_in_four_languages(name):
    cb = load_codebook(name)
    missing = [(t.id, lang) for t in cb.themes for lang in LANGUAGES if not t.descriptors.get(lang)]
    assert not missing
    assert len(set(cb.ids)) == len(cb.ids)
    assert all(t.line for t in cb.themes)


def test_project_codebook_comes_from_its_protocol(tmp_path: Path):
    from whatworks.api import Review

    with Review.create(tmp_path / "review", "canada-social-security") as review:
        assert review.codebook.name == "canada-social-security"


def test_fingerprint_changes_with_a_descriptor(tmp_path: Path):
    src = Path(load_codebook("ilo-social-protection").path)
    text = src.read_text(encoding="utf-8")
    copy = tmp_path / "cb.yaml"
    copy.write_text(text, encoding="utf-8")
    before = load_codebook(copy).fingerprint()
    copy.write_text(text.replace("en: [maternity, maternal,", "en: [maternity, maternal, newborn,"), encoding="utf-8")
    assert load_codebook(copy).fingerprint() != before


MINIMAL = """\
name: tiny
questions:
  - id: why
    groups:
      - id: success_factors
        themes:
          - id: sf_one
            label: One
            definition: The first factor.
            descriptors: {en: [one]}
      - id: challenges
        themes:
          - id: ch_two
            label: Two
            definition: The second.
            descriptors: {en: [two], fr: [deux]}
"""


@pytest.mark.parametrize("edit, message, line", [
    (("id: ch_two", "id: sf_one"), "used twice", 13),
    (("fr: [deux]", "de: [zwei]"), "unknown language", 13),
    (("id: challenges", "id: obstacles"), "success_factors or challenges", 11),
    (("            definition: The second.\n", ""), "needs a text 'definition'", 13),
    (("{en: [two], fr: [deux]}", "{en: [two, no]}"), "quote words", 13),
    (("- id: why", "- id: how"), "unknown question id", 3),
])
def test_errors_name_the_line(tmp_path: Path, edit, message, line):
    path = tmp_path / "bad.yaml"
    path.write_text(MINIMAL.replace(*edit), encoding="utf-8")
    with pytest.raises(ProtocolError) as e:
        load_codebook(path)
    assert message in str(e.value)
    assert e.value.line == line
    assert str(path) in str(e.value)


def test_yaml_syntax_error_names_the_line(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(MINIMAL.replace("label: Two", "label: [Two"), encoding="utf-8")
    with pytest.raises(ProtocolError) as e:
        load_codebook(path)
    assert e.value.line is not None and e.value.line >= 14


def test_unknown_codebook_name_lists_the_shipped_ones():
    with pytest.raises(ProtocolError, match="ilo-social-protection"):
        load_codebook("no-such-codebook")


def test_minimal_codebook_loads(tmp_path: Path):
    path = tmp_path / "ok.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    cb = load_codebook(path)
    assert cb.ids == ["sf_one", "ch_two"]
    assert cb.theme("ch_two").group == "challenges"
    assert cb.theme("sf_one").descriptors == {"en": ["one"]}


@pytest.mark.parametrize("edit, words, line", [
    # an unknown key, with a "did you mean"
    (("label: Two", "label: Two\n            alias: [two_old]"),
     ["theme 'ch_two' (at line 15, column 13)", "unknown field 'alias'", "did you mean 'aliases'?"], 13),
    (("        themes:\n          - id: sf_one", "        theme:\n          - id: sf_one"),
     ["group 'success_factors'", "unknown field 'theme'", "did you mean 'themes'?"], 6),
    # wrong types
    (("- id: why", "- id: why\n    label: [Why]"), ["question 'why': label must be text, not a list"], 4),
    (("name: tiny", "name: tiny\nquestion: []"),
     ["unknown field 'question' in the codebook — did you mean 'questions'?"], 2),
    # the same theme id twice in one group, and in two groups
    (("          - id: ch_two", "          - id: ch_one\n            label: One\n            definition: D.\n"
      "            descriptors: {en: [x]}\n          - id: ch_one"), ["theme id 'ch_one' is used twice (first at line 13)"], 17),
    (("id: ch_two", "id: sf_one"), ["in success_factors (line 7) and in challenges", "a theme belongs to one group"], 13),
    # a theme id that is not an id
    (("id: ch_two", "id: Challenge Two"), ["theme id 'Challenge Two'", "e.g. 'challenge_two'"], 13),
])
def test_errors_say_what_to_write(tmp_path: Path, edit, words, line):
    path = tmp_path / "codebook.yaml"
    assert edit[0] in MINIMAL
    path.write_text(MINIMAL.replace(*edit, 1), encoding="utf-8")
    with pytest.raises(ProtocolError) as e:
        load_codebook(path)
    for w in words:
        assert w in str(e.value), str(e.value)
    assert e.value.line == line, str(e.value)
    assert str(e.value).startswith(f"{path}, line {line}")


def test_every_problem_is_listed(tmp_path: Path):
    path = tmp_path / "codebook.yaml"
    path.write_text(MINIMAL.replace("label: One", "label: [One]").replace("fr: [deux]", "de: [zwei]"),
                    encoding="utf-8")
    with pytest.raises(ProtocolError) as e:
        load_codebook(path)
    assert e.value.line == 7 and "label must be text" in str(e.value)
    assert [(line, "unknown language 'de'" in m) for line, _col, m in e.value.also] == [(13, True)]
    assert "\n  also line 13: theme 'ch_two' (at line 16, column 38): unknown language 'de'" in str(e.value)


ALIASED = MINIMAL.replace("            label: Two\n", "            label: Two\n            aliases: [obstacle, ch_2]\n")


def test_aliases_map_former_ids_to_the_theme(tmp_path: Path):
    path = tmp_path / "codebook.yaml"
    path.write_text(ALIASED, encoding="utf-8")
    cb = load_codebook(path)
    assert cb.ids == ["sf_one", "ch_two"]
    assert cb.theme("obstacle").id == "ch_two" and cb.canonical("ch_2") == "ch_two"
    assert cb.canonical("sf_one") == "sf_one" and cb.canonical("unknown") == "unknown"
    assert cb.aliases == {"obstacle": "ch_two", "ch_2": "ch_two"}
    plain = tmp_path / "plain.yaml"
    plain.write_text(MINIMAL, encoding="utf-8")
    assert cb.fingerprint() == load_codebook(plain).fingerprint(), "an alias recodes nothing"


@pytest.mark.parametrize("aliases, words", [
    ("[sf_one]", ["theme 'ch_two' and theme 'sf_one' (line 7) both claim 'sf_one'", "as its id there"]),
    ("[ch_two]", ["theme 'ch_two' lists its own id among its aliases"]),
    ("[Old Id]", ["theme id 'Old Id'", "lower-case"]),
])
def test_alias_mistakes(tmp_path: Path, aliases, words):
    path = tmp_path / "codebook.yaml"
    path.write_text(ALIASED.replace("[obstacle, ch_2]", aliases), encoding="utf-8")
    with pytest.raises(ProtocolError) as e:
        load_codebook(path)
    for w in words:
        assert w in str(e.value), str(e.value)
    assert e.value.line == 13


def test_two_themes_claiming_one_alias_names_both(tmp_path: Path):
    text = ALIASED.replace("            label: One\n", "            label: One\n            aliases: [ch_2]\n")
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProtocolError) as e:
        load_codebook(path)
    assert "theme 'ch_two' and theme 'sf_one' (line 7) both claim 'ch_2' (as an alias here, as an alias there)" \
        in str(e.value)


LOCAL = MINIMAL.replace("name: tiny\n", """\
name: tiny
local_names:
  - name: EI                   # Canada
    means: employment insurance
    themes: [ch_two]
    languages: [en]
  - {name: AE, means: assurance-emploi, themes: [ch_two], languages: [fr]}
  - {name: SPF, means: social protection floor}
""")


def test_local_names(tmp_path: Path):
    path = tmp_path / "codebook.yaml"
    path.write_text(LOCAL, encoding="utf-8")
    cb = load_codebook(path)
    assert [n.name for n in cb.local_names] == ["EI", "AE", "SPF"]
    ei = cb.local_name("ei", "en")
    assert ei is not None and ei.means == "employment insurance" and ei.themes == ["ch_two"]
    assert cb.local_name("EI", "fr") is None and cb.local_name("spf", "pt").means == "social protection floor"


@pytest.mark.parametrize("edit, words, line", [
    (("themes: [ch_two]\n    languages", "themes: [ch_tow]\n    languages"),
     ["local name 'EI': there is no theme 'ch_tow' in this codebook — did you mean 'ch_two'?"], 5),
    (("languages: [en]", "languages: [english]"), ["local name 'EI': 'english' is not one of languages"], 6),
    (("{name: SPF, means: social protection floor}", "{name: ei, means: x}"),
     ["the local name 'ei' is declared twice for en (first on line 3)"], 8),
    (("{name: SPF, means: social protection floor}", "{name: SPF}"),
     ["local name 'SPF': needs a text 'means'"], 8),
])
def test_local_name_mistakes(tmp_path: Path, edit, words, line):
    path = tmp_path / "codebook.yaml"
    assert edit[0] in LOCAL
    path.write_text(LOCAL.replace(*edit, 1), encoding="utf-8")
    with pytest.raises(ProtocolError) as e:
        load_codebook(path)
    for w in words:
        assert w in str(e.value), str(e.value)
    assert e.value.line == line, str(e.value)


def test_a_duplicate_key_names_its_line_and_mapping(tmp_path: Path):
    path = tmp_path / "codebook.yaml"
    path.write_text(MINIMAL.replace("            label: Two\n", "            label: Two\n            label: Deux\n"),
                    encoding="utf-8")
    with pytest.raises(ProtocolError) as e:
        load_codebook(path)
    assert "the key 'label' appears twice in the mapping that starts on line 13" in str(e.value)
    assert e.value.line == 15


def test_quoted_words_yaml_would_read_as_true_false_are_phrases(tmp_path: Path):
    path = tmp_path / "codebook.yaml"
    path.write_text(MINIMAL.replace("{en: [two], fr: [deux]}", "{en: [two, \"no\", 'on']}"), encoding="utf-8")
    assert load_codebook(path).theme("ch_two").descriptors["en"] == ["two", "no", "on"]


@pytest.mark.parametrize("name", ["ilo-social-protection", "canada-social-security"])
def test_shipped_local_names_point_at_themes(name):
    cb = load_codebook(name)
    assert cb.local_names, "the shipped codebooks declare their programmes' names and abbreviations"
    assert all(set(n.themes) <= set(cb.ids) for n in cb.local_names)
