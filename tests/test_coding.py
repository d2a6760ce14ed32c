"""Coding: the supervised coder (themes, polarity, evidence), how polarity routes the "why",
local programme names, learning from reviewers, the codes tables, incremental re-runs,
accuracy on the blind gold set's test split, and emerging themes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from whatworks import coder
from whatworks.codebook import load_codebook
from whatworks.coding import agreement, effective_codes, expand, language_of, supporting_sentence
from whatworks.embedding import Embedder
from whatworks.text import fold_word, stem

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "whatworks" / "data" / "examples"
GOLD = ROOT / "tests" / "labels" / "coding_gold.jsonl"


@pytest.fixture(scope="module")
def embedder():
    return Embedder()


class Coder:
    """A codebook's shipped model with the stage's own steps around it (local names, languages)."""

    def __init__(self, name: str, embedder: Embedder):
        self.codebook = load_codebook(name)
        self.model = coder.shipped(name)
        assert self.model is not None, f"no shipped model for {name}"
        self.embedder = embedder

    def predict(self, texts: list[str], kind: str | list[str] | None = "finding") -> list[coder.Prediction]:
        """As the coding stage predicts items of a report: of a kind (a finding unless told; or one
        kind per text)."""
        kinds = kind if isinstance(kind, list) else [kind] * len(texts)
        expanded = [expand(t, self.codebook) for t in texts]
        groups = {g: [t.id for t in self.codebook.themes if t.group == g] for g in ("challenges", "success_factors")}
        return self.model.predict(expanded, [language_of(t) for t in texts], self.embedder.embed(expanded),
                                  groups["challenges"], groups["success_factors"], kinds=kinds)


@pytest.fixture(scope="module")
def ilo(embedder):
    return Coder("ilo-social-protection", embedder)


@pytest.fixture(scope="module")
def canada(embedder):
    return Coder("canada-social-security", embedder)


@pytest.mark.parametrize("a, b, lang", [("pensões", "pensão", "pt"), ("políticas", "política", "pt"),
                                        ("sociaux", "social", "fr"), ("policies", "policy", "en"),
                                        ("trabajadores", "trabajador", "es"), ("mujeres", "mujer", "es")])
def test_plurals_meet_their_singular(a, b, lang):
    assert stem(fold_word(a), lang) == stem(fold_word(b), lang)


# --- the shipped models --------------------------------------------------------------------

def test_shipped_models_cover_their_codebooks_and_stay_small():
    for name in coder.shipped_codebooks():
        model = coder.shipped(name)
        assert model.themes.labels == load_codebook(name).ids, name
        assert (coder.MODELS / f"coder-{name}.npz").stat().st_size < 50e6
        assert set(model.polarity.labels) >= {"positive", "negative", "neutral"}
        assert model.info["gold_items"] >= 1000  # trained on the gold set's dev split
    assert set(coder.shipped_codebooks()) >= {"ilo-social-protection", "canada-social-security"}


MULTILINGUAL = [
    ("old_age", [
        "The social pension reached older persons in rural districts who had never contributed to any scheme.",
        "La pension sociale a atteint les personnes âgées des districts ruraux qui n'avaient jamais cotisé.",
        "La pensión social llegó a las personas mayores de los distritos rurales que nunca habían cotizado.",
        "A pensão social chegou às pessoas idosas dos distritos rurais que nunca tinham contribuído."]),
    ("social_dialogue", [
        "Tripartite social dialogue between the government, employers and trade unions shaped the reform.",
        "Le dialogue social tripartite entre le gouvernement, les employeurs et les syndicats a façonné la réforme.",
        "El diálogo social tripartito entre el gobierno, los empleadores y los sindicatos dio forma a la reforma.",
        "O diálogo social tripartido entre o governo, os empregadores e os sindicatos moldou a reforma."]),
]


@pytest.mark.parametrize("theme, texts", MULTILINGUAL, ids=[t for t, _ in MULTILINGUAL])
def test_four_languages_code_to_the_same_theme(ilo, theme, texts):
    for text, p in zip(texts, ilo.predict(texts), strict=True):
        assert theme in {t for t, _ in p.themes}, (text, p.themes)


def test_meaning_carries_across_languages_without_the_theme_s_words(ilo):
    """No word of the maternity theme, in four languages: it is the branch the item reads closest to
    (below its threshold: maternity has few training examples, so the coder does not code it alone)."""
    texts = ["Mothers receive paid leave for fourteen weeks after giving birth.",
             "Les mères reçoivent un congé payé de quatorze semaines après la naissance.",
             "Las madres reciben una licencia pagada de catorce semanas después de dar a luz.",
             "As mães recebem uma licença paga de catorze semanas depois de dar à luz."]
    branches = [t.id for t in ilo.codebook.themes if t.group == "branches"]
    for text, p in zip(texts, ilo.predict(texts), strict=True):
        assert max(branches, key=p.scores.get) == "maternity", (text, p.scores)


def test_one_ambiguous_word_does_not_decide_a_theme(ilo):
    """The issue's examples: a word that shares a descriptor's letters but not its meaning."""
    texts = {"sf_participatory": "Workers participating in the programme received their first payment in March.",
             "pilots": "Le comité de pilotage s'est réuni deux fois par an.",
             "child_family": "Childcare costs kept many mothers from taking up the jobs offered."}
    for theme, p in zip(texts, ilo.predict(list(texts.values())), strict=True):
        assert theme not in {t for t, _ in p.themes}, (theme, p.themes)


def test_polarity_routes_positive_results_away_from_challenges(ilo, canada):
    positive = ["Delivery of the cash transfers through mobile money was deemed effective and timely.",
                "The programme increased the probability of working by about 27% among participants."]
    negative = ["Weak coordination between ministries and frequent staff turnover delayed implementation."]
    for p in canada.predict(positive) + ilo.predict(positive):
        assert p.polarity == "positive", p
    challenges = {t.id for t in ilo.codebook.themes if t.group == "challenges"}
    for p in ilo.predict(positive):
        assert not challenges & {t for t, _ in p.themes}, p.themes
    (neg,) = ilo.predict(negative)
    assert neg.polarity == "negative"
    assert challenges & {t for t, _ in neg.themes}, neg.themes


def test_fragments_are_not_evidence(ilo, canada):
    fragments = ["Finding # 8 Finding:", "(Addressed to: ILO, constituents; Priority: Medium; Timeframe: short)",
                 "male: 69%"]
    for p in canada.predict(fragments) + ilo.predict(fragments):
        assert p.not_evidence and p.themes == [], p
    (real,) = ilo.predict(["The project strengthened the capacity of the social security institute to register "
                           "domestic workers, and coverage doubled in two years."])
    assert not real.not_evidence and real.themes


def test_local_names_carry_a_programme_to_its_theme(canada):
    """"EI" is employment insurance in English, "AE" in French: declared once in the codebook."""
    items = ["EI claimants who worked while on claim returned to full-time work sooner.",
             "Les prestataires de l'AE qui ont travaillé pendant leur période de prestations sont retournés au "
             "travail plus tôt."]
    assert "employment insurance" in expand(items[0], canada.codebook)
    for p in canada.predict(items):
        assert "employment_insurance" in {t for t, _ in p.themes}, p.themes


def test_coding_is_deterministic_and_survives_save_and_load(ilo, tmp_path: Path):
    texts = [t for _, ts in MULTILINGUAL for t in ts]
    a = [(p.polarity, [(t, round(s, 5)) for t, s in p.themes]) for p in ilo.predict(texts)]
    b = [(p.polarity, [(t, round(s, 5)) for t, s in p.themes]) for p in ilo.predict(texts)]
    assert a == b
    again = coder.CoderModel.load(ilo.model.save(tmp_path / "m.npz"))
    emb = ilo.embedder.embed(texts)
    langs = [language_of(t) for t in texts]
    first = ilo.model.predict(texts, langs, emb)
    second = again.predict(texts, langs, emb)
    assert [[t for t, _ in p.themes] for p in first] == [[t for t, _ in p.themes] for p in second]


def test_spelling_block_meets_a_word_across_languages_and_accents():
    """Letter n-grams of folded words: 'pensión', 'pensão' and 'pension' share pieces the word stems
    do not; a word never seen in training still has its known pieces; a model without the block
    (saved before it existed) reads as an empty block."""
    texts = ["La pensión social llegó a las personas mayores.", "A pensão social chegou às pessoas idosas.",
             "The social pension reached older persons.", "Les pensions sociales ont atteint les aînés."]
    f = coder.Features.fit(texts, ["es", "pt", "en", "fr"], np.zeros((4, coder.EMBEDDING_DIM)))
    assert " pe" in f.chars and "pens" in f.chars and "social" not in f.chars  # 3-5 letters only
    S = f.spelling(texts + ["Pensionless workers"])
    assert np.allclose(np.sqrt(np.asarray(S.multiply(S).sum(1)).ravel()), coder.CHAR_WEIGHT)
    sim = (S @ S.T).toarray()
    assert sim[0, 1] > 0.2 and sim[0, 2] > 0.2 and sim[4, 2] > 0
    assert f.transform(texts, ["es"] * 4, np.zeros((4, coder.EMBEDDING_DIM))).shape[1] == f.dim
    bare = coder.Features(f.vocabulary, f.idf, f.emb_mean, f.emb_std)
    assert bare.spelling(texts).shape == (4, 0) and bare.dim == f.dim - len(f.chars)


def test_evidence_words_and_quote_come_from_the_item(ilo):
    text = ("The project was relevant. Political instability in 2014 delayed the adoption of the pension law; "
            "the ministry changed three times.")
    (p,) = ilo.predict([text])
    theme = p.themes[0][0]
    words = ilo.model.evidence_words(text, "en", theme)
    assert words and all(any(stem(w, "en") in stem(x, "en") for x in text.lower().split()) or " " in w
                         for w in words)
    heading = "Key finding 3. When earnings are only partly deducted from benefits, claimants accept more work."
    assert supporting_sentence(heading, []) == heading  # a bare heading is joined to its sentence


# --- learning from reviewers ---------------------------------------------------------------

def test_refit_learns_a_review_s_own_reading_without_forgetting(ilo):
    """Reviewers who file beekeeping co-operatives under "livelihoods" teach the model, in a few answers."""
    cb = ilo.codebook
    theme = "fb_rural"
    taught = [f"Beekeeping co-operative number {i} sold honey at the district market." for i in range(12)]
    fresh = "The beekeeping co-operatives of the valley sold more honey at the market."
    before = ilo.predict([fresh])[0].scores[theme]
    emb = ilo.embedder.embed(taught)
    refitted = ilo.model.refit(taught, ["en"] * len(taught), emb, [[theme]] * len(taught))
    after = refitted.predict([fresh], ["en"], ilo.embedder.embed([fresh]))[0]
    assert after.scores[theme] > before + 0.2
    assert theme in {t for t, _ in after.themes}
    kept = refitted.predict(MULTILINGUAL[1][1][:1], ["en"], ilo.embedder.embed(MULTILINGUAL[1][1][:1]))[0]
    assert "social_dialogue" in {t for t, _ in kept.themes}
    assert refitted.info["refitted_on"] == len(taught) and cb.ids == refitted.themes.labels


def test_a_theme_the_codebook_adds_starts_from_its_own_words(ilo):
    cb = ilo.codebook
    labels = [*cb.ids, "beekeeping"]
    priors = {**coder.codebook_texts(cb),
              "beekeeping": [("Beekeeping and honey production: hives, beekeepers, honey sales", "en")]}
    model = ilo.model.with_themes(labels, priors, embed=ilo.embedder.embed)
    texts = ["Honey sales by the beekeepers' groups rose after new hives were distributed.",
             "Tripartite social dialogue between the government, employers and trade unions shaped the reform."]
    a, b = model.predict(texts, ["en", "en"], ilo.embedder.embed(texts))
    assert a.scores["beekeeping"] > b.scores["beekeeping"] + 0.1
    assert "social_dialogue" in {t for t, _ in b.themes}
    assert model.info["themes_without_training"] == ["beekeeping"]


# --- accuracy on the gold set's test split -------------------------------------------------

def test_accuracy_on_documents_no_model_was_trained_on(embedder):
    """The blind gold set's test split (benchmarks/coding_accuracy.py gives the full figures).
    A floor under the measured figures, so a change that breaks the coder fails here."""
    rows = [json.loads(line) for line in GOLD.open(encoding="utf-8")]
    test = [r for r in rows if r["split"] == "test"]
    assert len(test) >= 500 and len({r["group"] for r in test}) >= 10
    expected, predicted, universe, polarity_right, n = [], [], set(), 0, 0
    for name in ("ilo-social-protection", "canada-social-security"):
        c = Coder(name, embedder)
        group = [r for r in test if r["codebook"] == name]
        universe |= {f"{name}:{t}" for t in c.codebook.ids}
        for r, p in zip(group, c.predict([r["text"] for r in group], [r["kind"] for r in group]), strict=True):
            expected.append({f"{name}:{c.codebook.canonical(t)}" for t in r["themes"]})
            predicted.append({f"{name}:{t}" for t, _ in p.themes})
            if not r["not_evidence"]:
                polarity_right += p.polarity == r["polarity"]
                n += 1
    a = agreement(expected, predicted, universe)
    assert a.kappa >= 0.45 and a.precision >= 0.45 and a.recall >= 0.4, a
    assert polarity_right / n >= 0.7


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


def test_reviewer_answers_survive_reruns_and_teach_the_model(small_project):
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
    rerun = review.code(all_items=True)  # a new answer: the review's model refits and codes again
    assert rerun.refitted_on == 1 and rerun.coded > 0
    effective = {(c.item_key, c.theme): c for c in effective_codes(store)}
    assert (row["item_key"], row["theme"]) not in effective
    added = effective[(row["item_key"], "fb_working_poor")]
    assert added.human in ("add", "accept") and added.quote and added.quote in " ".join(item["text"].split())
    assert len(codes_store.code_decision_rows(store)) == 1  # one answer per item and person
    with pytest.raises(ValueError):  # a theme outside the codebook is refused
        review.code_item(row["sha256"], item["idx"], {"no_such_theme"}, alice)


def test_items_come_with_polarity_and_evidence_flags(small_project):
    review, _ = small_project
    review.screen()
    review.code()
    results = review.coded_items()
    assert results and {"sha256", "source", "kind", "text", "polarity", "not_evidence", "themes"} <= set(results[0])
    assert {r["polarity"] for r in results} <= set(coder.POLARITIES)
    assert any(r["polarity"] == "positive" for r in results) and any(r["themes"] for r in results)
    for r in results:
        if r["not_evidence"]:
            assert r["themes"] == []
        for t in r["themes"]:
            assert set(t) == {"id", "score", "engine", "decided_by"}


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
    from whatworks.store.documents import item_key

    db = open_store(tmp_path / "r.db")
    texts = ["Workers gained pensions.", "Domestic workers joined the scheme.", "Staff were trained."]
    save_description(db, "a" * 64, Description(kind=Value("evaluation_report"),
                                               items=[Item("finding", t, 1) for t in texts]))
    k = [item_key(t) for t in texts]
    codes_store.save_codes(db, [], [{"sha256": "a" * 64, "item_key": key, "theme": theme, "engine": "model",
                                     "score": 0.8, "method": "model", "quote": None}
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


def test_agreement_with_the_machine_counts_the_coder_s_codes(small_project):
    from whatworks.decisions import MACHINE
    from whatworks.store import codes as codes_store
    from whatworks.store import documents as docs
    from whatworks.team import User

    review, _ = small_project
    review.code(all_items=True)
    store = review.store
    alice = User("alice", "reviewer")
    rows = codes_store.code_rows(store)
    keys = list(dict.fromkeys((r["sha256"], r["item_key"]) for r in rows))[:6]
    for sha, key in keys:  # alice agrees with the machine on every item she codes
        item = next(r for r in docs.item_rows(store, [sha]) if r["item_key"] == key)
        machine = {r["theme"] for r in rows if (r["sha256"], r["item_key"]) == (sha, key)}
        review.code_item(sha, item["idx"], machine, alice)
    pair = next(p for p in review.agreement("coding") if MACHINE in (p.a, p.b))
    assert pair.shared == 6 and pair.agreed == pair.n and pair.kappa == 1.0
