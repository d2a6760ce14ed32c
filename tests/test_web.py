"""The review workspace over a real (small) review: pages, decisions, corrections, coding,
agreement and the audit trail, through FastAPI's TestClient.

The review is of ten Canada evaluations when the shared corpus is there, of the ten example
reports otherwise (web_helpers.Sample names the reports and words each test uses)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from web_helpers import add_user, copy_project, csrf_of, sample

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from whatworks import decisions  # noqa: E402
from whatworks.errors import ReviewError  # noqa: E402
from whatworks.team import User  # noqa: E402
from whatworks.web.app import create_app, serve  # noqa: E402

#: The workspace answers a local Host only (single-user mode): tests send one, as a browser would.
LOCAL = "http://127.0.0.1"


@pytest.fixture()
def project(corpus_or_none: Path | None, tmp_path: Path) -> Path:
    return copy_project(corpus_or_none, tmp_path / "review")


@pytest.fixture(scope="session")
def W(corpus_or_none: Path | None):  # noqa: N802 - the sample's names read like constants
    return sample(corpus_or_none)


@pytest.fixture()
def app(project: Path):
    return create_app(project)


@pytest.fixture()
def client(app):
    with TestClient(app, base_url=LOCAL) as c:
        yield c


def review_of(app):
    """The app's review on a connection of the test's own."""
    return app.state.review.connection()


def shas(app) -> dict[str, str]:
    """source file name → sha256."""
    with review_of(app) as r:
        return {Path(d["source"]).name: d["sha256"] for d in r.documents()}


def sha_of(app, prefix: str) -> str:
    """The sha256 of the document whose file name starts with `prefix` (esdc_021…)."""
    [sha] = [sha for name, sha in shas(app).items() if name.startswith(prefix)]
    return sha


def first_item_page(app, sha: str) -> int:
    """The page of the document's first item (page 1 for a Canada web page)."""
    with review_of(app) as r:
        return r.machine_description(sha).items[0].page


def record(app, sha: str) -> dict:
    """The document's screening record (`whatworks screen --json`): machine, human and final decision."""
    with review_of(app) as r:
        return next(row for row in r.screening() if row["sha256"] == sha)


def machine(app, sha: str) -> str | None:
    return record(app, sha)["machine_decision"]


# --- pages --------------------------------------------------------------------------------


def test_every_page_renders(client, app, W):
    sha = sha_of(app, W.main)
    for url in ["/corpus", "/corpus?q=pension", "/corpus?sort=year&dir=desc", "/corpus?kind=evaluation_report",
                f"/doc/{sha}", f"/doc/{sha}?p=99", "/screen", f"/screen?sha={sha}", "/screen/conflicts", "/code",
                "/themes", "/synthesis", "/agreement", "/audit", "/audit.csv",
                # numbers that are not numbers, or out of range: a page, never an error
                "/corpus?page=abc", "/corpus?page=-4", "/corpus?page=99999999999999999999", f"/doc/{sha}?p=x",
                f"/doc/{sha}?p=-1", "/screen/conflicts?page=0", "/code?dpage=zz", "/audit?page=1e9", "/screen?only=x"]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:500])
    assert client.get("/doc/" + "0" * 64).status_code == 404
    for url in ("/doc/esdc_021", "/screen?sha=" + "0" * 64, "/code?sha=" + "f" * 64, "/output/nothing.csv"):
        assert client.get(url).status_code == 404, url
    # single-user mode: no account pages, no login
    assert client.get("/login", follow_redirects=False).status_code == 303


