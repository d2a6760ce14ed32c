"""HTML → Document: the page's main content only, as headings, paragraphs, list items and rows.

Government and agency pages wrap a report in menus, breadcrumbs, share widgets and
"report a problem" forms; none of that is evidence. We keep <main> (else <article>,
else the body minus navigation and a text-density guess at the content), drop
invisible and interactive parts, and walk the tree once with lxml's C iterator — no
Python recursion, so pathologically deep markup cannot blow the stack.
"""

from __future__ import annotations

import codecs
import logging
import re
from pathlib import Path

from lxml import etree

from whatworks.errors import ReadError
from whatworks.model import Block, Document, Page

log = logging.getLogger(__name__)

#: Elements whose content is never report text.
JUNK_TAGS = ("script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
             "button", "select", "textarea", "input", "option", "datalist", "map", "audio", "video")
#: Page furniture, dropped wherever it appears (also inside <main>).
FURNITURE_TAGS = ("nav", "form", "footer", "aside")
#: Dropped only when we fall back to the whole body (inside <main>/<article> a header may hold the h1).
BODY_FURNITURE_TAGS = ("header",)
#: ARIA roles of page furniture.
FURNITURE_ROLES = {"navigation", "search", "banner", "contentinfo", "menu", "menubar", "toolbar",
                   "complementary", "dialog", "alertdialog"}
#: class/id tokens of page furniture (share widgets, feedback forms, breadcrumbs, "date modified"…).
FURNITURE_RE = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|navigation|menu|breadcrumbs?|share|sharing|social|pagedetails|"
    r"page-details|rprt-prblm|report-?problem|feedback|dtmd|skip|skiplinks?|cookies?|banner|"
    r"sidebar|wb-share|fn-rtn|wtrmrk|gc-contextual|toolbar|print-?button)(?:$|[\s_-])",
    re.IGNORECASE,
)
#: Screen-reader-only or hidden class tokens: invisible to a reader of the page.
INVISIBLE_CLASSES = {"wb-inv", "wb-invisible", "sr-only", "visually-hidden", "visuallyhidden",
                     "screen-reader-text", "element-invisible", "hidden", "hide", "invisible", "d-none"}
HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
#: Block-level elements: each starts and ends a block of text.
BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html li main menu nav ol p pre "
    "section summary table tbody thead tfoot tr td th ul legend".split()
)
HEADINGS = {f"h{i}": i for i in range(1, 7)}
#: Marks a line break (<br> or a block inside a table cell) in collected text; NULs are removed before parsing.
BR = "\x00"
#: The separators sites put between a page title and the site name ("… - Canada.ca").
TITLE_SPLIT_RE = re.compile(r"\s+[-|–—:·]\s+")
DOMAIN_RE = re.compile(r"^[\w-]+(\.[\w-]+)+$")
META_KEYS = ("description", "keywords", "author", "dcterms.title", "dcterms.creator", "dcterms.issued",
             "dcterms.modified", "dcterms.subject", "dcterms.language", "dcterms.type", "og:title",
             "og:site_name", "citation_title", "citation_author", "citation_date", "citation_publisher")
CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
XML_ENC_RE = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
#: Tags kept when deep markup forces us to re-parse a flattened copy.
FLAT_KEEP = set(HEADINGS) | {"p", "li", "ul", "ol", "table", "tr", "td", "th", "caption", "title",
                             "head", "body", "html", "main", "article", "script", "style", "br"}
TAG_RE = re.compile(r"<(/?)([A-Za-z][\w:-]*)[^>]*>")


def read_html(path: Path, sha256: str) -> Document:
    """Read an HTML file's main content into a one-page Document."""
    return html_document(Path(path).read_bytes(), str(path), sha256)


