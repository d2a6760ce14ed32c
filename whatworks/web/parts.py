"""A document page too long to show at once, in parts: a 50 MB text file is one page, and one
HTML page of it is more than a browser can load. The document page shows a part at a time
(`?p=1&part=3`), each item on the part that holds its text."""

from __future__ import annotations

from typing import Any

#: The most text one document page shows at once (characters): a page longer than this (a 50 MB
#: text file is one page) is shown in parts, so the browser gets pages of a reasonable size.
PART_CHARS = 60_000


def parts_of(blocks: list[tuple[int, Any]], limit: int = PART_CHARS) -> list[list[tuple[int, Any, str]]]:
    """A page's blocks, (index, block), cut into parts of at most about `limit` characters, each
    block whole unless it alone is longer (then its text is cut, for display only)."""
    parts: list[list[tuple[int, Any, str]]] = [[]]
    size = 0
    for i, b in blocks:
        text = b.text
        pieces = [text[k:k + limit] for k in range(0, len(text), limit)] or [""]
        for piece in pieces:
            if parts[-1] and size + len(piece) > limit:
                parts.append([])
                size = 0
            parts[-1].append((i, b, piece))
            size += len(piece)
    return parts


def part_of_items(parts: list[list[tuple[int, Any, str]]], items: list[dict[str, Any]]) -> dict[int, int]:
    """id(item) → the part (1-based) whose text holds the start of the item's text; items in
    document order are looked for from where the last one was found, so the search stays linear."""
    from bisect import bisect_right

    texts, starts, at = [], [], 0
    for piece_list in parts:
        text = " ".join(" ".join(piece.split()) for _, _, piece in piece_list)
        starts.append(at)
        texts.append(text)
        at += len(text) + 1
    whole = " ".join(texts)
    out: dict[int, int] = {}
    pos = 0
    for it in items:
        key = " ".join(str(it["text"]).split())[:60]
        j = whole.find(key, pos) if key else -1
        if j < 0 and key:
            j = whole.find(key)
        if j >= 0:
            out[id(it)] = bisect_right(starts, j)
            pos = j
    return out


__all__ = ["PART_CHARS", "part_of_items", "parts_of"]