def test_corpus_filters_sorting_paging(client, app, W):
    r = client.get("/corpus")
    assert f"{W.documents} documents" in r.text
    assert W.title in r.text
    plans = client.get(f"/corpus?kind={W.odd_kind}").text
    assert "1 document<" in plans and W.odd_title in plans
    assert W.not_odd not in plans
    # sorting by title, both ways
    asc = re.findall(r'<a href="/doc/[0-9a-f]{64}">([^<]+)</a>', client.get("/corpus?sort=title").text)
    desc = re.findall(r'<a href="/doc/[0-9a-f]{64}">([^<]+)</a>', client.get("/corpus?sort=title&dir=desc").text)
    assert asc == sorted(asc, key=str.lower) and asc == desc[::-1] and len(asc) == W.documents
    # the machine's decision is a filter and a column
    included = client.get("/corpus?machine=include").text
    n = int(re.search(r"(\d+) documents?<", included).group(1))
    with review_of(app) as rv:
        assert n == sum(1 for row in rv.screening() if row["machine_decision"] == "include")
    assert n >= 3
    # paging: 50 a page, so one page; a page beyond the end is empty, not an error
    assert "page 1 of 1" in r.text
    assert "No document matches" in client.get("/corpus?page=5").text


def test_search_highlights_passages(client, W):
    r = client.get("/corpus", params={"q": W.query})
    assert r.status_code == 200
    assert f"<mark>{W.marked}</mark>" in r.text.lower() or f"<mark>{W.marked.capitalize()}</mark>" in r.text
    assert re.search(r"/doc/[0-9a-f]{64}\?p=\d+#b\d+", r.text), "hits link to the page of the passage"
    bad = client.get("/corpus", params={"q": '"unclosed'})
    assert bad.status_code == 200 and "unclosed quote" in bad.text


def test_document_page_shows_text_sections_items_metadata(client, app, W):
    sha = sha_of(app, W.main)
    page = first_item_page(app, sha)
    r = client.get(f"/doc/{sha}" + (f"?p={page}" if page != 1 else ""))
    text = r.text
    assert W.title in text
    assert "Sections" in text and "front matter" in text
    assert f"Items on page {page}" in text and "finding" in text
    assert "Metadata" in text and "evidence" in text
    assert 'class="b heading' in text  # the text itself, block by block


# --- screening -------------------------------------------------------------------------------


def test_screening_decision_is_stored_with_audit_and_machine(client, app, W):
    sha = sha_of(app, W.main)
    page = client.get(f"/screen?sha={sha}")
    assert "Protocol criteria" in page.text and "shortlist" in page.text
    token = csrf_of(page.text)
    r = client.post(f"/screen/{sha}", data={"decision": "maybe", "reason": "check the period", "csrf": token},
                    follow_redirects=False)
    assert r.status_code == 303 and "msg=screened" in r.headers["location"]
    with review_of(app) as rv:
        [row] = rv.store.raw("SELECT decision, reason, machine, role FROM screening_decisions WHERE sha256 = :s", s=sha)
        # single-user mode: you are the lead
        assert tuple(row.values()) == ("maybe", "check the period", machine(app, sha), "lead")
        [audit] = rv.audit(action="screen")
        assert audit["target"] == f"document:{sha}" and json.loads(audit["after"])["decision"] == "maybe"
        assert audit["reason"] == "check the period"
    assert record(app, sha)["decision"] == "maybe"
    # the corpus shows the human decision
    corpus = client.get("/corpus?status=mine").text
    assert "1 document<" in corpus and "d-maybe" in corpus


def test_exclude_needs_a_reason(client, app, W):
    sha = sha_of(app, W.other)
    token = csrf_of(client.get("/screen").text)
    r = client.post(f"/screen/{sha}", data={"decision": "exclude", "reason": " ", "csrf": token})
    assert "Write a reason to exclude" in r.text
    r = client.post(f"/screen/{sha}", data={"decision": "bogus", "reason": "x", "csrf": token})
    assert r.status_code == 422 and "include, maybe, exclude" in r.text  # the API's message, shown
    r = client.post("/screen/" + "0" * 64, data={"decision": "include", "reason": "x", "csrf": token})
    assert r.status_code == 404
    with review_of(app) as rv:
        assert rv.store.raw("SELECT COUNT(*) AS n FROM screening_decisions")[0]["n"] == 0


def test_queue_walks_every_document_then_says_done(client, app, W):
    seen = set()
    for _ in range(15):
        page = client.get("/screen").text
        m = re.search(r'action="/screen/([0-9a-f]{64})"', page)
        if not m:
            break
        seen.add(m.group(1))
        client.post(f"/screen/{m.group(1)}", data={"decision": "include", "reason": "ok", "csrf": csrf_of(page)})
    assert len(seen) == W.documents
    assert "Nothing left in this queue" in client.get("/screen").text


