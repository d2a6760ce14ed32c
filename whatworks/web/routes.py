"""Every page and form of the workspace: parse the request, call the Review, render or redirect."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from whatworks.api import CorpusQuery
from whatworks.errors import QueryError
from whatworks.model import SECTION_KINDS
from whatworks.team import ROLES, SESSION_SECONDS, LoginRefused, User
from whatworks.web import auth, evidence, forms, pages, workspace
from whatworks.web.auth import Lead, LeadPage, Poster, Rev, Who, Writer
from whatworks.web.filters import MARKS
from whatworks.web.render import MESSAGES, PER_PAGE, back, html


def _visible(review, v, stage: str | None = None) -> list[str] | None:
    """Whose decisions `v` may see at `stage` (None: everyone's); without a stage, at every stage
    (what mixes both, like the synthesis and the audit trail: their own when either is blind)."""
    if stage is not None:
        return review.visible(stage, v.user, v.team)
    return next((seen for seen in (review.visible(s, v.user, v.team) for s in ("screening", "coding")) if seen is not None), None)


def add_routes(app: FastAPI) -> None:  # noqa: C901 - one place that lists every page
    workspace.add_routes(app)  # coding at the keyboard, PDF pages: before the routes they would match
    # --- login ----------------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, *, next: str = "/"):
        if not request.app.state.team:
            return RedirectResponse("/corpus", status_code=303)
        token = auth.pre_token(request)
        response = html(request, None, "login.html", title="Log in", next=auth.safe_next(next), pre=token)
        response.set_cookie(auth.PRE_COOKIE, token, httponly=True, samesite="lax", path="/login",
                            secure=request.url.scheme == "https")
        return response

    @app.post("/login")
    async def login(request: Request):
        # no `review` dependency: a waiting login must not hold one of the pool's connections
        if not request.app.state.team:
            return RedirectResponse("/corpus", status_code=303)
        gate: auth.LoginGate = request.app.state.login_gate
        form = await request.form()  # small: the body limit holds
        name, password, csrf, next = (str(form.get(k) or "")[:4096] for k in ("name", "password", "csrf", "next"))
        auth.check_pre_token(request, csrf)
        again = {"title": "Log in", "next": auth.safe_next(next or "/"), "pre": csrf}
        address = request.client.host if request.client else "unknown"

        def connected(act):
            with request.app.state.review.connection() as review:
                return act(review)

        known = gate.is_known(name.strip(), address)
        if not known and gate.refused_until(name.strip(), address):  # refused a moment ago: no lookup
            response = html(request, None, "login.html", status=429, error="Too many failed logins: try again later.",
                            **again)
            response.headers["Retry-After"] = "30"
            return response
        if gate.full() and not known:  # a flood: refused at once, unless this name logged in from here before
            return HTMLResponse("Too many logins at once: try again in a few seconds.", status_code=429,
                                headers={"Retry-After": "5"})

        def attempt(review) -> tuple[User | None, str | None]:
            user = review.login(name.strip(), password, address)
            return user, review.start_session(user)[0] if user is not None else None

        try:
            async with gate.lane(known):  # the lookup and the hash run on a worker thread, a few at a time
                user, token = await run_in_threadpool(connected, attempt)
        except LoginRefused as e:
            if not known and e.scope in ("name", "address"):
                gate.refuse(name.strip(), address, e.retry_after, whole_address=e.scope == "address")
            response = html(request, None, "login.html", status=429, error=f"{str(e).capitalize()}.", **again)
            response.headers["Retry-After"] = str(int(e.retry_after) + 1)
            return response
        if user is None or token is None:
            return html(request, None, "login.html", status=401, error="Wrong name or password.", **again)
        gate.remember(user.name, address)
        response = RedirectResponse(auth.safe_next(next) if next not in ("", "/") else "/corpus", status_code=303)
        response.set_cookie(auth.COOKIE, token, httponly=True, samesite="lax", path="/",
                            secure=request.url.scheme == "https", max_age=SESSION_SECONDS)
        response.delete_cookie(auth.PRE_COOKIE, path="/login")
        return response

    @app.post("/logout")
    def logout(request: Request, *, v: Poster, review: Rev):
        review.end_session(request.cookies.get(auth.COOKIE))
        response = RedirectResponse("/login?msg=loggedout", status_code=303)
        response.delete_cookie(auth.COOKIE, path="/")
        return response

    @app.get("/")
    def home():
        return RedirectResponse("/corpus", status_code=303)

    # --- corpus -----------------------------------------------------------------------------------
    @app.get("/corpus", response_class=HTMLResponse)
    def corpus(request: Request, *, v: Who, review: Rev):
        f = forms.CorpusFilter.from_params(request.query_params)
        page = forms.number(request.query_params.get("page"), 1)
        facets = request.app.state.cache.get("facets", review.changes()["documents"], review.facet_choices)
        facets = {**facets, "sections": list(SECTION_KINDS)}
        if f.q:
            try:
                hits, total = review.search_page(f.q, limit=PER_PAGE, offset=(page - 1) * PER_PAGE, mark=MARKS,
                                                 **f.search_filters())
                error = None
            except QueryError as e:  # the message says how to write the query
                hits, total, error = [], 0, str(e)
            return html(request, v, "search.html", title=f"Search: {f.q}", section="/corpus", f=f, page=page,
                        per_page=PER_PAGE, facets=facets, hits=hits, total=total, error=error)
        visible = _visible(review, v, "screening")
        rows, total = review.corpus(f.query(), page=page, per_page=PER_PAGE, user=v.user, visible=visible)
        failed = request.app.state.cache.get("failed", review.changes()["documents"], review.failed_files)
        return html(request, v, "corpus.html", title="Corpus", section="/corpus", f=f, rows=rows, total=total,
                    page=page, per_page=PER_PAGE, facets=facets, blind=visible is not None, failed=failed,
                    fixed=review.corrected_fields([r["sha256"] for r in rows]))

    # --- document ---------------------------------------------------------------------------------
    @app.get("/doc/{sha256}", response_class=HTMLResponse)
    def document(request: Request, *, sha256: str, v: Who, review: Rev):
        sha = forms.sha256(sha256)
        view = pages.document(review, sha, forms.number(request.query_params.get("p"), 1),
                              forms.number(request.query_params.get("part"), 1))
        view["screening"] = pages.screening(review, sha, v, _visible(review, v, "screening"), full=False)
        msg, screened = request.query_params.get("msg"), request.query_params.get("screened")
        if msg in ("corrected", "uncorrected") and screened in CorpusQuery.MACHINE:
            view["message"] = f"{MESSAGES[msg]} The document was screened again: the machine now says {screened}."
        return html(request, v, "document.html", section="/corpus", **view)

    @app.post("/doc/{sha256}/correct")
    async def correct(request: Request, *, sha256: str, v: Writer, review: Rev):
        # the form is read here; the work (it screens the document again) runs on a worker thread
        form = {k: str(val) for k, val in (await request.form()).items()}
        return await run_in_threadpool(save_correction, review, forms.sha256(sha256), form, v)

    def save_correction(review, sha: str, form: dict[str, str], v) -> RedirectResponse:
        target, key, value = forms.correction(form, review.machine_description(sha))
        review.correct(sha, target, key, value, reason=form.get("reason", "")[:2000], user=v.user)
        page = forms.number(form.get("p"), 1)
        anchor = "#" + (form.get("anchor") if form.get("anchor") in ("meta", "sections", "items") else "meta")
        if any((c["target"], c["key"]) == (target, key) and any(x["reviewer"] == v.name for x in c["contested"])
               for c in review.correction_conflicts(sha)):
            return back(f"/doc/{sha}?p={page}", "contested", anchor)
        machine = review.screening_record(sha, v.user)["machine"]  # the API screened it again
        screened = f"&screened={machine['decision']}" if machine else ""
        return back(f"/doc/{sha}?p={page}{screened}", "uncorrected" if value is None else "corrected", anchor)

    @app.post("/doc/{sha256}/settle")
    async def settle_correction(request: Request, *, sha256: str, v: Lead, review: Rev):
        form = {k: str(val)[:200] for k, val in (await request.form()).items()}
        await run_in_threadpool(review.settle_correction, forms.sha256(sha256), form.get("target", ""),
                                form.get("key", ""), form.get("take") or None, v.user, form.get("reason", ""))
        return back("/screen/conflicts", "settled", "#contested")

    # --- screening --------------------------------------------------------------------------------
    @app.get("/screen", response_class=HTMLResponse)
    def screen_queue(request: Request, *, sha: str | None = None, only: str = "todo", v: Who, review: Rev):
        only = forms.queue(only)
        visible = _visible(review, v, "screening")
        q = review.screening_queue(v.user, only, visible)
        target = forms.sha256(sha) if sha else q["next"]
        view = pages.screening(review, target, v, visible) if target else None
        return html(request, v, "screen.html", title="Screening", section="/screen", view=view, q=q, only=only)

    @app.post("/screen/{sha256}")
    def screen_decide(request: Request, *, sha256: str, decision: str = Form(...), reason: str = Form(""),
                      only: str = Form("todo"), v: Writer, review: Rev):
        sha, only = forms.sha256(sha256), forms.queue(only)
        if decision == "exclude" and not reason.strip():
            return back(f"/screen?sha={sha}&only={only}", "reason-needed")
        review.decide(sha, decision, reason[:4000], v.user)
        return back(f"/screen?only={only}", "screened")

    @app.get("/screen/conflicts", response_class=HTMLResponse)
    def screen_conflicts(request: Request, *, v: Who, review: Rev):
        page = forms.number(request.query_params.get("page"), 1)
        view = pages.conflicts(review, v, _visible(review, v, "screening"), request.app.state.cache, page)
        return html(request, v, "conflicts.html", title="Conflicts", section="/screen", **view)

    @app.post("/screen/{sha256}/resolve")
    def screen_resolve(request: Request, *, sha256: str, decision: str = Form(...), reason: str = Form(""),
                       v: Lead, review: Rev):
        review.resolve(forms.sha256(sha256), decision, reason[:4000], v.user)
        return back("/screen/conflicts", "resolved")

    @app.post("/reveal/{stage}")
    def reveal(request: Request, *, stage: str, revealed: str = Form("1"), v: Lead, review: Rev):
        review.set_revealed(stage, revealed == "1", v.user)
        return back("/team" if v.team else "/agreement", "revealed" if revealed == "1" else "blinded")

    # --- coding -----------------------------------------------------------------------------------
    @app.get("/code", response_class=HTMLResponse)
    def code_queue(request: Request, *, sha: str | None = None, only: str = "todo", v: Who, review: Rev):
        view = pages.coding(review, v, _visible(review, v, "coding"), request.app.state.cache,
                            forms.sha256(sha) if sha else None, forms.queue(only),
                            forms.number(request.query_params.get("dpage"), 1),
                            item_order=evidence.order(request.query_params.get("order")))
        return html(request, v, "code.html", title="Coding", section="/code", **view)

    @app.post("/code/{sha256}/{idx}")
    async def code_item(request: Request, *, sha256: str, idx: str, v: Writer, review: Rev):
        sha = forms.sha256(sha256)
        if not idx.isdigit() or len(idx) > 9:
            raise HTTPException(404, "No such item in this document.")
        form = await request.form()
        return await run_in_threadpool(save_codes, review, sha, idx, form, v)

    def save_codes(review, sha: str, idx: str, form, v) -> RedirectResponse:
        themes = [str(t) for t in form.getlist("theme")]
        added = str(form.get("add") or "").strip()
        if added:
            themes.append(added)
        if form.get("accept"):
            themes = review.machine_themes(sha, int(idx))
        review.code_item(sha, int(idx), themes, v.user, note=str(form.get("note") or "")[:2000])
        return back(f"/code?sha={sha}&only={forms.queue(str(form.get('only') or 'todo'))}", "coded", f"#item-{idx}")

    @app.get("/themes", response_class=HTMLResponse)
    def themes(request: Request, *, v: Who, review: Rev):
        return html(request, v, "themes.html", title="Themes", section="/code",
                    **pages.themes(review, request.app.state.cache))

    @app.post("/themes/find")
    async def find_themes(request: Request, *, v: Writer, review: Rev):
        await run_in_threadpool(review.find_emerging)  # groups the items no theme fits (embeddings)
        return back("/themes", "found")

    @app.post("/themes")
    async def new_theme(request: Request, *, v: Writer, review: Rev):
        form = {k: str(val) for k, val in (await request.form()).items()}
        return await run_in_threadpool(save_theme, review, form, v)

    def save_theme(review, form: dict[str, str], v) -> RedirectResponse:
        question, _, group = form.get("question", "").partition("/")
        emerging = form.get("emerging", "")
        review.add_theme(form.get("label", "")[:120], form.get("definition", "")[:2000], question,
                         form.get("descriptors", "").split(",")[:50], v.user, group=group or None,
                         emerging_id=int(emerging) if emerging.isdigit() and len(emerging) < 10 else None)
        return back("/themes", "theme")

    @app.post("/themes/{emerging_id}/dismiss")
    def dismiss_theme(request: Request, *, emerging_id: str, v: Writer, review: Rev):
        if not emerging_id.isdigit() or len(emerging_id) > 9:
            raise HTTPException(404, "No such emerging theme.")
        review.set_emerging(int(emerging_id), "dismissed", v.user)
        return back("/themes", "dismissed")

    # --- synthesis --------------------------------------------------------------------------------
    @app.get("/synthesis", response_class=HTMLResponse)
    def synthesis(request: Request, *, v: Who, review: Rev):
        from whatworks.report import FORMATS

        labels = {"html": "HTML", "docx": "Word", "md": "Markdown", "xlsx": "Excel"}
        view = request.app.state.synthesis.view(review.changes(), _visible(review, v))
        return html(request, v, "synthesis.html", title="Synthesis", section="/synthesis", **view,
                    formats=[("all", "Every format")] + [(f, labels.get(f, f.upper())) for f in FORMATS],
                    files=review.output_files(review.export_folder(v.user, _visible(review, v))),  # blind: their own
                    fresh=set(request.query_params.get("files", "").split(",")))

    @app.post("/export")
    def export(request: Request, *, fmt: str = Form("all"), v: Writer, review: Rev):
        visible = _visible(review, v)
        paths = review.export(fmt, v.user, synthesis=request.app.state.synthesis.fresh(review.changes(), visible),
                              visible=visible)
        names = ",".join(p.name for p in paths[:20])
        return RedirectResponse(f"/synthesis?msg=exported&files={names}", status_code=303)

    @app.get("/output/{name}")
    def output_file(request: Request, *, name: str, v: Who, review: Rev):
        path = review.output_file(name, review.export_folder(v.user, _visible(review, v)))  # blind: their own
        # always a download, never rendered here: report text is untrusted, and a sandbox CSP besides
        return FileResponse(path, filename=path.name, content_disposition_type="attachment",
                            headers={"Content-Security-Policy": "sandbox; default-src 'none'"})

    # --- agreement and audit ----------------------------------------------------------------------
    @app.get("/agreement", response_class=HTMLResponse)
    def agreement(request: Request, *, v: Who, review: Rev):
        visible = {stage: _visible(review, v, stage) for stage in ("screening", "coding")}
        view = pages.agreement(review, visible, request.app.state.cache)
        return html(request, v, "agreement.html", title="Agreement", section="/agreement", **view)

    @app.get("/audit", response_class=HTMLResponse)
    def audit(request: Request, *, user: str | None = None, action: str | None = None, v: Who, review: Rev):
        page = forms.number(request.query_params.get("page"), 1)
        user, action = (user or None), (action or None)
        users = _visible(review, v)
        if user is not None:
            users = [user] if users is None or user in users else []
        rows = review.audit(limit=PER_PAGE, offset=(page - 1) * PER_PAGE, users=users, action=action)
        total = review.audit_count(users=users, action=action)

        def audit_url(n: int) -> str:
            return "/audit?" + urlencode({k: val for k, val in (("page", n), ("user", user), ("action", action))
                                          if val})

        return html(request, v, "audit.html", title="Audit trail", section="/audit", rows=rows, total=total,
                    page=page, per_page=PER_PAGE, user=user or "", action=action or "", audit_url=audit_url)

    @app.get("/audit.csv")
    def audit_csv(request: Request, *, v: Who, review: Rev):
        users = _visible(review, v)
        stream = request.app.state.review.connection()  # its own: the request's goes back before the stream ends

        def chunks():
            try:
                yield from stream.audit_csv(users)
            finally:
                stream.close()

        return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'})

    # --- team -------------------------------------------------------------------------------------
    @app.get("/team", response_class=HTMLResponse)
    def team_page(request: Request, *, v: LeadPage, review: Rev):
        return html(request, v, "team.html", title="Team", section="/team", users=review.users(),
                    revealed=review.revealed(), roles=ROLES)

    @app.post("/team/users")
    def team_user(request: Request, *, name: str = Form(...), role: str = Form(...), password: str = Form(...),
                  v: Lead, review: Rev):
        review.save_user(name.strip(), role, password, by=v.name)
        return back("/team", "user")

    @app.post("/team/users/{name}/active")
    def team_user_active(request: Request, *, name: str, active: str = Form("0"), v: Lead, review: Rev):
        review.set_user_active(name, active == "1", by=v.name)
        return back("/team", "user")

    @app.post("/team/users/{name}/remove")
    def team_user_remove(request: Request, *, name: str, v: Lead, review: Rev):
        review.remove_user(name, by=v.name)
        return back("/team", "user")
