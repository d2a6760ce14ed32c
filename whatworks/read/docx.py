"""DOCX → Document: headings (by outline level or style), numbered lists, tables, page breaks.

Word files carry no fixed pages, but Word records where it last broke pages
(w:lastRenderedPageBreak) and authors insert hard breaks (w:br type="page"); counting
them lets a quote be cited with a page. Before python-docx opens a file we check the
ZIP directory, so a zip bomb is refused instead of filling memory.
"""

from __future__ import annotations

import logging
import re
import zipfile
from functools import lru_cache
from pathlib import Path

from lxml import etree

from whatworks.errors import ReadError
from whatworks.model import Block, Document, Page

log = logging.getLogger(__name__)

#: Refuse archives that would unpack to more than this…
MAX_UNCOMPRESSED = 200 * 1024 * 1024
#: …or hold a large entry compressed more than this many times (text XML is ~5–20×).
MAX_RATIO = 100
LARGE_ENTRY = 10 * 1024 * 1024
MAX_ENTRIES = 20_000

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def w(tag: str) -> str:
    return f"{{{W}}}{tag}"


P, TBL, TR, TC, SDT, SDT_CONTENT = w("p"), w("tbl"), w("tr"), w("tc"), w("sdt"), w("sdtContent")
T, TAB, BR, CR, LRPB = w("t"), w("tab"), w("br"), w("cr"), w("lastRenderedPageBreak")
PPR, RPR, R, VAL = w("pPr"), w("rPr"), w("r"), w("val")
NOBREAK_HYPHEN, FOOTNOTE_REF, ENDNOTE_REF = w("noBreakHyphen"), w("footnoteReference"), w("endnoteReference")
#: Subtrees whose text is not the paragraph's own: text boxes, the fallback copy of drawings,
#: deleted text, field instructions.
TXBX, FALLBACK = w("txbxContent"), f"{{{MC}}}Fallback"
SKIP = {TXBX, FALLBACK, w("del"), w("moveFrom"), w("instrText"), w("delText"), PPR, RPR}
#: Containers whose children are body-level content (content controls, custom XML, tracked insertions).
TRANSPARENT = {SDT_CONTENT, w("customXml"), w("ins"), w("smartTag")}


def read_docx(path: Path, sha256: str) -> Document:
    """Read a .docx file into a Document; ReadError for zip bombs and damaged files."""
    path = Path(path)
    check_zip(path)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        word = docx.Document(str(path))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, etree.XMLSyntaxError, EOFError, OSError) as e:
        raise _corrupt(e) from None
    except ValueError as e:
        if "content type" in str(e).lower():
            raise ReadError("unsupported", f"the file is an Office package but not a Word document ({e})",
                            "open it in Word and save it as a .docx document, or export it to PDF") from None
        raise _corrupt(e) from None
    except Exception as e:  # noqa: BLE001 - any other parse failure of a damaged package
        raise _corrupt(e) from None
    try:
        return _DocxReader(word, str(path), sha256).read()
    except ReadError:
        raise
    except (zipfile.BadZipFile, etree.XMLSyntaxError, EOFError, KeyError, ValueError) as e:
        raise _corrupt(e) from None


def _corrupt(e: BaseException) -> ReadError:
    return ReadError("corrupt", f"the Word file is damaged or incomplete and cannot be opened ({type(e).__name__}: {e})",
                     "open it in Word (which can often repair it) and save it again, or export it to PDF")


