"""The workspace of a team review kept in PostgreSQL: accounts, sessions, decisions, agreement,
conflicts, corrections and the audit trail there, the pages over it, and `serve --team --database`
remembering the database.

A throwaway cluster is started in a temporary folder (tests/pg_helper.py); the tests are skipped,
with the reason, when the PostgreSQL binaries are not installed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from web_helpers import add_user, copy_project, sample

from whatworks.api import Review
from whatworks.errors import ReviewError
from whatworks.team import User

pytestmark = pytest.mark.postgres


_N = iter(range(1000))


@pytest.fixture()
def pg_url(cluster) -> str:
    return cluster.createdb(f"w{next(_N)}")


@pytest.fixture(scope="module")
def review(corpus_or_none: Path | None, tmp_path_factory) -> Path:
    """The prepared review (11 documents: Canada evaluations, or the example reports without the corpus)."""
    return copy_project(corpus_or_none, tmp_path_factory.mktemp("pg") / "review")


def test_workspace_records_in_postgresql(pg_url, tmp_path):
    from whatworks.model import Block, Document, Page
    from whatworks.store import documents as docs
    from whatworks.store import selection as screening

    with Review.create(tmp_path / "team", database=pg_url) as r:
        assert r.store.dialect == "postgresql"
        lead = r.save_user("lead", "lead", "lead-password")
        assert r.login("lead", "lead-password") == lead and r.login("lead", "nope") is None
        token, csrf = r.start_session(lead)
        assert r.session_user(token) == (lead, csrf)
        shas = [c * 64 for c in "abcdef"]
        for sha in shas:
            docs.save_document(r.store, Document(f"{sha[0]}.txt", sha, "text", [Page(1, [Block("paragraph", "x", 1)])]))
        screening.replace_records(r.store, [{"source": f"{s[0]}.txt", "sha256": s, "is_primary": 1,
                                             "decision": "include", "stage": "content", "reasons": "[]"}
                                            for s in shas], [])
        ann, ben = User("ann", "reviewer"), User("ben", "reviewer")
        # (kappa shows from five shared documents: the same two-in-three agreement, twice)
        for sha, a, b in zip(shas, ("include", "exclude", "maybe") * 2, ("include", "include", "maybe") * 2,
                             strict=True):
            r.decide(sha, a, "a", ann)
            r.decide(sha, b, "b", ben)
        pair = next(p for p in r.agreement("screening") if p.b == "ben")
        assert (pair.n, pair.agreed) == (6, 4) and pair.kappa == pytest.approx(0.5)
        assert sorted(c["sha256"] for c in r.conflicts()) == [shas[1], shas[2], shas[4], shas[5]]
        r.resolve(shas[1], "exclude", "out of scope", lead)
        assert sorted(c["sha256"] for c in r.conflicts()) == [shas[2], shas[4], shas[5]]
        r.correct(shas[0], "metadata", "year", 2015, reason="cover page", user=lead)
        assert r.document_view(shas[0]).corrections[("metadata", "year")].value == 2015
        csv_text = "".join(r.audit_csv())
        assert csv_text.count("\n") == 1 + len(r.audit(limit=1000))
        assert r.audit_count(users=["ann"]) == 6


def test_team_workspace_on_postgresql(review, pg_url, corpus_or_none):
    from fastapi.testclient import TestClient

    from whatworks.store import Store
    from whatworks.web.app import create_app

    add_user(review, "pat", "lead", "pat-password", database=pg_url)
    app = create_app(review, team=True, database=pg_url)  # imports the project's SQLite review once
    with TestClient(app, base_url="http://127.0.0.1") as c:
        page = c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = c.post("/login", data={"name": "pat", "password": "pat-password", "csrf": token})
        assert r.status_code == 200 and f"{sample(corpus_or_none).documents} documents" in r.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
        assert "<mark>" in c.get("/corpus", params={"q": "pension"}).text
        for url in ("/corpus?sort=title", "/corpus?sort=year&kind=evaluation_report", "/corpus?sort=machine&dir=desc",
                    "/corpus?status=none&machine=include", "/screen", "/code", "/agreement", "/audit",
                    "/screen/conflicts", "/synthesis", "/themes", "/team", "/audit.csv"):
            assert c.get(url).status_code == 200, url
        sha = re.search(r'action="/screen/([0-9a-f]{64})"', c.get("/screen").text).group(1)
        r = c.post(f"/screen/{sha}", data={"decision": "exclude", "reason": "not social security", "csrf": csrf})
        assert r.status_code == 200
        doc = c.get(f"/doc/{sha}")
        assert doc.status_code == 200
    with app.state.review.connection() as rv:
        assert rv.store.dialect == "postgresql"
        rows = rv.store.raw("SELECT decision, role FROM screening_decisions WHERE sha256 = :s", s=sha)
        assert [tuple(x.values()) for x in rows] == [("exclude", "lead")]
    local = Store(review / "review.db")  # the decision went to PostgreSQL, not to the SQLite file
    assert local.raw("SELECT COUNT(*) AS n FROM screening_decisions")[0]["n"] == 0
    local.close()
    app.state.review.close()


def test_serve_team_database_is_remembered(review, cluster, tmp_path, monkeypatch, corpus_or_none):
    """`whatworks serve --team --database URL` copies the review in and records the database."""
    import shutil

    from whatworks.project import Project
    from whatworks.web.app import server_config

    monkeypatch.delenv("WHATWORKS_DATABASE", raising=False)
    project_dir = tmp_path / "served"
    shutil.copytree(review, project_dir)
    url = cluster.createdb("served")
    add_user(project_dir, "pat", "lead", "pat-password", database=url)
    config = server_config(project_dir, team=True, database=url)
    config.app.state.review.close()
    assert Project.at(project_dir).database_url == url
    with Review.open(project_dir) as r:
        assert r.store.dialect == "postgresql" and [u["name"] for u in r.users()] == ["pat"]
        assert len(r.documents()) == sample(corpus_or_none).documents
    assert config.proxy_headers and config.forwarded_allow_ips == "127.0.0.1"
    with pytest.raises(ReviewError, match="team mode"):  # PostgreSQL has no single-user mode
        server_config(project_dir)
