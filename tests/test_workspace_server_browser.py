"""The server's half of issue 14 in a real headless Chromium: the corpus lists a file that could not
be read and shows a right-to-left override as its code point, the lead settles a contested
correction on the conflicts page, a huge text is read a part at a time, a disabled account is
logged out, a blind reviewer cannot download the lead's export, and the login throttle answers.

Screenshots go to tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from web_helpers import LiveServer, add_user, copy_project, sample

SHOTS = Path(__file__).parent / "screenshots"
USERS = {"lead": ("lead", "lead-password"), "ann": ("reviewer", "ann-password"), "ben": ("reviewer", "ben-password")}
ODD = "annual\u202etxt.exe.txt"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(corpus_or_none: Path | None, tmp_path_factory):
    from whatworks.api import Review
    from whatworks.web.app import create_app

    root = tmp_path_factory.mktemp("server-browser")
    project = copy_project(corpus_or_none, root / "review")
    for name, (role, password) in USERS.items():
        add_user(project, name, role, password)
    more = root / "more"
    more.mkdir()
    (more / ODD).write_text("Evaluation of the pension reform\n\nFindings\n\nThe reform raised coverage.\n",
                            encoding="utf-8")
    (more / "broken.pdf").write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 50)
    paragraph = "The programme extended social protection to informal workers in rural districts. " * 12
    (more / "huge.txt").write_text("Evaluation of a very long report\n\n" +
                                   "\n\n".join(f"{i}. {paragraph}" for i in range(400)), encoding="utf-8")
    with Review.open(project) as r:
        r.add(sorted(more.iterdir()), jobs=1)
    app = create_app(project, team=True)
    with LiveServer(app) as live:
        live.app, live.project, live.sample = app, project, sample(corpus_or_none)
        yield live
    app.state.review.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def log_in(browser, server, name: str):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("#name", name)
    page.fill("#password", USERS[name][1])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/corpus$"))
    return context, page


def shas(server) -> dict[str, str]:
    with server.app.state.review.connection() as r:
        return {Path(d["source"]).name: d["sha256"] for d in r.documents()}


def test_the_server_half_in_the_browser(browser, server):
    from whatworks.team import User

    lead_ctx, lead = log_in(browser, server, "lead")
    # the corpus: the failed file with its error and fix; the odd name as its code point
    lead.goto(server.url + "/corpus?sort=title&dir=desc")
    lead.click("#failed summary")
    assert lead.is_visible("#failed table") and "broken.pdf" in lead.inner_text("#failed")
    body = lead.inner_text("body") + lead.goto(server.url + "/corpus?sort=title").text()
    assert "\u202e" not in body
    lead.goto(server.url + "/corpus?q=pension+reform")
    lead.goto(server.url + f"/doc/{shas(server)[ODD]}")
    assert "annual[U+202E]txt.exe.txt" in lead.inner_text("body")
    shot(lead, "server-odd-name")

    # a contested correction: ann's value stands, ben's is listed; the lead takes ben's
    sha = next(s for n, s in shas(server).items() if n.startswith(server.sample.main))
    with server.app.state.review.connection() as r:
        r.correct(sha, "metadata", "year", 2001, reason="the cover", user=User("ann", "reviewer"))
        r.correct(sha, "metadata", "year", 2002, reason="the preface", user=User("ben", "reviewer"))
    lead.goto(server.url + "/screen/conflicts")
    assert "Contested corrections" in lead.inner_text("#contested")
    shot(lead, "server-contested")
    lead.select_option(f"form[action='/doc/{sha}/settle'] select[name=take]", "ben")
    lead.click(f"form[action='/doc/{sha}/settle'] button[type=submit]")
    lead.wait_for_url(re.compile(r".*msg=settled.*"))
    assert "Contested correction settled" in lead.inner_text("body")
    with server.app.state.review.connection() as r:
        assert r.description(sha).value("year") == 2002

    # a huge text, a part at a time
    lead.goto(server.url + f"/doc/{shas(server)['huge.txt']}")
    nav = lead.inner_text("nav.parts")
    parts = int(re.search(r"part 1 of (\d+)", nav).group(1))
    assert parts >= 3
    first = lead.inner_text("#text")
    lead.click("nav.parts a[rel=next]")
    lead.wait_for_url(re.compile(r".*part=2.*"))
    second = lead.inner_text("#text")
    assert second != first and len(second) < 2 * len(first) + 1000
    shot(lead, "server-huge-part-2")

    # blind mode: ann cannot download the lead's export; her own export is hers
    lead.goto(server.url + "/synthesis")
    lead.click("form[action='/export'] button[value=xlsx]")
    lead.wait_for_url(re.compile(r".*msg=exported.*"))
    ann_ctx, ann = log_in(browser, server, "ann")
    assert ann.goto(server.url + "/output/matrix.csv").status == 404
    ann.goto(server.url + "/synthesis")
    assert "matrix.csv" not in ann.inner_text("body")

    # the lead disables ben: his next page asks him to log in
    ben_ctx, ben = log_in(browser, server, "ben")
    lead.goto(server.url + "/team")
    lead.click("form[action='/team/users/ben/active'] button")
    lead.wait_for_url(re.compile(r".*/team\?msg=user.*"))
    assert "disabled" in lead.inner_text("#user-ben")
    ben.goto(server.url + "/screen")
    assert "/login" in ben.url

    # the throttle: after eight wrong passwords for ann from here, even hers is refused (429)
    ctx = browser.new_context()
    page = ctx.new_page()
    for _ in range(8):
        page.goto(server.url + "/login")
        page.fill("#name", "ann")
        page.fill("#password", "not-her-password")
        page.click("button[type=submit]")
    page.goto(server.url + "/login")
    page.fill("#name", "ann")
    page.fill("#password", USERS["ann"][1])
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.click("button[type=submit]")
    assert answer.value.status == 429 and "Too many failed logins" in page.inner_text("body")
    shot(page, "server-throttle")
    for c in (ctx, ben_ctx, ann_ctx, lead_ctx):
        c.close()
