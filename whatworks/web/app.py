"""The review workspace: a small server-rendered web app over the review database.

    create_app(project_dir, team=False, database=None) -> FastAPI
    serve(project_dir, host="127.0.0.1", port=8000, team=False, database=None)

Pages: corpus (filters, sorting, paging, full-text search), document (text page by page
beside sections, items and metadata, with corrections), screening queue and conflicts,
coding queue and emerging themes, synthesis preview and exports, agreement, audit trail,
accounts. Every change is one POST with a CSRF token, written in one transaction (with
its audit line) before the redirect that confirms it.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from whatworks import workspace as ws
from whatworks.errors import ProjectError
from whatworks.project import SQLITE, Project, redacted, without_password
from whatworks.web import auth, data
from whatworks.web.auth import DB, Lead, LeadPage, Poster, Viewer, Who, Writer
from whatworks.workspace import add_user  # noqa: F401 - `whatworks user add` imports it from here

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PER_PAGE = 50

MESSAGES = {
    "screened": "Decision saved.",
    "resolved": "Conflict resolved: the lead's decision is final.",
    "corrected": "Correction saved. It is shown over the machine's value and survives re-runs.",
    "uncorrected": "Correction removed: the machine's value shows again.",
    "coded": "Themes saved for this item.",
    "theme": "Theme added to the codebook.",
    "dismissed": "Emerging theme dismissed.",
    "revealed": "Decisions revealed to every reviewer.",
    "blinded": "Blind mode is on again.",
    "user": "Account saved.",
    "exported": "Export written.",
    "loggedout": "You are logged out.",
    "queue-done": "Nothing left in this queue.",
    "reason-needed": "Write a reason to exclude a document: the selection must say why each report was left out.",
}


class Pool:
    """Review-database connections for request threads (one connection is never shared at once)."""

    def __init__(self, factory: Callable[[], Any], size: int = 8):
        self.factory = factory
        self.free: queue.LifoQueue = queue.LifoQueue()
        self.size = size
        self.busy: set[int] = set()
        self.opened: list[Any] = []
        self.lock = threading.Lock()
        self.closing = False

    @contextmanager
    def connection(self) -> Iterator[Any]:
        try:
            db = self.free.get_nowait()
        except queue.Empty:
            db = self.factory()
            with self.lock:
                self.opened.append(db)
        with self.lock:
            self.busy.add(id(db))
        try:
            yield db
        finally:
            if getattr(db, "_depth", 0):  # a transaction left open by an exception: start clean
                db._depth = 0
            with self.lock:
                self.busy.discard(id(db))
                keep = not self.closing and self.free.qsize() < self.size
                if not keep:
                    self.opened.remove(db)
                if self.closing and not self.busy:
                    self.closing = False
            if keep:
                self.free.put(db)
            else:
                db.close()

    def close(self) -> None:
        """Close the idle connections now and the busy ones when they come back (closing a connection
        another thread is using would crash it); the pool opens new ones if it is used again."""
        with self.lock:
            self.closing = True
            idle = []
            while True:
                try:
                    idle.append(self.free.get_nowait())
                except queue.Empty:
                    break
            for db in idle:
                self.opened.remove(db)
        for db in idle:
            try:
                db.close()
            except Exception:  # noqa: BLE001 - closing on shutdown
                pass
        with self.lock:
            self.closing = bool(self.busy)


def _factory(project: Project, database: str | None) -> Callable[[], Any]:
    if database:
        from whatworks.db_postgres import PostgresDatabase

        project.fill_database(database)  # creates the tables; copies the SQLite review into an empty database
        return lambda: PostgresDatabase(database, apply_schema=False)
    from whatworks.store import Database

    path = project.db_path
    if not path.exists():
        raise ws.WorkspaceError(f"{path} does not exist: run `whatworks add {project.root} REPORTS…` first")
    return lambda: Database(path)


def templates_env() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(data.FILTERS)
    return env


def create_app(project_dir: str | Path, team: bool = False, database: str | None = None,
               allowed_hosts: set[str] | None = None) -> FastAPI:
    """The workspace for the project at `project_dir`.

    `team`: accounts, roles and blind screening (see `workspace.add_user`); otherwise one
    local user (the lead) and no login. `database`: a postgresql:// URL (team reviews); without
    it, the project's own choice (WHATWORKS_DATABASE, settings.yaml, else its SQLite file).
    """
    project = _open_project(project_dir, database)
    database = project.database_url
    if database and not team:
        raise ws.WorkspaceError(f"this review is kept in PostgreSQL ({redacted(database)}), which is for team "
                                "mode: serve it with --team")
    pool = Pool(_factory(project, database))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        pool.close()

    app = FastAPI(title="whatworks workspace", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    st = app.state
    st.project = project
    st.team = team
    st.database = database
    st.pool = pool
    st.env = templates_env()
    st.local_user = auth.local_user()
    st.local_csrf = secrets.token_urlsafe(32)
    st.throttle = auth.Throttle()
    st.allowed_hosts = allowed_hosts
    st.cache = data.Cache(project)
    st.synthesis = data.SynthesisBuilder(project, pool, st.cache)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if not auth.host_allowed(request, team, allowed_hosts):
            return Response("This workspace only answers on 127.0.0.1 (single-user mode).", status_code=421,
                            media_type="text/plain")
        response = await call_next(request)
        h = response.headers
        h.setdefault("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "
                     "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        if "text/html" in h.get("content-type", ""):
            h.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(auth.LoginRequired)
    async def to_login(request: Request, exc: auth.LoginRequired):
        if request.method != "GET":
            return HTMLResponse(_page(request, None, "error.html", title="Please log in",
                                      status=401, detail="Your session has ended: log in again."), status_code=401)
        return RedirectResponse(auth.login_redirect(exc.next_path), status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        text = exc.detail if isinstance(exc.detail, str) else "Something went wrong."
        return HTMLResponse(_page(request, None, "error.html", title=f"Error {exc.status_code}",
                                  status=exc.status_code, detail=text), status_code=exc.status_code)

    _routes(app)
    return app


def _open_project(project_dir: str | Path, database: str | None) -> Project:
    try:
        return Project.open(project_dir, database=database)
    except ProjectError as e:
        raise ws.WorkspaceError(str(e)) from None


def _page(request: Request, v: Viewer | None, template: str, **context: Any) -> str:
    st = request.app.state
    nav = [("/corpus", "Corpus"), ("/screen", "Screening"), ("/code", "Coding"), ("/synthesis", "Synthesis"),
           ("/agreement", "Agreement"), ("/audit", "Audit trail")]
    if v is not None and v.user.is_lead and v.team:
        nav.append(("/team", "Team"))
    msg = request.query_params.get("msg")
    context.setdefault("message", MESSAGES.get(msg or ""))
    context.setdefault("message_kind", "warn" if msg == "reason-needed" else "ok")
    return st.env.get_template(template).render(
        viewer=v, nav=nav, project_name=st.project.root.name, project_root=str(st.project.root),
        request_path=request.url.path, **context)


def html(request: Request, v: Viewer | None, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_page(request, v, template, **context), status_code=status)


def back(path: str, msg: str | None = None, anchor: str = "") -> RedirectResponse:
    sep = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{sep}msg={msg}{anchor}" if msg else path + anchor, status_code=303)


def _int(value: Any, default: int, lo: int = 1, hi: int = 10**9) -> int:
    try:
        return max(lo, min(hi, int(value)))
    except (TypeError, ValueError):
        return default


def _routes(app: FastAPI) -> None:  # noqa: C901 - one place that lists every page
    # --- login ---------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, *, next: str = "/"):
        if not request.app.state.team:
            return RedirectResponse("/corpus", status_code=303)
        token = auth.pre_token(request)
        response = html(request, None, "login.html", title="Log in", next=auth.safe_next(next), pre=token)
        response.set_cookie(auth.PRE_COOKIE, token, httponly=True, samesite="lax", path="/login",
                            secure=request.url.scheme == "https")
        return response

    @app.post("/login")
    def login(request: Request, *, name: str = Form(""), password: str = Form(""), csrf: str = Form(""),
              next: str = Form("/"), db: DB):
        st = request.app.state
        if not st.team:
            return RedirectResponse("/corpus", status_code=303)
        auth.check_pre_token(request, csrf)
        name = name.strip()
        if st.throttle.blocked(name):
            return html(request, None, "login.html", status=429, title="Log in", next=auth.safe_next(next),
                        pre=csrf, error="Too many failed attempts for this account: wait ten minutes.")
        user = ws.verify_user(db, name, password)
        if user is None:
            st.throttle.fail(name)
            return html(request, None, "login.html", status=401, title="Log in", next=auth.safe_next(next),
                        pre=csrf, error="Wrong name or password.")
        st.throttle.clear(name)
        token, _ = ws.start_session(db, user)
        response = RedirectResponse(auth.safe_next(next) if next != "/" else "/corpus", status_code=303)
        response.set_cookie(auth.COOKIE, token, httponly=True, samesite="lax", path="/",
                            secure=request.url.scheme == "https", max_age=ws.SESSION_SECONDS)
        response.delete_cookie(auth.PRE_COOKIE, path="/login")
        return response

    @app.post("/logout")
    def logout(request: Request, *, v: Poster, db: DB):
        ws.end_session(db, request.cookies.get(auth.COOKIE))
        response = RedirectResponse("/login?msg=loggedout", status_code=303)
        response.delete_cookie(auth.COOKIE, path="/")
        return response

    @app.get("/")
    def home():
        return RedirectResponse("/corpus", status_code=303)

    # --- corpus ----------------------------------------------------------------------------
    @app.get("/corpus", response_class=HTMLResponse)
    def corpus(request: Request, *, v: Who, db: DB):
        qp = request.query_params
        f = data.CorpusFilter.from_params(qp)
        st = request.app.state
        page = _int(qp.get("page"), 1)
        if f.q:
            result = data.search_page(db, f, page, PER_PAGE)
            return html(request, v, "search.html", title=f"Search: {f.q}", section="/corpus", f=f, page=page,
                        per_page=PER_PAGE, facets=st.cache.facets(db), **result)
        rows, total = data.corpus_page(db, f, page, PER_PAGE, v, st.cache)
        return html(request, v, "corpus.html", title="Corpus", section="/corpus", f=f, rows=rows, total=total,
                    page=page, per_page=PER_PAGE, facets=st.cache.facets(db),
                    blind=data.hide_others(db, v, "screening"))

    # --- document --------------------------------------------------------------------------
    @app.get("/doc/{sha256}", response_class=HTMLResponse)
    def document(request: Request, *, sha256: str, p: int = 1, v: Who, db: DB):
        view = data.document_view(db, sha256, p, request.app.state.cache)
        if view is None:
            raise HTTPException(404, "No such document in this review.")
        view["screening"] = data.screening_view(db, sha256, v, request.app.state.cache, with_document=False)
        return html(request, v, "document.html", section="/corpus", **view)

    @app.post("/doc/{sha256}/correct")
    async def correct(request: Request, *, sha256: str, v: Writer, db: DB):
        form = await request.form()
        page = _int(form.get("p"), 1)
        data.apply_correction(db, sha256, {k: str(val) for k, val in form.items()}, v.user)
        action = "uncorrected" if form.get("remove") else "corrected"
        return back(f"/doc/{sha256}?p={page}", action, "#" + str(form.get("anchor") or "meta"))

    # --- screening ---------------------------------------------------------------------
    @app.get("/screen", response_class=HTMLResponse)
    def screen_queue(request: Request, *, sha: str | None = None, only: str = "todo", v: Who,
                     db: DB):
        cache = request.app.state.cache
        queue_info = data.screening_queue(db, v, only, cache)
        target = sha or queue_info["next"]
        if target is None:
            return html(request, v, "screen.html", title="Screening", section="/screen", view=None, q=queue_info,
                        only=only)
        view = data.screening_view(db, target, v, cache)
        if view is None:
            raise HTTPException(404, "No such document in this review.")
        return html(request, v, "screen.html", title="Screening", section="/screen", view=view, q=queue_info,
                    only=only)

    @app.post("/screen/{sha256}")
    def screen_decide(request: Request, *, sha256: str, decision: str = Form(...), reason: str = Form(""),
                      only: str = Form("todo"), v: Writer, db: DB):
        if not db.has_document(sha256):
            raise HTTPException(404, "No such document in this review.")
        if decision not in ws.DECISIONS:
            raise HTTPException(400, f"Decision must be one of {', '.join(ws.DECISIONS)}.")
        if decision == "exclude" and not reason.strip():
            return back(f"/screen?sha={sha256}&only={data.safe_only(only)}", "reason-needed")
        machine = data.machine_decision(db, sha256)
        ws.record_screening(db, sha256, decision, reason[:4000], v.user, machine)
        request.app.state.cache.changed()
        return back(f"/screen?only={data.safe_only(only)}", "screened")

    @app.get("/screen/conflicts", response_class=HTMLResponse)
    def screen_conflicts(request: Request, *, page: int = 1, v: Who, db: DB):
        view = data.conflicts_view(db, v, request.app.state.cache, max(1, page))
        return html(request, v, "conflicts.html", title="Conflicts", section="/screen", **view)

    @app.post("/screen/{sha256}/resolve")
    def screen_resolve(request: Request, *, sha256: str, decision: str = Form(...), reason: str = Form(""),
                       v: Lead, db: DB):
        if not db.has_document(sha256):
            raise HTTPException(404, "No such document in this review.")
        if decision not in ws.DECISIONS:
            raise HTTPException(400, f"Decision must be one of {', '.join(ws.DECISIONS)}.")
        ws.resolve_conflict(db, sha256, decision, reason[:4000], v.user, data.machine_decision(db, sha256))
        request.app.state.cache.changed()
        return back("/screen/conflicts", "resolved")

    @app.post("/reveal/{stage}")
    def reveal(request: Request, *, stage: str, revealed: str = Form("1"), v: Lead,
               db: DB):
        if stage not in ws.STAGES:
            raise HTTPException(404, "No such stage.")
        ws.set_revealed(db, stage, revealed == "1", v.user)
        return back("/team" if v.team else "/agreement", "revealed" if revealed == "1" else "blinded")

    # --- coding ----------------------------------------------------------------------------
    @app.get("/code", response_class=HTMLResponse)
    def code_queue(request: Request, *, sha: str | None = None, only: str = "todo", dpage: int = 1, v: Who,
                   db: DB):
        view = data.coding_view(db, v, request.app.state.cache, sha, only, max(1, dpage))
        return html(request, v, "code.html", title="Coding", section="/code", **view)

    @app.post("/code/{sha256}/{idx}")
    async def code_item(request: Request, *, sha256: str, idx: int, v: Writer, db: DB):
        form = await request.form()
        themes = [str(t) for t in form.getlist("theme")]
        added = str(form.get("add") or "").strip()
        if added:
            themes.append(added)
        if form.get("accept"):
            themes = data.machine_themes(db, sha256, idx)
        known = set(request.app.state.cache.theme_ids())
        bad = [t for t in themes if t not in known]
        if bad:
            raise HTTPException(400, f"Unknown theme(s): {', '.join(bad)}. Create the theme first.")
        ws.record_coding(db, sha256, idx, themes, v.user, data.machine_themes(db, sha256, idx),
                         str(form.get("note") or "")[:2000])
        request.app.state.cache.changed()
        only = data.safe_only(str(form.get("only") or "todo"))
        return back(f"/code?sha={sha256}&only={only}", "coded", f"#item-{idx}")

    @app.get("/themes", response_class=HTMLResponse)
    def themes(request: Request, *, v: Who, db: DB):
        view = data.themes_view(db, request.app.state.cache)
        return html(request, v, "themes.html", title="Themes", section="/code", **view)

    @app.post("/themes")
    async def new_theme(request: Request, *, v: Writer):
        form = await request.form()
        data.create_theme(request.app.state.project, {k: str(val) for k, val in form.items()}, v.user,
                          request.app.state.pool)
        request.app.state.cache.clear()
        return back("/themes", "theme")

    @app.post("/themes/{emerging_id}/dismiss")
    def dismiss_theme(request: Request, *, emerging_id: int, v: Writer, db: DB):
        data.dismiss_emerging(db, emerging_id, v.user)
        return back("/themes", "dismissed")

    # --- synthesis ---------------------------------------------------------------------------
    @app.get("/synthesis", response_class=HTMLResponse)
    def synthesis(request: Request, *, v: Who, db: DB):
        view = data.synthesis_view(request.app.state.project, db, request.app.state.synthesis)
        view["fresh"] = set(request.query_params.get("files", "").split(","))
        return html(request, v, "synthesis.html", title="Synthesis", section="/synthesis", **view)

    @app.post("/export")
    def export(request: Request, *, fmt: str = Form("all"), v: Writer, db: DB):
        paths = data.export(request.app.state.project, db, fmt, v.user, request.app.state.synthesis)
        names = ",".join(p.name for p in paths[:20])
        return RedirectResponse(f"/synthesis?msg=exported&files={names}", status_code=303)

    @app.get("/output/{name}")
    def output_file(request: Request, *, name: str, v: Who):
        path = data.output_file(request.app.state.project, name)
        if path is None:
            raise HTTPException(404, "No such file in the project's output folder.")
        # always a download, never rendered here: report text is untrusted, and a sandbox CSP besides
        return FileResponse(path, filename=path.name, content_disposition_type="attachment",
                            headers={"Content-Security-Policy": "sandbox; default-src 'none'"})

    # --- agreement and audit ------------------------------------------------------------
    @app.get("/agreement", response_class=HTMLResponse)
    def agreement(request: Request, *, v: Who, db: DB):
        view = data.agreement_view(db, v, request.app.state.cache)
        return html(request, v, "agreement.html", title="Agreement", section="/agreement", **view)

    @app.get("/audit", response_class=HTMLResponse)
    def audit(request: Request, *, page: int = 1, user: str | None = None, action: str | None = None,
              v: Who, db: DB):
        page = max(1, page)
        user = user or None
        action = action or None
        rows = ws.audit_rows(db, limit=PER_PAGE, offset=(page - 1) * PER_PAGE, user=user, action=action)
        if data.hide_others(db, v, "screening") or data.hide_others(db, v, "coding"):
            rows = [r for r in rows if r["user"] == v.name or r["action"] not in ("screen", "code")]
        total = ws.audit_count(db, user=user, action=action)
        def audit_url(n: int) -> str:
            return "/audit?" + urlencode({k: val for k, val in (("page", n), ("user", user), ("action", action))
                                          if val})

        return html(request, v, "audit.html", title="Audit trail", section="/audit", rows=rows, total=total,
                    page=page, per_page=PER_PAGE, user=user or "", action=action or "", audit_url=audit_url)

    @app.get("/audit.csv")
    def audit_csv(request: Request, *, v: Who, db: DB):
        if v.team and not v.user.is_lead and (data.hide_others(db, v, "screening")
                                              or data.hide_others(db, v, "coding")):
            raise HTTPException(403, "The audit export shows every reviewer's decisions: the lead can download "
                                     "it, or reveal decisions first.")
        chunks = list(ws.audit_csv(db))  # read now: the connection goes back to the pool after this call
        return StreamingResponse(iter(chunks), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'})

    # --- team ------------------------------------------------------------------------------
    @app.get("/team", response_class=HTMLResponse)
    def team_page(request: Request, *, v: LeadPage, db: DB):
        return html(request, v, "team.html", title="Team", section="/team", users=ws.users(db),
                    revealed={s: not ws.blind(db, s) for s in ws.STAGES}, roles=ws.ROLES)

    @app.post("/team/users")
    def team_user(request: Request, *, name: str = Form(...), role: str = Form(...), password: str = Form(...),
                  v: Lead, db: DB):
        try:
            ws.create_user(db, name.strip(), role, password, by=v.name)
        except ws.WorkspaceError as e:
            raise HTTPException(400, str(e)) from None
        return back("/team", "user")


#: Proxies whose X-Forwarded-Proto / X-Forwarded-For are believed (a TLS proxy on the same machine).
FORWARDED_ALLOW_IPS = "127.0.0.1"


def server_config(project_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, team: bool = False,
                  database: str | None = None, forwarded_allow_ips: str = FORWARDED_ALLOW_IPS):
    """The uvicorn configuration `serve` runs: the app, and proxy headers believed only from
    `forwarded_allow_ips` (comma-separated addresses or networks; "*" trusts anyone — only when
    nothing but the proxy can reach the port). Behind a TLS proxy that sends X-Forwarded-Proto:
    https, requests are seen as https, so the session cookie is marked Secure.

    With `team` and `database`, the project records that its review lives in that PostgreSQL
    database (settings.yaml, without the password), so `whatworks add/screen/code/report` write there.
    """
    import uvicorn

    if not team and host not in ("127.0.0.1", "localhost", "::1"):
        raise ws.WorkspaceError(f"single-user mode has no login, so it only listens on 127.0.0.1, not {host}: "
                                "use --team (with accounts: whatworks user add) to serve a team")
    app = create_app(project_dir, team=team, database=database)
    if team:
        with app.state.pool.connection() as db:
            if not ws.users(db):
                raise ws.WorkspaceError(f"team mode needs accounts: whatworks user add {project_dir} NAME "
                                        "--role lead --password …")
        project = app.state.project
        if database and project.stored_database() != (database if database == SQLITE else without_password(database)):
            project.use_database(database)
            log.info("%s now names %s as the review database", project.settings_path, redacted(database))
    return uvicorn.Config(app, host=host, port=port, log_level="warning", proxy_headers=True,
                          forwarded_allow_ips=forwarded_allow_ips)


def serve(project_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, team: bool = False,
          database: str | None = None, forwarded_allow_ips: str = FORWARDED_ALLOW_IPS) -> None:
    """Run the workspace with uvicorn. Single-user mode binds 127.0.0.1 only."""
    import uvicorn

    config = server_config(project_dir, host, port, team, database, forwarded_allow_ips)
    log.info("workspace on http://%s:%d/ (%s mode)", host, port, "team" if team else "single-user")
    uvicorn.Server(config).run()
