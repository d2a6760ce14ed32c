"""Shared fixtures: where the real corpus is, and temporary review databases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("WHATWORKS_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "corpus").is_dir():
        pytest.skip(f"the shared corpus is not at {SHARED} (set WHATWORKS_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def corpus(shared: Path) -> Path:
    return shared / "corpus"


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
