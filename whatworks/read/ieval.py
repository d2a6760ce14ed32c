"""i-eval Discovery exports (the ILO's evaluation database): one record per evaluation.

The database publishes what an evaluation found as short entries — recommendations, lessons
learned and good practices, each with the fields of the ILO's templates — beside the
evaluation's metadata (number, title, regions, countries, themes, type, timing, nature,
completion date, funding, project symbols). An export comes as an Excel workbook (one sheet
per kind of row), as those sheets saved as CSV, or as JSON lines of their rows. Whatever the
shape, the rows of one evaluation are gathered into one `Record`, which becomes a `Document`
(kind `database_record`) and a `Description` built from the database's own fields rather
than guessed from text: the later stages (search, screen, coding, synthesis) read it as they
read a report.

A sheet is told by its columns, never by its name or the file's, so a renamed sheet or a
CSV saved under any name is still recognised.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from whatworks.model import Block, Description, Document, Evidence, Item, Page, Section, Value

#: The kind every record gets (whatworks.model.DOCUMENT_KINDS).
KIND = "database_record"
FORMAT = "ieval"
#: What tells each sheet (a column only it has) and the column holding its items' text.
ITEM_SHEETS = {
    "recommendation": ("Recommendation description", "Recommendation ID"),
    "good_practice": ("Good practices description", "Good practices ID"),
    "lesson_learned": ("Lessons learned description", "Lessons learned ID"),
}
#: The template fields of each item kind: export column → Item.fields key (the names of
#: whatworks/data/template_fields.yaml where the template has that field).
ITEM_FIELDS = {
    "recommendation": {"Management response": "management_response", "Action plan": "action_plan",
                       "Progress": "progress", "Comments": "comments", "Information source": "information_source",
                       "Recommendation date": "date", "Recommendation theme": "theme",
                       "Recommendation administrative unit": "administrative_unit"},
    "good_practice": {"Context": "context", "Cause/effect": "impact", "Indicators": "indicators",
                      "Replication": "replication", "Links": "links_to_ilo_goals",
                      "Good practices theme": "theme"},
    "lesson_learned": {"Lessons learned theme": "theme"},
}
#: The JSON lines of the database's web pages (../shared/corpus/ilo/): their keys.
WEB_KEYS = {"eval_number": "Evaluation number", "eval_title": "Evaluation title", "country": "Country(ies)",
            "region": "Region(s)", "eval_url": "Url"}
WEB_FIELDS = {"context": "context", "challenges": "challenges", "success": "success",
              "administrative_issues": "ilo_administrative_issues", "comments": "other_elements",
              "theme": "theme", "category": "category"}
#: Evaluation metadata columns (the same names on every sheet that carries them).
NUMBER, TITLE = "Evaluation number", "Evaluation title"
TIMINGS = {"final": "final", "midterm": "midterm", "mid-term": "midterm", "interim": "midterm"}
NATURES = {"independent": "independent", "internal": "internal", "external": "independent", "self": "self"}
#: The database's evaluation types → whatworks' (whatworks/data/evaluation_types.yaml ids).
TYPES = (("joint", "project"), ("project", "project"), ("cluster", "thematic"), ("thematic", "thematic"),
         ("rbsa", "programme"), ("dwcp", "country_programme"), ("country programme", "country_programme"),
         ("strategy", "strategy"), ("synthesis", "meta"), ("meta", "meta"), ("partnership", "programme"),
         ("evaluability", "other"), ("organi", "other"))
#: Excel's escape of a carriage return, left in the export's texts ("_x000D_").
EXCEL_ESCAPE = re.compile(r"_x000[dD]_")
#: Values the database uses for "nothing here".
EMPTY = {"", "-", ".", "n/a", "na", "none", "unknown", "nan"}
#: Region and country entries that name an area, not a country.
GLOBAL_AREAS = {"global", "inter-regional", "interregional"}


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    text = EXCEL_ESCAPE.sub("", str(value)).replace("\xa0", " ").replace("\r", "").strip()
    return "" if text.lower() in EMPTY else " ".join(text.split()) if "\n" not in text else text


def _split(value: Any, seps: str = ";") -> list[str]:
    out: list[str] = []
    for part in re.split(f"[{re.escape(seps)}]", _clean(value)):
        part = part.strip()
        if part and part.lower() not in EMPTY and part not in out:
            out.append(part)
    return out


@dataclass
class RecordItem:
    kind: str  # recommendation | lesson_learned | good_practice
    text: str
    database_id: str | None
    fields: dict[str, str] = field(default_factory=dict)
    language: str | None = None


@dataclass
class Record:
    """One evaluation as the database holds it: its metadata and its items."""

    number: str
    source: str  # the export file (first seen)
    meta: dict[str, Any] = field(default_factory=dict)  # column → value (merged over rows)
    regions: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    funding: list[str] = field(default_factory=list)
    items: list[RecordItem] = field(default_factory=list)
    sheets: set[str] = field(default_factory=set)  # what kinds of row it came from
    _ids: set[tuple[str, str]] = field(default_factory=set)

    def merge_row(self, row: dict[str, Any]) -> None:
        """Take an evaluation's metadata from one row: lists grow, the first value of a field stays."""
        for key, value in row.items():
            text = _clean(value)
            if text and key not in self.meta:
                self.meta[key] = value if isinstance(value, datetime | date) else text
        for col, target in (("Region(s)", self.regions), ("Country(ies)", self.countries),
                            ("Project symbol(s)", self.symbols), ("Recommendation project symbol", self.symbols),
                            ("Theme(s)", self.themes), ("Funding source(s)", self.funding)):
            for v in _split(row.get(col), ";" if col != "Project symbol(s)" else ";,"):
                if v not in target:
                    target.append(v)

    def add_item(self, item: RecordItem) -> None:
        key = (item.kind, item.database_id or item.text[:200])
        if key not in self._ids:
            self._ids.add(key)
            self.items.append(item)


