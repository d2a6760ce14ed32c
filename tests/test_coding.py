"""Coding: descriptor matching, multilingual embeddings, the codes tables, incremental re-runs,
reviewers' decisions, accuracy against hand-coded items, and emerging themes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from whatworks.codebook import load_codebook
from whatworks.coding import (
    DEFAULT_EMBED,
    Coder,
    Embedder,
    Matcher,
    agreement,
    effective_codes,
    supporting_sentence,
    tokenize,
)
from whatworks.text import fold_word, stem

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "whatworks" / "data" / "examples"
LABELS = ROOT / "tests" / "labels" / "coding.yaml"


@pytest.fixture(scope="module")
def ilo_coder():
    return Coder(load_codebook("ilo-social-protection"))


# --- normalisation and matching ---------------------------------------------------------

@pytest.mark.parametrize("a, b, lang", [("pensões", "pensão", "pt"), ("políticas", "política", "pt"),
                                        ("sociaux", "social", "fr"), ("policies", "policy", "en"),
                                        ("nacionais", "nacional", "pt"), ("trabajadores", "trabajador", "es"),
                                        ("mujeres", "mujer", "es"), ("services", "service", "en"),
                                        ("sustentáveis", "sustentável", "pt")])
def test_plurals_meet_their_singular(a, b, lang):
    assert stem(fold_word(a), lang) == stem(fold_word(b), lang)


def test_tokens_keep_their_spans_and_fold_accents():
    text = "L'extension de la protection sociale — Protección"
    toks = tokenize(text)
    assert [t.raw for t in toks] == ["extension", "de", "la", "protection", "sociale", "proteccion"]
    assert text[toks[-1].start:toks[-1].end] == "Protección"


def test_matcher_phrases_prefixes_gaps_exclusions_and_negators():
    m = Matcher([("t_phrase", "social dialogue", False), ("t_prefix", "pension*", False),
                 ("t_gap", "lack ~ data", False), ("t_excl", "ownership", False), ("t_excl", "lack ~ ownership", True),
                 ("t_neg", "political will", False)],
                {"t_neg": ["limited", "weak"]})

    def themes(text):
        return set(m.find(tokenize(text), text))

    assert themes("Social Dialogue was key") == {"t_phrase"}
    assert themes("pensioners and pension funds") == {"t_prefix"}
    assert themes("a lack of reliable administrative data") == {"t_gap"}
    assert themes("a lack of reliable, comparable and timely administrative data") == set()  # gap too long
    assert themes("the lack of data. Strong ownership.") == {"t_gap", "t_excl"}
    assert themes("the lack of national ownership") == set()  # exclusion overlaps the hit
    assert themes("limited political will") == set()  # negator just before
    assert themes("no delays. Political will was strong") == {"t_neg"}
    assert themes("There was no data at all; lack. Data came later") == set()  # a gap never crosses a sentence


MULTILINGUAL = [
    ({"ch_political_context", "old_age"}, [
        "Political instability and frequent changes of government delayed the adoption of the pension reform.",
        "L'instabilité politique et les changements fréquents de gouvernement ont retardé l'adoption de la réforme "
        "des retraites.",
        "La inestabilidad política y los frecuentes cambios de gobierno retrasaron la adopción de la reforma de "
        "pensiones.",
        "A instabilidade política e as mudanças frequentes de governo atrasaram a adoção da reforma das pensões."]),
    ({"capacity_building", "tg_administrators", "spf_coverage", "fb_domestic_workers"}, [
        "The project strengthened the capacity of the national social security institute to extend coverage to "
        "domestic workers.",
        "Le projet a renforcé les capacités de l'institut national de sécurité sociale pour étendre la couverture "
        "aux travailleurs domestiques.",
        "El proyecto fortaleció las capacidades del instituto nacional de seguridad social para extender la "
        "cobertura a las trabajadoras domésticas.",
        "O projeto reforçou as capacidades do instituto nacional de segurança social para alargar a cobertura aos "
        "trabalhadores domésticos."]),
    ({"social_dialogue", "sf_participatory", "sf_political_will_ownership", "tg_social_partners"}, [
        "Social dialogue and a participatory approach built ownership among the social partners.",
        "Le dialogue social et une approche participative ont renforcé l'appropriation par les partenaires sociaux.",
        "El diálogo social y un enfoque participativo generaron apropiación entre los interlocutores sociales.",
        "O diálogo social e uma abordagem participativa criaram apropriação entre os parceiros sociais."]),
    ({"fb_women", "fb_rural", "fb_informal_economy", "maternity"}, [
        "Women and rural workers in the informal economy remain excluded from maternity protection.",
        "Les femmes et les travailleurs ruraux de l'économie informelle restent exclus de la protection de la "
        "maternité.",
        "Las mujeres y los trabajadores rurales de la economía informal siguen excluidos de la protección de la "
        "maternidad.",
        "As mulheres e os trabalhadores rurais da economia informal continuam excluídos da proteção da maternidade."]),
    ({"ch_lack_synergies"}, [
        "The lack of synergies with other ILO projects led to missed opportunities.",
        "Le manque de synergies avec les autres projets de l'OIT a entraîné des occasions manquées.",
        "La falta de sinergias con otros proyectos de la OIT llevó a oportunidades perdidas.",
        "A falta de sinergias com outros projetos da OIT levou a oportunidades perdidas."]),
]


@pytest.mark.parametrize("expected, texts", MULTILINGUAL, ids=[sorted(e)[0] for e, _ in MULTILINGUAL])
def test_four_languages_code_to_the_same_themes(ilo_coder, expected, texts):
    coded = [{c.theme for c in codes} for codes in ilo_coder.code_texts(texts)]
    assert all(expected <= c for c in coded), coded
    assert coded[1] == coded[0] and coded[2] == coded[0] and coded[3] == coded[0]
    assert "sf_synergies" not in set().union(*coded)  # "lack of synergies" is a challenge, not a success factor


def test_embeddings_code_what_no_descriptor_names_in_every_language(ilo_coder):
    texts = ["Mothers receive paid leave for fourteen weeks after giving birth.",
             "Les mères reçoivent un congé payé de quatorze semaines après la naissance.",
             "Las madres reciben una licencia pagada de catorce semanas después de dar a luz.",
             "As mães recebem uma licença paga de catorze semanas depois de dar à luz."]
    for codes in ilo_coder.code_texts(texts, embed="all"):
        by = {c.theme: c for c in codes}
        assert by["maternity"].method == "embedding"
        assert by["maternity"].triggers == []


def test_codes_carry_triggers_and_a_verbatim_sentence(ilo_coder):
    text = ("The project was relevant. Political instability in 2014 delayed the adoption of the law; the "
            "ministry changed three times.")
    codes = {c.theme: c for c in ilo_coder.code_texts([text])[0]}
    political = codes["ch_political_context"]
    assert "Political instability" in political.triggers
    assert political.quote == "Political instability in 2014 delayed the adoption of the law; the ministry changed three times."
    assert political.quote in text
    heading = "Key finding 3. When earnings are only partly deducted from benefits, claimants accept more work."
    assert supporting_sentence(heading, []) == heading[len("Key finding 3. "):]  # not the bare heading


def test_coding_is_deterministic(ilo_coder):
    texts = [t for _, ts in MULTILINGUAL for t in ts]
    a = [[(c.theme, round(c.score, 6)) for c in cs] for cs in ilo_coder.code_texts(texts, embed="all")]
    b = [[(c.theme, round(c.score, 6)) for c in cs] for cs in ilo_coder.code_texts(texts, embed="all")]
    assert a == b


# --- accuracy against hand-coded items ---------------------------------------------------

def test_accuracy_on_items_never_used_for_tuning():
    """The test split of tests/labels/coding.yaml (see benchmarks/coding_accuracy.py for the full figures)."""
    items = yaml.safe_load(LABELS.read_text(encoding="utf-8"))["items"]
    assert len(items) >= 150
    test = [i for i in items if i["split"] == "test"]
    embedder = Embedder()
    expected, predicted, themes = [], [], set()
    for name in sorted({i["codebook"] for i in test}):
        coder = Coder(load_codebook(name), embedder)
        group = [i for i in test if i["codebook"] == name]
        themes |= set(coder.codebook.ids)
        for item, codes in zip(group, coder.code_texts([i["text"] for i in group], embed=DEFAULT_EMBED), strict=True):
            expected.append(set(item["themes"]))
            predicted.append({c.theme for c in codes})
    a = agreement(expected, predicted, themes)
    assert a.kappa >= 0.65, a  # measured 0.71 (dev split 0.84)
    assert a.precision >= 0.65 and a.recall >= 0.62, a


def test_agreement_figures():
    a = agreement([{"x"}, {"y"}, set()], [{"x"}, {"x"}, set()], {"x", "y"})
    assert a.precision == 0.5 and a.recall == 0.5
    assert a.decisions == 6
    assert agreement([{"x"}], [{"x"}], {"x", "y"}).kappa == 1.0


# --- the review stage: tables, re-runs, reviewers ----------------------------------------

@pytest.fixture()
def small_project(tmp_path: Path):
    from whatworks.api import Review

    files = tmp_path / "reports"
    files.mkdir()
    for name in ("en_zambia_tanzania_domestic_workers_2014.docx", "fr_senegal_burkina_economie_informelle_2015.md"):
        shutil.copy(EXAMPLES / name, files / name)
    review = Review.create(tmp_path / "review", "ilo-social-protection")
    review.add([files], jobs=1)
    yield review, files
    review.close()


def test_rerun_after_adding_a_report_codes_only_its_items(small_project):
    from whatworks.store import codes as codes_store
    from whatworks.store import documents as docs

    review, files = small_project
    first = review.code(all_items=True)
    n_items = len(docs.item_rows(review.store))
    assert first.coded == first.items == n_items > 10
    assert first.codes == len(codes_store.code_rows(review.store))
    again = review.code(all_items=True)
    assert again.coded == 0 and again.skipped == n_items and again.embedded == 0
    shutil.copy(EXAMPLES / "pt_cabo_verde_pensoes_sociais_2013.md", files / "pt_cabo_verde_pensoes_sociais_2013.md")
    review.add([files], jobs=1)
    new_items = len(docs.item_rows(review.store)) - n_items
    third = review.code(all_items=True)
    assert third.coded == new_items > 0
    assert third.skipped == n_items
    cabo = [r["sha256"] for r in docs.document_rows(review.store) if "cabo_verde" in r["source"]]
    portuguese = {r["theme"] for r in codes_store.code_rows(review.store, cabo)}
    assert {"old_age", "social_assistance"} & portuguese  # a report on social pensions in Portuguese


def test_reviewer_decisions_survive_reruns(small_project):
    from whatworks.store import codes as codes_store
    from whatworks.store import documents as docs
    from whatworks.team import User

    review, _ = small_project
    review.code(all_items=True)
    store = review.store
    row = codes_store.code_rows(store)[0]
    item = next(r for r in docs.item_rows(store, [row["sha256"]]) if r["item_key"] == row["item_key"])
    machine = {r["theme"] for r in codes_store.code_rows(store, [row["sha256"]]) if r["item_key"] == row["item_key"]}
    alice = User("alice", "reviewer")
    review.code_item(row["sha256"], item["idx"], (machine - {row["theme"]}) | {"fb_working_poor"}, alice,
                     note="not about this")
    review.code(all_items=True, force=True)  # the machine recodes everything
    assert any(r["item_key"] == row["item_key"] and r["theme"] == row["theme"]
               for r in codes_store.code_rows(store, [row["sha256"]]))
    effective = {(c.item_key, c.theme): c for c in review.codes() or _all_codes(review)}
    assert (row["item_key"], row["theme"]) not in effective
    added = effective[(row["item_key"], "fb_working_poor")]
    assert added.human == "add" and added.quote and added.quote in item["text"]
    assert len(codes_store.code_decision_rows(store)) == 1  # one answer per item and person
    with pytest.raises(ValueError):  # a theme outside the codebook is refused
        review.code_item(row["sha256"], item["idx"], {"no_such_theme"}, alice)


def _all_codes(review):
    return effective_codes(review.store)


def test_embeddings_are_cached_by_text(tmp_path: Path):
    from whatworks.store import open_store

    db = open_store(tmp_path / "r.db")
    texts = ["Social dialogue built consensus.", "Le dialogue social a créé un consensus."]
    first = Embedder(db)
    a = first.embed(texts)
    assert first.computed == 2
    second = Embedder(db)
    b = second.embed(texts + texts[:1])
    assert second.computed == 0 and second.cached == 3
    assert np.allclose(a, b[:2], atol=1e-3)
    assert float(a[0] @ a[1]) > 0.6  # a sentence and its translation are close
    db.close()


# --- emerging themes ----------------------------------------------------------------------

def test_clusters_of_items_no_theme_fits(tmp_path: Path):
    from whatworks.corrections import save_description
    from whatworks.emerging import cluster, emerging_themes, find_emerging, set_status
    from whatworks.model import Description, Item, Value
    from whatworks.store import open_store

    texts = [
        "Beekeeping cooperatives sold honey at the district market.",
        "Honey production by beekeepers increased after the hives were distributed.",
        "The beekeeping groups bought new hives with their honey income.",
        "Les apiculteurs ont vendu leur miel au marché du district.",
        "The new bridge shortened the road to the provincial capital.",
        "Road repairs and a bridge cut travel time to the capital.",
        "A bridge and new roads now connect the villages to the capital.",
        "Staff noted that the printer in the office was often broken.",
    ]
    db = open_store(tmp_path / "r.db")
    description = Description(kind=Value("evaluation_report"),
                              items=[Item("finding", t, 1) for t in texts])
    save_description(db, "a" * 64, description)
    vectors = Embedder(db).embed(texts)
    groups = cluster(vectors)
    assert [sorted(g) for g in groups[:2]] == [[0, 1, 2, 3], [4, 5, 6]]
    found = find_emerging(db, ["a" * 64])
    assert len(found) == 2
    assert any(w in found[0].terms for w in ("honey", "beekeeping", "hives"))
    assert any(w in found[1].terms for w in ("bridge", "capital", "road", "roads"))
    set_status(db, found[0].id, "named", "alice", "Livelihoods: beekeeping")
    set_status(db, found[1].id, "dismissed", "alice")
    again = find_emerging(db, ["a" * 64])  # same clusters: the reviewer's decisions are kept
    assert {e.id: e.status for e in again} == {found[0].id: "named", found[1].id: "dismissed"}
    shown = emerging_themes(db)
    assert [e.title for e in shown] == ["Livelihoods: beekeeping"]
    assert len(shown[0].items) == 4
    db.close()


def test_decisions_under_a_former_theme_id_still_count(tmp_path: Path):
    """A theme renamed in the codebook (its old id kept as an alias) keeps its codes and decisions."""
    from whatworks.corrections import save_description
    from whatworks.model import Description, Item, Value
    from whatworks.store import codes as codes_store
    from whatworks.store import open_store

    db = open_store(tmp_path / "r.db")
    texts = ["Workers gained pensions.", "Domestic workers joined the scheme.", "Staff were trained."]
    save_description(db, "a" * 64, Description(kind=Value("evaluation_report"),
                                               items=[Item("finding", t, 1) for t in texts]))
    from whatworks.store.documents import item_key

    k = [item_key(t) for t in texts]
    codes_store.save_codes(db, [], [{"sha256": "a" * 64, "item_key": key, "theme": theme, "engine": "offline",
                                     "score": 0.8, "method": "keyword", "quote": None}
                                    for key, theme in ((k[0], "old_age"), (k[1], "pensions_old"),
                                                       (k[2], "pensions_old"))])
    for i, themes in ((0, []), (2, ["pensions_old"])):  # decided before the rename
        codes_store.save_code_decision(db, sha256="a" * 64, item_key=k[i], reviewer="alice", role="reviewer", idx=i,
                                       themes=themes, machine=[], text=texts[i])
    aliases = {"pensions_old": "old_age"}
    before = {(c.item_key, c.theme) for c in effective_codes(db)}
    assert before == {(k[1], "pensions_old"), (k[2], "pensions_old")}
    after = {(c.item_key, c.theme): c for c in effective_codes(db, aliases=aliases)}
    assert set(after) == {(k[1], "old_age"), (k[2], "old_age")}, "the answer under the old id still holds"
    assert after[(k[2], "old_age")].human == "accept"
    db.close()
