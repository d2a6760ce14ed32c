"""The workspace refuses what it should: no session, wrong role, forged forms, foreign hosts,
and report text that tries to be HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from web_helpers import add_user, copy_project, csrf_of

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from whatworks import team as team_module  # noqa: E402
from whatworks.web.app import create_app  # noqa: E402

PASSWORDS = {"lead": "lead-password", "rita": "rita-password", "vic": "vic-password"}
#: A local Host, as a browser on the machine sends it.
LOCAL = "http://127.0.0.1"


@pytest.fixture()
def team(corpus_or_none: Path | None, tmp_path: Path):
    """A team review of the Canada evaluations, or of the example reports without the corpus."""
    project = copy_project(corpus_or_none, tmp_path / "review")
    add_user(project, "lead", "lead", PASSWORDS["lead"])
    add_user(project, "rita", "reviewer", PASSWORDS["rita"])
    add_user(project, "vic", "viewer", PASSWORDS["vic"])
    app = create_app(project, team=True)
    yield app
    app.state.review.close()


def raw(app, sql: str, **params):
    """A look at the database (tests only)."""
    with app.state.review.connection() as review:
        return review.store.raw(sql, **params)


def login(app, name: str) -> tuple[TestClient, str]:
    c = TestClient(app, base_url=LOCAL)
    page = c.get("/login")
    r = c.post("/login", data={"name": name, "password": PASSWORDS[name], "csrf": csrf_of(page.text)})
    assert r.status_code == 200, r.text[:300]
    return c, csrf_of(r.text)


def a_document(app) -> str:
    with app.state.review.connection() as review:
        return review.documents()[0]["sha256"]


def hostile_document(app) -> str:
    with app.state.review.connection() as review:
        return next(d["sha256"] for d in review.documents() if d["source"].endswith("hostile-report.txt"))


def decisions(app) -> int:
    return raw(app, "SELECT COUNT(*) AS n FROM screening_decisions")[0]["n"]


def test_no_session_no_page(team):
    c = TestClient(team, base_url=LOCAL)
    sha = a_document(team)
    for url in ["/corpus", f"/doc/{sha}", "/screen", "/code", "/synthesis", "/agreement", "/audit", "/audit.csv",
                "/team", "/themes", "/output/anything"]:
        r = c.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), url
    for url, form in [(f"/screen/{sha}", {"decision": "include", "reason": "x"}),
                      (f"/screen/{sha}/resolve", {"decision": "include", "reason": "x"}),
                      (f"/doc/{sha}/correct", {"target": "kind", "key": "kind", "value": "audit"}),
                      ("/export", {"fmt": "all"}), ("/reveal/screening", {"revealed": "1"}),
                      ("/team/users", {"name": "eve", "role": "lead", "password": "eve-password"})]:
        r = c.post(url, data={**form, "csrf": "guess"}, follow_redirects=False)
        assert r.status_code == 401, url
    assert decisions(team) == 0
    assert raw(team, "SELECT COUNT(*) AS n FROM users WHERE name = 'eve'")[0]["n"] == 0
    # a forged or stale session cookie is no session
    c.cookies.set("ww_session", "x" * 43)
    assert c.get("/corpus", follow_redirects=False).status_code == 303


def test_wrong_role_is_refused(team):
    sha = a_document(team)
    viewer, vtoken = login(team, "vic")
    assert viewer.get("/corpus").status_code == 200  # viewers read
    assert "Include" not in viewer.get(f"/screen?sha={sha}").text.split("Your decision")[1][:400]
    r = viewer.post(f"/screen/{sha}", data={"decision": "include", "reason": "x", "csrf": vtoken})
    assert r.status_code == 403 and "viewer" in r.text
    assert viewer.post(f"/doc/{sha}/correct", data={"target": "kind", "key": "kind", "value": "audit",
                                                     "csrf": vtoken}).status_code == 403
    assert viewer.post("/export", data={"fmt": "all", "csrf": vtoken}).status_code == 403
    reviewer, rtoken = login(team, "rita")
    assert reviewer.post(f"/screen/{sha}/resolve", data={"decision": "include", "reason": "x",
                                                          "csrf": rtoken}).status_code == 403
    assert reviewer.post("/reveal/screening", data={"revealed": "1", "csrf": rtoken}).status_code == 403
    assert reviewer.get("/team").status_code == 403
    assert reviewer.post("/team/users", data={"name": "eve", "role": "lead", "password": "eve-password",
                                              "csrf": rtoken}).status_code == 403
    assert decisions(team) == 0
    assert raw(team, "SELECT COUNT(*) AS n FROM screening_resolutions")[0]["n"] == 0
    with team.state.review.connection() as review:
        assert review.revealed() == {"screening": False, "coding": False}


def test_forged_forms_are_refused(team):
    sha = a_document(team)
    reviewer, token = login(team, "rita")
    lead, lead_token = login(team, "lead")
    form = {"decision": "include", "reason": "forged"}
    assert reviewer.post(f"/screen/{sha}", data=form).status_code == 403  # no token
    assert reviewer.post(f"/screen/{sha}", data={**form, "csrf": "x" * 43}).status_code == 403  # wrong token
    assert reviewer.post(f"/screen/{sha}", data={**form, "csrf": lead_token}).status_code == 403  # someone else's
    r = reviewer.post(f"/screen/{sha}", data={**form, "csrf": token}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403  # right token, posted from another site
    assert decisions(team) == 0
    assert reviewer.post(f"/screen/{sha}", data={**form, "csrf": token}).status_code == 200
    assert decisions(team) == 1
    # the login form has its own token
    fresh = TestClient(team, base_url=LOCAL)
    r = fresh.post("/login", data={"name": "lead", "password": PASSWORDS["lead"], "csrf": "made-up-token-123456789"})
    assert r.status_code == 403 and "ww_session" not in fresh.cookies


def test_single_user_mode_forms_need_the_token_too(corpus_or_none: Path | None, tmp_path: Path):
    project = copy_project(corpus_or_none, tmp_path / "review")
    app = create_app(project)
    c = TestClient(app, base_url=LOCAL)
    sha = a_document(app)
    assert c.post(f"/screen/{sha}", data={"decision": "include", "reason": "x"}).status_code == 403
    token = csrf_of(c.get("/screen").text)
    assert c.post(f"/screen/{sha}", data={"decision": "include", "reason": "x", "csrf": token}).status_code == 200
    # DNS rebinding: a page on another name that resolves to 127.0.0.1 gets nothing
    assert c.get("/corpus", headers={"Host": "evil.example:8000"}).status_code == 421
    assert c.get("/corpus", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    # a test client's made-up host is no exception either
    assert TestClient(app).get("/corpus").status_code == 421


def test_session_cookie_and_headers(team):
    c = TestClient(team, base_url=LOCAL)
    page = c.get("/login")
    r = c.post("/login", data={"name": "lead", "password": PASSWORDS["lead"], "csrf": csrf_of(page.text)},
               follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "ww_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    token = re.search(r"ww_session=([^;]+)", cookie).group(1)
    stored = [r["token_hash"] for r in raw(team, "SELECT token_hash FROM sessions")]
    hashes = [r["password_hash"] for r in raw(team, "SELECT password_hash FROM users")]
    assert token not in stored and len(stored) == 1  # only a hash of the token is kept
    assert all(h.startswith("$argon2id$") for h in hashes)
    page = c.get("/corpus")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"


def test_login_redirects_only_inside_the_workspace(team):
    c = TestClient(team, base_url=LOCAL)
    for nxt in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        page = c.get("/login", params={"next": nxt})
        r = c.post("/login", data={"name": "lead", "password": PASSWORDS["lead"], "csrf": csrf_of(page.text),
                                   "next": nxt}, follow_redirects=False)
        assert r.headers["location"] in ("/", "/corpus"), nxt
    page = c.get("/login", params={"next": "/screen?only=maybe"})
    r = c.post("/login", data={"name": "lead", "password": PASSWORDS["lead"], "csrf": csrf_of(page.text),
                               "next": "/screen?only=maybe"}, follow_redirects=False)
    assert r.headers["location"] == "/screen?only=maybe"


def test_too_many_failed_logins(team):
    c = TestClient(team, base_url=LOCAL)
    page = c.get("/login")
    token = csrf_of(page.text)
    for _ in range(team_module.PER_NAME):
        assert c.post("/login", data={"name": "rita", "password": "nope-nope", "csrf": token}).status_code == 401
    r = c.post("/login", data={"name": "rita", "password": PASSWORDS["rita"], "csrf": token})
    assert r.status_code == 429 and "try again" in r.text and int(r.headers["retry-after"]) > 0
    assert "ww_session" not in c.cookies
    # the throttle is kept in the review's store: a restarted workspace still refuses
    again = TestClient(create_app(team.state.project.root, team=True), base_url=LOCAL)
    page = again.get("/login")
    r = again.post("/login", data={"name": "rita", "password": PASSWORDS["rita"], "csrf": csrf_of(page.text)})
    assert r.status_code == 429
    # …but only that name from that address: the lead still logs in
    lead, _ = login(team, "lead")


def test_report_text_is_never_html(team):
    sha = hostile_document(team)
    assert sha, "the hostile report was read"
    lead, token = login(team, "lead")
    pages = [lead.get(u).text for u in ("/corpus", f"/doc/{sha}", f"/screen?sha={sha}",
                                         "/corpus?q=pension+pilot")]
    for html in pages:
        assert "<script>window.__pwned" not in html
        assert "<img src=x" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;window.__pwned=3&lt;/script&gt;" in pages[1]  # shown as text
    # a correction or a reason carrying HTML is stored as typed and shown as text
    lead.post(f"/doc/{sha}/correct", data={"csrf": token, "target": "metadata", "key": "title",
                                           "value": "<script>alert(1)</script>"})
    lead.post(f"/screen/{sha}", data={"csrf": token, "decision": "maybe", "reason": "<img src=x onerror=alert(2)>"})
    for url in (f"/doc/{sha}", f"/screen?sha={sha}", "/audit", "/corpus"):
        html = lead.get(url).text
        assert "<script>alert(1)</script>" not in html and "<img src=x onerror" not in html, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in lead.get(f"/doc/{sha}").text


def _login_through(url: str, headers: dict[str, str]) -> str:
    """Log in as the lead over plain HTTP with `headers` added; the session cookie's Set-Cookie line.

    Cookies are carried by hand: a client keeps a Secure cookie from going back over http."""
    import httpx

    with httpx.Client(base_url=url, headers=headers, follow_redirects=False) as c:
        page = c.get("/login")
        pre = re.search(r"ww_pre=([^;]+)", page.headers["set-cookie"]).group(1)
        r = c.post("/login", data={"name": "lead", "password": PASSWORDS["lead"], "csrf": csrf_of(page.text)},
                   headers={"Cookie": f"ww_pre={pre}"})
        assert r.status_code == 303, r.text[:300]
        return next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("ww_session="))


def test_behind_a_tls_proxy_the_session_cookie_is_secure(team):
    """serve() believes X-Forwarded-Proto from the proxy it trusts (127.0.0.1 unless told otherwise):
    the workspace then sees https and marks the session cookie Secure; from anyone else, it does not."""
    import threading
    import time

    import uvicorn
    from web_helpers import free_port

    from whatworks.web.app import server_config

    project = team.state.project.root
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    default = server_config(project, team=True)
    assert default.forwarded_allow_ips == "127.0.0.1"  # the default: a proxy on this machine only
    default.app.state.review.close()
    for allow, secure in (("127.0.0.1", True), ("10.9.9.9", False)):  # requests come from 127.0.0.1
        config = server_config(project, team=True, port=free_port(), forwarded_allow_ips=allow)
        assert config.proxy_headers
        server = uvicorn.Server(config)  # exactly what serve() runs
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.time() + 20
            while not server.started and time.time() < deadline:
                time.sleep(0.02)
            url = f"http://127.0.0.1:{config.port}"
            cookie, plain = _login_through(url, https), _login_through(url, {})
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        assert ("Secure" in cookie) is secure, (allow, cookie)
        assert "HttpOnly" in cookie and "Secure" not in plain
