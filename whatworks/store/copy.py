"""Copy a review from one database to another (SQLite → PostgreSQL at the start of a team review)."""

from __future__ import annotations

import sqlalchemy as sa

from whatworks.store.base import Store, metadata


def copy_rows(source: Store, target: Store, *, batch: int = 500) -> dict[str, int]:
    """Copy every table's rows into `target`, whose tables must be empty; returns the rows copied.
    The full-text rows are not copied (their form differs per database): the caller rebuilds them
    from the passages (whatworks.search.rebuild)."""
    counts: dict[str, int] = {}
    with target.transaction():
        for table in metadata.sorted_tables:
            n = 0
            result = source.conn.execution_options(stream_results=True).execute(sa.select(table))
            for part in result.mappings().partitions(batch):
                target.insert(table, [dict(r) for r in part])
                n += len(part)
            counts[table.name] = n
        if target.dialect == "postgresql":  # identity columns go on after the copied ids
            for table in metadata.sorted_tables:
                for col in table.primary_key.columns:
                    if col.autoincrement is True:
                        target.execute(sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'), "
                            f"COALESCE((SELECT MAX({col.name}) FROM {table.name}), 0) + 1, false)"))
    source._end_autobegun()
    return counts
