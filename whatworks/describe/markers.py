"""Where a list of items starts in a run of blocks: "Recommendation 1", "Lesson learned 2:",
or the longest run of numbers 1, 2, 3… — asked by the section finder (to split "Conclusions and
recommendations") and the item finder alike."""

from __future__ import annotations

import re

from whatworks.describe.headings import ITEM_SECTION, item_marker
from whatworks.model import Block
from whatworks.text import split_number

TEXT_KINDS = ("paragraph", "list_item", "heading", "table_row")
#: Two bounding boxes this far apart (points) are in two columns, not an item and its sub-item.
COLUMN_GAP = 150
_NUMBERED = re.compile(
    r"^\s*(?:\(\s*(?P<p>\d{1,2})\s*\)|(?P<d>\d{1,2})\s*[.):](?!\d)|(?P<h>\d{1,2}(?:\.\d{1,2})+)\.?)\s*(?=\S)"
)


#: A capitalised word or an acronym that may name who a recommendation is addressed to or made by.
_OWNER_WORD = re.compile(r"[A-Z][\w&\u2019'.-]*\s+")


def owned_marker(text: str) -> tuple[str, str, str] | None:
    """(owner, kind, number) of a label such as "CCSA Recommendation 1:" or "Health Canada
    Recommendation 2:" — an item marker after at most four capitalised words, ending its line or
    followed by a colon (a sentence "The Recommendation 2 of …" is not a label)."""
    pos = len(text) - len(text.lstrip())
    for _ in range(4):
        w = _OWNER_WORD.match(text, pos)
        if not w:
            return None
        pos = w.end()
        rest = text[pos:]
        found = item_marker(rest)
        if not found:
            continue
        after = rest[found[2]:]
        if rest[:found[2]].rstrip().endswith(":") or after.lstrip(" ").startswith((":", "\n")) \
                or not after.strip():
            return " ".join(text[:pos].split()), found[0], found[1]
        return None
    return None


def asks(text: str) -> bool:
    """The first sentence is a question ("Is there a continued need for …?")."""
    head = text.strip()[:300]
    q = head.find("?")
    return q > 0 and not re.search(r"[.!;]\s", head[:q])


def marker_starts(blocks: list[Block], idx: list[int], kind: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str, str]] = []
    for i in idx:
        text = blocks[i].text
        # "4.1 Recommendation 1", "121. Recommendation 4:": the leading number is the
        # chapter's or the paragraph's, the item's number follows the word
        m = item_marker(split_number(text)[0]) or item_marker(text)
        if m and m[0] == kind:
            if asks(text[m[2]:]):
                continue  # "R2. Do the objectives link to …?": an evaluation question, not an item
            out.append((i, m[1], ""))
        elif (o := owned_marker(text)) and o[1] == kind:
            out.append((i, o[2], o[0]))
    # "Recommendation #1" heading then "Recommendation 1: ..." right below: one item (not
    # "Health Canada Recommendation 1" then "CCSA Recommendation 1": two series)
    merged: list[tuple[int, str, str]] = []
    for i, num, owner in out:
        if merged and merged[-1][1] == num and merged[-1][2] == owner and i - merged[-1][0] <= 2:
            continue
        merged.append((i, num, owner))
    return [(i, num) for i, num, _ in merged]


def number_of(text: str) -> tuple[int, ...] | None:
    m = _NUMBERED.match(text)
    if not m:
        return None
    raw = m.group("p") or m.group("d") or m.group("h")
    return tuple(int(x) for x in raw.split("."))


def numbered_starts(blocks: list[Block], idx: list[int]) -> list[tuple[int, str]]:
    """The longest run 1, 2, 3… of numbered blocks of one style (sub-lists are skipped)."""
    numbered = [(i, n) for i in idx if (n := number_of(blocks[i].text)) is not None]
    best: list[tuple[int, str]] = []
    for a, (i0, n0) in enumerate(numbered):
        if n0[-1] != 1:
            continue
        b0 = blocks[i0]
        chain = [(i0, n0)]
        for i, n in numbered[a + 1:]:
            b = blocks[i]
            if len(n) != len(n0) or n[:-1] != n0[:-1] or b.kind != b0.kind:
                continue
            if b0.bbox and b.bbox and 12 < abs(b.bbox[0] - b0.bbox[0]) < COLUMN_GAP:
                continue  # indented: a sub-list (a jump of a column's width is the next column)
            if n[-1] == chain[-1][1][-1] + 1:
                chain.append((i, n))
            elif n[-1] == 1:
                break
        if len(chain) > len(best):
            best = [(i, ".".join(map(str, n))) for i, n in chain]
    return best if len(best) >= 2 else []


def first_item_start(blocks: list[Block], start: int, end: int, section_kind: str) -> int | None:
    """The first block in [start, end) where a list of `section_kind` items begins."""
    kind = next(k for k, v in ITEM_SECTION.items() if v == section_kind)
    idx = [i for i in range(start, min(end, len(blocks))) if blocks[i].kind in TEXT_KINDS]
    starts = marker_starts(blocks, idx, kind)
    if not starts and kind == "recommendation":
        starts = numbered_starts(blocks, idx)
    return starts[0][0] if starts else None
