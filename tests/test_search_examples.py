"""Search on the project's own reports (no shared corpus needed): light stemming in four languages,
marked snippets, phrases, boolean queries, BM25 ranking, filters and the incremental index.

The index holds the ten example reports (EN/FR/ES/PT, Markdown and DOCX) and a French PDF of the
unseen fixtures. Expected hits are worked out from the documents' own facets (language, countries,
year, kind) and texts. test_search.py does the same on the Canada corpus.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from project_fixtures import UNSEEN, example, examples

from whatworks import search as S
from whatworks.collect import add_paths
from whatworks.errors import QueryError
from whatworks.store import Store, open_store
from whatworks.store import documents as docs
from whatworks.store import search as index_store
from whatworks.text import fold_word, stem

FRENCH_PDF = UNSEEN / "oit_finale_fr_senegal_mali.pdf"


@pytest.fixture(scope="module")
def search_db(tmp_path_factory) -> Store:
    files = examples() + [FRENCH_PDF]
    db = open_store(tmp_path_factory.mktemp("search-examples") / "review.db")
    summary = add_paths(db, files, jobs=2)
    assert summary.failed == 0, summary.errors
    assert S.index(db) == len(files)
    yield db
    db.close()


@pytest.fixture(scope="module")
def facets(search_db: Store) -> dict[str, dict]:
    """sha256 → the document's search facets (source, language, kind, year, countries…)."""
    return index_store.facet_rows(search_db)


def sha_of(facets: dict[str, dict], name: str) -> str:
    [sha] = [sha for sha, f in facets.items() if Path(f["source"]).name.startswith(name)]
    return sha


def words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w+", text)}


def test_light_stemmers_conflate_forms():
    same = {
        "en": ["recommendations", "recommendation", "recommended", "recommending"],
        "fr": ["recommandations", "recommandation", "recommandé", "recommander"],
        "es": ["recomendaciones", "recomendación", "recomendar", "recomendado"],
        "pt": ["recomendações", "recomendação", "recomendar", "recomendado"],
    }
    for lang, forms in same.items():
        stems = {stem(fold_word(w), lang) for w in forms}
        assert len(stems) == 1, (lang, stems)
    assert stem(fold_word("pensiones"), "es") == stem(fold_word("pensión"), "es")
    assert stem(fold_word("sociais"), "pt") == stem(fold_word("social"), "pt")
    assert stem(fold_word("sociaux"), "fr") == stem(fold_word("sociale"), "fr")
    assert stem("policies", "en") == stem("policy", "en")
    # light, not aggressive: unrelated words stay apart, short words are kept
    assert stem("news", "en") == "news" and stem("gas", "en") == "gas"
    assert stem("employment", "en") != stem("empty", "en")


@pytest.mark.parametrize("query, lang, form", [
    ("recommendation", "en", "recommendations"),
    ("recommandation", "fr", "recommandations"),
    ("recomendación", "es", "recomendaciones"),
    ("recomendação", "pt", "recomendações"),
    ("pensão", "pt", "pensões"),
])
def test_stemmed_search_in_four_languages(search_db: Store, facets, query: str, lang: str, form: str):
    """A query in one form finds passages with another form of the word, in that language's reports only."""
    hits = S.search(search_db, query, language=lang, limit=100)
    assert hits, query
    assert {facets[h.sha256]["language"] for h in hits} == {lang}
    marked = [m.lower() for h in hits for m in re.findall(r"\*\*([^*]+)\*\*", h.snippet)]
    assert form in marked, (query, marked[:10])  # the original word is marked, not its stem
    # every report of that language that has the form in its text is found
    having = {sha for sha, f in facets.items() if f["language"] == lang
              and form in words(docs.document(search_db, sha).text)}
    assert having and having <= {h.sha256 for h in hits}


def test_snippets_show_the_text_with_matches_marked(search_db: Store, facets):
    hits = S.search(search_db, "recomendación", language="es", limit=50)
    hit = next(h for h in hits if h.sha256 == sha_of(facets, "es_guatemala"))
    assert "**recomendaciones**" in hit.snippet.lower() or "**recomendación**" in hit.snippet.lower()
    assert hit.title and "Guatemala" in hit.title
    assert hit.page >= 1
    # a passage of the PDF is found on the page it is printed on
    pdf = [h for h in S.search(search_db, "recommandations", limit=100) if h.source.endswith(".pdf")]
    assert pdf
    document = docs.document(search_db, pdf[0].sha256)
    page_text = " ".join(b.text for b in document.pages[pdf[0].page - 1].blocks).lower()
    assert "recommandation" in page_text


