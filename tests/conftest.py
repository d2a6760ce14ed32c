"""Shared fixtures: where the real corpus is, and temporary review databases.

Tests that only mean something on the real documents take `corpus` (or `shared`) and are
skipped without it. Tests of behaviour take `corpus_or_none` and fall back to the project's own
reports (tests/project_fixtures.py) when the corpus is missing, so a fresh clone still
exercises every stage.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from project_fixtures import NO_CORPUS, SHARED, have_corpus

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared() -> Path:
    if not have_corpus():
        pytest.skip(NO_CORPUS)
    return SHARED


@pytest.fixture(scope="session")
def corpus(shared: Path) -> Path:
    return shared / "corpus"


@pytest.fixture(scope="session")
def corpus_or_none() -> Path | None:
    """The real corpus when it is there; None tells the test to use the project's own reports."""
    return SHARED / "corpus" if have_corpus() else None


@pytest.fixture()
def store(tmp_path: Path):
    """An empty review database (SQLite, migrated to the current schema)."""
    from whatworks.store import open_store

    s = open_store(tmp_path / "review.db")
    yield s
    s.close()


@pytest.fixture()
def db(store):
    """The same empty review database, under the name older tests use."""
    return store
