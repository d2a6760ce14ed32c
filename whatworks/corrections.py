"""Reviewers' corrections of descriptions, and the description every stage reads.

A correction is a human value for the kind, a metadata field, a section or an item, stored apart
from the machine's description (whatworks.store.corrections), so a re-run of describe never
overwrites it. `effective_description` applies them; screening, coding, search facets, the
synthesis and the reports all read that, never the machine's description alone. A re-run that
renumbers or rewrites the machine's items does not lose a correction: it follows the same (or the
most similar) item, and the reviewer's version stays when the machine's item is gone.

This module sits just above the store and below every stage: it knows nothing of screening or
search. The API re-screens and re-indexes a corrected document.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Any

from whatworks.errors import NotFound, ReviewError
from whatworks.model import Description, Evidence, Item, Section, Value
from whatworks.store import audit
from whatworks.store import codes as coding_store
from whatworks.store import corrections as table
from whatworks.store import documents as docs
from whatworks.store.base import Store
from whatworks.store.documents import ADDED_ITEM_BASE, ORPHAN_ITEM_BASE

log = logging.getLogger(__name__)

TARGETS = ("kind", "metadata", "section", "item")
#: The metadata fields describe finds (whatworks.describe.metadata), the only ones a reviewer may
#: correct besides a field the machine's description of that document has: a made-up key would be
#: a row no stage reads.
METADATA_FIELDS = ("title", "language", "organisation", "project_codes", "period", "year", "donors", "countries",
                   "scope", "regions_ilo", "regions_m49", "timing", "evaluator_type", "evaluation_type")
#: How alike (difflib ratio) the machine's new item must be to the one a reviewer corrected for the
#: correction to follow it after a re-run of describe rewrote the text.
SIMILAR_ITEM = 0.6


@dataclass
class Correction:
    target: str
    key: str
    value: Any
    machine: Any
    reason: str
    reviewer: str
    at: float

    def __hash__(self) -> int:
        return hash((self.target, self.key))


@dataclass
class EffectiveItem:
    """One item as the outputs see it: its number in `items`, the item (None when a reviewer said
    it is not an item), the machine's item it corrects (None for an added one) and the correction."""

    idx: int
    key: str  # what a correction of it is filed under: the machine's index, or new:…
    item: Any  # model.Item | None
    machine: Any = None  # model.Item | None
    correction: Correction | None = None
    second_look: bool = False


@dataclass
class Overlay:
    """A description with its corrections applied, and how each correction was applied."""

    description: Any  # model.Description
    items: list[EffectiveItem]  # every item, those marked "not an item" included (item None)
    sections: dict[int, Correction]  # section index → its correction
    anchors: dict[Correction, str]  # item/section correction → the key it follows now (machine index)
    gone: list[Correction]  # item corrections whose machine item is gone (kept as the reviewer's items)
    second_looks: list[dict[str, Any]]  # corrections whose machine value changed since


def _changes(c: Correction) -> dict[str, Any]:
    """The fields of a section or item correction the reviewer changed (all of them when the machine's
    value at the time is not known)."""
    if not isinstance(c.value, dict):
        return {}
    if not isinstance(c.machine, dict):
        return dict(c.value)
    return {k: v for k, v in c.value.items() if k not in c.machine or not _same(c.machine[k], v)}


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _item_dict(item) -> dict[str, Any]:
    return {"kind": item.kind, "text": item.text, "page": item.page}


def _similar(a: str, b: str) -> float:
    m = SequenceMatcher(None, a, b, autojunk=False)
    return m.ratio() if m.real_quick_ratio() >= SIMILAR_ITEM and m.quick_ratio() >= SIMILAR_ITEM else 0.0


