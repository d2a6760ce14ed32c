"""Plain text and Markdown → Document.

Text files come from everywhere (PDF extractions, e-mails, old systems), so the
encoding is found, not assumed: BOM, then UTF-8, then charset-normalizer; if nothing
decodes into plausible text we say so instead of reading mojibake. Form feeds and
Markdown page markers ("--- Page 3 ---", "<!-- page 3 -->") give page numbers, so a
quote can still be traced to its page.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from pathlib import Path

from whatworks.errors import ReadError
from whatworks.model import Block, Document, Page

log = logging.getLogger(__name__)

BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
#: Encodings preferred when charset-normalizer finds several equally plausible.
PREFERRED = ("utf_8", "cp1252", "latin_1")
#: Share of unprintable characters above which a decoding is not believed.
MAX_JUNK = 0.02

# --- decoding ----------------------------------------------------------------------------


def decode_bytes(data: bytes, warnings: list[str] | None = None) -> tuple[str, str]:
    """(text, encoding) of `data`; ReadError("encoding") when no encoding gives plausible text."""
    warnings = warnings if warnings is not None else []
    for bom, name in BOMS:
        if data.startswith(bom):
            try:
                return _checked(data[len(bom):].decode(name.replace("-sig", "")), name), name
            except UnicodeDecodeError:
                break  # a BOM followed by something else: guess below
    utf16 = looks_utf16(data[:8192])
    if utf16:
        try:
            return _checked(data.decode(utf16), utf16), utf16
        except UnicodeDecodeError:
            pass
    try:
        return _checked(data.decode("utf-8"), "utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    results = from_bytes(data)
    best = results.best()
    if best is not None:
        # Ties are common among single-byte code pages; the reports we read (EN/FR/ES/PT) were
        # far more often written in Windows-1252 than in its Central European or Baltic cousins.
        tied = [r.encoding for r in results if r.chaos <= best.chaos + 0.005]
        for preferred in PREFERRED:
            if preferred in tied and preferred != best.encoding:
                best = next(r for r in results if r.encoding == preferred)
                break
        text = str(best)
        _checked(text, best.encoding)
        if best.encoding not in ("ascii", "utf_8"):
            warnings.append(f"the file is not UTF-8; read as {best.encoding}")
        return text, best.encoding
    raise _encoding_error()


def looks_utf16(head: bytes) -> str | None:
    """The codec of text saved as UTF-16 without a byte-order mark (every other byte NUL), else None."""
    if len(head) < 64:
        return None
    even, odd = head[::2], head[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _encoding_error(detail: str = "") -> ReadError:
    return ReadError("encoding",
                     "could not tell the text encoding of the file: no encoding turns its bytes into "
                     f"readable text{detail}",
                     "open it in an editor and save it as UTF-8 (or export the report to PDF)")


def _checked(text: str, encoding: str) -> str:
    """`text` unless it is mostly control or unassigned characters (a wrong decoding or binary)."""
    sample = text[:200_000]
    if not sample:
        return text
    junk = sum(1 for c in sample if unicodedata.category(c) in ("Cc", "Co", "Cn", "Cs") and c not in "\t\n\r\f\v")
    junk += sample.count("\ufffd")
    if junk > len(sample) * MAX_JUNK:
        raise _encoding_error(f" ({encoding} gives {junk} unreadable characters)")
    return text


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text.lstrip("\ufeff")


# --- plain text --------------------------------------------------------------------------

BULLET_RE = re.compile(r"^\s*(?:[-*+•●▪◦‣■□–]|\d{1,3}[.)]|[a-zA-Z][.)]|\(\w{1,4}\))\s+\S")
GLYPHS = "►▶■●◆❖▪"
GLYPH_HEADING_RE = re.compile(r"^[►▶■●◆❖▪]\s*(\S.*)$")
NUMBERED_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4}|[IVXLC]{1,6}|[A-Z])[.)]?\s+(\S.*)$")
UNDERLINE_RE = re.compile(r"^\s*(=+|-+)\s*$")
END_PUNCT = ".,;:"


def heading_level(line: str) -> tuple[int, str] | None:
    """(level, text) when a lone short line looks like a heading in a plain text report."""
    if len(line) > 160:
        return None
    s = " ".join(line.split())
    if not s or len(s) > 120 or s[-1] in END_PUNCT and s[0] not in GLYPHS:
        return None
    words = s.count(" ") + 1
    if words > 14:
        return None
    if s[0] in GLYPHS:
        glyph = GLYPH_HEADING_RE.match(s)
        if glyph and glyph.group(1)[-1] not in END_PUNCT and words <= 13:
            return 2, glyph.group(1)
        return None
    numbered = NUMBERED_RE.match(s)
    if numbered:
        rest = numbered.group(2)
        if rest[0].isupper():
            number = numbered.group(1)
            level = number.count(".") + 1 if number[0].isdigit() else 1
            return min(level, 6), s
        return None
    if words <= 10 and s.upper() == s and sum(c.isalpha() for c in s) >= 3:
        return 1, s
    return None


def text_document(data: bytes, source: str, sha256: str) -> Document:
    """The Document for plain text bytes (the file-free half of `read_text`)."""
    warnings: list[str] = []
    text, encoding = decode_bytes(data, warnings)
    text = _normalise(text)
    pages = []
    for number, page_text in enumerate(text.split("\f"), start=1):
        pages.append(Page(number=number, blocks=_text_blocks(page_text, number)))
    while len(pages) > 1 and not pages[-1].blocks:  # a trailing form feed is not a page
        pages.pop()
    blocks = [b for p in pages for b in p.blocks]
    title = None
    first = next((b for b in blocks if len(b.text) > 3), None)
    if first is not None and first.kind == "heading":
        title = first.text
    return Document(source=source, sha256=sha256, format="text", pages=pages, title=title, warnings=warnings,
                    meta={"encoding": encoding})


def read_text(path: Path, sha256: str) -> Document:
    """Read a plain text file: form feeds are page breaks, blank lines end paragraphs."""
    return text_document(Path(path).read_bytes(), str(path), sha256)


def _text_blocks(text: str, page: int) -> list[Block]:
    blocks: list[Block] = []
    for chunk in re.split(r"\n[ \t\v\xa0]*\n", text):
        lines = [line.rstrip() for line in chunk.split("\n") if line.strip()]
        if not lines:
            continue
        # "Title" followed by a ==== or ---- underline
        if len(lines) >= 2 and UNDERLINE_RE.match(lines[1]) and len(lines[0]) <= 120:
            level = 1 if lines[1].strip()[0] == "=" else 2
            blocks.append(Block("heading", " ".join(lines[0].split()), page, level=level))
            lines = lines[2:]
        elif UNDERLINE_RE.match(lines[0]) and len(lines[0].strip()) >= 3:
            lines = lines[1:]  # a horizontal rule
        if not lines:
            continue
        found = heading_level(lines[0])
        if found and (len(lines) == 1 or len(lines[1]) > len(lines[0])):
            blocks.append(Block("heading", found[1], page, level=found[0]))
            lines = lines[1:]
        _lines_to_blocks(lines, page, blocks)
    return blocks


def _lines_to_blocks(lines: list[str], page: int, blocks: list[Block]) -> None:
    """Paragraph lines are unwrapped; a bullet or number at a line start begins a list item."""
    current: list[str] = []
    kind = "paragraph"
    for line in lines:
        if BULLET_RE.match(line):
            _emit(blocks, kind, current, page)
            current, kind = [line.strip()], "list_item"
        else:
            current.append(line.strip())
    _emit(blocks, kind, current, page)


def _emit(blocks: list[Block], kind: str, lines: list[str], page: int) -> None:
    text = " ".join(" ".join(lines).split())
    if text:
        blocks.append(Block(kind, text, page))


# --- Markdown ----------------------------------------------------------------------------

FRONT_RE = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n", re.DOTALL)
PAGE_MARK_RE = re.compile(
    r"^\s*(?:-{3,}\s*page\s+(\d{1,6})\s*-{3,}|<!--\s*page(?:\s*[:#]?\s*|\s+)(\d{1,6})\s*-->|"
    r"\\?\[\s*page\s+(\d{1,6})\s*\\?\])\s*$",
    re.IGNORECASE,
)
ATX_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
HR_RE = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
LIST_RE = re.compile(r"^(\s*)([-*+•]|\d{1,9}[.)])[ \t]+(.*)$")
TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
QUOTE_RE = re.compile(r"^ {0,3}>[ \t]?")
COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)

_INLINE = (
    (re.compile(r"<br\s*/?>", re.IGNORECASE), "\n"),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # inline HTML tags
    (re.compile(r"`+([^`]+?)`+"), r"\1"),  # code spans
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?!\*)"), r"\1"),  # emphasis
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    (re.compile(r"\\([!-/:-@\[-`{-~])"), r"\1"),  # backslash escapes: US\$ → US$
)


def inline_text(text: str) -> str:
    """Markdown inline markup → the text a reader sees."""
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    return html.unescape(text)


def _clean(text: str) -> str:
    return " ".join(text.split())


def read_markdown(path: Path, sha256: str) -> Document:
    """Read a Markdown file: headings with levels, lists, pipe tables, page markers."""
    return markdown_document(Path(path).read_bytes(), str(path), sha256)


def markdown_document(data: bytes, source: str, sha256: str) -> Document:
    """The Document for Markdown bytes (the file-free half of `read_markdown`)."""
    warnings: list[str] = []
    text, encoding = decode_bytes(data, warnings)
    text = _normalise(text)
    meta: dict = {"encoding": encoding}
    front = FRONT_RE.match(text)
    if front and all(":" in line or not line.strip() for line in front.group(1).splitlines()[:50]):
        for line in front.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip() and value.strip():
                meta[key.strip()] = value.strip().strip("\"'")
        text = text[front.end():]
    parser = _MarkdownParser()
    parser.parse(text)
    pages = [Page(number=n, blocks=parser.pages[n]) for n in sorted(parser.pages)]
    if not pages:
        pages = [Page(number=1)]
    blocks = [b for p in pages for b in p.blocks]
    title = meta.get("title") or None
    if title is None and blocks and blocks[0].kind == "heading" and blocks[0].level == 1:
        title = blocks[0].text
    if "page_count" in meta and str(meta["page_count"]).isdigit():
        meta["page_count"] = int(meta["page_count"])
    return Document(source=source, sha256=sha256, format="markdown", pages=pages, title=title,
                    warnings=warnings, meta=meta)


class _MarkdownParser:
    """A line-based reader of the Markdown that converters write (CommonMark blocks + GFM tables)."""

    def __init__(self) -> None:
        self.pages: dict[int, list[Block]] = {}
        self.page = 1
        self.offset: int | None = None  # 1 when the markers count from 0
        self.para: list[str] = []
        self.item: list[str] | None = None

    def emit(self, kind: str, text: str, level: int | None = None, cells: list[str] | None = None) -> None:
        text = text.strip()
        if text:
            self.pages.setdefault(self.page, []).append(Block(kind, text, self.page, level=level, cells=cells))

    def flush(self) -> None:
        if self.para:
            self.emit("paragraph", _clean_lines(inline_text(" ".join(self.para))))
            self.para = []
        if self.item is not None:
            self.emit("list_item", _clean_lines(inline_text(" ".join(self.item))))
            self.item = None

    def new_page(self, number: int | None) -> None:
        self.flush()
        if number is None:
            self.page += 1
            return
        if self.offset is None:
            self.offset = 1 if number == 0 else 0
        self.page = max(1, number + self.offset)

    def parse(self, text: str) -> None:
        text = COMMENT_RE.sub(lambda m: m.group(0) if PAGE_MARK_RE.match(m.group(0)) else "", text)
        lines = text.replace("\f", "\n\f\n").split("\n")
        i, n = 0, len(lines)
        while i < n:
            line = lines[i]
            if line == "\f":  # a form feed: page break
                self.new_page(None)
                i += 1
                continue
            stripped = line.strip()
            mark = PAGE_MARK_RE.match(line)
            if mark:
                self.new_page(int(next(g for g in mark.groups() if g is not None)))
                i += 1
                continue
            if not stripped:
                self.flush()
                i += 1
                continue
            fence = FENCE_RE.match(line)
            if fence:
                self.flush()
                j = i + 1
                while j < n and not lines[j].strip().startswith(fence.group(1)):
                    j += 1
                code = "\n".join(lines[i + 1:j])
                self.emit("paragraph", code)
                i = j + 1
                continue
            atx = ATX_RE.match(line)
            if atx:
                self.flush()
                self.emit("heading", _clean(inline_text(atx.group(2) or "")), level=len(atx.group(1)))
                i += 1
                continue
            setext = SETEXT_RE.match(line)
            if setext and self.para and self.item is None:
                heading = _clean(inline_text(" ".join(self.para)))
                self.para = []
                self.emit("heading", heading, level=1 if setext.group(1)[0] == "=" else 2)
                i += 1
                continue
            if HR_RE.match(line):
                self.flush()
                i += 1
                continue
            if "|" in line and (stripped.startswith("|") or (i + 1 < n and TABLE_SEP_RE.match(lines[i + 1])
                                                             and "-" in lines[i + 1])):
                self.flush()
                while i < n and "|" in lines[i] and lines[i].strip() and not PAGE_MARK_RE.match(lines[i]):
                    row = lines[i]
                    if not (TABLE_SEP_RE.match(row) and "-" in row):
                        cells = [_clean_lines(inline_text(c)) for c in _split_row(row)]
                        if any(cells):
                            self.emit("table_row", " | ".join(cells), cells=cells)
                    i += 1
                continue
            quote = QUOTE_RE.match(line)
            if quote:
                line = line[quote.end():]
                stripped = line.strip()
                if not stripped:
                    self.flush()
                    i += 1
                    continue
            item = LIST_RE.match(line)
            if item:
                self.flush()
                marker = item.group(2)
                body = item.group(3)
                self.item = [f"{marker} {body}" if marker[0].isdigit() else body]
                i += 1
                continue
            if self.item is not None:
                self.item.append(stripped)  # continuation of the list item (indented or lazy)
            else:
                self.para.append(stripped)
            i += 1
        self.flush()


def _split_row(row: str) -> list[str]:
    """Cells of a pipe-table row; escaped pipes (\\|) stay in the cell."""
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    cells = re.split(r"(?<!\\)\|", row)
    return [c.replace("\\|", "|").strip() for c in cells]


def _clean_lines(text: str) -> str:
    """Collapse spaces within lines; keep the line breaks that <br> made."""
    return "\n".join(line for line in (_clean(x) for x in text.split("\n")) if line)