def test_phrase_and_boolean(search_db: Store):
    phrase = S.search(search_db, '"domestic workers"', limit=50)
    assert phrase and all("domestic" in h.snippet.lower() and "worker" in h.snippet.lower() for h in phrase)
    # the words in the other order are a different phrase
    assert S.count(search_db, '"workers domestic"') < S.count(search_db, '"domestic workers"')
    a, b = S.count(search_db, "unemployment"), S.count(search_db, "insurance")
    both, either = S.count(search_db, "unemployment AND insurance"), S.count(search_db, "unemployment OR insurance")
    assert 0 < both <= min(a, b) and either >= max(a, b)
    assert S.count(search_db, "unemployment insurance") == both  # implicit AND
    without = S.search(search_db, "insurance NOT unemployment", limit=100)
    assert without and all("unemployment" not in h.snippet.lower() for h in without)
    assert S.count(search_db, "insurance NOT unemployment") == S.count(search_db, "insurance") - both
    grouped = S.count(search_db, "(unemployment OR health) AND insurance")
    assert grouped >= S.count(search_db, "unemployment AND insurance")
    assert S.count(search_db, "pens*") >= S.count(search_db, "pensão") > 0
    for bad in ['"unclosed', "NOT pension", "pension AND", "(pension"]:
        with pytest.raises(QueryError):
            S.search(search_db, bad)


def test_ranked_by_bm25(search_db: Store, facets):
    hits = S.search(search_db, "domestic workers Zambia Tanzania", limit=10)
    assert hits and [h.score for h in hits] == sorted(h.score for h in hits)
    assert hits[0].sha256 == sha_of(facets, "en_zambia_tanzania")


def test_filters(search_db: Store, facets):
    # language
    fr = S.search(search_db, "protection sociale", language="fr", limit=100)
    assert fr and {facets[h.sha256]["language"] for h in fr} == {"fr"}
    assert not S.search(search_db, "protection sociale", language="pt")
    # country (ISO3, from the description) and region
    zambia = sha_of(facets, "en_zambia_tanzania")
    assert "|ZMB|" in facets[zambia]["countries"]
    with_zmb = {sha for sha, f in facets.items() if "|ZMB|" in (f["countries"] or "")}
    assert {h.sha256 for h in S.search(search_db, "social security", country="ZMB", limit=100)} <= with_zmb
    assert any(h.sha256 == zambia for h in S.search(search_db, "social security", country="ZMB", limit=100))
    assert not S.search(search_db, "social security", country="CAN")
    assert any(h.sha256 == zambia for h in S.search(search_db, "social security", region="Africa", limit=100))
    assert not any(h.sha256 == zambia for h in S.search(search_db, "social security", region="Americas", limit=100))
    assert S.search(search_db, "social", country=["ZMB", "GTM"], limit=100)
    # kind: the terms of reference is the only one of its kind
    tor = sha_of(facets, "en_lao_health_insurance_terms_of_reference")
    assert facets[tor]["kind"] == "terms_of_reference"
    assert {h.sha256 for h in S.search(search_db, "evaluation", kind="terms_of_reference", limit=100)} == {tor}
    # year: one year, a range, and a range with none
    y = facets[zambia]["year"]
    assert y == 2014
    in_year = S.search(search_db, "social", year=y, limit=100)
    assert any(h.sha256 == zambia for h in in_year)
    assert all(facets[h.sha256]["year"] == y for h in in_year)
    assert not S.search(search_db, "social", year=(1990, 1991))
    around = {facets[h.sha256]["year"] for h in S.search(search_db, "social", year=f"{y - 1}-{y + 1}", limit=100)}
    assert y in around and around <= {y - 1, y, y + 1}
    # section kind (from the description's sections)
    rec = S.search(search_db, "recommendation", section="recommendations", limit=50)
    assert rec and all(h.section_kind == "recommendations" for h in rec)
    assert S.count(search_db, "recommendation", section="recommendations") < S.count(search_db, "recommendation")


def test_incremental_index(search_db: Store, tmp_path: Path):
    assert S.index(search_db) == 0  # nothing new
    db = open_store(tmp_path / "r.db")
    add_paths(db, [example("pt_cabo_verde")], describe=False)
    assert S.index(db) == 1
    n = len(index_store.passage_rows(db))
    assert n > 10 and S.count(db, "pensões") > 0
    copy = tmp_path / "other.md"
    shutil.copyfile(example("es_guatemala"), copy)
    add_paths(db, [copy], describe=False)
    assert S.index(db) == 1 and len(index_store.passage_rows(db)) > n
    # a document re-indexed leaves no stale rows in the index
    sha = next(r["sha256"] for r in docs.document_rows(db) if r["source"] == str(copy))
    before = S.count(db, "maternidad")
    assert before > 0
    S.index_document(db, docs.document(db, sha), None)
    assert S.count(db, "maternidad") == before
    # new stemming rules or filter tokens: the index rebuilds itself from the stored passages
    db.set_meta("search.index", "0.0")
    assert S.index(db) == 0 and db.get_meta("search.index") == S.index_version()
    assert S.count(db, "maternidad") == before and S.count(db, "pensões") > 0
    db.close()
