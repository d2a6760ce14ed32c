"""Search: light stemming in four languages, phrases, boolean queries and filters, on real reports.

The Canada and IOM reports of the corpus: without it the module is skipped, and
test_search_examples.py searches the project's own reports (and tests the stemmers)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from project_fixtures import NO_CORPUS, have_corpus

from whatworks import search as S
from whatworks.collect import add_paths
from whatworks.errors import QueryError
from whatworks.store import Store, open_store
from whatworks.store import documents as docs
from whatworks.store import search as index_store

if not have_corpus():
    pytest.skip(f"{NO_CORPUS}; test_search_examples.py searches the example reports", allow_module_level=True)

CANADA = [
    "esdc_021_Evaluation of the Employment Insurance Maternity and Parental Benefits  - Canada.ca.html",
    "esdc_085_Evaluation of the Guaranteed Income Supplement  - Canada.ca.html",
    "hc_038_Evaluation of the Thalidomide Survivors Contribution Program 2015 to 2019 - Canada.ca.html",
]
EXAMPLES = ["es_guatemala_honduras_maternidad_2016.md", "pt_cabo_verde_pensoes_sociais_2013.md"]
IOM_FR = "iom/8faad6edb0414cfc8f35415a93726e36/CS1137-CS1138_Evaluation Brief_Javier SANCHEZ MARTI.pdf"

# Two short reports in Spanish and Portuguese (the corpus has none), written for these tests.
ES = """Evaluación final del proyecto de seguridad social en Perú

Resumen ejecutivo

El proyecto apoyó la extensión de la protección social a los trabajadores de la economía informal.
La evaluación formula recomendaciones para ampliar la cobertura de las pensiones.

Recomendaciones

Se recomienda fortalecer el diálogo social y la capacitación de los funcionarios de la seguridad social.
"""
PT = """Avaliação final do projeto de proteção social em Moçambique

Sumário executivo

