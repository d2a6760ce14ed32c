"""The review workspace: a small server-rendered web app over the Review API.

    create_app(project_dir, team=False, database=None) -> FastAPI
    serve(project_dir, host="127.0.0.1", port=8000, team=False, database=None)

Pages: corpus (filters, sorting, paging, full-text search), document (text page by page
beside sections, items and metadata, with corrections), screening queue and conflicts,
coding queue and emerging themes, synthesis preview and exports, agreement, audit trail,
accounts. Routes (whatworks.web.routes) parse the request, call `whatworks.api.Review` on the
request's own connection and render a template; every change is one POST with a CSRF token,
written by the API in one transaction with its audit line, before the redirect that confirms it.
Domain errors become HTTP answers: NotFound 404, Forbidden 403, any other ReviewError 422.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from whatworks import team as team_module
from whatworks.api import Review
from whatworks.errors import Forbidden, NotFound, ReviewError, WhatworksError
from whatworks.project import SQLITE, redacted, without_password
from whatworks.web import auth
from whatworks.web.cache import Cache, SynthesisBuilder
from whatworks.web.render import HERE, error_page, sentence, templates_env

log = logging.getLogger(__name__)

#: The largest request body the workspace reads (bytes): its forms are a few kilobytes at most, and
#: a larger POST is refused with 413 as its bytes arrive (Starlette's RequestBodyLimitMiddleware).
MAX_BODY = 1 << 20



def create_app(project_dir: str | Path, team: bool = False, database: str | None = None,
               allowed_hosts: set[str] | None = None) -> FastAPI:
    """The workspace for the project at `project_dir`.

    `team`: accounts, roles and blind screening (`whatworks user add`); otherwise one local user
    (the lead) and no login. `database`: a postgresql:// URL (team reviews; an empty database gets
    the project's SQLite review copied in); without it, the project's own choice
    (WHATWORKS_DATABASE, settings.yaml, else its SQLite file).
    """
    review = Review.for_workspace(project_dir, database)
    url = review.project.database_url
    if url and not team:
        review.close()
        raise ReviewError(f"this review is kept in PostgreSQL ({redacted(url)}), which is for team mode: serve it "
                          "with --team")

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        review.close()

    app = FastAPI(title="whatworks workspace", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    st = app.state
    st.review = review  # every request gets its own connection: review.connection()
    st.project = review.project
    st.team = team
    st.database = url
    st.env = templates_env()
    st.local_user = team_module.local_user()
    st.local_csrf = secrets.token_urlsafe(32)
    st.allowed_hosts = allowed_hosts
    st.cache = Cache()
    st.login_gate = auth.LoginGate(known=review.known_logins() if team else None)
    st.synthesis = SynthesisBuilder(review)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=MAX_BODY)

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
            return error_page(request, 401, "Your session has ended: log in again.", "Please log in")
        return RedirectResponse(auth.login_redirect(exc.next_path), status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return error_page(request, exc.status_code, exc.detail if isinstance(exc.detail, str) else
                          "Something went wrong.", headers=exc.headers)

    @app.exception_handler(WhatworksError)
    async def review_error(request: Request, exc: WhatworksError):
        status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else \
            422 if isinstance(exc, ReviewError) else 500
        return error_page(request, status, sentence(str(exc)))

    from whatworks.web.routes import add_routes

    add_routes(app)
    return app


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
        raise ReviewError(f"single-user mode has no login, so it only listens on 127.0.0.1, not {host}: "
                          "use --team (with accounts: whatworks user add) to serve a team")
    app = create_app(project_dir, team=team, database=database)
    if team:
        review = app.state.review
        if not any(u["active"] for u in review.users()):
            review.close()
            raise ReviewError(f"team mode needs accounts: whatworks user add {project_dir} NAME --role lead")
        project = review.project
        if database and project.stored_database() != (database if database == SQLITE else without_password(database)):
            review.remember_database(database)
            log.info("%s now names %s as the review database", project.settings_path, redacted(database))
    return uvicorn.Config(app, host=host, port=port, log_level="warning", proxy_headers=True,
                          forwarded_allow_ips=forwarded_allow_ips)


def plain_http_warning(host: str, team: bool) -> str | None:
    """What `serve` warns when team mode listens on an address other machines reach: it speaks
    plain HTTP, so passwords and session cookies cross the network readable unless a TLS proxy
    (on this machine) is in front. None when there is nothing to warn about."""
    if not team or host in ("127.0.0.1", "localhost", "::1"):
        return None
    return (f"warning: team mode on {host} speaks plain HTTP: passwords and session cookies cross the network "
            "unencrypted. Serve it behind an HTTPS proxy on this machine (see docs/workspace.md), or on "
            "127.0.0.1 only")


def serve(project_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, team: bool = False,
          database: str | None = None, forwarded_allow_ips: str = FORWARDED_ALLOW_IPS,
          say: Callable[[str], None] | None = None) -> None:
    """Run the workspace with uvicorn; `say` (the CLI's print) hears the URL and any warning.
    Single-user mode binds 127.0.0.1 only."""
    import uvicorn

    config = server_config(project_dir, host, port, team, database, forwarded_allow_ips)
    shown = f"[{host}]" if ":" in host else host
    lines = [f"workspace on http://{shown}:{port}/ ({'team' if team else 'single-user'} mode); Ctrl+C stops it"]
    warning = plain_http_warning(host, team)
    if warning:
        lines.append(warning)
    for line in lines:
        (log.warning if line is warning else log.info)("%s", line)
        if say is not None:
            say(line)
    uvicorn.Server(config).run()