def _anchor_items(machine_items: list, fixes: dict) -> dict[Correction, int | None]:
    """Which machine item each item correction follows now: the same index when the machine's item is
    the one corrected, else the item with the same text, else the most similar one; None if gone."""
    texts = [_text(it.text) for it in machine_items]
    out: dict[Correction, int | None] = {}
    taken: set[int] = set()
    pending = []
    for (target, key), c in sorted(fixes.items(), key=lambda kv: kv[0]):
        if target != "item" or not key.isdigit():
            continue
        i = int(key)
        then = c.machine if isinstance(c.machine, dict) else None
        if then is None or "text" not in then:  # no record of the machine's item: keep the index
            out[c] = i if i < len(machine_items) and i not in taken else None
        elif i < len(texts) and texts[i] == _text(then["text"]):
            out[c] = i
        else:
            pending.append((c, i, _text(then["text"])))
            continue
        if out[c] is not None:
            taken.add(out[c])
    for c, _i, text in pending:  # moved: the same text elsewhere
        j = next((j for j, t in enumerate(texts) if t == text and j not in taken), None)
        if j is not None:
            out[c] = j
            taken.add(j)
    for c, i, text in pending:  # changed: the most similar item left, nearest to where it was
        if c in out:
            continue
        best = max(((_similar(text, t), -abs(j - i), j) for j, t in enumerate(texts) if j not in taken),
                   default=(0.0, 0, None))
        out[c] = best[2] if best[0] >= SIMILAR_ITEM else None
        if out[c] is not None:
            taken.add(out[c])
    return out


def _anchor_sections(sections: list, fixes: dict) -> dict[Correction, int | None]:
    """Which machine section each section correction follows now (same index and heading, else the
    same heading and kind elsewhere, else the same index)."""
    out: dict[Correction, int | None] = {}
    taken: set[int] = set()
    heads = [(_text(s.heading).lower(), s.kind) for s in sections]
    for (target, key), c in sorted(fixes.items(), key=lambda kv: kv[0]):
        if target != "section" or not key.isdigit():
            continue
        i = int(key)
        then = c.machine if isinstance(c.machine, dict) else {}
        want = (_text(then.get("heading")).lower(), then.get("kind"))
        j = None
        if i < len(heads) and (not then or heads[i][0] == want[0]) and i not in taken:
            j = i
        else:
            j = next((k for k, h in enumerate(heads) if h == want and k not in taken), None)
            if j is None:
                j = next((k for k, h in enumerate(heads) if h[0] == want[0] and k not in taken), None)
            if j is None and i < len(heads) and i not in taken:
                j = i
        out[c] = j
        if j is not None:
            taken.add(j)
    return out


