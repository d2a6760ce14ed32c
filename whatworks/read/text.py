"""Plain text and Markdown → Document.

Text files come from everywhere (PDF extractions, e-mails, old systems), so the
encoding is found, not assumed: BOM, then UTF-8, then charset-normalizer; if nothing
decodes into plausible text we say so instead of reading mojibake. Form feeds and
Markdown page markers ("--- Page 3 ---", "<!-- page 3 -->") give page numbers, so a
quote can still be traced to its page. Markdown itself is parsed by markdown-it-py
(CommonMark + GFM tables), after a few repairs for what document converters write.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from functools import lru_cache
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
        return _checked(data.decode("utf-8"), "utf-8", warnings), "utf-8"
    except UnicodeDecodeError:
        pass
    lenient = _mostly_utf8(data, warnings)
    if lenient is not None:
        return lenient, "utf-8"
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


#: Share of unreadable characters above which even a valid UTF-8 file is refused: most of it.
MAX_UNREADABLE = 0.5


def _junk(sample: str) -> int:
    junk = sum(1 for c in sample if unicodedata.category(c) in ("Cc", "Co", "Cn", "Cs") and c not in "\t\n\r\f\v")
    return junk + sample.count("\ufffd")


def _checked(text: str, encoding: str, warnings: list[str] | None = None) -> str:
    """`text` unless it is mostly control or unassigned characters (a wrong decoding or binary).

    A guessed encoding is not believed past a few such characters; valid UTF-8 (given
    `warnings`) is: a report with some garbled characters is read, with a warning that counts
    them, and refused only when most of it is unreadable."""
    sample = text[:200_000]
    if not sample:
        return text
    junk = _junk(sample)
    if warnings is not None:
        if junk > len(sample) * MAX_UNREADABLE:
            raise _unreadable(junk, len(sample))
        if junk:
            warnings.append(f"{junk} character(s) of the file are unreadable (control or replacement "
                            "characters); the rest was read")
        return text
    if junk > len(sample) * MAX_JUNK:
        raise _encoding_error(f" ({encoding} gives {junk} unreadable characters)")
    return text


def _unreadable(bad: int, total: int) -> ReadError:
    return ReadError("encoding", f"most of the file is unreadable: {bad:,} of {total:,} characters are not text "
                     "in UTF-8 or any other encoding",
                     "open it in an editor and save it as UTF-8 (or export the report to PDF)")


def _mostly_utf8(data: bytes, warnings: list[str]) -> str | None:
    """UTF-8 with some undecodable bytes (a file damaged by copying, or a few characters pasted from
    elsewhere): read, with the bytes replaced by "\ufffd" and counted in a warning. None when the
    bytes are not UTF-8 at all (no valid multi-byte character outnumbers the bad bytes: another
    encoding, for charset-normalizer to find)."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    multibyte = sum(1 for c in text if ord(c) > 0x7F) - text.count("\ufffd")
    if bad <= 0 or multibyte < max(bad, 3):
        return None
    if bad > len(text) * MAX_UNREADABLE:
        raise _unreadable(bad, len(text))
    warnings.append(f"{bad} byte(s) of the file are not valid UTF-8 and were replaced by \ufffd; "
                    "the rest was read as UTF-8")
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
COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
#: "• item": converters write it; CommonMark knows only -, * and +.
DOT_BULLET_RE = re.compile(r"^(\s*)[•●▪][ \t]+", re.MULTILINE)
ITEM_RE = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+\S")
TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
DASH_CELL_RE = re.compile(r":?-{2,}:?")
#: A link whose target has spaces, which CommonMark leaves as text: "[Annex 3](Annex 3.docx)".
LOOSE_LINK_RE = re.compile(r"\[([^\]]+)\]\([^)]*\)")

_INLINE = (
    (BR_RE, "\n"),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # HTML tags
)


def inline_text(text: str) -> str:
    """HTML in Markdown (a raw block) → the text a reader sees."""
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


