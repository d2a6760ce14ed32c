"""Who is asking, and may they: sessions, roles and CSRF for the workspace.

Single-user mode has no login: the person at the machine is the lead, and the server
only answers on 127.0.0.1 (the Host header is checked too, against DNS rebinding).
Team mode needs an account: the session cookie holds a random token (HttpOnly,
SameSite=Lax) whose hash is looked up server-side. Every POST carries a CSRF token
tied to the session (or, before login and in single-user mode, to a per-process secret
plus a cookie) and is refused with 403 without it.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request

from whatworks.api import Review
from whatworks.team import User

COOKIE = "ww_session"
PRE_COOKIE = "ww_pre"  # the login form's CSRF pair before a session exists
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


@dataclass
class Viewer:
    """The person behind a request, with the CSRF token their forms must carry."""

    user: User
    csrf: str
    team: bool

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> str:
        return self.user.role


class LoginRequired(Exception):
    """Raised by dependencies; the app turns it into a redirect to /login."""

    def __init__(self, next_path: str):
        self.next_path = next_path


def safe_next(path: str | None) -> str:
    """A local path to go back to after login; anything else (//evil, http://…) becomes /."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or "\n" in path:
        return "/"
    return path


def host_allowed(request: Request, team: bool, allowed: set[str] | None) -> bool:
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if allowed is not None:
        return name in allowed or host in allowed
    return team or name in LOCAL_HOSTS


def get_review(request: Request) -> Iterator[Review]:
    """The request's own Review, on its own connection from the pool, closed after the request."""
    review = request.app.state.review.connection()
    try:
        yield review
    finally:
        review.close()


def viewer(request: Request, review: Annotated[Review, Depends(get_review)]) -> Viewer:
    state = request.app.state
    if not state.team:
        return Viewer(state.local_user, state.local_csrf, False)
    found = review.session_user(request.cookies.get(COOKIE))
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    user, csrf = found
    return Viewer(user, csrf, True)


def _check_csrf(request: Request, given: str | None, expected: str) -> None:
    if not given or not hmac.compare_digest(str(given), expected):
        raise HTTPException(403, "This form has expired or did not come from the workspace (CSRF token "
                                 "missing or wrong). Go back, reload the page and try again.")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise HTTPException(403, "This form was sent from another site and was refused.")


async def _posted(request: Request, v: Viewer) -> None:
    """Every POST carries the form's CSRF token; refuse it otherwise."""
    form = await request.form()
    _check_csrf(request, form.get("csrf"), v.csrf)  # type: ignore[arg-type]


async def writer(request: Request, v: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    """A POST by someone who may change the review (lead or reviewer), with a valid CSRF token."""
    await _posted(request, v)
    if not v.user.can_review:
        raise HTTPException(403, f"{v.name} is a {v.role}: viewers can read the review but not change it.")
    return v


async def lead(request: Request, v: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    """A POST only the lead may make (resolve conflicts, reveal, accounts)."""
    await _posted(request, v)
    if not v.user.is_lead:
        raise HTTPException(403, f"Only a lead can do this; {v.name} is a {v.role}.")
    return v


async def poster(request: Request, v: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    """A POST any signed-in person may make (log out), with a valid CSRF token."""
    await _posted(request, v)
    return v


def lead_page(v: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    if not v.user.is_lead:
        raise HTTPException(403, f"Only a lead can see this page; {v.name} is a {v.role}.")
    return v


# --- the login form's CSRF (no session yet) ------------------------------------------------


def pre_token(request: Request) -> str:
    """The login form's token: the ww_pre cookie's value, or a new one (set by the caller)."""
    token = request.cookies.get(PRE_COOKIE)
    return token if token and 20 <= len(token) <= 100 else secrets.token_urlsafe(24)


def check_pre_token(request: Request, given: str | None) -> None:
    cookie = request.cookies.get(PRE_COOKIE)
    if not cookie or not given or not hmac.compare_digest(cookie, str(given)):
        raise HTTPException(403, "The login form has expired (CSRF token missing or wrong). Reload the page.")


class LoginGate:
    """At most `slots` logins at work at once (each holds a worker thread, and may hash), and at
    most `queue` waiting: past that a login is refused at once — a flood of logins then costs the
    server neither threads nor memory, and other pages answer. A name logging in from an address
    it has used before has a lane of its own (`lane(known=True)`), so a flood cannot keep it out."""

    def __init__(self, slots: int = 4, queue: int = 64, known: set[str] | None = None):
        self.slots, self.queue = slots, queue
        self.waiting = 0
        self.known = set(known or ())  # "NAME@ADDRESS" that logged in before (Review.known_logins)
        self._semaphores: dict[bool, asyncio.Semaphore] = {}
        self._refused: dict[str, float] = {}  # "NAME@ADDRESS" or "ADDRESS" → monotonic time

    #: How long a refusal is remembered here, at most (seconds): the store keeps the throttle; this
    #: only spares its lookups while a flood lasts (and `whatworks user unlock` counts within it).
    REMEMBER = 30.0

    def refused_until(self, name: str, address: str) -> float:
        """Until when a login of `name` from `address` is refused without a lookup (0: ask the store)."""
        now = time.monotonic()
        until = max(self._refused.get(f"{name}@{address}", 0.0), self._refused.get(address, 0.0))
        if len(self._refused) > 100_000:  # a flood of addresses: forget the spent ones
            self._refused = {k: v for k, v in self._refused.items() if v > now}
        return until if until > now else 0.0

    def refuse(self, name: str, address: str, seconds: float, whole_address: bool) -> None:
        until = time.monotonic() + min(seconds, self.REMEMBER)
        self._refused[address if whole_address else f"{name}@{address}"] = until

    def is_known(self, name: str, address: str) -> bool:
        return f"{name}@{address}" in self.known

    def remember(self, name: str, address: str) -> None:
        self.known.add(f"{name}@{address}")

    def full(self) -> bool:
        return self.waiting >= self.queue

    @asynccontextmanager
    async def lane(self, known: bool = False) -> AsyncIterator[None]:
        if known not in self._semaphores:  # made on the server's event loop
            self._semaphores[known] = asyncio.Semaphore(1 if known else self.slots)
        semaphore = self._semaphores[known]
        self.waiting += 0 if known else 1
        try:
            await semaphore.acquire()
        finally:
            self.waiting -= 0 if known else 1
        try:
            yield
        finally:
            semaphore.release()


def login_redirect(next_path: str) -> str:
    return "/login?next=" + quote(safe_next(next_path), safe="/")


#: Route parameter types: `review: Rev` (the request's Review), `v: Who` (anyone signed in), `v: Writer` (a POST by a lead or
#: reviewer with a valid CSRF token), `v: Lead` (a POST by a lead), `v: Poster`, `v: LeadPage`.
Rev = Annotated[Review, Depends(get_review)]
Who = Annotated[Viewer, Depends(viewer)]
Writer = Annotated[Viewer, Depends(writer)]
Lead = Annotated[Viewer, Depends(lead)]
Poster = Annotated[Viewer, Depends(poster)]
LeadPage = Annotated[Viewer, Depends(lead_page)]
