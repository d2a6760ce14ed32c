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


# --- a headless Chromium and a throwaway PostgreSQL cluster, for the modules that use them -------------

@pytest.fixture(scope="module")
def browser():
    """Chromium through Playwright (the Debian package's binary: nothing is downloaded)."""
    from web_helpers import CHROMIUM, CHROMIUM_ARGS

    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); the browser tests need it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def cluster():
    """A PostgreSQL cluster of the module's own, stopped after it."""
    import pg_helper

    if pg_helper.find_binaries() is None:
        pytest.skip("PostgreSQL is not installed (initdb, pg_ctl, postgres not found): "
                    "apt-get install postgresql to run these tests")
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (pip install 'psycopg[binary]')")
    try:
        c = pg_helper.start_cluster()
    except (RuntimeError, OSError) as e:
        pytest.skip(f"could not start a throwaway PostgreSQL cluster: {e}")
    yield c
    c.stop()
