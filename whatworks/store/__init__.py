"""The review store: the bottom layer, and the only place that writes SQL.

One module per stage owns its tables and the functions that read and write them:
`documents` (files, documents, descriptions, items), `search` (passages, full-text index, facets),
`selection` (records, checks, people's decisions), `codes` (codes, people's code decisions,
embeddings, emerging themes), `corrections`, `accounts`, `audit`; `views` reads across them for the workspace's listings. `base` holds the `Store`
(one connection and its transaction) and the shared `metadata`; `migrate` brings a database to
the current schema (Alembic). Nothing here imports a stage, the API, the CLI or the web.
"""

from whatworks.store import accounts, audit, codes, corrections, documents, search, selection  # noqa: F401
from whatworks.store.base import Conflict, Store, dispose_engines, metadata
from whatworks.store.migrate import upgrade

__all__ = ["Conflict", "Store", "dispose_engines", "metadata", "open_store"]


def open_store(target) -> Store:
    """A Store on a SQLite file path or a postgresql:// URL, migrated to the current schema."""
    store = Store(target)
    try:
        upgrade(store)
    except BaseException:
        store.close()
        raise
    return store
