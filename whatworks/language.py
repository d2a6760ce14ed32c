"""Language identification for documents and blocks (py3langid: offline, in-package model)."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from whatworks.model import Document

#: The languages whatworks reads and codes fully; others are named by their code.
SUPPORTED = ("en", "fr", "es", "pt")
#: Blocks shorter than this inherit the document's language: too few words to tell.
MIN_CHARS = 40
#: A block's language is told from its first characters: enough for a sure answer, and
#: identification cost grows with length (py3langid walks every byte in Python).
SAMPLE_CHARS = 240


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> tuple[str, float]:
    """The ISO 639-1 code of `text` and a probability; ("und", 0) when there is no text."""
    text = text.strip()
    if not any(c.isalpha() for c in text):
        return "und", 0.0
    code, prob = _identifier().classify(text[:5000])
    return code, float(prob)


def annotate(document: Document) -> Document:
    """Set each long-enough block's language and the document's main language and shares."""
    weights: Counter[str] = Counter()
    for block in document.blocks:
        if len(block.text) >= MIN_CHARS:
            code, _ = detect(block.text[:SAMPLE_CHARS])
            block.language = code
            weights[code] += len(block.text)
    total = sum(weights.values())
    if total:
        document.languages = {k: round(v / total, 3) for k, v in weights.most_common() if v / total >= 0.01}
        document.language = weights.most_common(1)[0][0]
    else:
        sample = document.text
        document.language = detect(sample)[0] if sample.strip() else "und"
        document.languages = {document.language: 1.0} if document.language != "und" else {}
    for block in document.blocks:
        if block.language is None and document.language != "und":
            block.language = document.language
    return document
