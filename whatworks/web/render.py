"""Pages as the workspace renders them: the template environment, the page frame (navigation,
messages), HTML responses, error pages and redirects back with a message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from whatworks.web.auth import Viewer
from whatworks.web.filters import FILTERS, neutral

HERE = Path(__file__).parent
PER_PAGE = 50

MESSAGES = {
    "screened": "Decision saved.",
    "resolved": "Conflict resolved: the lead's decision is final.",
    "corrected": "Correction saved. It is shown over the machine's value and survives re-runs.",
    "uncorrected": "Correction removed: the machine's value shows again.",
    "contested": "Another person corrected this differently: their correction stands, and yours is listed for "
                 "the lead to settle (Screening → Conflicts).",
    "settled": "Contested correction settled.",
    "coded": "Themes saved for this item.",
    "theme": "Theme added to the codebook.",
    "dismissed": "Emerging theme dismissed.",
    "found": "Looked for emerging themes among the items no theme fits.",
    "revealed": "Decisions revealed to every reviewer.",
    "blinded": "Blind mode is on again.",
    "user": "Account saved.",
    "exported": "Export written.",
    "loggedout": "You are logged out.",
    "queue-done": "Nothing left in this queue.",
    "reason-needed": "Write a reason to exclude a document: the selection must say why each report was left out.",
}


def templates_env() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True, finalize=neutral)
    env.filters.update(FILTERS)
    return env


def sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")) if text else text


def _page(request: Request, v: Viewer | None, template: str, **context: Any) -> str:
    st = request.app.state
    nav = [("/corpus", "Corpus"), ("/screen", "Screening"), ("/code", "Coding"), ("/synthesis", "Synthesis"),
           ("/agreement", "Agreement"), ("/audit", "Audit trail")]
    if v is not None and v.user.is_lead and v.team:
        nav.append(("/team", "Team"))
    msg = request.query_params.get("msg")
    context.setdefault("message", MESSAGES.get(msg or ""))
    context.setdefault("message_kind", "warn" if msg in ("reason-needed", "contested") else "ok")
    return st.env.get_template(template).render(
        viewer=v, nav=nav, project_name=st.project.root.name, project_root=str(st.project.root),
        request_path=request.url.path, **context)


def html(request: Request, v: Viewer | None, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_page(request, v, template, **context), status_code=status)


def error_page(request: Request, status: int, detail: str, title: str | None = None,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(_page(request, None, "error.html", title=title or f"Error {status}", status=status,
                              detail=detail), status_code=status, headers=headers)


def back(path: str, msg: str | None = None, anchor: str = "") -> RedirectResponse:
    sep = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{sep}msg={msg}{anchor}" if msg else path + anchor, status_code=303)