def overlay(description: Description, fixes: dict[tuple[str, str], Correction]) -> Overlay:
    """Apply corrections to a copy of the machine's `description`."""
    machine = description
    # a shallow copy: corrected values, sections and items are new objects; the machine's are not touched
    d = replace(description, metadata=dict(description.metadata), sections=list(description.sections),
                items=list(description.items))
    flags: list[dict[str, Any]] = []

    def look(c: Correction, now: Any) -> bool:
        """Flag `c` when the machine's value changed since it was made: for a section or an item, only
        the fields the reviewer changed count (a page the machine moved under a kind correction does not)."""
        then = c.machine
        if then is None:
            return False
        if isinstance(then, dict) and isinstance(now, dict):
            changed = (set(_changes(c)) - {"deleted", "idx"}) or set(then)  # "not an item": any change
            then, now_cmp = ({k: then.get(k) for k in changed}, {k: now.get(k) for k in changed})
        else:
            now_cmp = now
        if _same(then, now_cmp):
            return False
        flags.append({"target": c.target, "key": c.key, "value": c.value, "machine_then": c.machine,
                      "machine_now": now, "reviewer": c.reviewer, "at": c.at})
        return True

    def note(c: Correction) -> Evidence:
        return Evidence(None, f"corrected by {c.reviewer}" + (f": {c.reason}" if c.reason else ""))

    for (target, key), c in sorted(fixes.items(), key=lambda kv: kv[0]):
        if target == "kind":
            look(c, machine.kind.value)
            d.kind = Value(c.value, 1.0, note(c))
        elif target == "metadata":
            now = machine.metadata.get(key)
            look(c, now.value if now is not None else None)
            d.metadata[key] = Value(c.value, 1.0, note(c))
    anchors: dict[Correction, str] = {}
    section_fix: dict[int, Correction] = {}
    for c, j in _anchor_sections(machine.sections, fixes).items():
        if j is None:
            look(c, None)
            continue
        s = d.sections[j] = replace(machine.sections[j])
        look(c, {k: getattr(machine.sections[j], k) for k in ("kind", "heading", "page_start", "page_end")})
        anchors[c] = str(j)
        section_fix[j] = c
        for attr, value in _changes(c).items():  # what the reviewer changed; the rest follows the machine
            if attr in ("kind", "heading", "page_start", "page_end"):
                setattr(s, attr, value)
    for (target, key), c in sorted(fixes.items(), key=lambda kv: kv[0]):
        if target == "section" and key.startswith("new:") and isinstance(c.value, dict):
            d.sections.append(Section(kind=c.value.get("kind", "other"), heading=c.value.get("heading", ""),
                                      page_start=int(c.value.get("page_start", 1)),
                                      page_end=int(c.value.get("page_end", 1))))

    def section_at(page: int) -> int | None:
        hits = [i for i, s in enumerate(d.sections) if s.page_start <= page <= s.page_end]
        return hits[-1] if hits else None

    def fixed(c: Correction, base, idx: int, machine_item, flagged: bool) -> EffectiveItem:
        v = c.value if isinstance(c.value, dict) else {}
        if v.get("deleted"):
            return EffectiveItem(idx, c.key, None, machine_item, c, flagged)
        then = c.machine if isinstance(c.machine, dict) else {}
        if base is not None:  # what the reviewer changed; the rest follows the machine's item
            v = _changes(c)
        kind = v.get("kind", base.kind if base else then.get("kind", "finding"))
        text = v.get("text", base.text if base else then.get("text", ""))
        page = int(v.get("page", base.page if base else then.get("page", 1)) or 1)
        item = Item(kind=kind, text=text, page=page, section_index=base.section_index if base else section_at(page),
                    number=base.number if base else None, fields=dict(base.fields) if base else {})
        return EffectiveItem(idx, c.key, item, machine_item, c, flagged)

    used: set[int] = set()

    def claim(idx: int, spare_from: int) -> int:
        """`idx`, or the next free number from `spare_from` (numbers in `items` are unique)."""
        if idx in used:
            idx = spare_from
            while idx in used:
                idx += 1
        used.add(idx)
        return idx

    anchored = _anchor_items(machine.items, fixes)
    by_index = {j: c for c, j in anchored.items() if j is not None}
    gone = [c for c, j in anchored.items() if j is None]
    gone += [c for (t, k), c in sorted(fixes.items(), key=lambda kv: kv[0]) if t == "item" and k.startswith("gone:")]
    items: list[EffectiveItem] = []
    for j, it in enumerate(machine.items):
        used.add(j)
        c = by_index.get(j)
        if c is None:
            items.append(EffectiveItem(j, str(j), d.items[j], it))
            continue
        anchors[c] = str(j)
        flagged = look(c, _item_dict(it))
        items.append(fixed(c, d.items[j], j, it, flagged))
    added = [c for (t, k), c in sorted(fixes.items(), key=lambda kv: kv[0]) if t == "item" and k.startswith("new:")
             and isinstance(c.value, dict)]
    for c in added:  # numbers given when the item was added come first
        if isinstance(c.value.get("idx"), int):
            used.add(c.value["idx"])
    for c in gone:  # the machine no longer has the item: the reviewer's version stays, flagged
        n = c.key.split(":")[1] if ":" in c.key else c.key
        flagged = look(c, None)
        idx = claim(ORPHAN_ITEM_BASE + int(n) if n.isdigit() else ORPHAN_ITEM_BASE, ORPHAN_ITEM_BASE)
        items.append(fixed(c, None, idx, None, flagged))
    for c in added:  # items the machine missed
        idx = c.value.get("idx")
        idx = idx if isinstance(idx, int) else claim(ADDED_ITEM_BASE, ADDED_ITEM_BASE)
        items.append(fixed(c, None, idx, None, False))
    d.items = [e.item for e in items if e.item is not None]
    return Overlay(d, items, section_fix, anchors, gone, flags)


