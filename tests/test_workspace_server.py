"""Team decisions that hold and a server that holds (issue 14, the server's half): blind mode in
every export, queue and count; conflicts out of the selection; formula-safe exports; the login
throttle; request limits; unknown input refused; accounts; serve's warnings.

On a real review (the Canada evaluations, or the example reports without the shared corpus),
through FastAPI's TestClient, the Review API and the command line.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web_helpers import add_user, copy_project, csrf_of, free_port, sample

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from whatworks import team  # noqa: E402
from whatworks.api import Review  # noqa: E402
from whatworks.errors import Forbidden, NotFound, ReviewError  # noqa: E402
from whatworks.report.excel import FORMULA_START  # noqa: E402
from whatworks.team import LoginRefused, User  # noqa: E402
from whatworks.web import auth  # noqa: E402
from whatworks.web.app import MAX_BODY, create_app, plain_http_warning  # noqa: E402

LOCAL = "http://127.0.0.1"
PASSWORDS = {"lead1": "lead1-password", "rev1": "rev1-password", "rev2": "rev2-password", "view1": "view1-password"}
ROLES = {"lead1": "lead", "rev1": "reviewer", "rev2": "reviewer", "view1": "viewer"}


@pytest.fixture()
def project(corpus_or_none: Path | None, tmp_path: Path) -> Path:
    project = copy_project(corpus_or_none, tmp_path / "review")
    for name, role in ROLES.items():
        add_user(project, name, role, PASSWORDS[name])
    return project


@pytest.fixture()
def app(project: Path):
    app = create_app(project, team=True)
    yield app
    app.state.review.close()


@pytest.fixture()
def people(app):
    """A logged-in client and its CSRF token for each account."""
    out = {}
    for name in ROLES:
        c = TestClient(app, base_url=LOCAL)
        page = c.get("/login")
        r = c.post("/login", data={"name": name, "password": PASSWORDS[name], "csrf": csrf_of(page.text)})
        assert r.status_code == 200, (name, r.text[:300])
        out[name] = (c, csrf_of(r.text))
    yield out
    for c, _ in out.values():
        c.close()


def review_of(app) -> Review:
    return app.state.review.connection()


def main_sha(app, corpus) -> str:
    prefix = sample(corpus).main
    with review_of(app) as r:
        return next(d["sha256"] for d in r.documents() if Path(d["source"]).name.startswith(prefix))


def decide(people, name: str, sha: str, decision: str, reason: str):
    c, token = people[name]
    r = c.post(f"/screen/{sha}", data={"decision": decision, "reason": reason, "csrf": token})
    assert r.status_code == 200, r.text[:300]


# --- team decisions that hold ---------------------------------------------------------------


def test_blind_mode_hides_the_others_in_downloads_queues_and_counts(app, people, project, corpus_or_none):
    """A reviewer or a viewer never reads another reviewer's decision from a file in the output
    folder, the coding queue or the synthesis counts, until the lead reveals the decisions."""
    sha = main_sha(app, corpus_or_none)
    with review_of(app) as r:
        assert sha in r.included()  # the machine includes it
    decide(people, "rev2", sha, "exclude", "rev2 secret reason")
    # the lead exports: the shared output folder holds everyone's decisions
    lead, lead_token = people["lead1"]
    assert lead.post("/export", data={"fmt": "xlsx", "csrf": lead_token}).status_code == 200
    assert "rev2 secret reason" in (project / "output" / "matrix.csv").read_text(encoding="utf-8-sig")
    for name in ("rev1", "view1"):
        c, _ = people[name]
        assert c.get("/output/matrix.csv").status_code == 404, name  # not the lead's file
        assert "matrix.csv" not in c.get("/synthesis").text, name
    # rev1 exports: their own folder, with their own decisions only
    rev1, rev1_token = people["rev1"]
    decide(people, "rev1", sha, "include", "rev1 reason")
    assert rev1.post("/export", data={"fmt": "all", "csrf": rev1_token}).status_code == 200
    got = rev1.get("/output/matrix.csv")
    assert got.status_code == 200 and "rev1 reason" in got.text and "rev2 secret" not in got.text
    for xlsx in ("matrix.xlsx", "synthesis.xlsx"):
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(rev1.get(f"/output/{xlsx}").content))
        text = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row)
        assert "rev2" not in text, xlsx
    # rev2's exclusion leaves the report in rev1's coding queue and synthesis, not in the lead's
    with review_of(app) as r:
        assert sha in r.included(["rev1"]) and sha not in r.included(["rev2"]) and sha not in r.included()
        n_rev1 = r.synthesize(["rev1"], llm=None).n_reports
        n_lead = r.synthesize(None, llm=None).n_reports
    assert n_rev1 == n_lead + 1
    title = sample(corpus_or_none).title
    assert title in rev1.get("/code").text
    # the audit trail: rev1 counts their own lines only, and is not told how many are hidden
    trail = rev1.get("/audit").text
    with review_of(app) as r:
        mine, everyone = r.audit_count(users=["rev1"]), r.audit_count()
    assert mine < everyone and f"{mine} actions" in trail and f"{everyone} actions" not in trail
    assert "hidden (blind)" not in trail
    # the lead reveals: the shared folder is everyone's again
    lead.post("/reveal/screening", data={"revealed": "1", "csrf": lead_token})
    lead.post("/reveal/coding", data={"revealed": "1", "csrf": lead_token})
    assert "rev2 secret reason" in people["view1"][0].get("/output/matrix.csv").text


def test_an_unresolved_conflict_stays_out_of_the_selection_and_shows_in_the_flow(app, people, corpus_or_none):
    sha = main_sha(app, corpus_or_none)
    decide(people, "rev1", sha, "include", "fits")
    decide(people, "rev2", sha, "exclude", "does not fit")
    with review_of(app) as r:
        record = next(x for x in r.screening() if x["sha256"] == sha)
        assert record["decision"] == "conflict"
        assert sha not in r.included()
        from whatworks import selection

        assert selection.flow_counts(r.store)["conflicts"] == 1
    # whoever clicks last does not settle it: rev1 saying include again leaves it a conflict
    decide(people, "rev1", sha, "include", "fits, really")
    with review_of(app) as r:
        assert sha not in r.included()
    lead, token = people["lead1"]
    lead.post(f"/screen/{sha}/resolve", data={"decision": "include", "reason": "fits", "csrf": token})
    with review_of(app) as r:
        assert sha in r.included()
        from whatworks import selection

        assert selection.flow_counts(r.store)["conflicts"] == 0
    # a reviewer who changes their mind after the lead's word reopens it
    decide(people, "rev2", sha, "maybe", "not sure now")
    with review_of(app) as r:
        assert sha not in r.included()


# --- exports are formula-safe ---------------------------------------------------------------


def test_every_export_is_formula_safe(app, people, project, corpus_or_none):
    """A title, an item and a reason that begin like formulas are text in every xlsx and csv."""
    sha = main_sha(app, corpus_or_none)
    hostile = {"title": '=HYPERLINK("http://evil.example","click")', "reason": "@SUM(1+1)*cmd|' /C calc'!A0",
               "item": "+1+1 the item as a formula", "tab": "\t=1+1", "cr": "\r=1+1", "minus": "-2+3"}
    with review_of(app) as r:
        lead = User("lead1", "lead")
        r.correct(sha, "metadata", "title", hostile["title"], reason=hostile["minus"], user=lead)
        item = r.machine_description(sha).items[0]
        r.correct(sha, "item", "0", {"kind": item.kind, "text": hostile["item"], "page": item.page},
                  reason=hostile["tab"], user=lead)
        r.decide(sha, "include", hostile["reason"], lead)
        r.code_item(sha, 0, [], lead, note=hostile["cr"])
        paths = r.export("all", lead)
    from openpyxl import load_workbook

    seen = set()
    written = {p.resolve() for p in paths} | {p.resolve() for p in (project / "output").rglob("*")
                                                if p.suffix in (".csv", ".xlsx")}
    assert any(p.name == "prisma_flow.csv" for p in written) and any(p.name == "matrix.csv" for p in written)
    for path in sorted(written):
        if path.suffix == ".xlsx":
            for ws in load_workbook(path):
                for row in ws.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f", (path.name, ws.title, cell.coordinate, cell.value)
                        if isinstance(cell.value, str):
                            seen.update(k for k, v in hostile.items() if v.strip() in cell.value)
        elif path.suffix == ".csv":
            for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
                for cell in row:
                    assert not cell.startswith(FORMULA_START), (path.name, cell)
                    seen.update(k for k, v in hostile.items() if v.strip() in cell)
    assert {"title", "reason", "item"} <= seen  # they were written, as text
    rows = list(csv.reader(io.StringIO(people["lead1"][0].get("/audit.csv").text)))
    assert all(not cell.startswith(FORMULA_START) for row in rows for cell in row)
    assert any(cell == "'" + hostile["minus"] for row in rows for cell in row)  # the correction's reason


# --- logging in ---------------------------------------------------------------------------------


def test_unknown_names_cost_time_but_no_hash(project):
    with Review.open(project) as r:
        assert r.login("lead1", PASSWORDS["lead1"], "10.0.0.1") is not None  # one hash measured
        hashes = len(team._hash_seconds)
        t0 = time.perf_counter()
        for name in ("nobody", "x" * 65, "bad name!", "machine"):
            assert r.login(name, "some-password", f"10.0.0.{len(name)}") is None
        took = time.perf_counter() - t0
        assert len(team._hash_seconds) == hashes  # no hash ran for them
        assert took >= 4 * 0.5 * team._typical_hash_seconds()  # …but they took about as long as one


def test_the_throttle_keeps_counting_across_restarts_and_cannot_lock_the_lead_out(project, monkeypatch):
    with Review.open(project) as r:
        assert r.login("lead1", PASSWORDS["lead1"], "192.168.1.5") is not None  # the lead's usual address
        for _ in range(team.PER_NAME):
            assert r.login("lead1", "wrong-password", "10.9.9.9") is None
        with pytest.raises(LoginRefused):
            r.login("lead1", PASSWORDS["lead1"], "10.9.9.9")
    with Review.open(project) as r:  # a restart: the counts are in the store
        with pytest.raises(LoginRefused):
            r.login("lead1", PASSWORDS["lead1"], "10.9.9.9")
        assert r.login("lead1", PASSWORDS["lead1"], "192.168.1.5") is not None  # from elsewhere: in
        # per address: one address cannot try many names
        for i in range(team.PER_ADDRESS):
            r.login(f"guess{i}", "wrong-password", "10.7.7.7")
        with pytest.raises(LoginRefused):
            r.login("rev1", PASSWORDS["rev1"], "10.7.7.7")
        # the whole server: a flood from many addresses shuts out new (name, address) pairs…
        monkeypatch.setattr(team, "GLOBAL", team.PER_ADDRESS + 20)
        refused = 0
        for i in range(25):
            try:
                r.login("lead1", "wrong-password", f"10.1.{i}.1")
            except LoginRefused:
                refused += 1
        assert refused > 0  # the global limit was reached during the flood
        with pytest.raises(LoginRefused):
            r.login("rev2", PASSWORDS["rev2"], "10.2.0.1")
        # …but not the lead from an address they logged in from before
        assert r.login("lead1", PASSWORDS["lead1"], "192.168.1.5") is not None


def test_wrong_passwords_past_the_hash_rate_make_new_logins_wait(project):
    with Review.open(project) as r:
        assert r.login("lead1", PASSWORDS["lead1"], "192.168.1.5") is not None
        for i in range(int(team.HASH_RATE * team.RATE_WINDOW)):  # each from its own address: no throttle
            assert r.login("rev1", "wrong-password", f"10.5.5.{i}") is None
        with pytest.raises(LoginRefused, match="busy"):
            r.login("rev2", PASSWORDS["rev2"], "10.6.6.6")
        assert r.login("lead1", PASSWORDS["lead1"], "192.168.1.5") is not None  # known: no wait


def test_a_login_flood_is_refused_at_the_gate_but_not_a_known_login(app):
    c = TestClient(app, base_url=LOCAL)
    page = c.get("/login")
    form = {"name": "lead1", "password": PASSWORDS["lead1"], "csrf": csrf_of(page.text)}
    app.state.login_gate = auth.LoginGate(slots=1, queue=0)  # as full as in a flood
    r = c.post("/login", data=form)
    assert r.status_code == 429 and r.headers["retry-after"]
    app.state.login_gate = auth.LoginGate()
    r = c.post("/login", data=form)
    assert r.status_code == 200 and "lead1" in r.text
    # the lead has logged in from this address: a full gate lets them through, also after a restart
    restarted = create_app(app.state.project.root, team=True)
    restarted.state.login_gate.queue = 0
    again = TestClient(restarted, base_url=LOCAL)
    page = again.get("/login")
    r = again.post("/login", data={**form, "csrf": csrf_of(page.text)})
    assert r.status_code == 200 and "lead1" in r.text
    page = again.get("/login")
    r = again.post("/login", data={"name": "rev1", "password": PASSWORDS["rev1"], "csrf": csrf_of(page.text)})
    assert r.status_code == 429  # rev1 never logged in from here
    restarted.state.review.close()


# --- requests -------------------------------------------------------------------------------------


def test_request_size_is_limited(app, people, corpus_or_none):
    sha = main_sha(app, corpus_or_none)
    c, token = people["rev1"]
    r = c.post(f"/screen/{sha}", data={"decision": "include", "reason": "x" * (MAX_BODY + 10), "csrf": token})
    assert r.status_code == 413

    def chunks():  # no Content-Length: the limit holds as the bytes arrive
        yield f"csrf={token}&decision=include&reason=".encode()
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"y" * 65536

    r = c.post(f"/screen/{sha}", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    with review_of(app) as rv:
        assert rv.store.raw("SELECT COUNT(*) AS n FROM screening_decisions")[0]["n"] == 0


def test_unknown_documents_items_and_fields_are_refused_without_a_row(app, people, corpus_or_none):
    sha = main_sha(app, corpus_or_none)
    c, token = people["rev1"]

    def rows() -> tuple[int, int, int]:
        with review_of(app) as rv:
            return tuple(rv.store.raw(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]
                         for t in ("screening_decisions", "code_decisions", "corrections"))

    before = rows()
    assert c.post(f"/code/{sha}/99999", data={"csrf": token}).status_code == 404
    assert c.post(f"/code/{'0' * 64}/0", data={"csrf": token}).status_code == 404
    assert c.post(f"/screen/{'0' * 64}", data={"decision": "include", "csrf": token}).status_code == 404
    assert c.post(f"/doc/{'0' * 64}/correct", data={"target": "kind", "key": "kind", "value": "other",
                                                     "csrf": token}).status_code == 404
    r = c.post(f"/doc/{sha}/correct", data={"target": "metadata", "key": "made_up_field", "value": "x",
                                             "csrf": token})
    assert r.status_code == 422 and "made_up_field" in r.text
    with review_of(app) as rv:
        with pytest.raises(ReviewError):
            rv.correct(sha, "metadata", "favourite_colour", "blue", user=User("rev1", "reviewer"))
        with pytest.raises(NotFound):
            rv.code_item(sha, 10**6, [], User("rev1", "reviewer"))
    assert rows() == before
    # a known field goes through
    assert c.post(f"/doc/{sha}/correct", data={"target": "metadata", "key": "year", "value": "2001",
                                                "csrf": token}).status_code == 200
    assert rows()[2] == before[2] + 1


@pytest.mark.parametrize("path", ["/corpus?page=99999999999999999999999999", "/corpus?page=-3&sort=year",
                                  "/doc/{sha}?p=1e400", "/doc/{sha}?p=99999999999999999999999",
                                  "/audit?page=123456789012345678901234567890", "/screen/conflicts?page=nan",
                                  "/code?dpage=99999999999999999999", "/corpus?q=pension&page=10000000000000"])
def test_no_error_on_bad_numbers(app, people, corpus_or_none, path):
    c, _ = people["lead1"]
    r = c.get(path.format(sha=main_sha(app, corpus_or_none)))
    assert r.status_code == 200, r.text[:300]


# --- accounts ---------------------------------------------------------------------------------------


def test_accounts_can_be_disabled_and_removed_but_the_last_lead_stays(app, people, project):
    rev2, _ = people["rev2"]
    with review_of(app) as r:
        r.set_user_active("rev2", False, by="lead1")
        assert r.login("rev2", PASSWORDS["rev2"], "10.3.3.3") is None  # cannot log in
    assert rev2.get("/corpus", follow_redirects=False).status_code == 303  # the session ended
    with review_of(app) as r:
        r.set_user_active("rev2", True, by="lead1")
        assert r.login("rev2", PASSWORDS["rev2"], "10.3.3.3") is not None
        r.remove_user("view1", by="lead1")
        assert "view1" not in {u["name"] for u in r.users()}
        for act in (lambda: r.save_user("lead1", "reviewer", None, by="lead1"),
                    lambda: r.set_user_active("lead1", False, by="lead1"),
                    lambda: r.remove_user("lead1", by="lead1")):
            with pytest.raises(Forbidden):
                act()
        assert [u["name"] for u in r.users() if u["role"] == "lead" and u["active"]] == ["lead1"]
        actions = {row["action"] for row in r.audit(limit=50)}
        assert {"user.disable", "user.enable", "user.remove"} <= actions
        r.save_user("rev1", "lead", None, by="lead1")  # with a second lead, the first may step down
        r.save_user("lead1", "reviewer", None, by="lead1")
    lead, token = people["lead1"]
    r = lead.post("/team/users", data={"name": "rev1", "role": "viewer", "password": "", "csrf": token})
    assert r.status_code == 401  # lead1's sessions ended when they stopped being a lead


def test_the_lead_disables_and_removes_accounts_on_the_team_page(app, people):
    lead, token = people["lead1"]
    rev2, rev2_token = people["rev2"]
    assert 'action="/team/users/rev2/active"' in lead.get("/team").text
    assert rev2.post("/team/users/rev1/active", data={"active": "0", "csrf": rev2_token}).status_code == 403
    r = lead.post("/team/users/rev2/active", data={"active": "0", "csrf": token})
    assert r.status_code == 200 and "disabled" in r.text
    assert rev2.get("/corpus", follow_redirects=False).status_code == 303  # logged out
    assert lead.post("/team/users/view1/remove", data={"csrf": token}).status_code == 200
    assert lead.post("/team/users/lead1/remove", data={"csrf": token}).status_code == 403  # the only lead
    assert lead.post("/team/users/nobody/remove", data={"csrf": token}).status_code == 404
    with review_of(app) as r:
        assert {u["name"]: u["active"] for u in r.users()} == {"lead1": 1, "rev1": 1, "rev2": 0}


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "whatworks.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).parent.parent)


def test_user_add_reads_the_password_from_stdin_not_the_command_line(project):
    done = _cli("user", "add", str(project), "nina", "--role", "reviewer", stdin="nina-password\n")
    assert done.returncode == 0, done.stderr
    with Review.open(project) as r:
        assert r.login("nina", "nina-password", "10.4.4.4") is not None
    refused = _cli("user", "add", str(project), "omar", "--role", "reviewer", "--password", "omar-password")
    assert refused.returncode != 0 and "password" in (refused.stderr + refused.stdout).lower()
    done = _cli("user", "disable", str(project), "nina")
    assert done.returncode == 0 and "disabled" in done.stdout
    done = _cli("user", "remove", str(project), "lead1")
    assert done.returncode == 2 and "only lead" in done.stderr
    # the lead at the machine clears the throttle after a flood
    with Review.open(project) as r:
        for _ in range(team.PER_NAME):
            r.login("rev1", "wrong-password", "10.4.4.5")
        with pytest.raises(LoginRefused):
            r.login("rev1", PASSWORDS["rev1"], "10.4.4.5")
    done = _cli("user", "unlock", str(project))
    assert done.returncode == 0 and "cleared" in done.stdout
    with Review.open(project) as r:
        assert r.login("rev1", PASSWORDS["rev1"], "10.4.4.5") is not None
        assert "nina@10.4.4.4" in r.known_logins()  # the known addresses stay


# --- serving --------------------------------------------------------------------------------------


def test_serve_prints_its_url_and_warns_about_plain_http():
    assert plain_http_warning("127.0.0.1", team=True) is None
    assert plain_http_warning("0.0.0.0", team=False) is None
    warning = plain_http_warning("0.0.0.0", team=True)
    assert warning and "HTTPS" in warning and "proxy" in warning


def test_serve_says_where_it_listens(project):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "whatworks.cli", "serve", str(project), "--team", "--host", "0.0.0.0",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=Path(__file__).parent.parent)
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    text = "".join(lines)
    assert f":{port}/" in text and "http://" in text
    assert "plain HTTP" in text


# --- corrections ---------------------------------------------------------------------------------


def test_conflicting_corrections_show_as_a_conflict_until_the_lead_settles(app, people, corpus_or_none):
    sha = main_sha(app, corpus_or_none)
    rev1, t1 = people["rev1"]
    rev2, t2 = people["rev2"]

    def year() -> object:
        with review_of(app) as r:
            return r.description(sha).value("year")

    r = rev1.post(f"/doc/{sha}/correct", data={"target": "metadata", "key": "year", "value": "2001",
                                                "reason": "the cover says 2001", "csrf": t1})
    assert r.status_code == 200 and year() == 2001
    r = rev2.post(f"/doc/{sha}/correct", data={"target": "metadata", "key": "year", "value": "2002",
                                                "reason": "the preface is dated 2002", "csrf": t2})
    assert r.status_code == 200 and "Another person corrected this differently" in r.text
    assert year() == 2001  # the last writer does not win silently
    with review_of(app) as rv:
        [c] = rv.correction_conflicts(sha)
        assert c["standing"]["reviewer"] == "rev1" and [x["reviewer"] for x in c["contested"]] == ["rev2"]
        lines = rv.audit(limit=10, action="correct.conflict")
        assert lines and lines[0]["reason"] == "the preface is dated 2002"
        assert rv.audit(limit=10, action="correct")[0]["reason"] == "the cover says 2001"  # the reason is kept
    lead, tl = people["lead1"]
    page = lead.get("/screen/conflicts").text
    assert "Contested corrections" in page and "the preface is dated 2002" in page
    assert rev1.post(f"/doc/{sha}/settle", data={"target": "metadata", "key": "year", "take": "rev2",
                                                  "csrf": t1}).status_code == 403  # only the lead
    r = lead.post(f"/doc/{sha}/settle", data={"target": "metadata", "key": "year", "take": "rev2", "csrf": tl})
    assert r.status_code == 200 and "Contested correction settled" in r.text
    assert year() == 2002
    with review_of(app) as rv:
        assert rv.correction_conflicts() == []
    # the same value is no conflict; a lead's own correction settles at once
    rev1.post(f"/doc/{sha}/correct", data={"target": "metadata", "key": "year", "value": "2002", "csrf": t1})
    with review_of(app) as rv:
        assert rv.correction_conflicts() == []
    rev2.post(f"/doc/{sha}/correct", data={"target": "metadata", "key": "year", "value": "1999", "csrf": t2})
    lead.post(f"/doc/{sha}/correct", data={"target": "metadata", "key": "year", "value": "2003", "csrf": tl})
    assert year() == 2003
    with review_of(app) as rv:
        assert rv.correction_conflicts() == []


def test_a_correction_screens_its_document_again(app, corpus_or_none):
    W = sample(corpus_or_none)  # noqa: N806 - the sample's names read like constants
    sha = main_sha(app, corpus_or_none)
    lead = User("lead1", "lead")
    with review_of(app) as r:
        before = next(x for x in r.screening() if x["sha256"] == sha)
        assert before["machine_decision"] == "include"
        r.correct(sha, "kind", "kind", W.odd_kind, reason="it is not an evaluation", user=lead)
        after = next(x for x in r.screening() if x["sha256"] == sha)
        assert after["machine_decision"] != "include"  # screened again on the corrected kind
        r.correct(sha, "kind", "kind", None, user=lead)
        assert next(x for x in r.screening() if x["sha256"] == sha)["machine_decision"] == "include"


# --- robust pages -----------------------------------------------------------------------------------


def test_odd_files_failed_files_and_huge_pages(app, people, project, tmp_path):
    """A file name with a right-to-left override shows its code point; a file that cannot be read
    is listed with its error and fix; a huge text is shown a part at a time."""
    from whatworks.web.parts import PART_CHARS

    folder = tmp_path / "more"
    folder.mkdir()
    odd = folder / "annual\u202etxt.exe.txt"
    odd.write_text("Evaluation of the pension reform\n\nFindings\n\nThe reform raised coverage.\n", encoding="utf-8")
    broken = folder / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 50)
    huge = folder / "huge.txt"
    paragraph = "The programme extended social protection to informal workers in rural districts. " * 12
    huge.write_text("Evaluation of a very long report\n\n" + "\n\n".join(f"{i}. {paragraph}" for i in range(700)),
                    encoding="utf-8")
    assert huge.stat().st_size > 5 * PART_CHARS
    with review_of(app) as r:
        r.add([odd, broken, huge], jobs=1)
        failed = r.failed_files()
        shas = {Path(d["source"]).name: d["sha256"] for d in r.documents()}
    assert [Path(f["path"]).name for f in failed] == ["broken.pdf"]
    c, _ = people["rev1"]
    corpus = c.get("/corpus?per_page=100&sort=title").text + c.get("/corpus?page=2&sort=title").text
    assert "\u202e" not in corpus and "annual[U+202E]txt.exe.txt" in corpus
    assert "1 file could not be read" in corpus and "broken.pdf" in corpus and failed[0]["fix"][:40] in corpus
    page = c.get(f"/doc/{shas[huge.name]}")
    assert page.status_code == 200 and len(page.text) < 8 * PART_CHARS
    parts = int(re.search(r"part 1 of (\d+)", page.text).group(1))
    assert parts >= 5
    last = c.get(f"/doc/{shas[huge.name]}?p=1&part={parts}")
    assert "699. The programme" in last.text and "0. The programme" not in last.text.split('id="text"')[1][:3000]
    assert c.get(f"/doc/{shas[huge.name]}?p=1&part=99999999999").status_code == 200  # clamped


def test_corrected_values_are_marked_and_kappa_needs_shared_decisions(app, people, corpus_or_none):
    sha = main_sha(app, corpus_or_none)
    rev1, t1 = people["rev1"]
    rev1.post(f"/doc/{sha}/correct", data={"target": "metadata", "key": "year", "value": "1999", "csrf": t1})
    corpus = rev1.get("/corpus?year=1999").text
    assert 'class="human" title="corrected by rev1">1999<' in corpus
    decide(people, "rev1", sha, "include", "fits")
    decide(people, "rev2", sha, "include", "fits too")
    agreement = people["lead1"][0].get("/agreement").text
    assert re.search(r"1 shared document(<[^>]+>)*: kappa needs at least 5", agreement)
    assert "κ = —" in agreement


def test_the_themes_page_shows_the_items_no_theme_fits(app, people):
    with review_of(app) as r:
        unfit = r.unfit_items()
        emerging = r.emerging()
    deadline = time.time() + 30
    page = people["rev1"][0].get("/themes").text
    while "Counting the items no theme fits" in page and time.time() < deadline:  # made on a thread
        time.sleep(0.2)
        page = people["rev1"][0].get("/themes").text
    if unfit:
        assert f"{len(unfit)} item{'s' if len(unfit) != 1 else ''} fit no theme yet" in page
        assert unfit[0]["text"][:60].replace("&", "&amp;").replace("'", "&#39;").replace('"', "&#34;") in page
    if not emerging and not unfit:
        assert "every item of the included reports fits a theme" in page
    assert unfit or emerging, "the prepared review has items no theme fits"
