"""The schema is versioned: a new database gets every migration, and a review made by whatworks 0.1
(before versioning: tests/fixtures/review-v0) opens with its reviewers' work intact."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from whatworks import corrections, decisions, screen
from whatworks.api import Review
from whatworks.store import audit, metadata, open_store
from whatworks.store import codes as codes_store
from whatworks.store import selection as screening_store
from whatworks.store.migrate import HEAD, current

V0 = Path(__file__).parent / "fixtures" / "review-v0"
TOR = "a01234d621cbbe70519470842ed474d0879906e69833f86f5750fa09e3650cd3"
SENEGAL = "0c62814eb878d25f0e734b91d2921f59510ac962937acb45c5af2773d9b2b72d"
ASEAN = "673b8a3f4a2cd907f4a09a6044532b1da130d521b4eb8ff01715c680c18f1f58"


def schema_differences(store) -> list:
    """What the database lacks or has beyond the tables declared in whatworks.store (the full-text
    index is made per database by the migrations, and SQLite reports a text primary key as nullable)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    diff = compare_metadata(MigrationContext.configure(store.conn), metadata)
    out = []
    for d in diff:
        item = d[0] if isinstance(d, list) else d
        if item[0] == "remove_table" and item[1].name.startswith("passages_fts"):
            continue
        if item[0] == "remove_index" and item[1].table.name == "passages_fts":
            continue
        if store.dialect == "sqlite" and item[0] == "modify_nullable":
            table = metadata.tables[item[2]]
            if item[3] in table.primary_key.columns:
                continue
        out.append(item)
    return out


def test_head_is_alembics_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from whatworks.store.migrate import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD


def test_a_new_database_has_the_declared_schema(tmp_path: Path):
    store = open_store(tmp_path / "new.db")
    try:
        assert current(store) == HEAD
        assert schema_differences(store) == []
    finally:
        store.close()


@pytest.fixture()
def v0(tmp_path: Path) -> Path:
    """A copy of the 0.1 review folder, its database unpacked."""
    folder = tmp_path / "review"
    folder.mkdir()
    shutil.copy(V0 / "protocol.yaml", folder / "protocol.yaml")
    with gzip.open(V0 / "review.db.gz") as src, open(folder / "review.db", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return folder


def test_a_v0_review_opens_with_its_reviewers_work(v0: Path):
    with Review.open(v0) as review:
        store = review.store
        assert current(store) == HEAD
        # accounts
        assert {u["name"]: u["role"] for u in review.users()} == {"lena": "lead", "ravi": "reviewer"}
        # screening: the CLI decision (0.1 kept it in screen_human only) and the two workspace ones
        rows = {(r["sha256"], r["reviewer"]): r for r in screening_store.decision_rows(store)}
        assert rows[(TOR, "cli")]["decision"] == "include"
        assert rows[(TOR, "cli")]["reason"] == "keep the ToR for context"
        assert rows[(SENEGAL, "ravi")]["decision"] == "exclude"
        assert rows[(SENEGAL, "lena")]["decision"] == "include"
        # ... and the CLI decision now has its audit line, like every other
        lines = audit.rows(store, limit=100)
        assert any(a["user"] == "cli" and a["action"] == "screen" and TOR in a["target"] for a in lines)
        # the correction still applies
        assert review.description(ASEAN).value("year") == 2017
        assert corrections.corrections(store, ASEAN)[("metadata", "year")].reason == "cover says 2017"
        # ravi's coding: one answer for the item, the theme he added kept
        coded = codes_store.code_decision_rows(store, ASEAN, reviewer="ravi")
        assert len(coded) == 1 and coded[0]["themes"] == ["capacity_building", "unemployment"]
        assert coded[0]["machine"] == ["unemployment"]
        assert coded[0]["text"].startswith("Finding 1.")
        # and it all counts: final decisions (the lead wins) and agreement from the same table
        final = screening_store.final_decisions(store)
        assert final[TOR]["decision"] == "include" and final[SENEGAL]["decision"] == "include"
        pairs = {(p.a, p.b): p for p in decisions.agreement(store, "screening")}
        assert ("lena", "ravi") in pairs and pairs[("lena", "ravi")].agreed == 0


def test_a_v0_review_runs_again(v0: Path):
    """Screening again after the upgrade keeps every person's decision over the machine's."""
    with Review.open(v0) as review:
        summary = review.screen()
        assert summary.records == 4
        rows = {r["sha256"]: r for r in review.screening()}
        assert rows[TOR]["decision"] == "include" and rows[TOR]["human_decision"] == "include"
        assert "keep the ToR for context" in rows[TOR]["reasons"][0]["reason"]
        assert screen.report_ids(review.store)[TOR]


def test_opening_twice_migrates_once(v0: Path):
    with Review.open(v0):
        pass
    with Review.open(v0) as review:
        assert current(review.store) == HEAD
        assert len([a for a in review.audit(limit=500) if a["user"] == "cli" and a["action"] == "screen"]) == 1
