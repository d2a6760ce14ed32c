"""The review database: documents round-trip, WAL mode, transactions are all-or-nothing."""

from __future__ import annotations

import pytest

from whatworks import corrections
from whatworks.model import Block, Description, Document, Evidence, Item, Page, Section, Value
from whatworks.store import Store
from whatworks.store import documents as docs


def _document(sha: str = "a" * 64) -> Document:
    return Document(
        source="r.pdf", sha256=sha, format="pdf", title="Report",
        pages=[Page(1, [Block("heading", "1. Findings", 1, level=1, bbox=(1, 2, 3, 4), font_size=14, bold=True)]),
               Page(2, [Block("paragraph", "Coverage rose.", 2, language="en"),
                        Block("table_row", "a | b", 2, cells=["a", "b"])])],
    )


def test_wal_mode(store: Store):
    assert store.raw("PRAGMA journal_mode")[0]["journal_mode"] == "wal"


def test_document_round_trip(store: Store):
    doc = _document()
    docs.save_document(store, doc, 0.5)
    back = docs.document(store, doc.sha256)
    assert back.to_dict() == doc.to_dict()
    assert back.blocks[0].bbox == (1, 2, 3, 4)
    assert back.outline() == [{"level": 1, "text": "1. Findings", "page": 1}]
    with pytest.raises(KeyError):
        docs.document(store, "b" * 64)


def test_description_round_trip_and_items(store: Store):
    doc = _document()
    docs.save_document(store, doc)
    desc = Description(
        kind=Value("evaluation_report", 0.9, Evidence(1, "Final evaluation")),
        metadata={"year": Value(2016, 0.8, Evidence(1, "2016"))},
        sections=[Section("recommendations", "4. RECOMMENDATIONS", 2, 3)],
        items=[Item("recommendation", "Do X.", 2, 0, "1", {"addressee": "ILO", "priority": "high"})],
    )
    corrections.save_description(store, doc.sha256, desc)
    assert docs.description(store, doc.sha256).to_dict() == desc.to_dict()
    rows = docs.item_rows(store)
    assert [(r["kind"], r["section_kind"], r["text"]) for r in rows] == [("recommendation", "recommendations", "Do X.")]
    assert rows[0]["item_key"] == docs.item_key("Do  X.\n")  # the key ignores spacing
    corrections.save_description(store, doc.sha256, Description(kind=Value("other")))  # a re-run replaces items
    assert docs.item_rows(store) == []


def test_transaction_rolls_back(store: Store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            docs.save_document(store, _document())
            raise RuntimeError("crash in the middle")
    assert docs.count_documents(store) == 0
    with store.transaction():
        with store.transaction():  # nested joins the outer one
            docs.save_document(store, _document())
    assert docs.count_documents(store) == 1


def test_meta(store: Store):
    assert store.get_meta("x", "none") == "none"
    store.set_meta("x", "1")
    store.set_meta("x", "2")
    assert store.get_meta("x") == "2"


def test_find_document_by_sha_start_or_path(store: Store):
    doc = _document()
    docs.save_document(store, doc)
    docs.record_file(store, "/reports/asean/final report.pdf", doc.sha256, 10, 1.0, "read")
    assert docs.find_document(store, doc.sha256) == [doc.sha256]
    assert docs.find_document(store, "aaaaaaaa") == [doc.sha256]
    assert docs.find_document(store, "final report.pdf") == [doc.sha256]
    assert docs.find_document(store, "asean/final report") == [doc.sha256]  # without the extension
    assert docs.find_document(store, "100%_report") == []  # LIKE wildcards are literal
    assert docs.find_document(store, "") == []


def test_upsert_updates_and_ignores(store: Store):
    from whatworks.store.base import meta_table

    store.upsert(meta_table, [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    store.upsert(meta_table, {"key": "a", "value": "3"})
    store.upsert(meta_table, {"key": "b", "value": "9"}, ignore=True)
    assert (store.get_meta("a"), store.get_meta("b")) == ("3", "2")
