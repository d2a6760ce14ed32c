"""PDF reading: structure, reading order, running headers, headings, bad files, OCR.

Small PDFs are written by hand here (Helvetica, exact positions) so that layout can be
asserted exactly; the real corpus PDFs are read once per session.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from project_fixtures import unseen, unseen_labels

from whatworks.errors import ReadError
from whatworks.read import read_document
from whatworks.read.pdf import read_pdf

# --- a tiny PDF writer -------------------------------------------------------------------

W, H = 595, 842


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[tuple]], info: dict | None = None,
             outline: list[tuple[str, int]] | None = None) -> bytes:
    """pages: lists of (x, top, size, text) or (x, top, size, text, "bold"); top = baseline from the top.
    ("rule", x0, top0, x1, top1) strokes a 0.5 pt line (a table border)."""
    objs: list[bytes] = []

    def add(body: str | bytes) -> int:
        objs.append(body.encode("latin-1") if isinstance(body, str) else body)
        return len(objs)

    catalog = add("")  # filled in below
    pages_id = add("")
    regular = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    bold = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    page_ids = []
    for items in pages:
        ops = []
        for item in items:
            if item[0] == "rule":
                _, x0, t0, x1, t1 = item
                ops.append(f"0.5 w {x0} {H - t0} m {x1} {H - t1} l S")
                continue
            x, top, size, text = item[:4]
            font = "F2" if len(item) > 4 and item[4] == "bold" else "F1"
            ops.append(f"BT /{font} {size} Tf {x} {H - top} Td ({_esc(text)}) Tj ET")
        stream = "\n".join(ops).encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page_ids.append(add(f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {W} {H}] /Contents {content} 0 R "
                            f"/Resources << /Font << /F1 {regular} 0 R /F2 {bold} 0 R >> >> >>"))
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objs[pages_id - 1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()
    extra = ""
    if outline:
        root = add("")
        items = [add(f"<< /Title ({_esc(t)}) /Parent {root} 0 R /Dest [{page_ids[p]} 0 R /XYZ 0 {H} 0] >>")
                 for t, p in outline]
        for i, item in enumerate(items):
            links = (f" /Prev {items[i - 1]} 0 R" if i else "") + (f" /Next {items[i + 1]} 0 R" if i + 1 < len(items) else "")
            objs[item - 1] = objs[item - 1][:-2] + links.encode() + b" >>"
        objs[root - 1] = f"<< /Type /Outlines /First {items[0]} 0 R /Last {items[-1]} 0 R /Count {len(items)} >>".encode()
        extra = f" /Outlines {root} 0 R"
    objs[catalog - 1] = f"<< /Type /Catalog /Pages {pages_id} 0 R{extra} >>".encode()
    info_id = add("<< " + " ".join(f"/{k} ({_esc(v)})" for k, v in info.items()) + " >>") if info else None
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    trailer = f"trailer\n<< /Size {len(objs) + 1} /Root {catalog} 0 R"
    trailer += f" /Info {info_id} 0 R >>" if info_id else " >>"
    out.write(trailer.encode() + b"\nstartxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


LOREM = ("the programme reached most of its targets while partners reported that the support arrived late "
         "in several districts and that the follow up visits were too short to matter much").split()


def prose(x: float, top: float, n: int, words_per_line: int = 7, start: int = 0, step: float = 14) -> list[tuple]:
    lines = []
    for i in range(n):
        k = (start + i * words_per_line) % len(LOREM)
        words = (LOREM * 2)[k : k + words_per_line]
        lines.append((x, top + i * step, 11, " ".join(words)))
    return lines


# --- generated PDFs ----------------------------------------------------------------------


@pytest.mark.parametrize("drawn", ["by column", "by row"])
def test_two_columns_read_left_then_right(tmp_path, drawn):
    # Baselines of both columns coincide: the hard case for telling columns from table rows.
    # "by row": the PDF draws left line 1, right line 1, left line 2… with a 16 pt gutter.
    page = [(72, 80, 20, "Two Column Brief", "bold")]
    left = [(72, 130 + i * 14, 11, f"Left {i} " + " ".join(LOREM[i : i + 5])) for i in range(10)]
    right = [(288, 130 + i * 14, 11, f"Right {i} " + " ".join(LOREM[i + 3 : i + 8])) for i in range(10)]
    page += left + right if drawn == "by column" else [x for pair in zip(left, right, strict=True) for x in pair]
    page += [(72, 330, 14, "Full Width Section heading running across both of the columns", "bold")]
    page += [(72, 360 + i * 14, 11, f"Lower left {i} " + " ".join(LOREM[i : i + 4])) for i in range(6)]
    page += [(320, 360 + i * 14, 11, f"Lower right {i} " + " ".join(LOREM[i : i + 4])) for i in range(6)]
    doc = read_pdf(write(tmp_path, "cols.pdf", make_pdf([page])), "x")
    text = doc.text
    order = [m.group(0) for m in re.finditer(r"(Lower left|Lower right|Left|Right) \d", text)]
    expected = ([f"Left {i}" for i in range(10)] + [f"Right {i}" for i in range(10)]
                + [f"Lower left {i}" for i in range(6)] + [f"Lower right {i}" for i in range(6)])
    assert order == expected
    assert text.index("Two Column Brief") < text.index("Left 0") < text.index("Full Width Section") < text.index("Lower left 0")
    heads = [(h["text"], h["level"]) for h in doc.outline()]
    assert heads[0] == ("Two Column Brief", 1)
    assert ("Full Width Section heading running across both of the columns", 2) in heads


def _report_pages(n: int = 5) -> list[list[tuple]]:
    pages = []
    for p in range(1, n + 1):
        items: list[tuple] = [
            (72, 40, 8, "Evaluation of the Social Protection Programme"),  # running header
            (290, 810, 9, str(p + 2)),  # printed page number, offset from the physical page
        ]
        if p == 1:
            items += [(72, 100, 22, "Final Evaluation Report", "bold"),
                      (72, 160, 16, "1. INTRODUCTION", "bold")]
            items += prose(72, 190, 6)
            items += [(72, 290, 13, "1.1 Scope of the work", "bold")]
            items += prose(72, 315, 5, start=3)
        elif p == 2:
            items += [(72, 100, 16, "2. FINDINGS", "bold"),
                      (72, 130, 11, "Finding 2.", "bold"), (128, 130, 11, "The programme was relevant to the needs of"),
                      (72, 144, 11, "households and its design matched the national strategy for social"),
                      (72, 158, 11, "protection, although the targeting was imple-"),
                      (72, 172, 11, "mented late and the community-"),
                      (72, 186, 11, "based committees met rarely during the implementation period."),
                      (72, 220, 11, "A community-based approach and a sound implementation plan matter.")]
            items += prose(72, 250, 8)
        else:
            items += prose(72, 100, 20, start=p)
        items += [(72, 600, 9, "Table 1: Coverage by region", "bold"),
                  (72, 625, 10, "Region"), (250, 625, 10, "Households"), (400, 625, 10, "Share"),
                  (72, 640, 10, "North"), (250, 640, 10, "1200"), (400, 640, 10, "40%"),
                  (72, 655, 10, "South"), (250, 655, 10, "1800"), (400, 655, 10, "60%")]
        pages.append(items)
    return pages


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(make_pdf(_report_pages(), info={"Title": "Microsoft Word - report_final_v3.docx",
                                                     "Author": "Evaluation Office",
                                                     "CreationDate": "D:20230524155222+03'00'"},
                              outline=[("Scope of the work", 0), ("A chapter that is not printed", 1)]))
    return read_document(path)


def test_structure_kinds_and_geometry(report):
    assert len(report.pages) == 5
    kinds = {b.kind for b in report.blocks}
    assert {"heading", "paragraph", "table_row", "caption", "header", "footer"} <= kinds
    for page in report.pages:
        assert page.width == W and page.height == H
        for b in page.blocks:
            x0, top, x1, bottom = b.bbox
            assert 0 <= x0 < x1 <= W and 0 <= top < bottom <= H
            assert b.font_size and b.page == page.number
    first = report.pages[0].blocks
    title = next(b for b in first if b.text == "Final Evaluation Report")
    assert title.kind == "heading" and title.bold and title.font_size == 22
    assert 78 < title.bbox[1] < 90 and 100 < title.bbox[3] < 108  # baseline at 100 pt from the top


def test_running_header_footer_and_labels(report):
    body = [b for b in report.blocks if b.kind not in ("header", "footer")]
    assert not any("Evaluation of the Social Protection Programme" in b.text for b in body)
    headers = [b for b in report.blocks if b.kind == "header"]
    footers = [b for b in report.blocks if b.kind == "footer"]
    assert len(headers) == 5 and len(footers) == 5
    assert [p.label for p in report.pages] == ["3", "4", "5", "6", "7"]
    for page in report.pages:  # header first, footer last: never inside the body text
        assert page.blocks[0].kind == "header" and page.blocks[-1].kind == "footer"


def test_headings_levels_and_bold_leads(report):
    outline = [(h["text"], h["level"], h["page"]) for h in report.outline()]
    assert ("1. INTRODUCTION", 1, 1) in outline
    assert ("2. FINDINGS", 1, 2) in outline
    assert ("1.1 Scope of the work", 2, 1) in outline
    finding = next(b for b in report.blocks if b.text.startswith("Finding 2."))
    assert finding.kind == "paragraph"  # a bold lead, not a heading
    assert "relevant to the needs of households" in finding.text
    assert not any("not printed" in b.text for b in report.blocks)  # unmatched bookmarks invent nothing


def test_hyphenation_and_tables(report):
    finding = next(b for b in report.blocks if b.text.startswith("Finding 2."))
    assert "targeting was implemented late" in finding.text  # "implemented" is a word elsewhere
    assert "the community-based committees" in finding.text  # "community-based" is written so elsewhere
    rows = [b for b in report.pages[0].blocks if b.kind == "table_row"]
    assert [r.cells for r in rows] == [["Region", "Households", "Share"], ["North", "1200", "40%"],
                                       ["South", "1800", "60%"]]
    caption = next(b for b in report.pages[0].blocks if b.kind == "caption")
    assert caption.text == "Table 1: Coverage by region"


def test_title_and_metadata(report):
    assert report.title == "Final Evaluation Report"  # the Info title is a Word file name
    assert report.meta["Author"] == "Evaluation Office"
    assert report.meta["CreationDate"] == "2023-05-24T15:52:22+03:00"
    assert report.meta["PageCount"] == 5
    assert report.language == "en"


def test_outline_marks_a_plain_line_as_heading(tmp_path):
    page = prose(72, 100, 4) + [(72, 170, 11, "Scope of the work")] + prose(72, 190, 4, start=5)
    doc = read_pdf(write(tmp_path, "o.pdf", make_pdf([page], outline=[("Scope of the work", 0)])), "x")
    heading = [b for b in doc.blocks if b.kind == "heading"]
    assert [(h.text, h.level) for h in heading] == [("Scope of the work", 1)]


def _ruled_table_page() -> list[tuple]:
    """Prose, a ruled three-column table whose cells wrap (baselines differ between columns:
    the case the column cut used to read column by column), then prose again."""
    page = prose(72, 100, 4)
    page += [("rule", 66, 180, 520, 180), ("rule", 66, 202, 520, 202), ("rule", 66, 252, 520, 252),
             ("rule", 66, 288, 520, 288)]
    page += [("rule", x, 180, x, 288) for x in (66, 244, 394, 520)]
    page += [(72, 194, 10, "Recommendation", "bold"), (250, 194, 10, "Response", "bold"),
             (400, 194, 10, "Deadline", "bold")]
    page += [(72, 216, 10, "Strengthen the referral"), (72, 229, 10, "system with clear roles"),
             (72, 242, 10, "for each partner."),
             (250, 216, 10, "Accepted: a referral"), (250, 229, 10, "guide is drafted."),
             (400, 223, 10, "2025")]
    page += [(72, 266, 10, "Fund the community"), (72, 279, 10, "projects for longer."),
             (250, 272, 10, "Partially accepted."), (400, 266, 10, "Mid-2026")]
    page += prose(72, 320, 4, start=9)
    return page


def test_ruled_table_rows_keep_wrapped_cells_together(tmp_path):
    doc = read_pdf(write(tmp_path, "ruled.pdf", make_pdf([_ruled_table_page()])), "x")
    rows = [b for b in doc.blocks if b.kind == "table_row"]
    assert [r.cells for r in rows] == [
        ["Recommendation", "Response", "Deadline"],
        ["Strengthen the referral system with clear roles for each partner.", "Accepted: a referral guide is drafted.",
         "2025"],
        ["Fund the community projects for longer.", "Partially accepted.", "Mid-2026"],
    ]
    assert rows[0].bold and rows[1].text.startswith("Strengthen the referral system") and " | 2025" in rows[1].text
    assert not doc.headings()  # a bold header cell is never a heading
    kinds = [b.kind for b in doc.blocks]
    assert kinds == ["paragraph", "table_row", "table_row", "table_row", "paragraph"]  # the table in its place
    x0, top, x1, bottom = rows[1].bbox
    assert 66 <= x0 and x1 <= 520 and 202 <= top and bottom <= 252


def test_unruled_table_rows_join_wrapped_cells_and_headings_run_together(tmp_path):
    page = prose(72, 100, 5)
    page += [(72, 200, 10, "ABBREVIATION", "bold"), (160, 200, 10, "FULL TERM", "bold"),  # one fragment
             (72, 222, 10, "AU"), (160, 222, 10, "African Union"),
             (72, 244, 10, "GIZ"), (160, 244, 10, "German Corporation for International Cooperation (Deutsche"),
             (160, 256, 10, "Gesellschaft für Internationale Zusammenarbeit)"),
             (72, 278, 10, "IOM"), (160, 278, 10, "International Organization for Migration")]
    page += prose(72, 320, 3, start=4)
    doc = read_pdf(write(tmp_path, "plain.pdf", make_pdf([page])), "x")
    rows = [b.cells for b in doc.blocks if b.kind == "table_row"]
    assert rows == [["ABBREVIATION", "FULL TERM"], ["AU", "African Union"],
                    ["GIZ", "German Corporation for International Cooperation (Deutsche Gesellschaft für "
                            "Internationale Zusammenarbeit)"],
                    ["IOM", "International Organization for Migration"]]
    assert not doc.headings()


def test_bullet_and_text_is_a_list_item_not_a_table_row(tmp_path):
    page = prose(72, 100, 4)
    page += [(90, 170, 11, "o"), (110, 170, 11, "Des chefs de l'Unite de Gouvernance"),
             (90, 184, 11, "o"), (110, 184, 11, "Du chef de l'Unite au sein du PNUD")]
    doc = read_pdf(write(tmp_path, "bullets.pdf", make_pdf([page])), "x")
    items = [b.text for b in doc.blocks if b.kind == "list_item"]
    assert items == ["o Des chefs de l'Unite de Gouvernance", "o Du chef de l'Unite au sein du PNUD"]


@pytest.mark.parametrize(("left", "right", "vocab", "expected"), [
    ("capacity", "building", {"capacity"}, "capacity-building"),  # "building" never seen alone: still a word
    ("multi", "country", {"country"}, "multi-country"),
    ("mid", "term", set(), "mid-term"),
    ("follow", "up", set(), "follow-up"),
    ("mi", "parcours", set(), "mi-parcours"),
    ("imple", "mented", set(), "implemented"),  # a fragment, not a word
    ("re", "integration", {"integration"}, "reintegration"),  # "re-" is not kept: it starts plain words
    ("co", "me", {"me"}, "come"),
    ("re", "engagement", {"engagement"}, "re-engagement"),  # a prefix meeting its own vowel
    ("capacity", "building", {"capacity", "capacitybuilding"}, "capacitybuilding"),  # the document's spelling
    ("Horn", "Africa", set(), "Horn-Africa"),
])
def test_line_end_hyphens(left, right, vocab, expected):
    from whatworks.read.pdf_blocks import dehyphen

    assert dehyphen(left, right, vocab) == expected


def test_layout_vocabulary_comes_from_the_data_file():
    from whatworks import vocab
    from whatworks.read import pdf_vocab

    data = vocab.load("pdf_layout")
    assert {"encadré", "gráfico", "tabela"} <= set(data.terms("caption"))
    assert pdf_vocab.CAPTION_RE.match("Encadré 2 : Les leçons")
    assert pdf_vocab.CAPTION_RE.match("Gráfico 3 – Cobertura")
    assert not pdf_vocab.CAPTION_RE.match("Tables are useful")
    assert pdf_vocab.ITEM_LEAD_RE.match("Recomendación 2: fortalecer")
    assert pdf_vocab.PAGE_NUMBER_RE.match("página 3 de 40")
    assert "capacity-building" in pdf_vocab.HYPHEN_COMPOUNDS and "multi" in pdf_vocab.HYPHEN_PREFIXES


# --- bad files ---------------------------------------------------------------------------


def test_encrypted_pdf(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf([prose(72, 100, 5)])))
    writer.encrypt("secret", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(ReadError) as e:
        read_document(write(tmp_path, "locked.pdf", buf.getvalue()))
    assert e.value.code == "encrypted"
    assert "locked.pdf" in str(e.value) and "qpdf --decrypt" in e.value.fix


def test_truncated_pdf(tmp_path, corpus_or_none):
    """The first half of a real PDF (the corpus's first, else an unseen fixture's)."""
    if corpus_or_none is not None:
        real = next(corpus_or_none.rglob("*.pdf")).read_bytes()
    else:
        real = next(p for p in unseen() if p.suffix == ".pdf").read_bytes()
    path = write(tmp_path, "half.pdf", real[: len(real) // 2])
    with pytest.raises(ReadError) as e:
        read_document(path)
    assert e.value.code == "corrupt"
    assert "truncated" in e.value.message and e.value.fix


def _scan(tmp_path: Path) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1654, 2339), 255)  # A4 at 200 dpi, no text layer
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=56)
    for i, line in enumerate(["Evaluation of the water programme", "The project improved access to",
                              "clean water in rural districts."]):
        draw.text((160, 300 + i * 110), line, fill=0, font=font)
    path = tmp_path / "scan.pdf"
    image.save(path, "PDF", resolution=200)
    return path


def test_scanned_pdf_without_tesseract_says_how_to_fix(tmp_path, monkeypatch):
    path = _scan(tmp_path)
    monkeypatch.setenv("WHATWORKS_OCR", "off")  # as if Tesseract were not installed
    with pytest.raises(ReadError) as e:
        read_pdf(path, "x")
    assert e.value.code == "scanned"
    assert "no text layer" in e.value.message and "tesseract-ocr" in e.value.fix


def test_scanned_pdf_is_ocred_when_tesseract_is_installed(tmp_path):
    from whatworks.read import ocr

    path = _scan(tmp_path)
    if ocr.tesseract() is None:
        with pytest.raises(ReadError) as e:
            read_pdf(path, "x")
        assert e.value.code == "scanned" and "apt-get install tesseract-ocr" in e.value.fix
        return
    doc = read_document(path)
    assert doc.ocr
    text = doc.text.lower()
    assert "water programme" in text and "rural districts" in text
    assert all(b.bbox and b.page == 1 for b in doc.blocks)


# --- the real corpus -------------------------------------------------------------------------

AAP = "iom/6c3c2cf3fa479112967612b0baddab72/AAP Evaluation Report_final_.pdf"
FINAL = "iom/49d2fba781b6a7c0d94577479636ee6f/Final Evaluation Report Final_Olta NDOJA.pdf"
BRIEF = "iom/49d2fba781b6a7c0d94577479636ee6f/Evaluation Learning Brief_Final_Olta NDOJA.pdf"


def _read_all(paths: list[Path], root: Path) -> dict:
    out = {}
    for path in paths:
        try:
            out[str(path.relative_to(root))] = read_document(path)
        except ReadError as e:
            out[str(path.relative_to(root))] = e
    return out


@pytest.fixture(scope="session")
def any_pdfs(corpus_or_none):
    """Every corpus PDF read once (relative path → Document or the ReadError it raised); without the
    corpus, every PDF of the unseen fixtures (by file name)."""
    if corpus_or_none is not None:
        return _read_all(sorted(corpus_or_none.rglob("*.pdf")), corpus_or_none)
    pdfs = [p for p in unseen() if p.suffix == ".pdf"]
    return _read_all(pdfs, pdfs[0].parent)


@pytest.fixture(scope="session")
def corpus_pdfs(corpus, any_pdfs):
    """Every corpus PDF (skipped without the corpus)."""
    return any_pdfs


def test_every_corpus_pdf_reads(any_pdfs, corpus_or_none):
    assert len(any_pdfs) >= (13 if corpus_or_none is not None else 8)
    errors = {k: str(v) for k, v in any_pdfs.items() if isinstance(v, ReadError)}
    assert not errors
    for doc in any_pdfs.values():
        assert len(doc.text) > 2000 and doc.headings()


def test_corpus_languages(any_pdfs, corpus_or_none):
    if corpus_or_none is None:  # the unseen fixtures' labels say each one's language (EN, FR, PT)
        labels = unseen_labels()
        assert {doc.language for doc in any_pdfs.values()} >= {"en", "fr", "pt"}
        assert {name: doc.language for name, doc in any_pdfs.items()} == \
            {name: labels[name]["language"] for name in any_pdfs}
        return
    for name, doc in any_pdfs.items():
        if name.startswith("iom/8faa"):
            assert doc.language == "fr", name
        elif "livslängd" in name:
            assert doc.language == "sv", name
        elif name.startswith("iom/"):
            assert doc.language == "en", name


def test_aap_report_headings(corpus_pdfs):
    doc = corpus_pdfs[AAP]
    outline = {(h["text"], h["page"]): h["level"] for h in doc.outline()}
    for text, page in [("EXECUTIVE SUMMARY", 6), ("2. EVALUATION FINDINGS", 16), ("3. CONCLUSIONS", 34),
                       ("4. RECOMMENDATIONS", 37), ("1. BACKGROUND", 9)]:
        assert outline.get((text, page)) == 1, text
    assert outline.get(("Relevance", 16)) == 2
    assert doc.title == "Evaluation of IOM Accountability to Affected Populations"
    # Bold "Finding 1.1." callouts stay paragraphs.
    finding = next(b for b in doc.blocks if b.text.startswith("Finding 1.1."))
    assert finding.kind == "paragraph" and finding.page == 16 and finding.text.endswith("framework.")


def test_final_report_has_no_running_text_in_body(corpus_pdfs):
    doc = corpus_pdfs[FINAL]
    assert len(doc.pages) == 142
    running = "Final Evaluation for EU-IOM Joint Initiative for Migrant Protection and Reintegration in the Horn of Africa"
    headers = [b for b in doc.blocks if b.kind == "header"]
    assert len([b for b in headers if b.text == running]) >= 130
    for page in doc.pages:
        for b in page.blocks:
            if b.kind not in ("header", "footer"):
                assert running not in b.text, (b.page, b.text[:80])
                in_margin = b.bbox[1] > 0.9 * page.height or b.bbox[3] < 0.1 * page.height
                assert not (in_margin and b.text.strip() == page.label), (b.page, b.text)
    labels = {p.number: p.label for p in doc.pages}
    assert labels[30] == "30" and labels[100] == "100"


def test_learning_brief_reading_order(corpus_pdfs):
    doc = corpus_pdfs[BRIEF]
    text = doc.pages[0].blocks
    paras = [b.text for b in text]
    def at(prefix: str) -> int:
        return next(i for i, t in enumerate(paras) if t.startswith(prefix))
    # Left column, top to bottom, then the right column.
    assert at("PROJECT SUMMARY") < at("In 2016, the EU and IOM") < at("Structural/system level") \
        < at("Evaluation purpose") < at("Additionally, the project") < at("The Psychosocial dimension")
    assert any("the implementation of development-focused and sustainable reintegration policies" in t for t in paras)
    right = doc.pages[1].blocks
    recs = [b for b in right if b.kind == "list_item"]
    assert len(recs) == 7 and recs[0].text.startswith("1. Enhance efforts")


HOA_MRM = "iom/49d2fba781b6a7c0d94577479636ee6f/HoA EU JI Final Eval - Management Response Matrix - Final.pdf"
FR_MRM = "iom/8faad6edb0414cfc8f35415a93726e36/CS1137-CS1138_Management Response Plan_Javier SANCHEZ MARTI.pdf"
AAP_BRIEF = "iom/6c3c2cf3fa479112967612b0baddab72/AAP_EN_Evaluation Brief_final_0.pdf"


def _rows(doc, page: int) -> list[list[str]]:
    return [b.cells for b in doc.pages[page - 1].blocks if b.kind == "table_row"]


def test_management_response_matrix_reads_row_by_row(corpus_pdfs):
    doc = corpus_pdfs[HOA_MRM]
    page2 = _rows(doc, 2)
    assert page2[0] == ["Evaluation recommendation 1: Enhance efforts with national, regional, and local stakeholders "
                        "to build capacity and ownership (while continuing provision of funding)."]
    assert page2[3] == ["Key action", "Time frame or deadline", "Responsible individual or unit(s)",
                        "Implementation monitoring Comments or action taken", "Implementation monitoring Status"]
    # A key action, its deadline and who does it: one row, cells left to right, each cell's lines joined.
    assert page2[4][:3] == ["This recommendation will be considered during the development of any relevant future "
                            "project or programme in the Horn of Africa.", "Continuous effort over the next five years",
                            "RO Nairobi, PXD RTS, RSU."]
    assert page2[5] == ["Engage meaningfully with the relevant stakeholders of the MPRR programme, while operating "
                        "within the constraints of a reduced budget for capacity building.",
                        "Continuous effort over the next two years",
                        "MPRR Country Offices with the support of the MPRR Central Management Team", "", ""]
    page3 = _rows(doc, 3)
    assert page3[0][0].startswith("Evaluation recommendation 2: Strengthen community-based reintegration efforts")
    assert page3[4][:4] == [
        "Define an area-based programming framework in the EHoA region inclusive of strategic guidelines for CBR "
        "(objectives, priority areas of interventions, target population and type of activities), building also on "
        "the results of the Community-based Planning framework pilot implemented in Ethiopia by the COMPASS "
        "programme.", "Continuous effort over the next five years", "PXD RTS and other relevant RTSs",
        "Conditional on the reception of dedicated funding."]
    # Bold cells ("Management response …", the column headings) are table text, never headings.
    assert [h.text for h in doc.headings()] == ["Management Response Matrix"]
    for page in doc.pages[1:]:
        body = [b for b in page.blocks if b.kind not in ("header", "footer")]
        assert body and all(b.kind == "table_row" for b in body), page.number


def test_french_management_response_plan_reads_row_by_row(corpus_pdfs):
    doc = corpus_pdfs[FR_MRM]
    rows = _rows(doc, 2)
    assert ["Evaluation recommendation # 3: (Time 0) Dans le cadre des projets inter-agences, les agences des "
            "Nations-Unies devraient renforcer l’intégration opérationnelle entre agences : Mettre en place des outils "
            "de coordination conjointe dès le démarrage (planification partagée, suivi intégré, comités de "
            "coordination) pour éviter les fonctionnements parallèles. Ceci doit être fait dès le démarrage du "
            "projet."] in rows
    response = next(r[0] for r in rows if r[0].startswith("Management response – accept (Time 1)"))
    assert "Key actions: (Time 1) 1. Mettre en place des outils de coordination conjointe entre agences" in response
    assert "2. Créer un comité de coordination inter-agences" in response  # the whole cell, list and all
    first = _rows(doc, 1)
    assert first[0][0].startswith("Evaluation recommandation # 1: (Time 0) : Le PNUD et l’OIM")
    assert first[0][0].endswith("avant toute phase de conception future.")
    assert all(h.page == 1 for h in doc.headings())  # nothing inside the table is a heading


def test_abbreviation_table_rows_keep_wrapped_definitions(corpus_pdfs):
    rows = _rows(corpus_pdfs[FINAL], 6)
    assert rows[0] == ["ABBREVATION", "FULL TERM"]
    assert ["GIZ", "German Corporation for International Cooperation (Deutsche Gesellschaft für Internationale "
                   "Zusammenarbeit)"] in rows


def test_short_brief_keeps_compound_hyphens(corpus_pdfs):
    text = corpus_pdfs[AAP_BRIEF].text
    assert "update capacity-building material" in text and "capacitybuilding" not in text