def test_second_look_when_the_machine_changes_its_mind(client, app, project, W):
    """A re-run that changes the machine's decision under a human one flags it."""
    from whatworks.api import Review

    sha = sha_of(app, W.main)
    before = machine(app, sha)
    token = csrf_of(client.get("/screen").text)
    client.post(f"/screen/{sha}", data={"decision": "include", "reason": "fits", "csrf": token})
    # the lead narrows the protocol to another kind (evaluation plans) and screens again: the machine now excludes
    proto = project / "protocol.yaml"
    text = proto.read_text(encoding="utf-8")
    new = re.sub(r"(?m)^kinds:.*(\n\s+-.*)*", f"kinds: [{W.odd_kind}]", text, count=1)
    assert new != text
    proto.write_text(new, encoding="utf-8")
    with Review.open(project) as rv:
        rv.screen()
    after = machine(app, sha)
    assert before == "include" and after == "exclude"
    assert "second look" in client.get(f"/screen?sha={sha}").text
    conflicts = client.get("/screen/conflicts").text
    assert "Second look" in conflicts
    assert "1 need a second look" in client.get("/screen").text
    with review_of(app) as rv:  # the human decision stands: the re-run did not touch it
        assert rv.store.raw("SELECT decision FROM screening_decisions WHERE sha256 = :s", s=sha)[0]["decision"] \
            == "include"
    assert record(app, sha)["decision"] == "include"


# --- corrections -------------------------------------------------------------------------------


def test_corrections_show_as_human_values_and_survive_a_rerun(client, app, W):
    from whatworks.collect import process_file, save_result

    sha = sha_of(app, W.main)
    p = first_item_page(app, sha)  # the page of item 0 (1 on a web page), where the new item goes too
    on_page = f"/doc/{sha}" + (f"?p={p}" if p != 1 else "")
    page = client.get(f"/doc/{sha}")
    token = csrf_of(page.text)
    ok = client.post(f"/doc/{sha}/correct", data={"csrf": token, "target": "metadata", "key": "year",
                                                   "value": "2021", "reason": "report date", "p": str(p)})
    assert ok.status_code == 200 and "Correction saved" in ok.text
    # the corrected document was screened again at once: the page says what the machine decides now
    assert f"screened again: the machine now says {machine(app, sha)}" in ok.text
    client.post(f"/doc/{sha}/correct", data={"csrf": token, "target": "kind", "key": "kind",
                                             "value": "evaluation_brief"})
    client.post(f"/doc/{sha}/correct", data={"csrf": token, "target": "metadata", "key": "countries",
                                             "value": "CAN, USA"})
    client.post(f"/doc/{sha}/correct", data={"csrf": token, "target": "section", "key": "1", "kind": "annex",
                                             "heading": "Contents", "page_start": "1", "page_end": "1"})
    client.post(f"/doc/{sha}/correct", data={"csrf": token, "target": "item", "key": "0", "kind": "deleted"})
    client.post(f"/doc/{sha}/correct", data={"csrf": token, "target": "item", "key": "new", "kind": "lesson_learned",
                                             "text": "Take-up rises when benefits are flexible.", "page": str(p)})
    shown = client.get(on_page).text
    assert re.search(r'class="pill human"[^>]*>2021<', shown)
    assert "CAN, USA" in shown and "Take-up rises when benefits are flexible." in shown
    assert "not an item" in shown
    with review_of(app) as rv:
        fixed = rv.description(sha)
        machine_desc = rv.machine_description(sha)
    assert fixed.value("year") == 2021 and fixed.value("countries") == ["CAN", "USA"]
    assert fixed.kind.value == "evaluation_brief" and fixed.sections[1].kind == "annex"
    assert len(fixed.items) == len(machine_desc.items)  # one dropped, one added
    assert fixed.items[-1].kind == "lesson_learned"
    # a re-run of describe rewrites the machine's description; the corrections stay and still show
    with review_of(app) as rv:
        source = next(r for r in rv.documents() if r["sha256"] == sha)["source"]
        save_result(rv.store, process_file((source, sha, True)))
    again = client.get(on_page).text
    assert re.search(r'class="pill human"[^>]*>2021<', again)
    # removing a correction brings the machine's value back
    client.post(f"/doc/{sha}/correct", data={"csrf": token, "target": "metadata", "key": "year", "remove": "1"})
    assert not re.search(r'class="pill human"[^>]*>2021<', client.get(on_page).text)
    with review_of(app) as rv:
        actions = [r["action"] for r in reversed(rv.audit(limit=1000))]
    assert actions.count("correct") == 6 and actions[-1] == "uncorrect"