O projeto contribuiu para a extensão da proteção social básica às famílias mais vulneráveis.
As recomendações incluem o reforço da segurança social e das pensões sociais.
"""


@pytest.fixture(scope="session")
def search_db(corpus: Path, tmp_path_factory) -> Store:
    root = tmp_path_factory.mktemp("search")
    (root / "es.txt").write_text(ES, encoding="utf-8")
    (root / "pt.txt").write_text(PT, encoding="utf-8")
    files = [corpus / "canada" / name for name in CANADA] + [corpus / IOM_FR, root / "es.txt", root / "pt.txt"]
    examples = Path(S.__file__).parent / "data" / "examples"
    files += [examples / name for name in EXAMPLES if (examples / name).is_file()]
    db = open_store(root / "review.db")
    summary = add_paths(db, files, jobs=1)
    assert summary.failed == 0, summary.errors
    assert S.index(db) == len(files)
    yield db
    db.close()


def test_stemmed_search_in_four_languages(search_db):
    for query, lang, word in [("recomendación", "es", "recomendaciones"), ("recomendação", "pt", "recomendações"),
                              ("pensión", "es", "pensiones"), ("évaluations", "fr", "valuation"),
                              ("evaluated", "en", "valuation")]:
        hits = S.search(search_db, query, language=lang)
        assert hits, query
        assert any(word in h.snippet.lower() for h in hits), (query, [h.snippet for h in hits])
    # the example reports shipped with whatworks, when present
    if S.count(search_db, "Guatemala"):
        assert any("prestaciones" in h.snippet for h in S.search(search_db, "prestación maternidad", language="es"))
        assert any("pensões" in h.snippet.lower() for h in S.search(search_db, "pensão", language="pt", limit=50))
    # the original text is shown with the matches marked, not the stems
    hits = S.search(search_db, "recomendación", language="es", limit=50)
    hit = next(h for h in hits if h.source.endswith("es.txt"))
    assert "**recomendaciones**" in hit.snippet or "**Recomendaciones**" in hit.snippet
    assert hit.page == 1 and hit.title and "Perú" in hit.title


def test_phrase_and_boolean(search_db):
    phrase = S.search(search_db, '"maternity benefits"', limit=50)
    assert phrase and all("maternity" in h.snippet.lower() for h in phrase)
    assert all("guaranteed" not in h.source.lower() for h in phrase[:5])
    # the words in the other order are a different phrase
    assert S.count(search_db, '"benefits maternity"') < S.count(search_db, '"maternity benefits"')
    a, b = S.count(search_db, "pension"), S.count(search_db, "disability")
    both, either = S.count(search_db, "pension AND disability"), S.count(search_db, "pension OR disability")
    assert 0 < both <= min(a, b) and either >= max(a, b)
    assert S.count(search_db, "pension disability") == both  # implicit AND
    without = S.search(search_db, "pension NOT disability", limit=100)
    assert without and all("disab" not in h.snippet.lower() for h in without)
    grouped = S.count(search_db, "(pension OR allowance) AND supplement")
    assert grouped >= S.count(search_db, "pension AND supplement")
    assert S.count(search_db, "thalid*") > 0
    for bad in ['"unclosed', "NOT pension", "pension AND", "(pension"]:
        with pytest.raises(QueryError):
            S.search(search_db, bad)


def test_ranked_by_bm25(search_db):
    hits = S.search(search_db, "thalidomide survivors", limit=10)
    assert hits and [h.score for h in hits] == sorted(h.score for h in hits)
    assert "Thalidomide" in (hits[0].title or "")


def test_filters(search_db):
    fr = S.search(search_db, "recommandations", language="fr")
    assert fr and {h.source for h in fr} == {h.source for h in fr if "Brief" in h.source}
    assert not S.search(search_db, "recommandations", language="en")
    # country and region come from the description (IOM brief: Haiti and the Dominican Republic)
    assert S.search(search_db, "recommandations", country="HTI")
    assert not S.search(search_db, "recommandations", country="CAN")
    assert S.search(search_db, "recommandations", region="Americas")
    assert S.search(search_db, "benefits", country=["CAN", "HTI"])
    # kind and year
    facets = index_store.facet_rows(search_db)
    brief = next(sha for sha, f in facets.items() if "Brief" in f["source"])
    kind = facets[brief]["kind"]
    assert kind and {h.sha256 for h in S.search(search_db, "recommandations", kind=kind)} <= {
        sha for sha, f in facets.items() if f["kind"] == kind}
    gis = next(f for f in facets.values() if "Guaranteed" in f["source"])
    if gis["year"]:
        y = gis["year"]
        assert any(h.sha256 == gis["sha256"] for h in S.search(search_db, "supplement", year=y, limit=50))
        assert all(facets[h.sha256]["year"] == y for h in S.search(search_db, "supplement", year=y))
        assert not S.search(search_db, "supplement", year=(1990, 1991))
        assert S.search(search_db, "supplement", year=f"{y - 1}-{y + 1}")
    # section kind (from the description's sections)
    rec = S.search(search_db, "recommendation", section="recommendations", limit=50)
    assert rec and all(h.section_kind == "recommendations" for h in rec)


def test_incremental_index(search_db, corpus, tmp_path):
    assert S.index(search_db) == 0  # nothing new
    db = open_store(tmp_path / "r.db")
    src = corpus / "canada" / CANADA[0]
    add_paths(db, [src], describe=False)
    assert S.index(db) == 1
    n = len(index_store.passage_rows(db))
    assert n > 50 and S.count(db, "parental") > 0
    copy = tmp_path / "other.html"
    shutil.copyfile(corpus / "canada" / CANADA[1], copy)
    add_paths(db, [copy], describe=False)
    assert S.index(db) == 1 and len(index_store.passage_rows(db)) > n
    # a document re-indexed leaves no stale rows in the index
    sha = next(r["sha256"] for r in docs.document_rows(db) if r["source"] == str(copy))
    before = S.count(db, "supplement")
    S.index_document(db, docs.document(db, sha), None)
    assert S.count(db, "supplement") == before
    # new stemming rules or filter tokens: the index rebuilds itself from the stored passages
    db.set_meta("search.index", "0.0")
    assert S.index(db) == 0 and db.get_meta("search.index") == S.index_version()
    assert S.count(db, "supplement") == before and S.count(db, "parental") > 0
    db.close()