# --- recognising an export ----------------------------------------------------------------------

def sheet_kind(columns: Iterable[Any]) -> str | None:
    """What a sheet holds, from its header: evaluations, planned, an item kind, or None."""
    cols = {str(c).strip() for c in columns if c is not None}
    for kind, (text_col, _) in ITEM_SHEETS.items():
        if text_col in cols:
            return kind
    if NUMBER in cols and TITLE in cols:
        return "planned" if "Planned completion date" in cols else "evaluations"
    return None


def _json_kind(row: dict[str, Any]) -> str | None:
    if "eval_number" in row and row.get("label") in ("lesson_learned", "good_practice", "recommendation"):
        return "web"
    if row.get("label") in ITEM_SHEETS or "sheet" in row:
        return sheet_kind(row.keys())
    return sheet_kind(row.keys())


def is_export(path: Path) -> bool:
    """Whether `path` is an i-eval Discovery export (workbook, CSV sheet or JSON lines), from its content."""
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
    except OSError:
        return False
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                if not any(n.startswith("xl/") for n in z.namelist()):
                    return False
        except Exception:  # noqa: BLE001 - a damaged archive is the normal reader's to report
            return False
        try:
            return any(kind for _, kind, _ in _workbook_sheets(path, header_only=True))
        except Exception:  # noqa: BLE001
            return False
    if head.startswith(b"%PDF") or b"\x00" in head[:2048]:
        return False  # a report, or binary data: not rows of text
    try:
        with open(path, "rb") as f:  # the first line whole: a JSON line can be longer than the head
            first = f.readline(1 << 20)
    except OSError:
        return False
    text = _decode(first).lstrip("\ufeff \r\n\t")
    if text.startswith("{"):
        try:
            return _json_kind(json.loads(text)) is not None
        except ValueError:
            return False
    if "," in text or ";" in text or "\t" in text:
        try:
            header = next(csv.reader(io.StringIO(text), dialect=_dialect(text)))
        except (StopIteration, csv.Error):
            return False
        return sheet_kind(header) is not None
    return False


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else Windows-1252: how spreadsheet programs save CSV."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


# --- reading rows -------------------------------------------------------------------------------

