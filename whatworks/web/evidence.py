"""Evidence in context for the screening and coding pages: a report's items as a coder sees them
(the machine's suggestions with the words behind them marked, polarity, uncertainty, in the order
that puts a reviewer's time where the machine is least sure) and the document beside them with the
passages behind decisions and the protocol's terms marked.

Everything comes from the Review API; these functions only arrange it for the templates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from whatworks.api import Review

#: Screening and coding show at most this much of a document's text beside the decision (the
#: document page pages through the rest).
PANE_CHARS = 250_000
#: Item orders of the coding page: the machine's least sure first, or the document's.
ORDERS = ("uncertain", "document")


def order(value: str | None) -> str:
    return value if value in ORDERS else ORDERS[0]


def _words(segments) -> list[str]:
    """The trigger words as the text writes them (adjacent marked runs joined), each once."""
    out, run = [], ""
    for s in segments:
        if "trigger" in s.css:
            run += s.text
        elif run:
            out.append(run.strip())
            run = ""
    if run:
        out.append(run.strip())
    return list(dict.fromkeys(w for w in out if w))


def item_view(review: Review, it: dict[str, Any], labels: dict[str, str], state: dict[str, Any] | None,
              language: str) -> dict[str, Any]:
    """One item of the coding page: its text with the coder's trigger words marked, polarity and
    uncertainty, the suggestions with their evidence, the person's themes and the choices to tick."""
    state = state or {}
    lang = state.get("language") or language
    suggestions, triggers = [], []
    for c in it["codes"]:
        words = json.loads(c.get("triggers") or "[]") if isinstance(c.get("triggers"), str) else c.get("triggers") or []
        triggers += words
        suggestions.append({"theme": c["theme"], "label": labels.get(c["theme"], c["theme"]), "score": c["score"],
                            "method": c["method"], "quote": c["quote"], "engine": c["engine"],
                            "words": _words(review.marked_text(it["text"], lang, words)) if words else []})
    by_theme = {c["theme"]: c for c in suggestions}
    my = it["mine"]["themes"] if it["mine"] is not None else None
    chosen = set(my) if my is not None else {c["theme"] for c in suggestions if c["engine"] != "llm"}
    ids = list(dict.fromkeys([c["theme"] for c in suggestions] + sorted(chosen)))
    return {"idx": it["idx"], "kind": it["kind"], "text": it["text"], "page": it["page"],
            "segments": review.marked_text(it["text"], lang, triggers, state.get("sentences") or ()),
            "machine": suggestions, "mine": my,
            "others": [(who, a["themes"]) for who, a in it["others"]], "hidden": it["hidden"],
            "note": it["mine"]["note"] if it["mine"] else None, "flag": it["flag"],
            "polarity": state.get("polarity"), "polarity_score": state.get("polarity_score"),
            "uncertainty": state.get("uncertainty"), "not_evidence": bool(state.get("not_evidence")),
            "choices": [{"id": t, "label": labels.get(t, t), "checked": t in chosen, "suggested": t in by_theme,
                         "suggestion": by_theme.get(t)} for t in ids]}


def coding_items(review: Review, sha: str, user, visible: Sequence[str] | None, labels: dict[str, str],
                 order: str = "uncertain", only: int | None = None) -> list[dict[str, Any]]:
    """A report's items for the coding page. In the "uncertain" order the items the person has not
    coded come first, the coder's least sure first (where a reviewer's look changes most), then
    those they have coded, in the document's order."""
    states = review.coding_states(sha)  # with each coded item's language (an item without codes has no triggers)
    raw = review.coding_items(sha, user, visible)
    items = [dict(item_view(review, it, labels, states.get(it["item_key"]), "en"), n_items=len(raw)) for it in raw
             if only is None or it["idx"] == only]
    if order == "uncertain":
        items.sort(key=lambda it: (it["mine"] is not None, -(it["uncertainty"] or 0.0) if it["mine"] is None else 0,
                                   it["idx"]))
    return items


_LEAD = re.compile(r"^\s*(?:“[^”]{1,200}”(?:\s*\+\s*“[^”]{1,200}”)*\s*:\s*)?(?:…\s*)?")
_SECTION = re.compile(r"^section “([^”]{1,300})”$")


def quote_of(evidence: str) -> str:
    """The words of a screening check's evidence to find in the text: without the terms it names
    (“social security”: …) or a leading ellipsis; a section's heading for a section check."""
    m = _SECTION.match(evidence.strip())
    if m:
        return m.group(1)
    return _LEAD.sub("", evidence, count=1).strip()


def document_pane(review: Review, sha: str, quotes: dict[str, tuple[int | None, str]]) -> dict[str, Any]:
    """The document beside the decision: its text with `quotes` (ref → (page, quote)) marked and the
    protocol's terms marked; a PDF's pages can also be shown as images."""
    marked = review.marked_document(sha, {ref: (page, quote_of(q)) for ref, (page, q) in quotes.items()},
                                    max_chars=PANE_CHARS)
    return {"sha256": sha, "pages": marked.pages, "found": marked.found, "truncated": marked.truncated,
            "terms": marked.terms, "pdf": marked.format == "pdf", "npages": marked.npages}