def html_document(data: bytes, source: str, sha256: str) -> Document:
    """The Document for HTML bytes (the file-free half of `read_html`)."""
    warnings: list[str] = []
    text, encoding = decode_html(data, warnings)
    root = _parse(text, warnings)
    meta = _meta(root)
    meta["encoding"] = encoding
    blocks, title = extract_blocks(root, meta, warnings)
    return Document(source=source, sha256=sha256, format="html", pages=[Page(number=1, blocks=blocks)],
                    title=title, warnings=warnings, meta=meta)


# --- decoding and parsing ---------------------------------------------------------------


def decode_html(data: bytes, warnings: list[str]) -> tuple[str, str]:
    """Text of the page: BOM, then the declared charset, then UTF-8, then a guess."""
    from whatworks.read.text import decode_bytes

    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return decode_bytes(data, warnings)
    match = XML_ENC_RE.search(data[:512]) or CHARSET_RE.search(data[:4096])
    if match:
        declared = match.group(1).decode("ascii", "ignore").lower()
        try:
            name = codecs.lookup(declared).name
        except LookupError:
            warnings.append(f"the page declares an unknown charset {declared!r}; the encoding was guessed")
        else:
            if name in ("iso8859-1", "ascii", "latin-1"):
                name = "cp1252"  # what browsers do with a latin-1 declaration
            if name != "utf-8" and _is_utf8(data):  # saved as UTF-8 under an old declaration
                warnings.append(f"the page declares charset {declared!r} but its bytes are UTF-8; read as UTF-8")
                return data.decode("utf-8"), "utf-8"
            try:
                return data.decode(name), name
            except (UnicodeDecodeError, LookupError):
                warnings.append(f"the page declares charset {declared!r} but is not valid {declared};"
                                " the encoding was guessed")
    return decode_bytes(data, warnings)


def _is_utf8(data: bytes) -> bool:
    """Valid UTF-8 with some multi-byte characters (plain ASCII proves nothing)."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parse(text: str, warnings: list[str]) -> etree._Element:
    """Parse with libxml2; deep nesting past its limit is re-parsed from a flattened copy."""
    root, depth_error = _parse_once(text)
    if depth_error:
        warnings.append("the markup is nested too deeply; it was flattened before reading")
        flat = TAG_RE.sub(lambda m: m.group(0) if m.group(2).lower() in FLAT_KEEP else " ", text)
        root, depth_error = _parse_once(flat)
        if depth_error:  # still too deep (nested lists or tables): keep the text only
            flat = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", text)
            flat = TAG_RE.sub(lambda m: "<br>" if m.group(2).lower() in BLOCK_TAGS else " ", flat)
            root, _ = _parse_once(flat)
    if root is None:
        raise ReadError("no_text", "the HTML file holds no content", "check that the page was saved completely")
    return root


def _parse_once(text: str) -> tuple[etree._Element | None, bool]:
    parser = etree.HTMLParser(encoding="utf-8", huge_tree=True, remove_comments=True, remove_pis=True,
                              no_network=True)
    data = text.replace("\x00", "").encode("utf-8", "replace")
    if not data.strip():
        return None, False
    try:
        root = etree.fromstring(data, parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None, False
    depth_error = any("depth" in e.message.lower() for e in parser.error_log
                      if e.type_name == "ERR_RESOURCE_LIMIT" or "depth" in e.message.lower())
    return root, depth_error


def _meta(root: etree._Element) -> dict[str, str]:
    """What the page says about itself: language, description, Dublin Core, canonical URL."""
    meta: dict[str, str] = {}
    lang = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    if lang:
        meta["lang"] = lang.strip()
    for el in root.iter("meta"):
        key = (el.get("name") or el.get("property") or "").strip().lower()
        content = (el.get("content") or "").strip()
        if key in META_KEYS and content and key not in meta:
            meta[key] = _clean(content)
    for el in root.iter("link"):
        if (el.get("rel") or "").lower() == "canonical" and el.get("href"):
            meta["canonical"] = el.get("href").strip()
            break
    title = root.find(".//title")
    if title is not None:
        text = _clean("".join(title.itertext()))
        if text:
            meta["html_title"] = text
    return meta


# --- choosing and cleaning the main content ------------------------------------------------


def _text_len(el: etree._Element) -> int:
    return len("".join(el.itertext()).strip())


def _drop(el: etree._Element) -> None:
    """Remove an element but keep its tail text (which belongs to the parent)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _is_furniture(el: etree._Element, body_mode: bool) -> bool:
    tag = el.tag
    if tag in FURNITURE_TAGS or (body_mode and tag in BODY_FURNITURE_TAGS):
        if tag == "aside" and _is_note(el):
            return False
        return True
    role = (el.get("role") or "").lower()
    if role in FURNITURE_ROLES and not (role == "complementary" and _is_note(el)):
        return True
    if el.get("hidden") is not None or (el.get("aria-hidden") or "").lower() == "true":
        return True
    style = el.get("style")
    if style and HIDDEN_STYLE_RE.search(style):
        return True
    cls = el.get("class") or ""
    ident = el.get("id") or ""
    if cls or ident:
        tokens = cls.lower().split()
        if tag not in HEADINGS and INVISIBLE_CLASSES.intersection(tokens):
            return True
        if tag not in ("html", "body", "main", "article") and (FURNITURE_RE.search(cls) or FURNITURE_RE.search(ident)):
            return True
    if tag == "sup" and _is_note_reference(el):
        return True
    return False


