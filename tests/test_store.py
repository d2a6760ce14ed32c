"""The review database: documents round-trip, WAL mode, transactions are all-or-nothing."""

from __future__ import annotations

import pytest

from whatworks.model import Block, Description, Document, Evidence, Item, Page, Section, Value
from whatworks.store import Database


def _document(sha: str = "a" * 64) -> Document:
    return Document(
        source="r.pdf", sha256=sha, format="pdf", title="Report",
        pages=[Page(1, [Block("heading", "1. Findings", 1, level=1, bbox=(1, 2, 3, 4), font_size=14, bold=True)]),
               Page(2, [Block("paragraph", "Coverage rose.", 2, language="en"),
                        Block("table_row", "a | b", 2, cells=["a", "b"])])],
    )


def test_wal_mode(db: Database):
    assert db.scalar("PRAGMA journal_mode") == "wal"


def test_document_round_trip(db: Database):
    doc = _document()
    db.save_document(doc, 0.5)
    back = db.document(doc.sha256)
    assert back.to_dict() == doc.to_dict()
    assert back.blocks[0].bbox == (1, 2, 3, 4)
    assert back.outline() == [{"level": 1, "text": "1. Findings", "page": 1}]


def test_description_round_trip_and_items(db: Database):
    doc = _document()
    db.save_document(doc)
    desc = Description(
        kind=Value("evaluation_report", 0.9, Evidence(1, "Final evaluation")),
        metadata={"year": Value(2016, 0.8, Evidence(1, "2016"))},
        sections=[Section("recommendations", "4. RECOMMENDATIONS", 2, 3)],
        items=[Item("recommendation", "Do X.", 2, 0, "1", {"addressee": "ILO", "priority": "high"})],
    )
    db.save_description(doc.sha256, desc)
    back = db.description(doc.sha256)
    assert back.to_dict() == desc.to_dict()
    rows = db.query("SELECT kind, section_kind, text FROM items")
    assert [tuple(r) for r in rows] == [("recommendation", "recommendations", "Do X.")]
    db.save_description(doc.sha256, Description(kind=Value("other")))  # a re-run replaces items
    assert db.scalar("SELECT count(*) FROM items") == 0


def test_transaction_rolls_back(db: Database):
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.save_document(_document())
            raise RuntimeError("crash in the middle")
    assert db.scalar("SELECT count(*) FROM documents") == 0
    with db.transaction():
        with db.transaction():  # nested joins the outer one
            db.save_document(_document())
    assert db.scalar("SELECT count(*) FROM documents") == 1


def test_meta(db: Database):
    assert db.get_meta("x", "none") == "none"
    db.set_meta("x", "1")
    db.set_meta("x", "2")
    assert db.get_meta("x") == "2"
