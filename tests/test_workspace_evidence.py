"""Evidence in context and coding without reloads, below the browser: where passages, trigger words
and protocol terms are found in a text (whatworks.passages), the coding page's order and inline
evidence, the JSON routes app.js calls, and a PDF's page images and passage boxes.
The browser flows are in test_workspace_browser.py."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from project_fixtures import pdf_review, unseen
from web_helpers import CSRF, copy_project

from whatworks import passages
from whatworks.model import Block, Document, Page
from whatworks.protocol import load_protocol

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from whatworks.team import local_user  # noqa: E402
from whatworks.web.app import create_app  # noqa: E402

LOCAL = "http://127.0.0.1"
PROTOCOLS = Path(passages.__file__).parent / "data" / "protocols"


# --- where things are in a text -----------------------------------------------------------------

def test_a_passage_is_found_whatever_its_spacing_case_and_hyphens():
    text = "Intro. The pro-\ngramme was  highly Relevant to national priorities, said the team."
    a, z = passages.find_passage(text, "the programme was highly relevant to national priorities")
    assert text[a:z] == "The pro-\ngramme was  highly Relevant to national priorities"
    assert passages.find_passage(text, "something that is not in the text at all, anywhere") is None


def test_a_passage_cut_short_is_found_by_its_head_and_only_as_far_as_it_agrees():
    text = "Contents: recommendations.\nRecommendation 1: Explore approaches to improve eligibility. Then more."
    quote = "Recommendation 1: Explore approaches to improve eligibility and access for parents"
    a, z = passages.find_passage(text, quote)
    assert text[a:z] == "Recommendation 1: Explore approaches to improve eligibility"
    # a short head ("recommendation") is no evidence of where a passage is
    assert passages.find_passage("Summary of key findings and recommendations", quote) is None


def test_trigger_words_are_found_from_the_coders_stems_and_function_words_left_out():
    text = "Tripartite national dialogue from the start built ownership of the reform."
    spans = passages.trigger_spans(text, "en", ["tripartit", "dialogu", "from", "of the", "the start", "ownership"])
    assert [text[a:z] for a, z in spans] == ["Tripartite", "dialogue", "start", "ownership"]


def test_protocol_terms_are_marked_for_or_against_a_report():
    marker = passages.protocol_terms(load_protocol(PROTOCOLS / "canada-social-security.yaml"))
    inclusion = {lang: pats for lang, pats in marker.patterns.items() if any(k == "inclusion" for _, k in pats)}
    assert inclusion and any(k == "exclusion" for pats in marker.patterns.values() for _, k in pats)
    # a term that argues against a report in this protocol, and one that argues for it
    against = next(p for pats in load_protocol(PROTOCOLS / "canada-social-security.yaml").terms["out_of_scope"]["en"]
                   for p in [pats] if "*" not in p)
    text = f"This is about Employment Insurance benefits and about {against}."
    kinds = {text[a:z].lower(): k for a, z, k in marker.spans(text, "en")}
    assert kinds.get(against.lower()) == "exclusion", kinds
    assert "inclusion" in kinds.values()


def test_segments_carry_every_mark_over_them():
    out = passages.segments("abcdef", [passages.Span(1, 4, "passage", "crit-I1"), passages.Span(2, 5, "term-inclusion")])
    assert [(s.text, s.css, s.refs) for s in out] == [
        ("a", [], []), ("b", ["passage"], ["crit-I1"]), ("cd", ["passage", "term-inclusion"], ["crit-I1"]),
        ("e", ["term-inclusion"], []), ("f", [], [])]
    assert "".join(s.text for s in out) == "abcdef"


def test_a_passage_over_several_blocks_is_marked_in_each():
    blocks = [Block("paragraph", "Contents and other words.", 1), Block("paragraph", "Finding 2. The pension", 2),
              Block("paragraph", "pilot extended coverage.", 2), Block("paragraph", "Unrelated text follows.", 2)]
    doc = Document("r.txt", "0" * 64, "text", [Page(1, [blocks[0]]), Page(2, blocks[1:])], language="en")
    marked = passages.mark_document(doc, {"item-2": (2, "Finding 2. The pension pilot extended coverage.")})
    assert marked.found == {"item-2": 2}
    spans = [(b.index, "".join(s.text for s in b.segments if "passage" in s.css)) for _, bs in marked.pages for b in bs]
    assert spans == [(0, ""), (1, "Finding 2. The pension"), (2, "pilot extended coverage."), (3, "")]


# --- the coding page and its routes --------------------------------------------------------------

@pytest.fixture()
def app(corpus_or_none: Path | None, tmp_path: Path):
    app = create_app(copy_project(corpus_or_none, tmp_path / "review"))
    yield app
    app.state.review.close()


@pytest.fixture()
def client(app):
    with TestClient(app, base_url=LOCAL) as c:
        yield c


def _report(app) -> tuple[str, int]:
    with app.state.review.connection() as review:
        return max(review.coding_reports(), key=lambda r: r[1])


def test_the_coding_page_puts_the_least_sure_first_with_the_evidence_inline(app, client):
    sha, n = _report(app)
    html = client.get(f"/code?sha={sha}").text
    unsure = [float(u) for u in re.findall(r'data-uncertainty="([0-9.]+)"', html)]
    assert len(unsure) == n and unsure == sorted(unsure, reverse=True)
    assert html.count('class="pill pol pol-') >= n // 2  # the polarity, on the item
    assert '<mark class="trigger">' in html and 'class="words"' in html  # the words behind a theme, inline
    assert 'id="pane"' in html and 'data-refs="item-' in html  # the report beside, the items' passages marked
    in_order = client.get(f"/code?sha={sha}&order=document").text
    idx = [int(i) for i in re.findall(r'class="card item-card[^"]*" id="item-(\d+)"', in_order)]
    assert idx == sorted(idx)


def test_the_queue_serves_the_report_the_coder_is_least_sure_of(app, client):
    with app.state.review.connection() as review:
        worst = {sha: max((s["uncertainty"] or 0.0 for s in review.coding_states(sha).values()), default=None)
                 for sha, _ in review.coding_reports()}
    ranked = sorted((sha for sha in worst if worst[sha] is not None), key=lambda sha: -worst[sha])
    assert len(ranked) >= 2 and worst[ranked[0]] > worst[ranked[1]]
    html = client.get("/code").text
    assert f'id="items" data-sha="{ranked[0]}"' in html and f'href="/code?sha={ranked[1]}&amp;order=uncertain" data-key="n"' in html
    token = CSRF.search(html).group(1)
    client.post(f"/coding/{ranked[0]}/accept", data={"csrf": token})  # done with it: the next comes first
    assert f'id="items" data-sha="{ranked[1]}"' in client.get("/code").text


def test_an_item_saved_without_a_reload(app, client):
    sha, n = _report(app)
    page = client.get(f"/code?sha={sha}&order=document").text
    token = CSRF.search(page).group(1)
    with app.state.review.connection() as review:
        a, b = [i for i in range(n) if review.machine_themes(sha, i)][:2]  # items the machine suggests themes for
        machine = review.machine_themes(sha, a)
    r = client.post(f"/coding/{sha}/item/{a}", data={"csrf": token, "accept": "1"})
    assert r.status_code == 200
    data = r.json()
    assert data["mine"] == 1 and data["n_items"] == n and data["done"] == 1
    assert data["html"].startswith("<div class=\"card item-card is-coded\"") and "coded by you" in data["html"]
    r = client.post(f"/coding/{sha}/item/{b}", data={"csrf": token, "theme": [machine[0]]})
    assert r.json()["mine"] == 2
    with app.state.review.connection() as review:
        items = {it["idx"]: it for it in review.coding_items(sha, local_user())}
    assert sorted(items[a]["mine"]["themes"]) == machine and items[b]["mine"]["themes"] == [machine[0]]
    # no token, no item, no theme: refused, nothing written
    c = next(i for i in range(n) if i not in (a, b))
    assert client.post(f"/coding/{sha}/item/{c}", data={"theme": [machine[0]]}).status_code == 403
    assert client.post(f"/coding/{sha}/item/{n + 5}", data={"csrf": token}).status_code == 404
    assert client.post(f"/coding/{sha}/item/x", data={"csrf": token}).status_code == 404
    assert client.post(f"/coding/{sha}/item/{c}", data={"csrf": token, "theme": ["no_such_theme"]}).status_code == 422
    with app.state.review.connection() as review:
        assert review.coded_counts(local_user(), [sha])[sha] == 2


def test_accept_all_keeps_what_the_reviewer_decided(app, client):
    sha, n = _report(app)
    token = CSRF.search(client.get(f"/code?sha={sha}").text).group(1)
    client.post(f"/coding/{sha}/item/0", data={"csrf": token})  # item 0: no theme, on purpose
    r = client.post(f"/coding/{sha}/accept", data={"csrf": token})
    assert r.status_code == 200 and r.json()["accepted"] == n - 1 and r.json()["mine"] == n
    with app.state.review.connection() as review:
        for it in review.coding_items(sha, local_user()):
            want = [] if it["idx"] == 0 else review.machine_themes(sha, it["idx"])
            assert sorted(it["mine"]["themes"]) == want
        assert sum(1 for a in review.audit(limit=500) if a["action"] == "code") == n + 0
    assert client.post(f"/coding/{sha}/accept", data={"csrf": token}).json()["accepted"] == 0


def test_the_screening_page_has_the_document_beside_the_criteria(app, client):
    sha, _ = _report(app)
    html = client.get(f"/screen?sha={sha}").text
    assert html.index('id="pane"') < html.index('id="decide-side"')
    assert html.index('class="verdict"') < html.index('class="card criteria-card"')  # the summary first
    refs = set(re.findall(r'data-ref="(crit-[^"]+)"', html))
    assert refs and all(f'data-refs="{r}' in html or f' {r}"' in html or f" {r} " in html for r in refs)
    assert '<mark class="term-inclusion">' in html


# --- a PDF's pages ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pdf_app(tmp_path_factory):
    root, sha = pdf_review(tmp_path_factory.mktemp("pdf") / "review")
    app = create_app(root)
    app.sha = sha
    app.root = root
    yield app
    app.state.review.close()


def test_a_pdf_page_image_is_rendered_once_then_served_from_the_cache(pdf_app):
    with TestClient(pdf_app, base_url=LOCAL) as client:
        r = client.get(f"/doc/{pdf_app.sha}/page/2.png?w=600")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG"
        cached = list((pdf_app.root / "cache" / "pages").rglob(f"{pdf_app.sha}-2-600.png"))
        assert len(cached) == 1
        stamp = cached[0].stat().st_mtime_ns
        assert client.get(f"/doc/{pdf_app.sha}/page/2.png?w=600").content == r.content
        assert cached[0].stat().st_mtime_ns == stamp  # not rendered again
        assert client.get(f"/doc/{pdf_app.sha}/page/99.png").status_code == 404
        assert client.get(f"/doc/{pdf_app.sha}/page/99999999999.png").status_code == 404


def test_a_passage_is_boxed_where_it_sits_on_the_pdf_page(pdf_app):
    with pdf_app.state.review.connection() as review:
        doc = review.document_view(pdf_app.sha).document
    block = max(doc.blocks, key=lambda b: len(b.text))
    with TestClient(pdf_app, base_url=LOCAL) as client:
        boxes = client.get(f"/doc/{pdf_app.sha}/boxes", params={"page": block.page, "q": block.text[:200]}).json()["boxes"]
        assert boxes
        for left, top, right, bottom in boxes:
            assert 0 <= left < right <= 1 and 0 <= top < bottom <= 1
        # the boxes are where the reader put the block (its bbox, in points from the top)
        import pypdfium2

        pdf = pypdfium2.PdfDocument(doc.source)
        h = pdf[block.page - 1].get_height()
        pdf.close()
        x0, y0, x1, y1 = block.bbox
        assert abs(boxes[0][1] * h - y0) < 20 and boxes[-1][3] * h <= y1 + 20
        assert client.get(f"/doc/{pdf_app.sha}/boxes", params={"page": block.page, "q": "words that are not there at all"}
                          ).json()["boxes"] == []


def test_page_images_are_for_pdfs_only(app, client):
    sha, _ = _report(app)
    assert client.get(f"/doc/{sha}/page/1.png").status_code == 404


def test_a_pdf_changed_since_it_was_read_has_no_new_page_images(tmp_path):
    import shutil

    from whatworks.api import Review

    pdf = shutil.copyfile(next(p for p in unseen() if p.name == "ilo_midterm_en_bangladesh.pdf"), tmp_path / "r.pdf")
    with Review.create(tmp_path / "review") as review:
        review.add([pdf], jobs=1)
    sha = hashlib.sha256(pdf.read_bytes()).hexdigest()
    app = create_app(tmp_path / "review")
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get(f"/doc/{sha}/page/1.png").status_code == 200
        with open(pdf, "ab") as f:
            f.write(b"\n% changed\n")
        r = client.get(f"/doc/{sha}/page/2.png")
        assert r.status_code == 404 and "has changed since it was read" in r.text
        assert client.get(f"/doc/{sha}/page/1.png").status_code == 200  # what was rendered from it stays
        pdf.unlink()
        assert "no longer where it was read from" in client.get(f"/doc/{sha}/boxes?page=1&q=evaluation").text
    app.state.review.close()


def test_a_mixed_items_sentences_carry_their_polarity(app, client):
    with app.state.review.connection() as review:
        text = "Coverage rose for women workers. Yet the pension fund ran short of money."
        segs = review.marked_text(text, "en", ["coverag"], [{"sentence": "Coverage rose for women workers.",
                                                              "polarity": "positive"},
                                                             {"sentence": "Yet the pension fund ran short of money.",
                                                              "polarity": "negative"}])
        assert [(s.text, s.css) for s in segs] == [
            ("Coverage", ["trigger", "says-positive"]), (" rose for women workers", ["says-positive"]), (". ", []),
            ("Yet the pension fund ran short of money", ["says-negative"]), (".", [])]
        mixed = [(sha, st) for sha, _ in review.coding_reports() for st in review.coding_states(sha).values()
                 if st["sentences"] and st["polarity"] == "mixed"]
    if mixed:  # as the coding page shows it
        html = client.get(f"/code?sha={mixed[0][0]}").text
        assert {f'says-{s["polarity"]}' for s in mixed[0][1]["sentences"]} - {"says-neutral"} <= set(re.findall(r"says-\w+", html))


def test_the_document_page_of_a_pdf_links_its_page_image(pdf_app):
    with TestClient(pdf_app, base_url=LOCAL) as client:
        html = client.get(f"/doc/{pdf_app.sha}?p=3").text
        assert f'href="/doc/{pdf_app.sha}/page/3.png?w=1400"' in html
        assert client.get(f"/doc/{pdf_app.sha}/page/3.png?w=1400").headers["content-type"] == "image/png"
