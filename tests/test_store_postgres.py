"""The review database in PostgreSQL: the same store API, the same migrations, the same answers.

A throwaway cluster is started in a temporary folder (tests/pg_helper.py); these tests are
skipped, with the reason, when the PostgreSQL binaries are not installed (CI installs them).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from test_migrations import schema_differences

from whatworks import corrections, decisions, search, team
from whatworks.api import Review
from whatworks.coding import effective_codes
from whatworks.model import Block, Description, Document, Item, Page, Section, Value
from whatworks.store import audit, open_store
from whatworks.store import documents as docs
from whatworks.store import selection as screening_store
from whatworks.store.copy import copy_rows
from whatworks.store.migrate import HEAD, current

EXAMPLES = Path(__file__).resolve().parent.parent / "whatworks" / "data" / "examples"


_N = iter(range(1000))


@pytest.fixture()
def pg_url(cluster) -> str:
    return cluster.createdb(f"s{next(_N)}")


@pytest.fixture(scope="module")
def local_review(tmp_path_factory) -> Path:
    """A small SQLite review of four examples (EN, FR, PT, ES), screened and coded."""
    base = tmp_path_factory.mktemp("pg-local")
    reports = base / "reports"
    reports.mkdir()
    for name in ("en_asean_unemployment_insurance_final_2018.md", "fr_senegal_burkina_economie_informelle_2015.md",
                 "pt_cabo_verde_pensoes_sociais_2013.md", "es_guatemala_honduras_maternidad_2016.md"):
        shutil.copy(EXAMPLES / name, reports / name)
    with Review.create(base / "review", "ilo-social-protection") as review:
        review.add([reports], jobs=1)
        review.screen()
        review.code()
    return base / "review"


def test_migrations_make_the_declared_schema(pg_url):
    store = open_store(pg_url)
    try:
        assert store.dialect == "postgresql" and current(store) == HEAD
        assert schema_differences(store) == []
    finally:
        store.close()


def test_store_round_trip(pg_url):
    store = open_store(pg_url)
    doc = Document("a.txt", "f" * 64, "text", [Page(1, [Block("paragraph", "Pensions 100% better?", 1)])])
    with store.transaction():
        docs.save_document(store, doc, 0.1)
        docs.record_file(store, "a.txt", doc.sha256, 10, 1.5, "read")
    assert docs.has_document(store, doc.sha256) and docs.document(store, doc.sha256).text == "Pensions 100% better?"
    assert docs.file_unchanged(store, "a.txt", 10, 1.5)
    desc = Description(Value("evaluation_report", 0.9), {"year": Value(2016)}, [Section("findings", "F", 1, 1)],
                       [Item("finding", "Coverage rose.", 1, 0)])
    corrections.save_description(store, doc.sha256, desc)
    assert docs.description(store, doc.sha256).value("year") == 2016
    assert [r["section_kind"] for r in docs.item_rows(store)] == ["findings"]
    assert docs.find_document(store, "ffffff") == [doc.sha256]
    store.set_meta("k", "v1")
    store.set_meta("k", "v2")
    assert store.get_meta("k") == "v2"
    with pytest.raises(RuntimeError), store.transaction():
        store.set_meta("gone", "x")
        raise RuntimeError("roll back")
    assert store.get_meta("gone") is None
    store.close()


def test_the_same_review_in_postgresql(local_review: Path, pg_url):
    """Copy a SQLite review into PostgreSQL, run search, screening and coding there: same answers."""
    local = Review.open(local_review)
    pg = open_store(pg_url)
    counts = copy_rows(local.store, pg)
    search.rebuild(pg)
    assert counts["documents"] == 4 and counts["passages"] > 30
    for q, filters in (("pensões", {}), ('"social protection"', {}), ("maternidad OR maternité", {}),
                       ("protec*", {"kind": "evaluation_report"}), ("social NOT pensões", {"year": "2010-2023"})):
        a = [(h.sha256, h.page, h.passage_id) for h in search.search(local.store, q, limit=10000, **filters)]
        b = [(h.sha256, h.page, h.passage_id) for h in search.search(pg, q, limit=10000, **filters)]
        assert sorted(a) == sorted(b) and a, q
        assert search.count(local.store, q, **filters) == search.count(pg, q, **filters)
    before = {k: v["decision"] for k, v in screening_store.final_decisions(local.store).items()}
    from whatworks import coding, screen

    screen.screen(pg, local.protocol)
    after = {k: v["decision"] for k, v in screening_store.final_decisions(pg).items()}
    assert after == before and "include" in after.values()
    coding.code(pg, local.codebook, screen.included(pg), force=True)
    coding.code(local.store, local.codebook, local.included(), force=True)
    theirs = {(c.sha256, c.idx, c.theme) for c in effective_codes(local.store)}
    ours = {(c.sha256, c.idx, c.theme) for c in effective_codes(pg)}
    assert ours == theirs and ours
    local.close()
    pg.close()


def test_people_and_decisions_in_postgresql(pg_url):
    store = open_store(pg_url)
    team.HASH_PARAMS.update(time_cost=1, memory_cost=8, parallelism=1)
    lead = team.save_user(store, "lead", "lead", "lead-password")
    assert team.login(store, "lead", "lead-password") == lead and team.login(store, "lead", "nope") is None
    token, csrf = team.start_session(store, lead)
    assert team.session_user(store, token) == (lead, csrf)
    shas = ["a" * 64, "b" * 64, "c" * 64]
    for sha in shas:
        docs.save_document(store, Document(f"{sha[0]}.txt", sha, "text", [Page(1, [Block("paragraph", "x", 1)])]))
    ann, ben = team.User("ann", "reviewer"), team.User("ben", "reviewer")
    for sha, a, b in zip(shas, ("include", "exclude", "maybe"), ("include", "include", "maybe"), strict=True):
        decisions.decide(store, sha, a, "a", ann)
        decisions.decide(store, sha, b, "b", ben)
    pair = next(p for p in decisions.agreement(store, "screening") if (p.a, p.b) == ("ann", "ben"))
    assert (pair.n, pair.agreed) == (3, 2)
    assert [c["sha256"] for c in decisions.conflicts(store)] == [shas[1]]
    assert screening_store.final_decisions(store) == {}  # no machine records yet: nothing is final
    decisions.resolve(store, shas[1], "exclude", "out of scope", lead)
    assert decisions.conflicts(store) == []
    corrections.correct(store, shas[0], "metadata", "year", 2015, "lead", reason="cover page")
    assert corrections.corrections(store, shas[0])[("metadata", "year")].value == 2015
    assert audit.count(store, users=["ann"]) == 3
    assert any(a["reason"] == "cover page" for a in audit.rows(store, users=["lead"]))
    store.close()


def test_cli_stages_follow_a_team_review_into_postgresql(local_review: Path, cluster, tmp_path, monkeypatch, capsys):
    """After `init --database`, add, screen, code, correct and report write to PostgreSQL, not to the
    project's SQLite file; `--database sqlite` and WHATWORKS_DATABASE still choose."""
    from whatworks.cli import main

    monkeypatch.delenv("WHATWORKS_DATABASE", raising=False)
    project_dir = tmp_path / "team"
    shutil.copytree(local_review, project_dir)
    url = cluster.createdb("team_cli")
    secret = url.replace(f"{cluster.user}@", f"{cluster.user}:s3cret@")  # trust auth ignores the password
    with Review.open(project_dir) as r:
        local_docs = docs.count_documents(r.store)
    assert main(["init", str(project_dir), "--database", secret]) == 0
    settings = (project_dir / "settings.yaml").read_text(encoding="utf-8")
    assert "postgresql://" in settings and "s3cret" not in settings  # never the password
    assert "s3cret" not in capsys.readouterr().out
    with Review.open(project_dir) as r:
        assert r.store.dialect == "postgresql" and docs.count_documents(r.store) == local_docs

    extra = EXAMPLES / "pt_mocambique_protecao_social_basica_2018.md"
    assert main(["-q", "add", str(project_dir), str(extra), "--jobs", "1"]) == 0
    assert main(["screen", str(project_dir)]) == 0
    assert main(["code", str(project_dir)]) == 0
    with Review.open(project_dir) as r:
        fixed = r.included()[0]
    assert main(["correct", str(project_dir), fixed[:10], "year", "1999", "--reason", "the cover says 1999"]) == 0
    assert main(["report", str(project_dir)]) == 0
    with open(project_dir / "output" / "matrix.csv", encoding="utf-8-sig") as f:
        assert any(r["sha256"] == fixed and r["Year"] == "1999" for r in csv.DictReader(f))
    pg = open_store(url)
    assert docs.count_documents(pg) == local_docs + 1
    assert any(r["source"] == str(extra) for r in docs.document_rows(pg))
    assert search.count(pg, "Moçambique") > 0  # indexed for search
    pg.close()
    with Review.open(project_dir, database="sqlite") as r:  # the SQLite file was left as it was
        assert r.store.dialect == "sqlite" and docs.count_documents(r.store) == local_docs
    other = tmp_path / "other"
    Review.create(other, "canada-social-security").close()
    monkeypatch.setenv("WHATWORKS_DATABASE", url)
    with Review.open(other) as r:
        assert docs.count_documents(r.store) == local_docs + 1
    monkeypatch.setenv("WHATWORKS_DATABASE", "mysql://x")
    assert main(["screen", str(other)]) == 2 and "postgresql://" in capsys.readouterr().err
