"""The workspace a reviewer spends a day in, in a real headless Chromium: a whole report coded with
the keyboard alone and no page load (timed: under 60 s for 20 items), "accept all", the queue
least sure first, trigger words and polarity inline; the document beside the screening decision,
a criterion's passage scrolled to and highlighted, protocol terms toggled; a PDF's page shown as
an image with the passage boxed.

Screenshots go to tests/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from project_fixtures import pdf_review
from test_web_browser import shot
from web_helpers import LiveServer, copy_project

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The target of issue 14: a reviewer codes a 20-item report with the keyboard alone in under 60 s.
KEYBOARD_SECONDS = 60.0


@pytest.fixture(scope="module")
def server(corpus_or_none: Path | None, tmp_path_factory):
    """The single-user workspace over the prepared review (the example reports without the corpus)."""
    from whatworks.web.app import create_app

    project = copy_project(corpus_or_none, tmp_path_factory.mktemp("ws") / "review")
    app = create_app(project)
    with LiveServer(app) as live:
        live.app = app
        yield live
    app.state.review.close()


def page_of(browser, server):  # noqa: F811 - the fixture's value
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return context, page


def reports(server) -> list[tuple[str, int]]:
    with server.app.state.review.connection() as review:
        return review.coding_reports()


def test_a_report_coded_with_the_keyboard_alone(browser, server):
    from whatworks.team import local_user

    sha, n = max(reports(server), key=lambda r: r[1])
    assert n >= 20, "the prepared review needs a report with 20 items"
    ctx, page = page_of(browser, server)
    page.goto(f"{server.url}/code?sha={sha}")
    page.evaluate("window.__sameDocument = 1")  # gone if the page ever reloads

    # least sure first; polarity and the coder's trigger words shown on the item, not in a tooltip
    unsure = [float(u) for u in page.locator(".item-card[data-uncertainty]").evaluate_all(
        "cs => cs.map(c => c.dataset.uncertainty)")]
    assert len(unsure) >= 20 and unsure == sorted(unsure, reverse=True)
    first = page.locator(".item-card").first
    assert "focused" in first.get_attribute("class")
    assert page.locator(".item-card .pol").count() >= 10
    assert page.locator(".item-card mark.trigger").count() >= 10
    assert page.locator(".item-card .why .words").count() >= 10
    # the document beside: the focused item's passage is highlighted and in view in the pane
    assert page.locator("#pane mark.passage.current").count() >= 1
    shot(page, "ws-01-coding-keyboard")

    cards = page.locator(".item-card").evaluate_all("cs => cs.map(c => Number(c.dataset.idx))")
    page.keyboard.press("j")
    assert page.locator(".item-card.focused").get_attribute("data-idx") == str(cards[1])
    page.keyboard.press("k")
    assert page.locator(".item-card.focused").get_attribute("data-idx") == str(cards[0])

    expected: dict[int, set[str]] = {}
    start = time.perf_counter()
    for k, idx in enumerate(cards):
        card = page.locator(f"#item-{idx}")
        ticked = set(card.locator("input[name=theme]").evaluate_all(
            "bs => bs.filter(b => b.checked).map(b => b.value)"))
        boxes = card.locator("input[name=theme]").evaluate_all("bs => bs.map(b => b.value)")
        if k % 3 == 1 and boxes:  # untick (or tick) the first theme with its number key
            page.keyboard.press("1")
            ticked ^= {boxes[0]}
        if k % 4 == 2:  # a theme the machine did not suggest, found by typing part of its name
            page.keyboard.press("/")
            options = page.locator("#finder-list li")
            option = options.nth(k % options.count())
            page.keyboard.type(option.get_attribute("data-label")[:14])
            chosen = page.locator("#finder-list li.active").get_attribute("data-id")
            page.keyboard.press("Enter")
            ticked.add(chosen)
        page.keyboard.press("Enter")  # save what is ticked, go on to the next item
        expected[idx] = ticked
    page.wait_for_function("n => document.getElementById('report-count').textContent === n", arg=f"{n}/{n}",
                           timeout=30_000)
    seconds = time.perf_counter() - start
    print(f"\nkeyboard coding: {n} items in {seconds:.1f} s ({seconds / n * 1000:.0f} ms an item)")
    assert seconds < KEYBOARD_SECONDS
    assert page.evaluate("window.__sameDocument") == 1  # not one page load
    assert page.locator(".item-card.is-coded").count() == n
    assert page.locator(".item-card.failed").count() == 0
    shot(page, "ws-02-coded")

    with server.app.state.review.connection() as review:
        items = {it["idx"]: it for it in review.coding_items(sha, local_user())}
    for idx, themes in expected.items():
        assert items[idx]["mine"] is not None and set(items[idx]["mine"]["themes"]) == themes, idx
    assert page.errors == []
    ctx.close()


def test_accept_every_suggestion_of_a_report(browser, server):
    from whatworks.team import local_user

    sha, n = sorted(reports(server), key=lambda r: r[1])[len(reports(server)) // 2]
    ctx, page = page_of(browser, server)
    page.goto(f"{server.url}/code?sha={sha}&order=document")
    page.evaluate("window.__sameDocument = 1")
    page.locator(".item-card").first.locator("button[name=accept]").click()  # one by the mouse
    page.wait_for_selector("#item-0.is-coded, .item-card.is-coded")
    page.keyboard.press("Shift+A")
    page.wait_for_selector("text=coded with the machine's suggestions")
    assert page.locator(".item-card.is-coded").count() == n
    assert page.locator("#report-count").inner_text() == f"{n}/{n}"
    assert page.evaluate("window.__sameDocument") == 1
    with server.app.state.review.connection() as review:
        for it in review.coding_items(sha, local_user()):
            assert sorted(it["mine"]["themes"]) == review.machine_themes(sha, it["idx"])
    assert page.errors == []
    ctx.close()


def _in_view(page, selector: str) -> bool:
    return page.evaluate("""s => { const m = document.querySelector(s), b = document.getElementById('pane-body');
        const r = m.getBoundingClientRect(), p = b.getBoundingClientRect();
        return r.top >= p.top && r.bottom <= p.bottom; }""", selector)


def test_screening_shows_the_passage_behind_a_criterion(browser, server):
    sha = reports(server)[0][0]
    ctx, page = page_of(browser, server)
    page.goto(f"{server.url}/screen?sha={sha}")
    # the document sits beside the decision; summary first, the criteria in view with it
    assert page.locator(".doc-side #pane-body .pane-page").count() >= 1
    side = page.locator("#decide-side")
    assert side.evaluate("e => getComputedStyle(e).position") == "sticky"
    assert page.locator("#decide-side .verdict").bounding_box()["y"] < page.locator(".criteria-card").bounding_box()["y"]
    crits = page.locator(".crit.has-passage")
    assert crits.count() >= 3
    last = crits.nth(crits.count() - 1)  # far down the document: the pane must scroll to it
    ref = last.get_attribute("data-ref")
    last.click()
    mark = f"#pane-body mark.passage.current[data-refs~='{ref}']"
    page.wait_for_selector(mark)
    assert _in_view(page, mark)
    assert "shown" in last.get_attribute("class")
    shot(page, "ws-03-screening-passage")

    # protocol terms in two colours, and a key to hide them
    term = page.locator("#pane-body mark.term-inclusion").first
    green = term.evaluate("e => getComputedStyle(e).backgroundColor")
    assert green not in ("rgba(0, 0, 0, 0)", "transparent")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("t")
    assert "no-terms" in page.locator("#pane").get_attribute("class")
    assert term.evaluate("e => getComputedStyle(e).backgroundColor") in ("rgba(0, 0, 0, 0)", "transparent")
    page.reload()  # the choice is remembered
    assert "no-terms" in page.locator("#pane").get_attribute("class")
    page.keyboard.press("t")
    assert "no-terms" not in page.locator("#pane").get_attribute("class")

    # the criteria's passages one after another from the keyboard
    first_ref = crits.first.get_attribute("data-ref")
    page.keyboard.press("c")  # none shown since the reload: the first
    page.wait_for_selector(f"#pane-body mark.passage.current[data-refs~='{first_ref}']")
    assert _in_view(page, f"#pane-body mark.passage.current[data-refs~='{first_ref}']")
    page.keyboard.press("c")
    second = crits.nth(1).get_attribute("data-ref")
    assert "shown" in crits.nth(1).get_attribute("class")
    assert page.locator(f"#pane-body mark.passage.current[data-refs~='{second}']").count() >= 1
    page.keyboard.press("Shift+C")
    assert "shown" in crits.first.get_attribute("class")

    # keyboard screening still works beside the document
    page.keyboard.press("i")
    page.wait_for_selector("text=Decision saved.")
    assert page.errors == []
    ctx.close()


@pytest.fixture(scope="module")
def pdf_server(tmp_path_factory):
    """A review of one PDF report (from the project's own fixtures), screened."""
    from whatworks.web.app import create_app

    root, sha = pdf_review(tmp_path_factory.mktemp("pdf") / "review", screen=True)
    app = create_app(root)
    with LiveServer(app) as live:
        live.app = app
        live.sha = sha
        live.root = root
        yield live
    app.state.review.close()


def test_a_pdf_page_with_the_passage_boxed(browser, pdf_server):
    ctx, page = page_of(browser, pdf_server)
    page.goto(f"{pdf_server.url}/screen?sha={pdf_server.sha}")
    crit = page.locator(".crit.has-passage").first
    page.keyboard.press("v")  # the pages as images
    assert page.locator("#pane-images").is_visible()
    crit.click()
    target = crit.get_attribute("data-page")
    page.wait_for_selector(f".pdfpage[data-page='{target}'] .hl")
    holder = page.locator(f".pdfpage[data-page='{target}']")
    page.wait_for_function("s => document.querySelector(s).naturalWidth > 0", arg=f".pdfpage[data-page='{target}'] img")
    img, box = holder.locator("img").bounding_box(), holder.locator(".hl").first.bounding_box()
    assert img["x"] <= box["x"] < box["x"] + box["width"] <= img["x"] + img["width"] + 1
    assert img["y"] <= box["y"] < box["y"] + box["height"] <= img["y"] + img["height"] + 1
    shot(page, "ws-04-pdf-page")
    assert list((pdf_server.root / "cache" / "pages").rglob(f"{pdf_server.sha}-{target}-*.png"))  # kept
    assert page.errors == []
    ctx.close()
