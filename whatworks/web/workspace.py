"""The workspace's routes for coding at the keyboard and evidence in context.

The coding page saves an item without a reload: app.js posts the item's form here and swaps in
the card this returns (JSON: the card's HTML and the person's progress). "Accept all" takes the
machine's themes for every item of a report the person has not coded. A PDF's pages are served as
images (rendered once, then from the project's cache) with the boxes of a passage on them.
Every answer comes from the Review API; the forms still post to the plain routes without script.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from whatworks.web import evidence, forms, pages
from whatworks.web.auth import Rev, Who, Writer


def _idx(idx: str) -> int:
    if not idx.isdigit() or len(idx) > 9:
        raise HTTPException(404, "No such item in this document.")
    return int(idx)


def _visible(review, v) -> list[str] | None:
    return review.visible("coding", v.user, v.team)


def _progress(review, sha: str, v, n_items: int) -> dict[str, int]:
    return {"done": review.coded_total(v.user), "mine": review.coded_counts(v.user, [sha]).get(sha, 0),
            "n_items": n_items}


def add_routes(app: FastAPI) -> None:
    @app.post("/coding/{sha256}/item/{idx}")
    async def save_item(request: Request, *, sha256: str, idx: str, v: Writer, review: Rev):
        sha, i = forms.sha256(sha256), _idx(idx)
        form = await request.form()
        themes = [str(t) for t in form.getlist("theme")]
        added = str(form.get("add") or "").strip()
        if added:
            themes.append(added)
        accept = bool(form.get("accept"))
        note = str(form.get("note") or "")[:2000]

        def work() -> JSONResponse:
            chosen = review.machine_themes(sha, i) if accept else themes
            review.code_item(sha, i, chosen, v.user, note=note)
            html, n_items = card(request, review, sha, i, v)
            return JSONResponse({"html": html, **_progress(review, sha, v, n_items)})

        return await run_in_threadpool(work)

    @app.post("/coding/{sha256}/accept")
    def accept_all(request: Request, *, sha256: str, v: Writer, review: Rev):
        sha = forms.sha256(sha256)
        n = review.accept_suggestions(sha, v.user)
        return JSONResponse({"accepted": n, **_progress(review, sha, v, len(review.coding_items(sha, v.user, _visible(review, v))))})

    @app.get("/doc/{sha256}/page/{page}.png")
    def page_image(request: Request, *, sha256: str, page: str, v: Who, review: Rev):
        sha = forms.sha256(sha256)
        n = forms.number(page, 1, 1, 100_000)
        width = forms.number(request.query_params.get("w"), 900, 300, 2000)
        path = review.page_image(sha, n, width)
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})

    @app.get("/doc/{sha256}/boxes")
    def boxes(request: Request, *, sha256: str, v: Who, review: Rev):
        sha = forms.sha256(sha256)
        page = forms.number(request.query_params.get("page"), 1, 1, 100_000)
        passage = evidence.quote_of(str(request.query_params.get("q") or "")[:4000])
        if not passage:
            return JSONResponse({"boxes": []})
        return JSONResponse({"boxes": [[round(x, 5) for x in b] for b in review.passage_boxes(sha, page, passage)]})


def card(request: Request, review, sha: str, idx: int, v) -> tuple[str, int]:
    """The HTML of one item's card on the coding page as it stands now, and the report's number of items."""
    codebook = review.codebook
    labels = {t.id: t.label for t in codebook.themes}
    items = evidence.coding_items(review, sha, v.user, _visible(review, v), labels, "document", only=idx)
    if not items:
        raise HTTPException(404, "No such item in this document.")
    env = request.app.state.env
    html = env.get_template("_code_item.html").render(it=items[0], current=sha, viewer=v, only="todo",
                                                      theme_labels=labels, questions=pages.questions(codebook))
    return html, items[0]["n_items"]