def _workbook_sheets(path: Path, header_only: bool = False) -> Iterator[tuple[str, str | None, list[dict]]]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                continue
            kind = sheet_kind(header)
            if header_only or kind is None:
                yield ws.title, kind, []
                continue
            names = [str(h).strip() if h is not None else "" for h in header]
            yield ws.title, kind, [dict(zip(names, r, strict=False)) for r in rows if any(v is not None for v in r)]
    finally:
        wb.close()


def rows_of(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what the row is, the row) for every row of an export file."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK\x03\x04"):
        for _title, kind, rows in _workbook_sheets(path):
            if kind:
                for row in rows:
                    yield kind, row
        return
    text = _decode(path.read_bytes())
    if text.lstrip().startswith("{"):
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except ValueError:
                continue
            kind = _json_kind(row)
            if kind:
                yield kind, row
        return
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), dialect=_dialect(first))
    kind = sheet_kind(reader.fieldnames or [])
    if kind:
        for row in reader:
            yield kind, {k.strip(): v for k, v in row.items() if k}


def _web_row(row: dict[str, Any]) -> tuple[dict[str, Any], RecordItem]:
    meta = {WEB_KEYS[k]: v for k, v in row.items() if k in WEB_KEYS}  # (its theme is the item's, not the evaluation's)
    fields = {WEB_FIELDS[k]: _clean(v) for k, v in row.items() if k in WEB_FIELDS and _clean(v)}
    if row.get("source_url"):
        fields["url"] = row["source_url"]
    if row.get("truncated"):
        fields["truncated"] = "yes"
    db_id = (row.get("source_url") or "").rstrip("/").rsplit("/", 1)[-1] or None
    return meta, RecordItem(row["label"], _clean(row.get("description")), db_id, fields)


def read_records(paths: Iterable[str | Path]) -> list[Record]:
    """The records of one or more export files, the rows of each evaluation merged across files
    (an item seen twice — the same database id — is kept once)."""
    records: dict[str, Record] = {}

    def record(number: str, source: str) -> Record:
        r = records.get(number)
        if r is None:
            r = records[number] = Record(number=number, source=source)
        return r

    for path in paths:
        path = Path(path)
        for kind, row in rows_of(path):
            if kind == "web":
                meta, item = _web_row(row)
                number = _clean(meta.get(NUMBER))
                if not number:
                    continue
                rec = record(number, str(path))
                rec.merge_row(meta)
                if item.text:
                    rec.add_item(item)
                rec.sheets.add(kind)
                continue
            number = _clean(row.get(NUMBER))
            if not number:
                continue
            rec = record(number, str(path))
            if kind in ITEM_SHEETS:
                text_col, id_col = ITEM_SHEETS[kind]
                meta = {k: v for k, v in row.items() if k not in ITEM_FIELDS[kind] and k not in (text_col, id_col)
                        and k not in ("label", "lang_guess", "sheet")}
                rec.merge_row(meta)
                text = _clean(row.get(text_col))
                if text:
                    fields = {name: _clean(row.get(col)) for col, name in ITEM_FIELDS[kind].items()
                              if _clean(row.get(col))}
                    lang = row.get("lang_guess") if isinstance(row.get("lang_guess"), str) else None
                    rec.add_item(RecordItem(kind, text, _clean(row.get(id_col)) or None, fields, lang))
            else:
                rec.merge_row(row)
            rec.sheets.add(kind)
    return list(records.values())


# --- a record as a document -----------------------------------------------------------------------

SECTION_OF = {"recommendation": ("recommendations", "Recommendations"),
              "lesson_learned": ("lessons_learned", "Lessons learned"),
              "good_practice": ("good_practices", "Emerging good practices")}
#: Metadata lines shown on a record's first page (column, label).
SHOWN = (("Evaluation number", "Evaluation number"), ("Evaluation type", "Evaluation type"),
         ("Evaluation timing", "Evaluation timing"), ("Evaluation nature", "Evaluation nature"),
         ("Completion date", "Completion date"), ("Planned completion date", "Planned completion date"),
         ("Administrative unit(s)", "Administrative unit(s)"), ("Technical unit(s)", "Technical unit(s)"),
         ("Url", "Url"))


