"""Team decisions that hold and the login throttle, in PostgreSQL: a conflict reopened by a later
decision stays out of the selection, contested corrections, blind exports, the throttle's counts
and known addresses (tests/pg_helper.py starts a throwaway cluster; skipped without PostgreSQL)."""

from __future__ import annotations

import pytest

from whatworks import selection, team
from whatworks.api import Review
from whatworks.team import LoginRefused, User

pytestmark = pytest.mark.postgres


def _review(tmp_path, cluster, name: str) -> tuple[Review, list[str]]:
    from whatworks.model import Block, Document, Page
    from whatworks.store import documents as docs
    from whatworks.store import selection as screening

    r = Review.create(tmp_path / name, database=cluster.createdb(name))
    assert r.store.dialect == "postgresql"
    shas = [c * 64 for c in "abc"]
    for sha in shas:
        docs.save_document(r.store, Document(f"{sha[0]}.txt", sha, "text", [Page(1, [Block("paragraph", "x", 1)])]))
    screening.replace_records(r.store, [{"source": f"{s[0]}.txt", "sha256": s, "is_primary": 1, "decision": "include",
                                         "stage": "content", "reasons": "[]"} for s in shas], [])
    return r, shas


def test_conflicts_and_contested_corrections_in_postgresql(tmp_path, cluster):
    r, shas = _review(tmp_path, cluster, "decisions")
    lead, ann, ben = User("lead", "lead"), User("ann", "reviewer"), User("ben", "reviewer")
    with r:
        r.decide(shas[0], "include", "fits", ann)
        r.decide(shas[0], "exclude", "does not", ben)
        assert shas[0] not in r.included() and selection.flow_counts(r.store)["conflicts"] == 1
        assert shas[0] in r.included(["ann"])  # blind: ann sees her own word
        r.resolve(shas[0], "include", "fits", lead)
        assert shas[0] in r.included()
        r.decide(shas[0], "maybe", "on second thoughts", ben)  # after the lead: open again
        assert shas[0] not in r.included() and [c["sha256"] for c in r.conflicts()] == [shas[0]]
        r.correct(shas[1], "metadata", "year", 2001, reason="cover", user=ann)
        r.correct(shas[1], "metadata", "year", 2002, reason="preface", user=ben)
        assert r.description(shas[1]).value("year") == 2001
        [c] = r.correction_conflicts()
        assert c["standing"]["reviewer"] == "ann" and c["contested"][0]["value"] == 2002
        r.settle_correction(shas[1], "metadata", "year", "ben", lead)
        assert r.description(shas[1]).value("year") == 2002 and r.correction_conflicts() == []
        assert r.export_folder(ann, ["ann"]).name == "ann" and r.export_folder(lead, None) == r.output_dir


def test_the_login_throttle_in_postgresql(tmp_path, cluster, monkeypatch):
    r, _ = _review(tmp_path, cluster, "logins")
    with r:
        r.save_user("lead", "lead", "lead-password")
        assert r.login("lead", "lead-password", "192.168.1.5") is not None
        assert r.known_logins() == {"lead@192.168.1.5"}
        for _ in range(team.PER_NAME):
            assert r.login("lead", "wrong-password", "10.9.9.9") is None
        with pytest.raises(LoginRefused):
            r.login("lead", "lead-password", "10.9.9.9")
        monkeypatch.setattr(team, "GLOBAL", team.PER_NAME)  # the whole server has seen enough failures
        with pytest.raises(LoginRefused):
            r.login("lead", "lead-password", "10.8.8.8")
        assert r.login("lead", "lead-password", "192.168.1.5") is not None  # known: let through