@lru_cache(maxsize=1)
def _markdown():
    """CommonMark with GFM tables and strikethrough (markdown-it-py)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _inline(token) -> str:
    """The text a reader sees in an inline token: links as their text, no images, <br> as a line break."""
    out = []
    for child in token.children or []:
        if child.type == "text":
            out.append(LOOSE_LINK_RE.sub(r"\1", child.content))
        elif child.type == "code_inline":
            out.append(child.content)
        elif child.type == "softbreak":
            out.append(" ")
        elif child.type == "hardbreak" or (child.type == "html_inline" and BR_RE.fullmatch(child.content.strip())):
            out.append("\n")
    return "".join(out)


class _MarkdownParser:
    """Markdown's blocks as Document blocks, page by page (markdown-it-py parses each page).

    Page markers ("--- Page 3 ---", "<!-- page 3 -->", "[page 3]") and form feeds split the
    text into pages before parsing; markers counted from 0 are shifted to start at page 1.
    """

    def __init__(self) -> None:
        self.pages: dict[int, list[Block]] = {}
        self.page = 1
        self.offset: int | None = None  # 1 when the markers count from 0

    def emit(self, kind: str, text: str, level: int | None = None, cells: list[str] | None = None) -> None:
        text = text.strip()
        if text:
            self.pages.setdefault(self.page, []).append(Block(kind, text, self.page, level=level, cells=cells))

    def new_page(self, number: int | None) -> None:
        if number is None:
            self.page += 1
            return
        if self.offset is None:
            self.offset = 1 if number == 0 else 0
        self.page = max(1, number + self.offset)

    def parse(self, text: str) -> None:
        text = COMMENT_RE.sub(lambda m: m.group(0) if PAGE_MARK_RE.match(m.group(0)) else "", text)
        text = DOT_BULLET_RE.sub(r"\1- ", text)
        lines: list[str] = []
        for line in _as_converters_mean(text.replace("\f", "\n\f\n").split("\n")):
            mark = None if line == "\f" else PAGE_MARK_RE.match(line)
            if line == "\f" or mark:
                self.blocks("\n".join(lines))
                lines = []
                self.new_page(int(next(g for g in mark.groups() if g is not None)) if mark else None)
            else:
                lines.append(line)
        self.blocks("\n".join(lines))

    def blocks(self, text: str) -> None:
        """Emit the blocks of one page's Markdown."""
        if not text.strip():
            return
        tokens = _markdown().parse(text)
        lines = text.split("\n")
        items: list[list] = []  # open list items: [number prefix, first paragraph emitted]
        row: list[str] | None = None
        width = 0  # cells the row has in the source (markdown-it pads a short row to the header's)
        for i, tok in enumerate(tokens):
            kind = tok.type
            if kind == "heading_open":
                self.emit("heading", _clean(_inline(tokens[i + 1])), level=int(tok.tag[1]))
            elif kind == "list_item_open":
                items.append([f"{tok.info}{tok.markup} " if tok.info else "", False])
            elif kind == "list_item_close":
                items.pop()
            elif kind == "paragraph_open":
                text = _clean_lines(_inline(tokens[i + 1]))
                if items and not items[-1][1]:
                    items[-1][1] = True
                    self.emit("list_item", items[-1][0] + text)
                else:
                    self.emit("paragraph", text)
            elif kind == "fence":
                self.emit("paragraph", tok.content)
            elif kind == "code_block":
                self.emit("paragraph", _clean(tok.content))
            elif kind == "html_block":
                self.emit("paragraph", _clean_lines(inline_text(tok.content)))
            elif kind == "tr_open":
                row = []
                width = _cells_in(lines[tok.map[0]]) if tok.map else 0
            elif kind == "inline" and row is not None:
                row.append(_clean_lines(_inline(tok)))
            elif kind == "tr_close" and row is not None:
                while len(row) > width and not row[-1]:
                    row.pop()
                if any(row) and not all(DASH_CELL_RE.fullmatch(c) for c in row if c):
                    self.emit("table_row", " | ".join(row), cells=row)
                row = None


def _cells_in(line: str) -> int:
    """How many cells a pipe-table row has as written ("| a |  |" has two)."""
    row = line.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return len(re.split(r"(?<!\\)\|", row))


def _is_row(line: str) -> bool:
    return line.lstrip().startswith("|")


def _as_converters_mean(lines: list[str]) -> list[str]:
    """The Markdown that PDF and Word converters write, made CommonMark where it strays.

    * a table row broken over lines ("| Name | first part" / "second part |") is one row;
    * a table that starts right under another (a header and its "| --- |") is a new table;
    * a list item right under a paragraph line starts a list, whatever its number (CommonMark
      lets only "1." interrupt a paragraph, and converters number from anywhere).
    """
    joined: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_row(line) and not line.rstrip().endswith("|"):
            j = i + 1
            while j < len(lines) and j <= i + 3 and lines[j].strip() and not _is_row(lines[j]):
                if lines[j].rstrip().endswith("|"):
                    line = " ".join([line.rstrip(), *(x.strip() for x in lines[i + 1:j + 1])])
                    i = j
                    break
                j += 1
        joined.append(line)
        i += 1
    out: list[str] = []
    for k, line in enumerate(joined):
        prev = joined[k - 1] if k else ""
        if TABLE_SEP_RE.match(line) and "-" in line and k >= 2 and _is_row(prev) and _is_row(joined[k - 2]):
            out.insert(len(out) - 1, "")  # the header row above begins a new table
        elif ITEM_RE.match(line) and prev.strip() and not ITEM_RE.match(prev) and not prev.startswith((" ", "\t")) \
                and not _is_row(prev):
            out.append("")
        out.append(line)
    return out


def _clean_lines(text: str) -> str:
    """Collapse spaces within lines; keep the line breaks that <br> made."""
    return "\n".join(line for line in (_clean(x) for x in text.split("\n")) if line)