def _year(value: Any) -> int | None:
    if isinstance(value, datetime | date):
        return value.year
    m = re.search(r"\b(19|20)\d\d\b", _clean(value))
    return int(m.group(0)) if m else None


def _evaluation_type(raw: str) -> str:
    low = raw.lower()
    if low.startswith("hle") and "strategy" in low:
        return "strategy"
    for needle, value in TYPES:
        if needle in low:
            return value
    return "other"


def _detect_languages(rec: Record) -> None:
    from whatworks.language import SAMPLE_CHARS, detect

    for it in rec.items:
        if not it.language:
            code, _ = detect(it.text[:SAMPLE_CHARS])
            it.language = code


def to_document(rec: Record) -> tuple[Document, Description]:
    """The record as a document (title, metadata lines, one section per item kind) and its
    description (kind, metadata from the database's fields, the items with their fields)."""
    from whatworks.describe.codes import parse_ilo_code
    from whatworks.describe.places import GLOBAL, find_countries, ilo_region

    _detect_languages(rec)
    title = _clean(rec.meta.get(TITLE)) or f"Evaluation {rec.number}"
    lines = [f"{label}: {_clean(rec.meta.get(col))}" for col, label in SHOWN if _clean(rec.meta.get(col))]
    for label, values in (("Region(s)", rec.regions), ("Country(ies)", rec.countries), ("Theme(s)", rec.themes),
                          ("Funding source(s)", rec.funding), ("Project symbol(s)", rec.symbols)):
        if values:
            lines.append(f"{label}: {'; '.join(values)}")
    pages = [Page(1, [Block("heading", title, 1, level=1), *(Block("paragraph", line, 1) for line in lines)])]
    sections = [Section("front_matter", title, 1, 1, 1, 0, len(pages[0].blocks))]
    items: list[Item] = []
    n_blocks = len(pages[0].blocks)
    languages: Counter[str] = Counter()
    for kind, (section_kind, heading) in SECTION_OF.items():
        its = [it for it in rec.items if it.kind == kind]
        if not its:
            continue
        number = len(pages) + 1
        blocks = [Block("heading", heading, number, level=2)]
        for it in its:
            items.append(Item(kind, it.text, number, len(sections), it.database_id,
                              {"database_id": it.database_id or "", "language": it.language or "und",
                               "record": rec.number, **it.fields}))
            blocks.append(Block("paragraph", it.text, number, language=it.language))
            for name, value in it.fields.items():
                if name in ("context", "challenges", "success", "impact", "replication"):
                    blocks.append(Block("paragraph", value, number, language=it.language))
            languages[it.language or "und"] += len(it.text)
        sections.append(Section(section_kind, heading, number, number, 1, n_blocks, n_blocks + len(blocks)))
        n_blocks += len(blocks)
        pages.append(Page(number, blocks))
    if languages:
        language = languages.most_common(1)[0][0]
    else:
        from whatworks.language import detect

        language = detect(title)[0]
    total = sum(languages.values()) or 1
    payload = json.dumps({"number": rec.number, "meta": {k: _clean(v) for k, v in sorted(rec.meta.items())},
                          "lists": [rec.regions, rec.countries, rec.symbols, rec.themes, rec.funding],
                          "items": [[i.kind, i.database_id, i.text, i.fields] for i in rec.items]},
                         ensure_ascii=False, sort_keys=True)
    sha = hashlib.sha256(("ieval-record\n" + payload).encode()).hexdigest()
    source = f"{rec.source}#eval={rec.number}"
    document = Document(source=source, sha256=sha, format=FORMAT, pages=pages, title=title, language=language,
                        languages={k: round(v / total, 3) for k, v in languages.items()},
                        meta={"record": rec.number, "database": "i-eval Discovery"})

    ev = Evidence(1, title)
    md: dict[str, Value] = {"title": Value(title, 1.0, ev), "language": Value(language, 0.9, None),
                            "organisation": Value("ILO", 1.0, Evidence(1, "i-eval Discovery (ILO)")),
                            "record": Value(rec.number, 1.0, Evidence(1, f"Evaluation number: {rec.number}"))}

    def line_ev(label: str) -> Evidence:
        return Evidence(1, next((ln for ln in lines if ln.startswith(label)), title))

    year = _year(rec.meta.get("Completion date") or rec.meta.get("Planned completion date"))
    if year:
        md["year"] = Value(year, 1.0, line_ev("Completion date") if rec.meta.get("Completion date")
                           else line_ev("Planned completion date"))
    if rec.meta.get("Completion date"):
        md["completion_date"] = Value(_clean(rec.meta["Completion date"]), 1.0, line_ev("Completion date"))
    timing = _clean(rec.meta.get("Evaluation timing")).lower()
    if timing:
        md["timing"] = Value(TIMINGS.get(timing, "other"), 1.0, line_ev("Evaluation timing"))
    nature = _clean(rec.meta.get("Evaluation nature")).lower()
    if nature:
        value = next((v for k, v in NATURES.items() if nature.startswith(k)), None)
        if value:
            md["evaluator_type"] = Value(value, 1.0, line_ev("Evaluation nature"))
        md["evaluation_nature"] = Value(_clean(rec.meta.get("Evaluation nature")), 1.0, line_ev("Evaluation nature"))
    raw_type = _clean(rec.meta.get("Evaluation type"))
    if raw_type:
        md["evaluation_type"] = Value(_evaluation_type(raw_type), 1.0, line_ev("Evaluation type"))
        md["database_type"] = Value(raw_type, 1.0, line_ev("Evaluation type"))
    codes = []
    for sym in rec.symbols:
        pc = parse_ilo_code(sym)
        if pc is not None and pc.code not in {c["code"] for c in codes}:
            codes.append(pc.to_dict())
    if codes:
        md["project_codes"] = Value(codes, 1.0, line_ev("Project symbol(s)"))
    if rec.symbols:
        md["project_symbols"] = Value(list(rec.symbols), 1.0, line_ev("Project symbol(s)"))
    iso3: list[str] = []
    for name in rec.countries:
        for code in find_countries(name):
            if code not in iso3:
                iso3.append(code)
    if iso3:
        md["countries"] = Value(iso3, 1.0, line_ev("Country(ies)"))
    regions = [GLOBAL if r.lower() in GLOBAL_AREAS else r for r in rec.regions]
    regions = [r for i, r in enumerate(regions) if r not in regions[:i]]
    for code in iso3:
        reg = ilo_region(code)
        if reg and reg not in regions:
            regions.append(reg)
    if regions:
        md["regions_ilo"] = Value(regions, 1.0, line_ev("Region(s)"))
    areas = {r.lower() for r in rec.regions + rec.countries}
    scope = "global" if areas & GLOBAL_AREAS else "country" if len(iso3) == 1 and not any(
        "regional" in a for a in areas) else "regional" if regions or iso3 else None
    if scope:
        md["scope"] = Value(scope, 0.9, line_ev("Region(s)"))
    if rec.themes:
        md["themes"] = Value(list(rec.themes), 1.0, line_ev("Theme(s)"))
    if rec.funding:
        md["donors"] = Value(list(rec.funding), 1.0, line_ev("Funding source(s)"))
    if rec.meta.get("Url"):
        md["url"] = Value(_clean(rec.meta["Url"]), 1.0, line_ev("Url"))
    planned = rec.sheets == {"planned"}
    kind = "evaluation_plan" if planned else KIND
    description = Description(kind=Value(kind, 1.0, Evidence(1, "a record of i-eval Discovery, the ILO's evaluation "
                                                                "database" + (" (a planned evaluation)" if planned
                                                                              else ""))),
                              metadata=md, sections=sections, items=items)
    return document, description


def read_export(paths: Iterable[str | Path]) -> list[tuple[Document, Description]]:
    """Every evaluation of the export files as (document, description), in evaluation-number order."""
    def order(r: Record) -> tuple[int, str]:
        return (int(r.number) if r.number.isdigit() else 1 << 62, r.number)

    return [to_document(r) for r in sorted(read_records(paths), key=order)]