def _is_note(el: etree._Element) -> bool:
    """An aside that holds the page's footnotes (content, not furniture)."""
    marker = f"{el.get('role') or ''} {el.get('class') or ''} {el.get('id') or ''}".lower()
    return "note" in marker or "fn" in marker.split()


def _is_note_reference(el: etree._Element) -> bool:
    """A superscript footnote call (<sup><a href="#fn1">1</a></sup>): noise inside a sentence."""
    links = el.findall(".//a")
    return bool(links) and all((a.get("href") or "").startswith("#") for a in links) and \
        len("".join(el.itertext())) <= 24


#: Elements that may be furniture: tags, attributes, or footnote calls (everything else is kept).
CANDIDATES_XPATH = ".//*[@class or @id or @role or @hidden or @aria-hidden or @style] | " + " | ".join(
    f".//{tag}" for tag in (*FURNITURE_TAGS, *BODY_FURNITURE_TAGS, "sup"))


def _clean_tree(container: etree._Element, body_mode: bool) -> None:
    doomed = [el for el in container.xpath(CANDIDATES_XPATH) if _is_furniture(el, body_mode)]
    for el in doomed:
        _drop(el)
    if body_mode:  # unmarked menus: lists that are nearly all links
        for el in [el for el in container.iter("ul", "ol") if _link_density(el) > 0.8
                   and len(el.findall("li")) >= 3]:
            _drop(el)


def _link_density(el: etree._Element) -> float:
    total = len("".join(el.itertext()))
    if not total:
        return 0.0
    links = sum(len("".join(a.itertext())) for a in el.iter("a"))
    return links / total


def _choose_container(root: etree._Element, warnings: list[str]) -> tuple[etree._Element, bool]:
    """The element holding the report: <main>, else <article>, else the cleaned body."""
    for path in ("//main", "//*[@role='main']", "//*[@property='mainContentOfPage']", "//article"):
        found = [el for el in root.xpath(path) if isinstance(el.tag, str)]
        if found:
            best = max(found, key=_text_len) if len(found) > 1 else found[0]
            if any(t.strip() for t in best.itertext()) and not _too_small(best, root):
                return best, False
    body = root.find("body")
    if body is None:
        body = root
    _clean_tree(body, body_mode=True)
    top = _densest(body)
    if top is not None and top is not body:
        inside = _text_len(top)
        total = _text_len(body)
        outside_links = sum(len("".join(a.itertext()).strip()) for a in body.iter("a")) - \
            sum(len("".join(a.itertext()).strip()) for a in top.iter("a"))
        if total - inside > 0 and outside_links / (total - inside) > 0.5:
            warnings.append("no <main> or <article> element: the main content was guessed from text density")
            return top, True
    return body, True