def check_zip(path: Path) -> None:
    """Refuse archives that would unpack to far more than a report (a zip bomb)."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise _corrupt(e) from None
    total = sum(i.file_size for i in infos)
    name = Path(path).name
    if len(infos) > MAX_ENTRIES:
        raise ReadError("zip_bomb", f"the archive holds {len(infos)} entries, far more than a Word file "
                        f"({name} is probably a zip bomb)", "do not open it; get the report again from its source")
    if total > MAX_UNCOMPRESSED:
        raise ReadError("zip_bomb", f"the archive would unpack to {total / 2**20:.0f} MB, over the "
                        f"{MAX_UNCOMPRESSED // 2**20} MB limit for a Word file (a zip bomb?)",
                        "do not open it; get the report again from its source, or export it to PDF")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > LARGE_ENTRY and ratio > MAX_RATIO:
            raise ReadError("zip_bomb", f"the archive entry {info.filename} is compressed {ratio:.0f} times "
                            f"({info.file_size / 2**20:.0f} MB unpacked): a zip bomb, not a Word file",
                            "do not open it; get the report again from its source, or export it to PDF")


# --- styles and numbering ---------------------------------------------------------------


@lru_cache(maxsize=1)
def _style_words() -> tuple[re.Pattern[str], frozenset[str], frozenset[str]]:
    """(heading name pattern, title names, caption names) from whatworks/data/docx_styles.yaml."""
    from whatworks import vocab

    styles = vocab.load("docx_styles")
    words = sorted(styles.terms("heading"), key=len, reverse=True)
    pattern = re.compile(r"^(?:" + "|".join(map(re.escape, words)) + r")\s*([1-9])$", re.IGNORECASE)
    return (pattern, frozenset(x.lower() for x in styles.terms("title")),
            frozenset(x.lower() for x in styles.terms("caption")))


class _Style:
    __slots__ = ("name", "based_on", "outline", "num", "bold")

    def __init__(self, el: etree._Element) -> None:
        name = el.find(w("name"))
        self.name = (name.get(VAL) if name is not None else "") or ""
        based = el.find(w("basedOn"))
        self.based_on = based.get(VAL) if based is not None else None
        ppr = el.find(PPR)
        self.outline = _outline(ppr)
        self.num = _num_pr(ppr)
        rpr = el.find(RPR)
        self.bold = rpr is not None and _on(rpr.find(w("b")))


def _on(el: etree._Element | None) -> bool:
    return el is not None and (el.get(VAL) or "true").lower() not in ("0", "false", "off")


def _outline(ppr: etree._Element | None) -> int | None:
    if ppr is None:
        return None
    el = ppr.find(w("outlineLvl"))
    if el is None:
        return None
    try:
        return int(el.get(VAL) or "9")
    except ValueError:
        return None


def _num_pr(ppr: etree._Element | None) -> tuple[str | None, int | None] | None:
    if ppr is None:
        return None
    num = ppr.find(w("numPr"))
    if num is None:
        return None
    num_id = num.find(w("numId"))
    ilvl = num.find(w("ilvl"))
    try:
        level = int(ilvl.get(VAL)) if ilvl is not None else None
    except (TypeError, ValueError):
        level = None
    return (num_id.get(VAL) if num_id is not None else None), level


ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
         (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def _format_number(n: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        s = ""
        k = max(n, 1)
        letter = chr(ord("a") + (k - 1) % 26)
        s = letter * ((k - 1) // 26 + 1)  # Word repeats: a…z, aa…zz
        return s.upper() if fmt == "upperLetter" else s
    if fmt in ("lowerRoman", "upperRoman"):
        k, s = max(n, 1), ""
        for value, numeral in ROMAN:
            while k >= value:
                s, k = s + numeral, k - value
        return s.upper() if fmt == "upperRoman" else s
    if fmt == "decimalZero":
        return f"{n:02d}"
    return str(n)


class _Numbering:
    """Rebuilds the numbers Word shows ("3.", "4.2", "b)") from numbering.xml and counters."""

    def __init__(self, root: etree._Element | None) -> None:
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}  # abstractNumId → ilvl → (fmt, text, start)
        self.nums: dict[str, tuple[str, dict[int, int]]] = {}  # numId → (abstractNumId, start overrides)
        self.counters: dict[str, list[int]] = {}
        self.seen: set[str] = set()
        if root is None:
            return
        for abstract in root.iter(w("abstractNum")):
            levels: dict[int, tuple[str, str, int]] = {}
            for lvl in abstract.iter(w("lvl")):
                try:
                    ilvl = int(lvl.get(w("ilvl")) or 0)
                    start_el = lvl.find(w("start"))
                    start = int(start_el.get(VAL)) if start_el is not None else 1
                except (TypeError, ValueError):
                    continue
                fmt_el, text_el = lvl.find(w("numFmt")), lvl.find(w("lvlText"))
                fmt = (fmt_el.get(VAL) if fmt_el is not None else None) or "decimal"
                text = (text_el.get(VAL) if text_el is not None else None) or ""
                levels[ilvl] = (fmt, text, start)
            self.levels[abstract.get(w("abstractNumId")) or ""] = levels
        for num in root.iter(w("num")):
            abstract = num.find(w("abstractNumId"))
            overrides: dict[int, int] = {}
            for override in num.iter(w("lvlOverride")):
                start = override.find(w("startOverride"))
                try:
                    if start is not None:
                        overrides[int(override.get(w("ilvl")) or 0)] = int(start.get(VAL))
                except (TypeError, ValueError):
                    continue
            if abstract is not None:
                self.nums[num.get(w("numId")) or ""] = (abstract.get(VAL) or "", overrides)

    def label(self, num_id: str | None, ilvl: int) -> tuple[str, bool] | None:
        """(label, is_bullet) for the next paragraph of list `num_id` at level `ilvl`; None if not a list."""
        if not num_id or num_id == "0" or num_id not in self.nums:
            return None
        abstract_id, overrides = self.nums[num_id]
        levels = self.levels.get(abstract_id, {})
        ilvl = min(max(ilvl, 0), 8)
        counters = self.counters.setdefault(abstract_id, [0] * 9)
        if num_id not in self.seen:
            self.seen.add(num_id)
            for level, start in overrides.items():
                if 0 <= level < 9:
                    counters[level] = start - 1
        fmt, text, start = levels.get(ilvl, ("decimal", f"%{ilvl + 1}.", 1))
        counters[ilvl] = max(counters[ilvl], start - 1) + 1
        for deeper in range(ilvl + 1, 9):
            counters[deeper] = 0
        if fmt in ("bullet", "none"):
            return "", True

        def value(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            if not 0 <= k < 9:
                return ""
            kfmt = levels.get(k, ("decimal", "", 1))[0]
            n = counters[k] if counters[k] else levels.get(k, ("", "", 1))[2]
            return _format_number(n, kfmt if kfmt not in ("bullet", "none") else "decimal")

        return re.sub(r"%([1-9])", value, text).strip(), False


# --- the reader ---------------------------------------------------------------------------


class _DocxReader:
    def __init__(self, word, source: str, sha256: str) -> None:
        self.word = word
        self.source = source
        self.sha256 = sha256
        self.styles: dict[str, _Style] = {}
        try:
            styles_root = word.part.styles.element
        except (KeyError, NotImplementedError, AttributeError, ValueError):
            styles_root = None
        if styles_root is not None:
            for el in styles_root.iter(w("style")):
                self.styles[el.get(w("styleId")) or ""] = _Style(el)
        try:
            numbering_root = word.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError, ValueError):
            numbering_root = None
        self.numbering = _Numbering(numbering_root)
        self.page = 1
        self.text_since_break = False
        self.blocks: list[Block] = []
        self.note_refs: list[tuple[str, str, int]] = []  # (kind, id, page) in reading order
        self.title_style: str | None = None

    # style chain lookups
    def _chain(self, style_id: str | None):
        seen = 0
        while style_id and style_id in self.styles and seen < 12:
            style = self.styles[style_id]
            yield style_id, style
            style_id = style.based_on
            seen += 1

    def heading_level(self, ppr: etree._Element | None, style_id: str | None) -> tuple[int | None, bool]:
        """(heading level or None, is the Title style)."""
        pattern, title_words, _ = _style_words()
        style = self.styles.get(style_id or "")
        names = [(style.name if style else "") or "", style_id or ""]
        if any(n.strip().lower() in title_words for n in names if n):
            return 1, True
        direct = _outline(ppr)
        if direct is not None:
            return (direct + 1 if direct < 9 else None), False
        for _, s in self._chain(style_id):
            if s.outline is not None:
                return (s.outline + 1 if s.outline < 9 else None), False
        for name in names:
            m = pattern.match(name.strip()) if name else None
            if m:
                return int(m.group(1)), False
        return None, False

    def numbering_of(self, ppr: etree._Element | None, style_id: str | None) -> tuple[str | None, int] | None:
        direct = _num_pr(ppr)
        if direct is not None and direct[0] is not None:
            return direct[0], direct[1] or 0
        for _, s in self._chain(style_id):
            if s.num is not None and s.num[0] is not None:
                return s.num[0], (direct[1] if direct and direct[1] is not None else s.num[1] or 0)
        return None

    # page counting
    def _break(self) -> None:
        """A page break; a break right after another (hard break + rendered break) counts once."""
        if self.text_since_break:
            self.page += 1
            self.text_since_break = False

    def read(self) -> Document:
        body = self.word.element.body
        self._container(body)
        pages = [Page(number=n) for n in range(1, max([b.page for b in self.blocks], default=1) + 1)]
        for block in self.blocks:
            pages[block.page - 1].blocks.append(block)
        for block in self._notes():  # after the body text of the page that calls them
            if 1 <= block.page <= len(pages):
                pages[block.page - 1].blocks.append(block)
        while len(pages) > 1 and not pages[-1].blocks:
            pages.pop()
        meta = self._meta()
        warnings = []
        stated = meta.get("pages_stated")
        if stated and abs(len(pages) - stated) > max(2, 0.2 * stated):
            warnings.append(f"page numbers come from the page breaks Word recorded ({len(pages)} pages), but the "
                            f"file says it has {stated} pages: cited pages may be off")
        return Document(source=self.source, sha256=self.sha256, format="docx", pages=pages,
                        title=self._title(), meta=meta, warnings=warnings)

    def _container(self, root: etree._Element) -> None:
        """Body-level children in order: paragraphs, tables, and what content controls wrap."""
        stack = [iter(root)]
        while stack:
            el = next(stack[-1], None)
            if el is None:
                stack.pop()
                continue
            tag = el.tag
            if tag == P:
                self._paragraph(el)
            elif tag == TBL:
                self._table(el)
            elif tag == SDT:
                content = el.find(SDT_CONTENT)
                if content is not None:
                    stack.append(iter(content))
            elif tag in TRANSPARENT:
                stack.append(iter(el))

    def _paragraph_text(self, p: etree._Element, count_pages: bool = True) -> tuple[str, int, bool]:
        """(text, page where the text starts, all runs bold) of one paragraph."""
        ppr = p.find(PPR)
        if count_pages and ppr is not None and (_on(ppr.find(w("pageBreakBefore")))):
            self._break()
        parts: list[str] = []
        start_page: int | None = None
        runs = bold_runs = 0
        walker = etree.iterwalk(p, events=("start",))
        for _, el in walker:
            tag = el.tag
            if tag in SKIP:
                walker.skip_subtree()
                continue
            if tag == T:
                text = el.text or ""
                if text.strip():
                    if start_page is None:
                        start_page = self.page
                    self.text_since_break = True
                parts.append(text)
            elif tag == TAB:
                parts.append("\t")
            elif tag == BR:
                kind = el.get(w("type"))
                if kind == "page":
                    if count_pages:
                        self._break()
                    parts.append("\n")
                elif kind != "column":
                    parts.append("\n")
            elif tag == CR:
                parts.append("\n")
            elif tag == LRPB:
                if count_pages:
                    self._break()
            elif tag == NOBREAK_HYPHEN:
                parts.append("-")
            elif tag in (FOOTNOTE_REF, ENDNOTE_REF):
                self.note_refs.append(("footnote" if tag == FOOTNOTE_REF else "endnote", el.get(w("id")) or "",
                                       self.page))
            elif tag == R:
                rpr = el.find(RPR)
                if rpr is not None and _on(rpr.find(w("vanish"))):
                    walker.skip_subtree()  # hidden text
                    continue
                if el.find(T) is not None:
                    runs += 1
                    bold_runs += rpr is not None and _on(rpr.find(w("b")))
        if count_pages and ppr is not None:
            sect = ppr.find(w("sectPr"))
            if sect is not None:  # a section break: the next section starts a new page unless continuous
                kind = sect.find(w("type"))
                if kind is None or (kind.get(VAL) or "nextPage") != "continuous":
                    self._break()
        text = "\n".join(" ".join(line.replace("\t", " ").split()) for line in "".join(parts).split("\n"))
        text = "\n".join(line for line in text.split("\n") if line)
        return text, start_page or self.page, runs > 0 and bold_runs == runs

    def _paragraph(self, p: etree._Element) -> None:
        ppr = p.find(PPR)
        style_el = ppr.find(w("pStyle")) if ppr is not None else None
        style_id = style_el.get(VAL) if style_el is not None else None
        numbering = self.numbering_of(ppr, style_id)
        label = self.numbering.label(*numbering) if numbering else None
        text, page, bold = self._paragraph_text(p)
        if text:
            self._paragraph_block(ppr, style_id, label, text, page, bold)
        for box in self._text_boxes(p):  # after the paragraph they are anchored in
            self._container(box)

    def _text_boxes(self, p: etree._Element) -> list[etree._Element]:
        """Text boxes anchored in `p` (once each: not the fallback copy, not boxes inside boxes)."""
        boxes = []
        for box in p.iter(TXBX):
            outer = next((a for a in box.iterancestors() if a is p or a.tag in (TXBX, FALLBACK)), None)
            if outer is p:
                boxes.append(box)
        return boxes

    def _paragraph_block(self, ppr: etree._Element | None, style_id: str | None, label: tuple[str, bool] | None,
                         text: str, page: int, bold: bool) -> None:
        level, is_title = self.heading_level(ppr, style_id)
        number = label[0] if label and not label[1] else ""
        if number and not text.startswith(number):
            text = f"{number} {text}"
        if level is not None:
            self.blocks.append(Block("heading", " ".join(text.split()), page, level=min(level, 9), bold=bold))
            if is_title and self.title_style is None:
                self.title_style = self.blocks[-1].text
            return
        style = self.styles.get(style_id or "")
        name = (style.name if style else "").lower()
        if label is not None or name.startswith("list"):
            kind = "list_item"
        elif name in _style_words()[2]:
            kind = "caption"
        else:
            kind = "paragraph"
        self.blocks.append(Block(kind, text, page, bold=bold))

    def _cell_text(self, tc: etree._Element) -> str:
        """A cell's text: its paragraphs (numbered as shown) and nested tables, flattened."""
        lines: list[str] = []
        stack = [iter(tc)]
        while stack:
            el = next(stack[-1], None)
            if el is None:
                stack.pop()
                continue
            if el.tag == P:
                ppr = el.find(PPR)
                style_el = ppr.find(w("pStyle")) if ppr is not None else None
                numbering = self.numbering_of(ppr, style_el.get(VAL) if style_el is not None else None)
                label = self.numbering.label(*numbering) if numbering else None
                text, _, _ = self._paragraph_text(el)
                if text:
                    number = label[0] if label and not label[1] else ""
                    lines.append(f"{number} {text}" if number and not text.startswith(number) else text)
            elif el.tag == TBL:
                for tr in el.iter(TR):
                    cells = [" ".join("".join(t.text or "" for t in tc2.iter(T)).split())
                             for tc2 in tr.findall(TC)]
                    if any(cells):
                        lines.append(" | ".join(cells))
            elif el.tag in TRANSPARENT or el.tag == SDT:
                content = el.find(SDT_CONTENT) if el.tag == SDT else el
                if content is not None:
                    stack.append(iter(content))
        return "\n".join(lines)

    def _table(self, tbl: etree._Element) -> None:
        rows = []
        stack = [iter(tbl)]
        while stack:  # rows, also those inside content controls
            el = next(stack[-1], None)
            if el is None:
                stack.pop()
            elif el.tag == TR:
                rows.append(el)
            elif el.tag == SDT or el.tag in TRANSPARENT:
                content = el.find(SDT_CONTENT) if el.tag == SDT else el
                if content is not None:
                    stack.append(iter(content))
        for tr in rows:
            start_page = self.page
            start_flag = self.text_since_break
            end_page = self.page
            row_page: int | None = None
            cells: list[str] = []
            for tc in tr.iter(TC):
                if next(tc.iterancestors(TR), None) is not tr:
                    continue  # a cell of a nested table: read with its own cell
                # every cell of a row that crosses a page carries its own rendered break: count once
                self.page, self.text_since_break = start_page, start_flag
                tcpr = tc.find(w("tcPr"))
                merged = tcpr.find(w("vMerge")) if tcpr is not None else None
                text = self._cell_text(tc)
                if merged is not None and (merged.get(VAL) or "continue") == "continue":
                    text = ""  # the continuation of a vertically merged cell: shown once, above
                cells.append(text)
                end_page = max(end_page, self.page)
                if text and row_page is None:
                    row_page = start_page
            self.page = end_page
            if any(cells):
                self.text_since_break = True
                self.blocks.append(Block("table_row", " | ".join(c.replace("\n", " / ") for c in cells),
                                         row_page or start_page, cells=cells))

    def _notes(self) -> list[Block]:
        """Footnotes and endnotes, numbered in reading order, on the page that calls them."""
        if not self.note_refs:
            return []
        parts = {}
        for part in self.word.part.package.iter_parts():
            name = str(part.partname)
            if name in ("/word/footnotes.xml", "/word/endnotes.xml"):
                try:
                    parts["footnote" if "foot" in name else "endnote"] = etree.fromstring(
                        part.blob, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
                except etree.XMLSyntaxError:
                    continue
        texts: dict[tuple[str, str], str] = {}
        for kind, root in parts.items():
            for note in root.iter(w(kind)):
                paras = [self._paragraph_text(p, count_pages=False)[0] for p in note.iter(P)]
                text = " ".join(t for t in paras if t)
                if text:
                    texts[(kind, note.get(w("id")) or "")] = text
        counters = {"footnote": 0, "endnote": 0}
        notes = []
        for kind, note_id, page in self.note_refs:
            counters[kind] += 1
            text = texts.get((kind, note_id))
            if text:
                mark = str(counters[kind]) if kind == "footnote" else _format_number(counters[kind], "lowerRoman")
                notes.append(Block("paragraph", f"{mark} {text}", page))
        return notes

    def _title(self) -> str | None:
        try:
            title = (self.word.core_properties.title or "").strip()
        except (ValueError, KeyError, AttributeError):
            title = ""
        if title:
            return title
        if self.title_style:
            return self.title_style
        first = next((b.text for b in self.blocks if b.kind == "heading" and b.level == 1), None)
        if first:
            return first
        early = [b for b in self.blocks[:10] if b.kind == "heading"]  # a report that starts at Heading 2
        return min(early, key=lambda b: b.level or 9).text if early else None

    def _meta(self) -> dict:
        meta: dict = {}
        try:
            props = self.word.core_properties
            for key in ("title", "author", "subject", "keywords", "category", "comments", "language",
                        "last_modified_by"):
                value = getattr(props, key, None)
                if value:
                    meta[key] = str(value).strip()
            for key in ("created", "modified"):
                value = getattr(props, key, None)
                if value:
                    meta[key] = value.isoformat()
        except (ValueError, KeyError, AttributeError, TypeError):
            pass
        for part in self.word.part.package.iter_parts():
            if str(part.partname) == "/docProps/app.xml":
                m = re.search(rb"<Pages>(\d+)</Pages>", part.blob)
                if m:
                    meta["pages_stated"] = int(m.group(1))  # what Word said when it last saved
                break
        meta["page_breaks"] = max((b.page for b in self.blocks), default=1)
        return meta