def test_bad_corrections_are_refused(client, app, W):
    sha = sha_of(app, W.main)
    token = csrf_of(client.get(f"/doc/{sha}").text)
    # an unknown section is not found; a value no stage could use is refused with the reason
    for status, form in ((404, {"target": "section", "key": "999", "kind": "annex"}),
                         (404, {"target": "item", "key": "99999", "kind": "finding", "text": "x"}),
                         (422, {"target": "section", "key": "1", "kind": "annex", "page_start": "1", "page_end": "0"}),
                         (422, {"target": "section", "key": "1", "kind": "annex", "page_start": "1",
                                "page_end": "999"}),
                         (422, {"target": "kind", "key": "kind", "value": "novel"}),
                         (422, {"target": "item", "key": "new", "kind": "finding", "text": ""}),
                         (422, {"target": "metadata", "key": "../x", "value": "1"}),
                         (422, {"target": "nothing", "key": "x"}),
                         (400, {"target": "section", "key": "1", "kind": "annex", "page_start": "one"})):
        r = client.post(f"/doc/{sha}/correct", data={"csrf": token, **form})
        assert r.status_code == status, (form, r.text[-600:])
    with review_of(app) as rv:
        assert rv.store.raw("SELECT COUNT(*) AS n FROM corrections")[0]["n"] == 0
        assert not rv.audit(action="correct")


# --- coding ---------------------------------------------------------------------------------


def test_coding_accept_change_add(client, app):
    page = client.get("/code")
    m = re.search(r'action="/code/([0-9a-f]{64})/(\d+)"', page.text)
    assert m, "an included report with items to code"
    sha, idx = m.group(1), int(m.group(2))
    token = csrf_of(page.text)
    with review_of(app) as rv:
        suggested = rv.machine_themes(sha, idx)
        theme_ids = rv.codebook.ids
    extra = next(t for t in theme_ids if t not in suggested)
    # change: keep none of the suggestions, add another theme
    r = client.post(f"/code/{sha}/{idx}", data={"csrf": token, "add": extra, "note": "better fit"},
                    follow_redirects=False)
    assert r.status_code == 303
    def coded() -> list[list[str]]:
        with review_of(app) as rv:
            return [json.loads(r["themes"]) for r in rv.store.raw(
                "SELECT themes FROM code_decisions WHERE sha256 = :s AND idx = :i", s=sha, i=idx)]

    assert coded() == [[extra]]
    with review_of(app) as rv:
        codes = {c.theme for c in rv.codes() if c.sha256 == sha and c.idx == idx}
    assert codes == {extra}, "the synthesis sees the reviewer's themes, not the machine's"
    # accept: back to the machine's suggestion
    client.post(f"/code/{sha}/{idx}", data={"csrf": token, "accept": "1"})
    assert [sorted(t) for t in coded()] == [sorted(suggested)]
    # unknown themes are refused, and so are unknown items
    r = client.post(f"/code/{sha}/{idx}", data={"csrf": token, "theme": "no_such_theme"})
    assert r.status_code == 422 and "no_such_theme" in r.text
    assert client.post(f"/code/{sha}/99999", data={"csrf": token, "accept": "1"}).status_code == 404
    assert client.post(f"/code/{sha}/x1", data={"csrf": token, "accept": "1"}).status_code == 404
    assert [sorted(t) for t in coded()] == [sorted(suggested)]