def _too_small(candidate: etree._Element, root: etree._Element) -> bool:
    """A <main>/<article> holding a sliver of the page's text (the report sits elsewhere)."""
    inside = _text_len(candidate)
    if inside >= 1000:
        return False
    body = root.find("body")
    return body is not None and _text_len(body) > max(5000, 10 * inside)


def _densest(body: etree._Element) -> etree._Element | None:
    """Readability's idea: paragraphs vote for their parent (and half for the grandparent)."""
    scores: dict[etree._Element, float] = {}
    for p in body.iter("p", "pre", "td", "li"):
        words = len(" ".join(p.itertext()).split())
        if words < 5:
            continue
        parent = p.getparent()
        if parent is None:
            continue
        scores[parent] = scores.get(parent, 0.0) + words * (1 - _link_density(p))
        grand = parent.getparent()
        if grand is not None:
            scores[grand] = scores.get(grand, 0.0) + words * (1 - _link_density(p)) / 2
    if not scores:
        return None
    return max(scores, key=scores.__getitem__)


# --- walking the content into blocks -----------------------------------------------------


def extract_blocks(root: etree._Element, meta: dict[str, str], warnings: list[str]) -> tuple[list[Block], str | None]:
    """Blocks of the main content, in order, and the page's title."""
    for el in list(root.iter(*JUNK_TAGS)):
        _drop(el)
    container, body_mode = _choose_container(root, warnings)
    if not body_mode:
        _clean_tree(container, body_mode=False)
    blocks = _Walker().walk(container)
    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    if title is None:
        h1 = root.find(".//h1")
        title = _clean(" ".join(h1.itertext())) if h1 is not None else None
        title = title or _site_title(meta)
        if title:
            blocks.insert(0, Block("heading", title, 1, level=1))
    return blocks, title or None


def _site_title(meta: dict[str, str]) -> str | None:
    """<title> without the site name ("Evaluation of X - Canada.ca" → "Evaluation of X")."""
    title = meta.get("html_title") or meta.get("og:title") or meta.get("dcterms.title")
    if not title:
        return None
    parts = TITLE_SPLIT_RE.split(title)
    site = (meta.get("og:site_name") or "").lower()
    while len(parts) > 1 and (DOMAIN_RE.match(parts[-1]) or parts[-1].lower() == site):
        parts.pop()
    return " - ".join(parts).strip() or title


