"""What the workspace's URLs and forms carry, parsed into the API's arguments.

Parsing only: a number that is not one is a 400 here; whether a value makes sense (a kind that
exists, pages inside the document) is for the API to say (422).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException

from whatworks.api import CorpusQuery

SHA = re.compile(r"[0-9a-f]{64}")
QUEUES = ("todo", "all", "include", "maybe", "exclude", "flagged")


def sha256(value: str) -> str:
    """A document reference from a URL: a whole sha256, else there is no such document."""
    if not SHA.fullmatch(value or ""):
        raise HTTPException(404, "No such document in this review.")
    return value


def number(value: Any, default: int, lo: int = 1, hi: int = 10**6) -> int:
    """A page number or an index from a URL: clamped to [lo, hi]; anything else is `default`."""
    try:
        return max(lo, min(hi, int(str(value).strip())))
    except (TypeError, ValueError):
        return default


def queue(value: str | None) -> str:
    return value if value in QUEUES else "todo"


@dataclass
class CorpusFilter:
    """The corpus page's URL: the search box, the filters, the sort."""

    q: str = ""
    kind: str = ""
    language: str = ""
    year: str = ""
    country: str = ""
    region: str = ""
    section: str = ""
    machine: str = ""
    status: str = ""
    sort: str = "source"
    dir: str = "asc"

    @classmethod
    def from_params(cls, params) -> CorpusFilter:
        f = cls(**{fl.name: str(params.get(fl.name) or "").strip()[:300] for fl in fields(cls)
                   if params.get(fl.name)})
        if f.sort not in CorpusQuery.SORTS:
            f.sort = "source"
        if f.dir not in ("asc", "desc"):
            f.dir = "asc"
        return f

    def params(self, **changes: Any) -> dict[str, Any]:
        out = {fl.name: getattr(self, fl.name) for fl in fields(self)}
        out.update(changes)
        return {k: v for k, v in out.items() if v not in (None, "") and not (k == "sort" and v == "source")
                and not (k == "dir" and v == "asc")}

    def url(self, **changes: Any) -> str:
        return "/corpus?" + urlencode(self.params(**changes))

    def page_url(self, page: int) -> str:
        return self.url(page=page)

    def year_range(self) -> tuple[int | None, int | None]:
        m = re.fullmatch(r"\s*(\d{4})?\s*(?:[-–:]|\.\.)?\s*(\d{4})?\s*", self.year or "")
        if not m or not any(m.groups()):
            return None, None
        lo, hi = m.group(1), m.group(2)
        if lo and not hi and not re.search(r"[-–:.]", self.year):
            hi = lo
        return (int(lo) if lo else None, int(hi) if hi else None)

    def query(self) -> CorpusQuery:
        """The listing's filters and sort, for Review.corpus."""
        lo, hi = self.year_range()
        return CorpusQuery(kind=self.kind or None, language=self.language or None, year_from=lo, year_to=hi,
                           country=self.country.upper() or None, region=self.region.lower() or None,
                           machine=self.machine if self.machine in (*CorpusQuery.MACHINE, "none") else None,
                           status=self.status if self.status in CorpusQuery.STATUSES else None, sort=self.sort,
                           descending=self.dir == "desc")

    def search_filters(self) -> dict[str, Any]:
        """The filters of a full-text search, for Review.search_page."""
        return {"year": self.year or None, "kind": self.kind or None, "region": self.region or None,
                "country": self.country.upper() or None, "language": self.language or None,
                "section": self.section or None}


# --- corrections -------------------------------------------------------------------------------------

def _typed(raw: str, like: Any) -> Any:
    """A form's text as the type of the machine's value (list, number, text)."""
    raw = raw.strip()
    if isinstance(like, list):
        return [x.strip() for x in raw.split(",") if x.strip()]
    if isinstance(like, bool):
        return raw.lower() in ("1", "true", "yes", "y")
    if isinstance(like, int) and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if isinstance(like, float):
        try:
            return float(raw)
        except ValueError:
            return raw
    if like is None and re.fullmatch(r"\d{4}", raw):
        return int(raw)
    return raw


def _page(form: dict[str, str], name: str, default: int) -> int:
    raw = form.get(name) or default
    try:
        return int(raw)
    except ValueError:
        raise HTTPException(400, f"{name.replace('_', ' ')}: {raw!r} is not a page number.") from None


def correction(form: dict[str, str], machine) -> tuple[str, str, Any]:
    """(target, key, value) of a correction form; `machine` is the document's machine description
    (the type of a metadata value, and what a section or an item form leaves out). Value None
    takes the correction back."""
    target, key = form.get("target", ""), form.get("key", "")[:100]
    remove = bool(form.get("remove"))
    if target == "kind":
        return "kind", "kind", None if remove else form.get("value", "")
    if target == "metadata":
        old = machine.metadata.get(key) if machine is not None else None
        return "metadata", key, None if remove else _typed(form.get("value", ""), old.value if old else None)
    if target == "section":
        s = machine.sections[int(key)] if machine is not None and key.isdigit() and int(key) < len(machine.sections) \
            else None
        if remove:
            return "section", key, None
        return "section", key, {
            "kind": form.get("kind") or (s.kind if s else ""), "heading": form.get("heading", s.heading if s else "")[:500],
            "page_start": _page(form, "page_start", s.page_start if s else 1),
            "page_end": _page(form, "page_end", s.page_end if s else 1)}
    if target == "item":
        kind = form.get("kind", "")
        text = form.get("text", "").strip()[:20000]
        if key == "new":
            return "item", f"new:{int(time.time() * 1000)}", {"kind": kind, "text": text, "page": _page(form, "page", 1)}
        if remove or (kind == "deleted" and key.startswith("new:")):  # an added item that is not one: gone
            return "item", key, None
        if kind == "deleted":
            return "item", key, {"deleted": True}
        it = machine.items[int(key)] if machine is not None and key.isdigit() and int(key) < len(machine.items) \
            else None
        return "item", key, {"kind": kind, "text": text or (it.text if it else ""), "page": _page(form, "page", 1)}
    return target, key, None if remove else form.get("value")
