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