def _clean(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").replace(BR, " ").split())


def _kind_for(tag: str, parent: tuple[str, int | None]) -> tuple[str, int | None]:
    if tag in HEADINGS:
        return "heading", HEADINGS[tag]
    if tag == "li":
        return "list_item", None
    if tag in ("figcaption", "caption"):
        return "caption", None
    if tag == "dt":
        return "term", None
    if tag == "dd":
        return "definition", None
    if tag in ("ul", "ol", "dl", "menu", "table", "html", "body"):
        return "paragraph", None
    if parent[0] in ("list_item", "caption", "heading", "term", "definition"):
        return parent
    return "paragraph", None


class _Walker:
    """One pass over the tree (start/end events), turning text runs into blocks."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.kinds: list[tuple[str, int | None]] = [("paragraph", None)]
        self.buf: list[str] = []
        self.row: list[str] | None = None
        self.row_el: etree._Element | None = None
        self.cell: list[str] | None = None
        self.data_tables: dict[etree._Element, bool] = {}
        self.term: str | None = None  # a <dt> waiting for its <dd> ("Footnote 3", an acronym)

    def walk(self, container: etree._Element) -> list[Block]:
        for event, el in etree.iterwalk(container, events=("start", "end")):
            tag = el.tag if isinstance(el.tag, str) else None
            if event == "start":
                if tag is not None:
                    self._start(el, tag)
            else:
                if tag is not None:
                    self._end(el, tag)
                if el is not container:
                    self._add(el.tail)
        self._flush()
        self._term_alone()
        return self.blocks

    def _term_alone(self) -> None:
        if self.term:
            self.blocks.append(Block("paragraph", self.term, 1))
        self.term = None

    def _add(self, text: str | None) -> None:
        """Source text: its line breaks are just spaces (only <br> and blocks break lines)."""
        if text:
            self._put(text.replace("\n", " ").replace("\r", " "))

    def _put(self, text: str) -> None:
        if self.cell is not None:
            self.cell.append(text)
        elif self.row is None:
            self.buf.append(text)

    def _start(self, el: etree._Element, tag: str) -> None:
        if tag == "br":
            return
        if self.row is not None:
            if tag in ("td", "th") and el.getparent() is self.row_el:
                self.cell = []
            elif tag in BLOCK_TAGS:
                self._put(BR)
            self._add(el.text)
            return
        if tag == "tr" and self._data_row(el):
            self._flush()
            self.row, self.row_el = [], el
            return
        if tag in BLOCK_TAGS:
            self._flush()
            kind = _kind_for(tag, self.kinds[-1])
            if tag == "li":  # nesting depth, so sub-points are not counted as items of their own
                kind = ("list_item", 1 + sum(1 for _ in el.iterancestors("li")))
            self.kinds.append(kind)
        self._add(el.text)

    def _end(self, el: etree._Element, tag: str) -> None:
        if tag == "br":
            self._put(BR)
        elif self.row is not None:
            if el is self.row_el:
                cells = self.row
                self.row, self.row_el, self.cell = None, None, None
                if any(cells):
                    self.blocks.append(Block("table_row", " | ".join(cells), 1, cells=cells))
            elif tag in ("td", "th") and el.getparent() is self.row_el and self.cell is not None:
                self.row.append(_lines("".join(self.cell), " "))
                self.cell = None
            elif tag in BLOCK_TAGS:
                self._put(BR)
        elif tag in BLOCK_TAGS:
            self._flush()
            if len(self.kinds) > 1:
                self.kinds.pop()

    def _data_row(self, tr: etree._Element) -> bool:
        """A row of a data table, not of a table used for page layout."""
        table = next(tr.iterancestors("table"), None)
        if table is None:
            return True
        known = self.data_tables.get(table)
        if known is None:
            known = (table.get("role") or "").lower() != "presentation" and not any(
                True for _ in table.iter("h1", "h2", "h3", "h4", "table") if _ is not table)
            self.data_tables[table] = known
        return known

    def _flush(self) -> None:
        if not self.buf:
            return
        raw = "".join(self.buf)
        self.buf = []
        if not raw.strip():
            return
        kind, level = self.kinds[-1]
        if kind == "term":
            text = _clean(raw)
            if text:
                self._term_alone()
                self.term = text
            return
        if kind == "definition" and self.term:
            raw = self.term + ("" if self.term.endswith(":") else ":") + " " + raw.lstrip()
            self.term = None
            kind = "paragraph"
        elif kind == "definition":
            kind = "paragraph"
        else:
            self._term_alone()
        if kind == "heading":
            text = _clean(raw)
            if text:
                self.blocks.append(Block("heading", text, 1, level=level))
            return
        # two line breaks in a row separate paragraphs, as they look on screen
        for part in re.split(BR + r"[ \t\f\v\xa0]*" + BR, raw) if BR in raw else (raw,):
            text = _lines(part, "\n")
            if text:
                self.blocks.append(Block(kind, text, 1, level=level if kind == "list_item" else None))


def _lines(text: str, sep: str) -> str:
    """Collapse whitespace within lines; keep the line breaks that <br> made (joined by `sep`)."""
    if BR not in text:
        return _clean(text)
    return sep.join(line for line in (_clean(x) for x in text.split(BR)) if line)