def test_new_theme_from_the_workspace(client, app, project):
    page = client.get("/themes")
    token = csrf_of(page.text)
    r = client.post("/themes", data={"csrf": token, "label": "Digital delivery", "question": "what_works",
                                     "definition": "Online applications and digital service channels.",
                                     "descriptors": "online application, digital service, e-service"})
    assert r.status_code == 200 and "Theme added" in r.text
    from whatworks.api import Review

    with Review.open(project) as rv:
        codebook = rv.codebook
        assert [a["target"] for a in rv.audit(action="theme")] == ["theme:digital_delivery"]
    theme = codebook.theme("digital_delivery")
    assert theme.question == "what_works" and "digital service" in theme.descriptors["en"]
    assert "Digital delivery" in client.get("/code").text  # offered at once in the coding queue


# --- agreement, audit, exports ------------------------------------------------------------------


def test_cohen_kappa_known_values():
    # the textbook example: 50 pairs, po = 0.7, pe = 0.5 → κ = 0.4
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    kappa, labels, table = decisions.cohen_kappa(pairs)
    assert labels == ["no", "yes"] and table == [[15, 10], [5, 20]]
    assert kappa == pytest.approx(0.4)
    assert decisions.cohen_kappa([("a", "a")] * 3)[0] is None  # one label only: undefined
    assert decisions.cohen_kappa([])[0] is None
    perfect = decisions.cohen_kappa([("a", "a"), ("b", "b"), ("c", "c")])[0]
    assert perfect == pytest.approx(1.0)


def test_agreement_between_reviewers_and_with_the_machine(app):
    with review_of(app) as rv:
        docs = [r["sha256"] for r in rv.documents()][:6]
        mach = {r["sha256"]: r["machine_decision"] for r in rv.screening()}
        alice, bob = User("alice", "reviewer"), User("bob", "reviewer")
        for i, sha in enumerate(docs):
            rv.decide(sha, mach[sha] if mach[sha] in decisions.DECISIONS else "maybe", "a", alice)
            bob_says = "include" if i % 2 else "exclude"
            rv.decide(sha, bob_says, "b", bob)
        pairs = {(p.a, p.b): p for p in rv.agreement("screening")}
    ab = pairs[("alice", "bob")]
    assert ab.n == 6 and sum(map(sum, ab.confusion)) == 6 and ab.labels == ["include", "maybe", "exclude"]
    assert ab.agreed == sum(ab.confusion[i][i] for i in range(3))
    assert ab.raw == pytest.approx(ab.agreed / 6)
    assert pairs[("alice", "machine")].raw == 1.0  # alice followed the machine
    assert ("bob", "machine") in pairs


def test_agreement_page_and_audit_csv(client, app):
    with review_of(app) as rv:
        sha = [r["sha256"] for r in rv.documents()]
        rv.decide(sha[0], "include", "=HYPERLINK(\"http://x\")", User("ann", "reviewer"))
        rv.decide(sha[0], "exclude", "no", User("ben", "reviewer"))
        rv.decide(sha[1], "exclude", "no", User("ann", "reviewer"))
        rv.decide(sha[1], "exclude", "no", User("ben", "reviewer"))
    page = client.get("/agreement").text
    assert "ann</strong> vs <strong>ben" in page and "κ =" in page and "raw agreement 50%" in page
    r = client.get("/audit.csv")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["id", "when_utc", "user", "action", "target", "before", "after", "reason"]
    assert [x[2] for x in rows[1:]] == ["ann", "ben", "ann", "ben"]
    assert all(not cell.startswith("=") for row in rows for cell in row)  # no formula injection
    assert rows[1][-1] == "'=HYPERLINK(\"http://x\")"  # the reason, neutralised
    audit_page = client.get("/audit?user=ann").text
    assert "2 actions" in audit_page


