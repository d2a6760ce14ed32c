"""describe: what a document is (kind), what it is about (metadata), how it is built
(sections) and what it concludes (items).

Order matters: sections come first because the kind and the metadata read them
(an evaluation report has findings and recommendations; a brief is short).
"""

from __future__ import annotations

import logging

from whatworks.describe.headings import CONTAINERS, FINDINGS_FAMILY, is_annex_heading
from whatworks.describe.items import find_items
from whatworks.describe.kind import classify
from whatworks.describe.metadata import extract_metadata
from whatworks.describe.sections import find_sections
from whatworks.model import Description, Document, Section

log = logging.getLogger(__name__)


def has_findings(sections: list[Section]) -> bool:
    """Whether a findings chapter (or one named by an evaluation criterion) stands outside the
    annexes: a report that has one should yield items."""
    backs = [s for s in sections if s.kind in CONTAINERS[:4] or is_annex_heading(s.heading)]
    return any(s.kind in FINDINGS_FAMILY and not any(b.block_start <= s.block_start < b.block_end for b in backs)
               for s in sections)


def describe(document: Document) -> Description:
    """Kind, metadata, sections and items of one document."""
    sections = find_sections(document)
    items = find_items(document, sections)
    kind = classify(document, sections, items)
    metadata = extract_metadata(document, sections, kind)
    if not items and has_findings(sections):
        # logged only: the run warns about the included ones (Review.reports_without_items)
        log.info("%s: a findings chapter but no items found", document.source)
    return Description(kind=kind, metadata=metadata, sections=sections, items=items)
