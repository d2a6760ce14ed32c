"""The one document model every reader produces and every later stage consumes.

document → pages → blocks. A block is the smallest unit we cite: it carries its
page, so every quote can be traced back to a page of its source. The same module
holds the *description* of a document (kind, metadata, sections, items), which is
what `whatworks inspect --json` prints.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

#: Block kinds, shared by every reader.
BLOCK_KINDS = (
    "heading",
    "paragraph",
    "list_item",
    "table_row",
    "caption",
    "header",
    "footer",
)


@dataclass
class Block:
    """A run of text on one page: a heading, paragraph, list item, table row…"""

    kind: str
    text: str
    page: int  # 1-based physical page (HTML/Markdown/text: 1, DOCX: page breaks if any)
    level: int | None = None  # heading level (1 = top); list items: nesting depth (1 = outermost)
    bbox: tuple[float, float, float, float] | None = None  # PDF points: x0, y0 (top), x1, y1
    font_size: float | None = None
    bold: bool = False
    language: str | None = None  # ISO 639-1 code ("en", "fr", "sv"…) or None when too short
    cells: list[str] | None = None  # table_row: the cells, left to right

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind, "text": self.text, "page": self.page}
        for key in ("level", "bbox", "font_size", "language", "cells"):
            value = getattr(self, key)
            if value is not None:
                d[key] = list(value) if key == "bbox" else value
        if self.bold:
            d["bold"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Block:
        bbox = d.get("bbox")
        return cls(
            kind=d["kind"],
            text=d["text"],
            page=d["page"],
            level=d.get("level"),
            bbox=tuple(bbox) if bbox else None,
            font_size=d.get("font_size"),
            bold=d.get("bold", False),
            language=d.get("language"),
            cells=d.get("cells"),
        )


@dataclass
class Page:
    number: int  # 1-based physical page
    blocks: list[Block] = field(default_factory=list)
    width: float | None = None
    height: float | None = None
    label: str | None = None  # printed page number where the reader knows it


@dataclass
class Document:
    """A report as read from one file, whatever its format."""

    source: str  # the path it was read from
    sha256: str
    format: str  # pdf, docx, html, markdown, text
    pages: list[Page] = field(default_factory=list)
    title: str | None = None
    language: str = "und"  # ISO 639-1 of the main language, "und" when unknown
    languages: dict[str, float] = field(default_factory=dict)  # share of text per language
    ocr: bool = False  # text came from OCR
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # what the file itself says (PDF info, HTML meta)

    @property
    def blocks(self) -> list[Block]:
        return [b for p in self.pages for b in p.blocks]

    def headings(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == "heading"]

    @property
    def text(self) -> str:
        """The body text: running headers and footers left out."""
        return "\n\n".join(b.text for b in self.blocks if b.kind not in ("header", "footer"))

    def outline(self) -> list[dict[str, Any]]:
        """The headings as a flat list of {level, text, page}."""
        return [{"level": b.level or 1, "text": b.text, "page": b.page} for b in self.headings()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "sha256": self.sha256,
            "format": self.format,
            "title": self.title,
            "language": self.language,
            "languages": self.languages,
            "ocr": self.ocr,
            "warnings": self.warnings,
            "meta": self.meta,
            "pages": [
                {
                    "number": p.number,
                    "width": p.width,
                    "height": p.height,
                    "label": p.label,
                    "blocks": [b.to_dict() for b in p.blocks],
                }
                for p in self.pages
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Document:
        pages = [
            Page(
                number=p["number"],
                width=p.get("width"),
                height=p.get("height"),
                label=p.get("label"),
                blocks=[Block.from_dict(b) for b in p["blocks"]],
            )
            for p in d["pages"]
        ]
        return cls(
            source=d["source"],
            sha256=d["sha256"],
            format=d["format"],
            pages=pages,
            title=d.get("title"),
            language=d.get("language", "und"),
            languages=d.get("languages", {}),
            ocr=d.get("ocr", False),
            warnings=d.get("warnings", []),
            meta=d.get("meta", {}),
        )

    def pack(self) -> bytes:
        """Compact bytes for the database (zlib-compressed JSON)."""
        return zlib.compress(json.dumps(self.to_dict(), ensure_ascii=False).encode(), 6)

    @classmethod
    def unpack(cls, data: bytes) -> Document:
        return cls.from_dict(json.loads(zlib.decompress(data)))


# --- description: what `describe` finds in a document ------------------------------


@dataclass
class Evidence:
    """Where a value or decision comes from: a page and the verbatim passage."""

    page: int | None
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"page": self.page, "text": self.text}


@dataclass
class Value:
    """One metadata value with its confidence (0–1) and the evidence it came from."""

    value: Any
    confidence: float = 1.0
    evidence: Evidence | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "confidence": round(self.confidence, 3),
            "evidence": self.evidence.to_dict() if self.evidence else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Value:
        ev = d.get("evidence")
        return cls(d.get("value"), d.get("confidence", 1.0), Evidence(**ev) if ev else None)


#: Section kinds `describe` recognises.
SECTION_KINDS = (
    "front_matter",
    "table_of_contents",
    "acronyms",
    "executive_summary",
    "background",
    "methodology",
    "findings",
    "relevance",
    "coherence",
    "design",
    "effectiveness",
    "efficiency",
    "impact",
    "sustainability",
    "conclusions",
    "recommendations",
    "lessons_learned",
    "good_practices",
    "management_response",
    "annex",
    "terms_of_reference",
    "people_met",
    "references",
    "other",
)

#: Item kinds.
ITEM_KINDS = ("finding", "conclusion", "recommendation", "lesson_learned", "good_practice")
#: What a document is (whatworks.describe.kind tells it; protocols admit some of them).
DOCUMENT_KINDS = ("evaluation_report", "evaluation_brief", "management_response", "terms_of_reference",
                  "inception_report", "completion_report", "progress_report", "evaluation_plan", "audit",
                  "case_study", "research_report", "annex", "database_record", "other")


@dataclass
class Section:
    kind: str
    heading: str
    page_start: int
    page_end: int
    level: int = 1
    block_start: int = 0  # index into Document.blocks (inclusive)
    block_end: int = 0  # exclusive

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Item:
    """One finding, conclusion, recommendation, lesson learned or good practice."""

    kind: str
    text: str
    page: int
    section_index: int | None = None
    number: str | None = None  # as printed: "1", "R3", "Finding 2"
    fields: dict[str, str] = field(default_factory=dict)  # addressee, priority, template fields

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "text": self.text,
            "page": self.page,
            "section_index": self.section_index,
        }
        if self.number is not None:
            d["number"] = self.number
        d.update(self.fields)
        return d


@dataclass
class Description:
    """What a document is and what it says, found by `describe`."""

    kind: Value  # value: one of DOCUMENT_KINDS
    metadata: dict[str, Value] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "kind_detail": self.kind.to_dict(),
            "metadata": {k: v.to_dict() for k, v in self.metadata.items()},
            "sections": [s.to_dict() for s in self.sections],
            "items": [i.to_dict() for i in self.items],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Description:
        base = {"kind", "text", "page", "section_index", "number"}
        return cls(
            kind=Value.from_dict(d.get("kind_detail") or {"value": d["kind"]}),
            metadata={k: Value.from_dict(v) for k, v in d.get("metadata", {}).items()},
            sections=[Section(**s) for s in d.get("sections", [])],
            items=[
                Item(
                    kind=i["kind"],
                    text=i["text"],
                    page=i["page"],
                    section_index=i.get("section_index"),
                    number=i.get("number"),
                    fields={k: v for k, v in i.items() if k not in base},
                )
                for i in d.get("items", [])
            ],
        )

    def value(self, key: str, default: Any = None) -> Any:
        v = self.metadata.get(key)
        return v.value if v is not None else default
