"""describe: what a document is (kind), what it is about (metadata), how it is built
(sections) and what it concludes (items).

Order matters: sections come first because the kind and the metadata read them
(an evaluation report has findings and recommendations; a brief is short).
"""

from __future__ import annotations

from whatworks.describe.items import find_items
from whatworks.describe.kind import classify
from whatworks.describe.metadata import extract_metadata
from whatworks.describe.sections import find_sections
from whatworks.model import Description, Document


def describe(document: Document) -> Description:
    """Kind, metadata, sections and items of one document."""
    sections = find_sections(document)
    items = find_items(document, sections)
    kind = classify(document, sections, items)
    metadata = extract_metadata(document, sections, kind)
    return Description(kind=kind, metadata=metadata, sections=sections, items=items)
