"""A team review in a real headless Chromium: two reviewers screen with conflicting decisions
(using the keyboard), the lead resolves a conflict and reveals, kappa shows, items are coded,
the report is exported, and a report that carries <script> stays text.

Screenshots go to tests/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from web_helpers import LiveServer, add_user, copy_project, sample

SHOTS = Path(__file__).parent / "screenshots"
USERS = {"lead": ("lead", "lead-password"), "alice": ("reviewer", "alice-password"),
         "bob": ("reviewer", "bob-password")}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(corpus_or_none: Path | None, tmp_path_factory):
    """The workspace of a team review of the Canada evaluations (the example reports without the corpus)."""
    from whatworks.web.app import create_app

    project = copy_project(corpus_or_none, tmp_path_factory.mktemp("browser") / "review")
    for name, (role, password) in USERS.items():
        add_user(project, name, role, password)
    app = create_app(project, team=True)
    with LiveServer(app) as live:
        live.app = app
        live.project = project
        live.sample = sample(corpus_or_none)
        yield live
    app.state.review.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def session(browser, server, name: str):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/corpus")
    assert "/login" in page.url
    page.fill("#name", name)
    page.fill("#password", USERS[name][1])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/corpus$"))
    page.errors = errors
    return context, page


def current_doc(page) -> str:
    return re.search(r"/screen/([0-9a-f]{64})", page.get_attribute("#decision-form", "action")).group(1)


def test_team_review_in_the_browser(browser, server):
    n = server.sample.documents
    alice_ctx, alice = session(browser, server, "alice")
    shot(alice, "01-corpus")
    assert f"{n} documents" in alice.content()

    # alice screens three documents with the keyboard: i, m, then e with a reason
    alice.goto(server.url + "/screen")
    shot(alice, "02-screening-queue")
    first = current_doc(alice)
    alice.keyboard.press("i")
    alice.wait_for_selector("text=Decision saved.")
    second = current_doc(alice)
    assert second != first
    alice.keyboard.press("m")
    alice.wait_for_selector("text=Decision saved.")
    third = current_doc(alice)
    alice.keyboard.press("e")  # no reason yet: the page asks for one instead of sending
    assert alice.evaluate("document.activeElement.id") == "reason"
    assert current_doc(alice) == third
    alice.keyboard.type("a departmental plan, not an evaluation")
    alice.keyboard.press("Control+Enter")
    alice.wait_for_selector("text=Decision saved.")
    assert f"3 of {n} decided by you" in alice.content()

    # bob disagrees on the first two
    bob_ctx, bob = session(browser, server, "bob")
    for decision in ("exclude", "include", "exclude"):
        bob.goto(server.url + "/screen")
        bob.fill("#reason", f"bob: {decision}")
        bob.click(f"button[value={decision}]")
        bob.wait_for_selector("text=Decision saved.")
    bob.goto(server.url + f"/screen?sha={first}")
    assert "hidden until the lead reveals" in bob.content()  # blind screening
    assert "alice" not in bob.inner_text("main")
    shot(bob, "03-blind-reviewer")

    # the lead sees the conflicts and resolves one
    lead_ctx, lead = session(browser, server, "lead")
    lead.goto(server.url + "/screen/conflicts")
    shot(lead, "04-conflicts")
    row = lead.locator(f"#c-{first[:12]}")
    assert "between reviewers" in row.inner_text()
    row.locator("select[name=decision]").select_option("include")
    row.locator("input[name=reason]").fill("in scope: a social security programme")
    row.locator("button[type=submit]").click()
    lead.wait_for_selector("text=Conflict resolved")
    assert lead.locator(f"#c-{first[:12]}").count() == 0
    shot(lead, "05-conflict-resolved")

    # reveal, then kappa shows for the pair and against the machine
    lead.goto(server.url + "/team")
    lead.locator("form[action='/reveal/screening'] button").click()
    lead.wait_for_selector("text=Decisions revealed")
    lead.goto(server.url + "/agreement")
    pair = lead.locator(".pair[data-stage=screening][data-a=alice][data-b=bob]")
    assert pair.count() == 1
    text = pair.inner_text()
    assert "κ =" in text and "raw agreement 33% (1 of 3)" in text
    assert lead.locator(".pair[data-stage=screening][data-b=machine]").count() == 2
    shot(lead, "06-agreement")
    bob.goto(server.url + f"/screen?sha={first}")
    assert "alice" in bob.inner_text("main")  # revealed

    # alice codes items: accepts one suggestion, changes another
    alice.goto(server.url + "/code")
    alice.click(f"nav >> text={server.sample.many_items}")  # a report with many items
    shot(alice, "07-coding")
    cards = alice.locator("form[action^='/code/']")
    assert cards.count() > 0
    first_item = alice.locator(".card[id^=item-]").first
    item_id = first_item.get_attribute("id")
    accept = first_item.locator("button[name=accept]")
    if accept.count():
        accept.click()
    else:
        first_item.locator("button.primary").click()
    alice.wait_for_selector("text=Themes saved")
    assert alice.locator(f"#{item_id} .pill.human").count() == 1
    second_item = alice.locator(".card[id^=item-]").nth(1)
    second_id = second_item.get_attribute("id")
    second_item.locator(".text").click()  # the item in focus; "/" finds a theme by typing, Enter adds it
    alice.keyboard.press("/")
    alice.keyboard.type(alice.locator("#finder-list li").nth(1).get_attribute("data-label"))
    alice.keyboard.press("Enter")
    second_item.locator("button.primary").click()
    alice.wait_for_selector("text=Themes saved")
    assert alice.locator(f"#{second_id} .pill.human").count() == 1
    shot(alice, "08-coded")

    # the lead exports the report and downloads it
    lead.goto(server.url + "/synthesis")
    shot(lead, "09-synthesis")
    lead.locator("button[value=all]").click()
    lead.wait_for_selector("text=Export written")
    links = lead.locator("a[href^='/output/']")
    assert links.count() >= 1
    href = links.first.get_attribute("href")
    response = lead.request.get(server.url + href)
    assert response.status == 200 and len(response.body()) > 0
    shot(lead, "10-exported")

    # the audit trail has who did what
    lead.goto(server.url + "/audit")
    audit = lead.inner_text("main")
    assert "alice" in audit and "bob" in audit and "resolve" in audit and "export" in audit
    shot(lead, "11-audit")

    for p in (alice, bob, lead):
        assert p.errors == [], p.errors
    for ctx in (alice_ctx, bob_ctx, lead_ctx):
        ctx.close()


def test_script_in_a_report_is_not_run(browser, server):
    ctx, page = session(browser, server, "lead")
    with server.app.state.review.connection() as review:
        sha = next(d["sha256"] for d in review.documents() if d["source"].endswith("hostile-report.txt"))
    for url in (f"/doc/{sha}", f"/screen?sha={sha}", "/corpus?q=pension+pilot", "/corpus?sort=title"):
        page.goto(server.url + url)
        assert page.evaluate("window.__pwned") is None, url
        assert page.locator("script:not([src])").count() == 0
    page.goto(server.url + f"/doc/{sha}")
    assert "<script>window.__pwned=3</script>" in page.inner_text("#text")  # shown, as text
    shot(page, "12-hostile-report")
    ctx.close()