# --- reading ----------------------------------------------------------------------------------

def corrections(store: Store, sha256: str) -> dict[tuple[str, str], Correction]:
    """(target, key) → the correction, for one document."""
    return {(r["target"], r["key"]): _correction(r) for r in table.rows(store, sha256)}


def _correction(r: dict[str, Any]) -> Correction:
    return Correction(r["target"], r["key"], r["value"], r["machine"], r["reason"] or "", r["reviewer"],
                      r["corrected_at"])


def _empty() -> Description:
    return Description(kind=Value(None, 0.0))


def corrected_fields(store: Store, shas: list[str]) -> dict[str, dict[str, str]]:
    """sha256 → the kind and metadata fields people corrected (field → who), for marking them."""
    out: dict[str, dict[str, str]] = {}
    for sha, rows in table.rows_for(store, shas).items():
        for r in rows:
            if r["target"] in ("kind", "metadata"):
                out.setdefault(sha, {})[r["key"]] = r["reviewer"]
    return out


def effective_description(store: Store, sha256: str) -> Description | None:
    """The machine's description with every correction applied (what every stage reads)."""
    machine = docs.description(store, sha256)
    fixes = corrections(store, sha256)
    if not fixes:
        return machine
    return overlay(machine or _empty(), fixes).description


def effective_descriptions(store: Store, shas: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """sha256 → the effective description as a dict (`Description.to_dict`), in two queries."""
    out = docs.description_dicts(store, shas)
    if not table.has_any(store):
        return out
    wanted = set(out) if shas is None else set(shas)
    fixes = table.rows_for(store, [s for s in table.corrected_shas(store) if s in wanted])
    for sha, rows in fixes.items():
        base = Description.from_dict(out[sha]) if sha in out else _empty()
        out[sha] = overlay(base, {(r["target"], r["key"]): _correction(r) for r in rows}).description.to_dict()
    return out


def effective_items(store: Store, sha256: str, description: Description | None = None) -> Overlay:
    """One document's items as the stages see them, with how each correction applied."""
    machine = description if description is not None else docs.description(store, sha256)
    return overlay(machine or _empty(), corrections(store, sha256))


def second_looks(store: Store, sha256: str | None = None) -> list[dict[str, Any]]:
    """Corrections made when the machine said something else than it says now (a re-run of describe
    changed the value under them): each with the document, the human value, the machine's then and
    now. The correction stands; saving it again settles it."""
    shas = [sha256] if sha256 else table.corrected_shas(store)
    stamps = docs.description_stamps(store)
    out = []
    for sha, rows in table.rows_for(store, shas).items():
        described = (stamps.get(sha) or {}).get("updated_at") or 0
        if not any(described > r["corrected_at"] for r in rows):
            continue  # only a description rewritten after a correction can have changed under it
        fixes = {(r["target"], r["key"]): _correction(r) for r in rows}
        machine = docs.description(store, sha) or _empty()
        out += [{"sha256": sha, **f} for f in overlay(machine, fixes).second_looks]
    return sorted(out, key=lambda f: (f["sha256"], f["target"], f["key"]))


# --- writing ------------------------------------------------------------------------------------

def save_description(store: Store, sha256: str, description: Description, seconds: float | None = None,
                     version: str = "") -> None:
    """The machine's description, and the document's items with reviewers' corrections applied."""
    with store.transaction():
        docs.save_description(store, sha256, description, seconds, version)
        write_items(store, sha256, description)


def write_items(store: Store, sha256: str, description: Description | None = None) -> None:
    """Rewrite one document's `items` rows: the description's items with the corrections applied
    (machine items keep their index; added ones are numbered from ADDED_ITEM_BASE)."""
    machine = description if description is not None else docs.description(store, sha256)
    if table.has_any(store, sha256):
        ov = overlay(machine or _empty(), corrections(store, sha256))
        pairs = [(e.idx, e.item) for e in ov.items if e.item is not None]
        sections = ov.description.sections
    else:
        pairs = list(enumerate(machine.items)) if machine else []
        sections = machine.sections if machine else []
    docs.write_items(store, sha256, [
        (i, item, sections[item.section_index].kind
         if item.section_index is not None and item.section_index < len(sections) else None)
        for i, item in pairs])


def machine_value(store: Store, sha256: str, target: str, key: str) -> Any:
    """What the machine says now for a correction's target (stored beside the correction)."""
    machine = docs.description(store, sha256) or _empty()
    if target == "kind":
        return machine.kind.value
    if target == "metadata":
        v = machine.metadata.get(key)
        return v.value if v is not None else None
    if target == "section" and key.isdigit() and int(key) < len(machine.sections):
        s = machine.sections[int(key)]
        return {k: getattr(s, k) for k in ("kind", "heading", "page_start", "page_end")}
    if target == "item" and key.isdigit() and int(key) < len(machine.items):
        return _item_dict(machine.items[int(key)])
    return None


def correct(store: Store, sha256: str, target: str, key: str, value: Any, reviewer: str, *,
            reason: str = "", machine: Any = ..., lead: bool = True) -> bool:
    """A human value for a metadata field, the kind, a section or an item; `value` None removes
    the correction. The audit line (with the reason) and the document's items follow in the same
    transaction. Items and sections are addressed by their index in the machine's current
    description (``new:…`` for added items, ``gone:…`` for corrected items the machine lost).

    A person who is not a `lead` never writes over another person's standing correction with a
    different value: theirs is kept as contesting it (`conflicts`), and the standing one stays
    until a lead corrects the field (which settles every contest of it). Returns False then, True
    when the value was saved."""
    if target not in TARGETS:
        raise ReviewError(f"target {target!r}: use one of {', '.join(TARGETS)}")
    if not docs.has_document(store, sha256):
        raise NotFound(f"no document {sha256[:12]} in this review")
    if machine is ...:
        machine = machine_value(store, sha256, target, key)
    with store.transaction():
        fixes = corrections(store, sha256)
        if target in ("item", "section"):
            fixes = _rekey(store, sha256, fixes)  # after a re-run, corrections follow their item or section
        old = fixes.get((target, key))
        before = old.value if old and old.value is not None else machine
        if not lead and old is not None and old.reviewer != reviewer and not _same(old.value, value):
            table.save_conflict(store, sha256, target, key, reviewer, value, reason)
            audit.add(store, reviewer, "correct.conflict", f"{target}:{sha256}:{key}", before, value, reason)
            return False
        if target == "item" and key.startswith("new:") and isinstance(value, dict) and "idx" not in value:
            kept = old.value.get("idx") if old is not None and isinstance(old.value, dict) else None
            value = {**value, "idx": kept if isinstance(kept, int) else _next_added_idx(store, sha256, fixes)}
        if value is None:
            table.delete(store, sha256, target, key)
        else:
            table.save(store, sha256, target, key, value, machine, reason, reviewer)
        # a lead's word settles the field; anyone else only withdraws their own contest of it
        table.delete_conflicts(store, sha256, target, key, None if lead else reviewer)
        audit.add(store, reviewer, "correct" if value is not None else "uncorrect", f"{target}:{sha256}:{key}",
                  before, value if value is not None else machine, reason)
        if target in ("item", "section"):
            write_items(store, sha256)
    return True


def conflicts(store: Store, sha256: str | None = None, visible: list[str] | None = None) -> list[dict[str, Any]]:
    """Corrections contested by another person, each with the standing correction and the values
    that contest it ({sha256, target, key, standing: {reviewer, value, reason, at}, contested:
    [{reviewer, value, reason, at}]}). `visible`: only contests by these people (blind mode)."""
    by_field: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in table.conflict_rows(store, sha256):
        if visible is None or r["reviewer"] in visible:
            by_field.setdefault((r["sha256"], r["target"], r["key"]), []).append(r)
    out = []
    standing_of: dict[str, dict] = {}
    for (sha, target, key), rows in by_field.items():
        if sha not in standing_of:
            standing_of[sha] = corrections(store, sha)
        c = standing_of[sha].get((target, key))
        out.append({"sha256": sha, "target": target, "key": key,
                    "standing": {"reviewer": c.reviewer, "value": c.value, "reason": c.reason, "at": c.at}
                    if c is not None else None,
                    "contested": [{k: r[k] for k in ("reviewer", "value", "reason", "at")} for r in rows]})
    return out


def settle(store: Store, sha256: str, target: str, key: str, take: str | None, lead: str, reason: str = "") -> bool:
    """A lead settles a contested correction: `take` a contesting person's value (it becomes the
    correction, under the lead's name), or None to keep the standing one. Returns whether the
    field's value changed."""
    rows = [r for r in table.conflict_rows(store, sha256) if (r["target"], r["key"]) == (target, key)]
    if not rows:
        raise NotFound(f"no contested correction of {target} {key} in document {sha256[:12]}")
    if take is None:
        with store.transaction():
            table.delete_conflicts(store, sha256, target, key)
            audit.add(store, lead, "correct.settle", f"{target}:{sha256}:{key}",
                      {"contested": {r["reviewer"]: r["value"] for r in rows}}, {"kept": "standing"}, reason)
        return False
    chosen = next((r for r in rows if r["reviewer"] == take), None)
    if chosen is None:
        raise NotFound(f"{take} does not contest {target} {key} in document {sha256[:12]}")
    correct(store, sha256, target, key, chosen["value"], lead, reason=reason or f"settled: {take}'s value", lead=True)
    return True


def _next_added_idx(store: Store, sha256: str, fixes: dict) -> int:
    """The next free number for an added item (never one a reviewer's coding still refers to)."""
    used = [c.value["idx"] for (t, k), c in fixes.items() if t == "item" and isinstance(c.value, dict)
            and isinstance(c.value.get("idx"), int)]
    coded = coding_store.max_decided_idx(store, sha256, ADDED_ITEM_BASE, ORPHAN_ITEM_BASE)
    return max([ADDED_ITEM_BASE - 1, *used] + ([coded] if coded is not None else [])) + 1


def _rekey(store: Store, sha256: str, fixes: dict) -> dict:
    """Give item and section corrections the index of the machine item or section they follow now
    (a re-run of describe may have renumbered them), and file a corrected item the machine no longer
    has under ``gone:…``, so a new correction of item `i` never overwrites the correction of another
    item that used to be number `i`. Only keys change: values, reviewers and dates stay."""
    machine = docs.description(store, sha256) or _empty()
    ov = overlay(machine, fixes)
    moves = [(c, new) for c, new in ov.anchors.items() if new != c.key]
    for c in ov.gone:
        if c.key.isdigit():
            new = f"gone:{c.key}"
            moves.append((c, new if ("item", new) not in fixes else f"{new}:{int(time.time() * 1000)}"))
    while True:  # never onto the key of a correction that stays where it is
        staying = {(c.target, c.key) for c in fixes.values()} - {(c.target, c.key) for c, _ in moves}
        kept = [(c, new) for c, new in moves if (c.target, new) not in staying]
        if len(kept) == len(moves):
            break
        moves = kept
    if not moves:
        return fixes
    for c, _ in moves:  # two steps: a key may pass from one correction to another
        table.rekey(store, sha256, c.target, c.key, f"moving:{c.key}")
    for c, new in moves:
        table.rekey(store, sha256, c.target, f"moving:{c.key}", new)
    return corrections(store, sha256)