def test_output_files_are_served_by_name_only(client, app, project):
    out = project / "output"
    (out / "matrix.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (project / "secret.txt").write_text("no", encoding="utf-8")
    assert client.get("/output/matrix.csv").text == "a,b\n1,2\n"
    for name in ("../secret.txt", "..%2Fsecret.txt", "%2e%2e/secret.txt", "..%5Csecret.txt", "review.db",
                 "%2Fetc%2Fpasswd", ".hidden", "matrix.csv%00.txt"):
        r = client.get("/output/" + name)
        assert r.status_code == 404, name
        assert "no" != r.text
    listing = client.get("/synthesis").text
    assert 'href="/output/matrix.csv"' in listing


def test_serve_refuses_other_hosts_in_single_user_mode(project):
    with pytest.raises(ReviewError, match="127.0.0.1"):
        serve(project, host="0.0.0.0")
    with pytest.raises(ReviewError, match="accounts"):
        serve(project, host="0.0.0.0", team=True)  # team mode needs accounts first


def test_add_user_and_login(project):
    user = add_user(project, "lena", "lead", "correct horse")
    assert user == User("lena", "lead")
    with pytest.raises(ReviewError):
        add_user(project, "x", "boss", "long enough")
    with pytest.raises(ReviewError):
        add_user(project, "x", "reviewer", "short")
    app = create_app(project, team=True)
    with TestClient(app, base_url=LOCAL) as c:
        login = c.get("/login")
        r = c.post("/login", data={"name": "lena", "password": "wrong one!", "csrf": csrf_of(login.text)})
        assert r.status_code == 401 and "Wrong name or password" in r.text
        r = c.post("/login", data={"name": "lena", "password": "correct horse", "csrf": csrf_of(login.text)})
        assert r.status_code == 200 and "lena" in r.text and "Log out" in r.text
        token = csrf_of(r.text)
        r = c.post("/logout", data={"csrf": token}, follow_redirects=False)
        assert r.status_code == 303
        assert c.get("/corpus", follow_redirects=False).status_code == 303


def test_blind_mode_until_the_lead_reveals(project, W):
    add_user(project, "lead1", "lead", "lead-password")
    add_user(project, "rev1", "reviewer", "rev1-password")
    add_user(project, "rev2", "reviewer", "rev2-password")
    app = create_app(project, team=True)
    clients = {}
    for name, password in (("lead1", "lead-password"), ("rev1", "rev1-password"), ("rev2", "rev2-password")):
        c = TestClient(app, base_url=LOCAL)
        page = c.get("/login")
        c.post("/login", data={"name": name, "password": password, "csrf": csrf_of(page.text)})
        clients[name] = c
    sha = sha_of(app, W.main)
    for name, decision in (("rev1", "include"), ("rev2", "exclude")):
        c = clients[name]
        page = c.get(f"/screen?sha={sha}")
        assert page.status_code == 200, page.text[:300]
        c.post(f"/screen/{sha}", data={"decision": decision, "reason": f"{name} says", "csrf": csrf_of(page.text)})
    rev1_view = clients["rev1"].get(f"/screen?sha={sha}").text
    assert "rev2 says" not in rev1_view and "1 other decision hidden" in rev1_view
    assert "Blind screening is on" in clients["rev1"].get("/agreement").text
    lead_view = clients["lead1"].get(f"/screen?sha={sha}").text
    assert "rev1 says" in lead_view and "rev2 says" in lead_view
    conflicts = clients["lead1"].get("/screen/conflicts").text
    assert "between reviewers" in conflicts
    # the lead resolves the conflict and reveals the decisions
    token = csrf_of(conflicts)
    r = clients["lead1"].post(f"/screen/{sha}/resolve", data={"decision": "include", "reason": "fits", "csrf": token})
    assert "Conflict resolved" in r.text and "No open conflicts" in r.text
    clients["lead1"].post("/reveal/screening", data={"revealed": "1", "csrf": token})
    assert "rev2 says" in clients["rev1"].get(f"/screen?sha={sha}").text
    agreement = clients["rev1"].get("/agreement").text
    assert "rev1</strong> vs <strong>rev2" in agreement
    assert record(app, sha)["decision"] == "include"  # the lead's word is final
    for c in clients.values():
        c.close()


def test_blind_reviewers_see_their_own_trail_counts_and_exports(project, W):
    """Blind mode hides the others' decisions in counts, the audit trail, its CSV and the exports too."""
    add_user(project, "lead1", "lead", "lead-password")
    add_user(project, "rev1", "reviewer", "rev1-password")
    add_user(project, "rev2", "reviewer", "rev2-password")
    app = create_app(project, team=True)
    clients, tokens = {}, {}
    for name in ("lead1", "rev1", "rev2"):
        c = TestClient(app, base_url=LOCAL)
        page = c.get("/login")
        r = c.post("/login", data={"name": name, "password": f"{name.rstrip('1')}-password".replace("rev-", f"{name}-"),
                                   "csrf": csrf_of(page.text)})
        assert r.status_code == 200, (name, r.text[:300])
        clients[name], tokens[name] = c, csrf_of(r.text)
    sha = sha_of(app, W.main)
    for name, decision in (("rev1", "include"), ("rev2", "exclude")):
        r = clients[name].post(f"/screen/{sha}", data={"decision": decision, "reason": f"{name} says",
                                                       "csrf": tokens[name]})
        assert r.status_code == 200
    # the lead sees the conflict in the queue's count; a blind reviewer does not
    assert "conflicts (1)" in clients["lead1"].get("/screen").text
    assert "conflicts (" not in clients["rev1"].get("/screen").text
    # the corpus: rev1 sees their own decision only, and that another is hidden
    mine = clients["rev1"].get("/corpus?status=human").text
    assert "1 document<" in mine and "rev2" not in mine and "1 hidden (blind)" in mine
    # the audit trail and its CSV: their own lines only
    trail = clients["rev1"].get("/audit").text
    assert "rev1" in trail and "rev2" not in trail
    rows = list(csv.reader(io.StringIO(clients["rev1"].get("/audit.csv").text)))
    assert {r[2] for r in rows[1:]} == {"rev1"}
    assert {r[2] for r in csv.reader(io.StringIO(clients["lead1"].get("/audit.csv").text))} >= {"rev1", "rev2"}
    # an export by rev1 holds rev1's decision, not rev2's
    r = clients["rev1"].post("/export", data={"fmt": "xlsx", "csrf": tokens["rev1"]})
    assert r.status_code == 200 and "Export written" in r.text
    matrix = (project / "output" / "blind" / "rev1" / "matrix.csv").read_text(encoding="utf-8-sig")  # their own folder
    assert "rev1 says" in matrix and "rev2 says" not in matrix
    for c in clients.values():
        c.close()


def test_requests_in_parallel_each_have_their_own_connection(project):
    """Requests on many threads at once (the server's thread pool): no connection is shared, every
    decision is written once, every page answers."""
    import threading

    import httpx
    from web_helpers import LiveServer

    app = create_app(project)
    sha_list = list(shas(app).values())
    errors: list[str] = []
    with LiveServer(app) as live:
        token = csrf_of(httpx.get(live.url + "/screen").text)

        def work(k: int) -> None:
            try:
                requests(k)
            except Exception as e:  # noqa: BLE001 - the test reports it
                errors.append(repr(e))

        def requests(k: int) -> None:
            with httpx.Client(base_url=live.url, timeout=60) as c:
                for i in range(6):
                    sha = sha_list[(k + i) % len(sha_list)]
                    for r in (c.get("/corpus?sort=title"), c.get(f"/screen?sha={sha}"), c.get("/screen/conflicts"),
                              c.post(f"/screen/{sha}", data={"decision": ("include", "maybe")[i % 2],
                                                              "reason": f"thread {k}", "csrf": token}),
                              c.get(f"/doc/{sha}")):
                        if r.status_code not in (200, 303):
                            errors.append(f"{r.request.url}: {r.status_code} {r.text[:200]}")

        threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    with review_of(app) as rv:
        # single-user mode: one person, so one decision per document, each with its audit lines
        assert rv.store.raw("SELECT COUNT(*) AS n FROM screening_decisions")[0]["n"] == len(sha_list)
        assert rv.audit_count(action="screen") == 36
    app.state.review.close()
