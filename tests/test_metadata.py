"""Metadata: project codes (the seed's Annex II), places in four languages, real documents vs labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from describe_helpers import EXAMPLES, SUBSET, doc, load_labels, read_subset, read_unseen
from project_fixtures import corpus_params, unseen_labels

from whatworks.describe.codes import find_codes, parse_ilo_code
from whatworks.describe.kind import classify
from whatworks.describe.metadata import extract_metadata
from whatworks.describe.places import ILO_REGIONS, countries, find_countries, find_places, m49_names

# --- ILO project codes ----------------------------------------------------------------------

#: Annex II of the seed review: every TC symbol → (scope, ILO region, start year, donor).
ANNEX_II = {
    "INT/00/000/AAA": ("interregional", "Global/interregional", None, None),
    "CMB/09/04/SPA": ("country", "Asia and the Pacific", 2009, "Spain (AECID)"),
    "GLO/08/60/POR": ("global", "Global/interregional", 2008, "Portugal"),
    "RAF/08/02/RBS": ("regional", "Africa", 2008, "ILO RBSA"),
    "INT/09/06/EEC": ("interregional", "Global/interregional", 2009, "European Union"),
    "GLO/11/54/SID": ("global", "Global/interregional", 2011, "Sweden (Sida)"),
    "GLO/12/63/NOR": ("global", "Global/interregional", 2012, "Norway (Norad)"),
    "RAS/13/53/JPN": ("regional", "Asia and the Pacific", 2013, "Japan"),
    "RLA/14/03/SPA": ("regional", "Americas", 2014, "Spain (AECID)"),
    "LAO/11/01/LUX": ("country", "Asia and the Pacific", 2011, "Luxembourg"),
    "RAF/13/04/IRL": ("regional", "Africa", 2013, "Ireland (Irish Aid)"),
    "RER/13/01/FIN": ("regional", "Europe and Central Asia", 2013, "Finland"),
    "RAS/13/08/JPN": ("regional", "Asia and the Pacific", 2013, "Japan"),
    "RAF/15/15/DZA": ("regional", "Africa", 2015, "Algeria"),
    "GLO/15/50/ROK": ("global", "Global/interregional", 2015, "Republic of Korea"),
    "GLO/15/12/PRT": ("global", "Global/interregional", 2015, "Portugal"),
    "RLA/08/02/SPA": ("regional", "Americas", 2008, "Spain (AECID)"),
    "MOZ/12/50/OUF": ("country", "Africa", 2012, "One UN Fund"),
}


@pytest.fixture(scope="session")
def annex_rows(shared: Path) -> list[str]:
    text = (shared / "seed" / "ilo-synthesis-review-social-protection-2012-2018.txt").read_text(encoding="utf-8")
    annex = text[text.index("Annex II. Final list of reports reviewed"):]
    return [line for line in annex.splitlines() if re.match(r"\d+\.\t", line)]


def test_every_annex_ii_report_and_code(annex_rows: list[str]) -> None:
    """24 reports; 19 carry a TC symbol (18 distinct: the placeholder twice), 5 say N/A or nothing."""
    assert len(annex_rows) == 24
    found = [find_codes(row) for row in annex_rows]
    with_code = [f for f in found if f]
    assert len(with_code) == 19
    codes = {pc.code for f in with_code for pc, _, _ in f}
    assert codes == set(ANNEX_II)
    for row, f in zip(annex_rows, found, strict=True):
        if not f:
            assert "(N/A)" in row or "Phase II)" in row


@pytest.mark.parametrize("code", sorted(ANNEX_II))
def test_parse_ilo_code(code: str) -> None:
    scope, region, year, donor = ANNEX_II[code]
    pc = parse_ilo_code(code)
    assert pc is not None
    assert (pc.scope, pc.region_ilo, pc.start_year, pc.donor) == (scope, region, year, donor)
    if scope == "country":
        assert pc.country in countries() and pc.region_ilo == countries()[pc.country]["ilo_region"]


def test_code_parser_refuses_lookalikes() -> None:
    assert parse_ilo_code("ABC/12/34") is None
    assert parse_ilo_code("XQZ/12/34/QQQ") is None  # nothing known in it
    assert find_codes("see file ILO/2019/12/ABCD and 12/05/2019") == []
    assert parse_ilo_code("CMB/09/04/SPA").country == "KHM"  # ILO's own code for Cambodia


def test_iom_codes_after_a_label() -> None:
    assert [pc.code for pc, _, _ in find_codes("Project code: RT.1354\nGender marker: 1")] == ["RT.1354"]
    assert [pc.code for pc, _, _ in find_codes("Project Code: CS1137, CS1138")] == ["CS1137", "CS1138"]
    assert find_codes("CS1137 without a label") == []


# --- places -------------------------------------------------------------------------------


@pytest.mark.parametrize("sentence,expected", [
    ("Le projet couvre Haïti, la République dominicaine et la Côte d’Ivoire.", ["HTI", "DOM", "CIV"]),
    ("Projet au Sénégal, au Burkina Faso, en RDC et au Maroc.", ["SEN", "BFA", "COD", "MAR"]),
    ("El proyecto en Perú, Bolivia y Ecuador, y en Timor-Leste.", ["PER", "BOL", "ECU", "TLS"]),
    ("Programa regional en Guatemala, Honduras y El Salvador.", ["GTM", "HND", "SLV"]),
    ("O projeto em Moçambique, Brasil, Guiné-Bissau, São Tomé e Príncipe e Cabo Verde.",
     ["MOZ", "BRA", "GNB", "STP", "CPV"]),
    ("Lao PDR, Viet Nam, Myanmar and Cambodia; the DRC and the Kyrgyz Republic.",
     ["LAO", "VNM", "MMR", "KHM", "COD", "KGZ"]),
    ("FINAL EVALUATION IN ETHIOPIA, SOMALIA AND SOUTH SUDAN", ["ETH", "SOM", "SSD"]),
])
def test_countries_in_four_languages(sentence: str, expected: list[str]) -> None:
    assert find_countries(sentence) == expected


def test_names_that_are_not_countries() -> None:
    assert find_countries("the Congo Basin and the Gulf of Guinea") == []
    assert find_countries("chile peppers and a roast turkey") == []  # lower case: not proper nouns
    assert find_countries("Guinea-Bissau, then Guinea; South Sudan, then Sudan") == ["GNB", "GIN", "SSD", "SDN"]
    assert find_countries("the Niger Delta") == ["NGA"]


def test_areas_and_regions() -> None:
    found = [(m.text, m.area) for m in find_places("the Horn of Africa, la región andina and Asia and the Pacific")]
    assert found == [("Horn of Africa", "Horn of Africa"), ("región andina", "Andean region"),
                     ("Asia and the Pacific", "Asia and the Pacific")]


def test_country_data_is_complete() -> None:
    data = countries()
    assert len(data) >= 240
    assert {c["ilo_region"] for c in data.values()} == set(ILO_REGIONS) - {"Global/interregional"}
    assert data["KGZ"]["ilo_region"] == "Europe and Central Asia"
    assert data["JOR"]["ilo_region"] == "Arab States" and data["EGY"]["ilo_region"] == "Africa"
    assert m49_names("ETH") == ["Africa", "Sub-Saharan Africa", "Eastern Africa"]
    assert all(c["names"]["fr"] or c["variants"] for c in data.values() if c["iso3"] in ("MOZ", "CIV", "TLS"))


# --- metadata on real documents (the labelled corpus subset, else the unseen fixtures) ----------------


@pytest.fixture(scope="session")
def labels() -> dict[str, dict]:
    return load_labels()


@pytest.fixture(scope="session")
def corpus_docs(corpus_or_none: Path | None):
    """Relative path → Document of the labelled corpus subset; file name → Document of the unseen
    fixtures without the corpus."""
    return read_subset(corpus_or_none) if corpus_or_none is not None else read_unseen()


@pytest.fixture(scope="session")
def described(corpus_docs):
    out = {}
    for rel, d in corpus_docs.items():
        kind = classify(d, [], [])
        out[rel] = extract_metadata(d, [], kind)
    return out


@pytest.mark.parametrize("rel", corpus_params(SUBSET, "the metadata of each labelled corpus document "
                                                       "(test_describe_unseen.py checks the unseen fixtures)"))
def test_metadata_matches_labels(rel: str, described, labels) -> None:
    md, label = described[rel], labels[rel]
    for key in ("year", "timing", "organisation", "language"):
        if key in label:
            assert key in md and md[key].value == label[key], (key, md.get(key))
    for key in ("countries", "regions_ilo"):
        if key in label:
            assert sorted(md[key].value) == sorted(label[key]), (key, md.get(key))


def test_values_carry_confidence_and_evidence(described) -> None:
    for md in described.values():
        for key, v in md.items():
            assert 0 <= v.confidence <= 1, key
        for key in ("year", "countries", "title"):
            if key in md and md[key].confidence >= 0.6:
                assert md[key].evidence is not None and md[key].evidence.text, key
        if "countries" in md:
            assert all(re.fullmatch(r"[A-Z]{3}", c) for c in md["countries"].value)
        if "regions_ilo" in md:
            assert set(md["regions_ilo"].value) <= set(ILO_REGIONS)


def test_evidence_is_verbatim_and_on_the_right_page() -> None:
    """A PDF's year, with its evidence: on the page it names, word for word (every PDF of the unseen
    fixtures; the corpus's PDFs of this subset are in the blind labels' test split)."""
    docs = {name: d for name, d in read_unseen().items() if name.endswith(".pdf")}
    assert len(docs) >= 5
    for name, d in docs.items():
        ev = extract_metadata(d, [], classify(d, [], []))["year"].evidence
        assert ev is not None and ev.page >= 1 and ev.text.strip(), name
        page_text = "\n".join(b.text for b in d.pages[ev.page - 1].blocks)
        assert ev.text in page_text, name


def test_evaluation_metadata_only_for_evaluation_kinds(described, corpus_or_none) -> None:
    if corpus_or_none is not None:
        assert "timing" not in described["idrc/PCRs 2022-2023/PCR 108458 Stage 3.md"]
        assert "timing" in described[SUBSET[0]]
        return
    # the unseen fixtures: timing for the evaluations, none for the progress reports and studies
    labels = unseen_labels()
    others = [n for n, label in labels.items() if label["kind"] in ("progress_report", "research_report", "case_study")]
    evaluations = [n for n, label in labels.items() if label["kind"] == "evaluation_report"]
    assert len(others) >= 3 and len(evaluations) >= 10
    assert [n for n in others if "timing" in described[n]] == []
    assert [n for n in evaluations if "timing" not in described[n]] == []


# --- small fixtures and the ILO template examples ------------------------------------------


def test_fixture_in_spanish() -> None:
    d = doc([("heading", "Evaluación intermedia independiente"),
             ("paragraph", "Proyecto RLA/14/03/SPA: Piso de protección social en Perú, Bolivia y Ecuador."),
             ("paragraph", "Fecha del informe final: 15 de marzo de 2016")],
            [("paragraph", "El proyecto trabajó en Perú, Bolivia y Ecuador con los ministerios de trabajo. "
                           "Financiado por la AECID. Periodo del proyecto: 2014-2016.")])
    md = extract_metadata(d, [], classify(d, [], []))
    assert md["timing"].value == "midterm"
    assert md["year"].value == 2016
    assert sorted(md["countries"].value) == ["BOL", "ECU", "PER"]
    assert md["regions_ilo"].value == ["Americas"]
    assert md["scope"].value == "regional"
    assert md["project_codes"].value[0]["donor"] == "Spain (AECID)"
    assert "Spain (AECID)" in md["donors"].value


@pytest.mark.parametrize("name,countries_,year,timing,language", [
    ("fr_maroc_tunisie_travailleurs_migrants_2019.md", ["MAR", "TUN"], 2019, "final", "fr"),
    ("fr_senegal_burkina_economie_informelle_2015.md", ["BFA", "SEN"], 2015, "final", "fr"),
    ("es_guatemala_honduras_maternidad_2016.md", ["GTM", "HND"], 2016, "final", "es"),
    ("pt_cabo_verde_pensoes_sociais_2013.md", ["CPV"], 2013, "final", "pt"),
    ("pt_mocambique_protecao_social_basica_2018.md", ["MOZ"], 2018, "final", "pt"),
    ("en_asean_unemployment_insurance_midterm_2016.md", ["KHM", "LAO", "MMR", "VNM"], 2016, "midterm", "en"),
])
def test_ilo_template_examples(name, countries_, year, timing, language) -> None:
    from whatworks.read import read_document

    path = EXAMPLES / name
    if not path.exists():
        pytest.skip(f"{name} not in whatworks/data/examples")
    d = read_document(path)
    md = extract_metadata(d, [], classify(d, [], []))
    assert sorted(md["countries"].value) == countries_
    assert (md["year"].value, md["timing"].value, md["language"].value) == (year, timing, language)
    assert md["organisation"].value == "ILO"
    assert md["project_codes"].value and md["donors"].value
