"""The people of a team review: accounts and roles, sessions, the login throttle, blind mode.

Passwords are argon2id hashes. A login is checked cheaply first (the name's shape, the lengths,
the throttle), and only then hashed, with at most `HASH_SLOTS` hashes at a time (a login that
finds no slot free within `HASH_WAIT` seconds is refused as busy, and so is any once `HASH_RATE`
hashes a second find wrong passwords; one more slot, and no rate, for a name logging in from an
address it has used before), so a flood of bad logins costs
neither memory nor the other pages' speed. An unknown name costs the time a hash typically takes,
without hashing. Failures are counted per name *and address* (nobody can lock the lead out from
elsewhere), per address, and for the whole server (`GLOBAL`): past the global limit, only a name
logging in from an address it has logged in from before is let through to the hash, so a flood
from many addresses cannot keep the lead out either. The counts are in the store, so a restart
does not reset them.
"""

from __future__ import annotations

import getpass
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from whatworks.errors import Forbidden, NotFound, ReviewError
from whatworks.store import accounts, audit
from whatworks.store.base import Store

ROLES = ("lead", "reviewer", "viewer")
MACHINE = "machine"  # the machine as a rater in agreement tables: no person may take the name
SESSION_SECONDS = 12 * 3600
#: argon2id parameters: argon2-cffi's defaults (RFC 9106 low-memory profile) unless set here;
#: the tests lower them to stay fast.
HASH_PARAMS: dict[str, int] = {}
#: How many password hashes may run at once (each takes 64 MiB with the default parameters).
HASH_SLOTS = 1
#: How long a login waits for a free hashing slot before it is refused as busy (seconds).
HASH_WAIT = 2.0
#: Once this many hashes a second found a wrong password (over the last RATE_WINDOW seconds), a
#: login from a (name, address) not seen before is refused as busy before hashing: a flood never
#: takes more than a share of the processor, and people logging in with their passwords never count.
HASH_RATE = 2
RATE_WINDOW = 5.0
#: Failed logins allowed per (name, address), per address, and on the whole server in WINDOW seconds.
PER_NAME = 8
PER_ADDRESS = 30
GLOBAL = 300
WINDOW = 900.0

_slots = threading.BoundedSemaphore(HASH_SLOTS)
_known_slot = threading.BoundedSemaphore(1)  # kept for names logging in from an address they used before
_hash_seconds: list[float] = []
_wrong_hashes: dict[str, list[float]] = {}  # per review database: when hashes found a wrong password
_rate_lock = threading.Lock()


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def can_review(self) -> bool:
        return self.role in ("lead", "reviewer")

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


def local_user() -> User:
    """The person at the machine, in single-user mode: the lead."""
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        name = "local"
    return User(name if name not in ("", MACHINE) else "local", "lead")


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher(**HASH_PARAMS)


def check_name(name: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise ReviewError(f"user name {name!r}: use 1–64 letters, digits, '.', '_', '-' or '@'")
    if name == MACHINE:
        raise ReviewError(f"'{MACHINE}' is reserved for the machine's decisions — choose another name")


def save_user(store: Store, name: str, role: str, password: str | None, *, by: str = "cli") -> User:
    """Add an account, or change the role (and password) of an existing one; audited. The last
    active lead cannot stop being one."""
    check_name(name)
    if role not in ROLES:
        raise ReviewError(f"role {role!r}: use one of {', '.join(ROLES)}")
    old = accounts.user_row(store, name, active_only=False)
    if old is None and password is None:
        raise ReviewError(f"a new account needs a password ({name})")
    if password is not None and len(password) < 8:
        raise ReviewError("the password must have at least 8 characters")
    digest = _hasher().hash(password) if password is not None else None
    with store.transaction():
        if old and old["role"] == "lead" and old["active"] and role != "lead" and accounts.count_leads(store) <= 1:
            raise Forbidden(f"{name} is the only lead: make another account lead first")
        accounts.save_user(store, name, role, digest)
        if old is not None:  # a changed password or role ends the account's sessions
            accounts.end_sessions_of(store, name)
        audit.add(store, by, "user.save", f"user:{name}", {"role": old["role"]} if old else None, {"role": role})
    return User(name, role)


def set_active(store: Store, name: str, active: bool, *, by: str = "cli") -> None:
    """Disable (or enable again) an account; a disabled account keeps its decisions."""
    row = accounts.user_row(store, name, active_only=False)
    if row is None:
        raise NotFound(f"no account {name!r}")
    with store.transaction():
        if not active and row["role"] == "lead" and row["active"] and accounts.count_leads(store) <= 1:
            raise Forbidden(f"{name} is the only lead: make another account lead first")
        accounts.save_user(store, name, row["role"], active=active)
        accounts.end_sessions_of(store, name)
        audit.add(store, by, "user.enable" if active else "user.disable", f"user:{name}", None, None)


def remove_user(store: Store, name: str, *, by: str = "cli") -> None:
    """Delete an account (its decisions stay, under its name)."""
    row = accounts.user_row(store, name, active_only=False)
    if row is None:
        raise NotFound(f"no account {name!r}")
    with store.transaction():
        if row["role"] == "lead" and row["active"] and accounts.count_leads(store) <= 1:
            raise Forbidden(f"{name} is the only lead: make another account lead first")
        accounts.end_sessions_of(store, name)
        accounts.delete_user(store, name)
        audit.add(store, by, "user.remove", f"user:{name}", {"role": row["role"]}, None)


def users(store: Store, active_only: bool = True) -> list[User]:
    return [User(r["name"], r["role"]) for r in accounts.user_rows(store, active_only)]


def user_rows(store: Store) -> list[dict]:
    return accounts.user_rows(store, active_only=False)


# --- logging in ------------------------------------------------------------------------------

class LoginRefused(ReviewError):
    """Too many failed logins: `retry_after` seconds to wait. `scope`: what is refused — "name" (this
    name from this address), "address", "global" (new pairs on the whole server) or "busy"."""

    def __init__(self, message: str, retry_after: float, scope: str = "busy"):
        super().__init__(message)
        self.retry_after = retry_after
        self.scope = scope


def _blocked(store: Store, key: str, limit: int) -> float:
    """Seconds until `key` may try again (0: now)."""
    row = accounts.failures(store, key)
    if row is None:
        return 0.0
    now = time.time()
    if row["first_at"] < now - WINDOW:
        return 0.0
    return max(0.0, row["first_at"] + WINDOW - now) if row["failures"] >= limit else 0.0


def _fail(store: Store, key: str) -> None:
    row = accounts.failures(store, key)
    now = time.time()
    if row is None or row["first_at"] < now - WINDOW:
        accounts.save_failures(store, key, 1, now, None)
    else:
        accounts.save_failures(store, key, row["failures"] + 1, row["first_at"], None)


def _typical_hash_seconds() -> float:
    return sorted(_hash_seconds)[len(_hash_seconds) // 2] if _hash_seconds else 0.05


def _plausible(name: str, password: str) -> bool:
    """Cheap checks before any lookup: a name an account could have, a password of a sane length."""
    return (0 < len(name) <= 64 and 8 <= len(password) <= 1024 and name != MACHINE
            and all(c.isalnum() or c in "._-@" for c in name))


def login(store: Store, name: str, password: str, address: str = "local") -> User | None:
    """The user if the password matches, else None. Raises LoginRefused when the name at this
    address, or the address, has failed too often lately; or when the whole server has, unless
    this name has logged in from this address before; or when every hashing slot stays busy.
    Unknown names cost the same time as a wrong password but no hashing."""
    name_key, address_key, known_key = f"user:{name}@{address}", f"ip:{address}", f"known:{name}@{address}"
    by_name, by_address = _blocked(store, name_key, PER_NAME), _blocked(store, address_key, PER_ADDRESS)
    wait, scope = max((by_address, "address"), (by_name, "name"))
    if not wait and _blocked(store, "global", GLOBAL) and accounts.failures(store, known_key) is None:
        wait, scope = _blocked(store, "global", GLOBAL), "global"
    if wait:
        raise LoginRefused(f"too many failed logins: try again in {int(wait // 60) + 1} minutes", wait, scope)
    row = accounts.user_row(store, name) if _plausible(name, password) else None
    if row is None:
        time.sleep(_typical_hash_seconds())
        with store.transaction():
            _fail(store, address_key)
            _fail(store, "global")
        return None
    from argon2.exceptions import InvalidHashError, VerificationError

    known = accounts.failures(store, known_key) is not None
    if not known:
        with _rate_lock:
            now = time.monotonic()
            wrong = _wrong_hashes.setdefault(str(store.target), [])
            del wrong[:sum(1 for t in wrong if t < now - RATE_WINDOW)]
            if len(wrong) >= HASH_RATE * RATE_WINDOW:
                raise LoginRefused("the server is busy with other logins: try again in a few seconds", 1.0)
    slot = _known_slot if known and _known_slot.acquire(blocking=False) else _slots
    if slot is _slots and not _slots.acquire(timeout=HASH_WAIT):
        raise LoginRefused("the server is busy with other logins: try again in a few seconds", HASH_WAIT)
    try:
        t0 = time.perf_counter()
        try:
            _hasher().verify(row["password_hash"], password)
            ok = True
        except (VerificationError, InvalidHashError):
            ok = False
            with _rate_lock:
                _wrong_hashes.setdefault(str(store.target), []).append(time.monotonic())
        _hash_seconds.append(time.perf_counter() - t0)
        del _hash_seconds[:-20]
    finally:
        slot.release()
    with store.transaction():
        if not ok:
            _fail(store, name_key)
            _fail(store, address_key)
            _fail(store, "global")
            return None
        accounts.clear_failures(store, name_key)
        accounts.save_failures(store, known_key, 0, time.time(), None)  # this name logs in from here
    return User(row["name"], row["role"])


def unlock(store: Store, *, by: str = "cli") -> int:
    """Forget every failed-login count (not the known addresses): what the lead at the machine does
    when a flood has refused someone. Audited; returns how many counts were cleared."""
    with store.transaction():
        n = accounts.clear_failures_like(store, ("user:", "ip:", "global"))
        audit.add(store, by, "user.unlock", "logins", {"counts": n}, None)
    return n


def known_logins(store: Store) -> set[str]:
    """Every "NAME@ADDRESS" that has logged in before (such a login passes a flood's limits)."""
    return {key.removeprefix("known:") for key in accounts.keys_like(store, "known:")}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(store: Store, user: User) -> tuple[str, str]:
    """A new session: (cookie token, CSRF token). Only the token's hash is stored."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with store.transaction():
        accounts.start_session(store, _token_hash(token), user.name, csrf, SESSION_SECONDS)
        audit.add(store, user.name, "login", f"user:{user.name}", None, None)
    return token, csrf


def session_user(store: Store, token: str | None) -> tuple[User, str] | None:
    """(user, CSRF token) of a live session, or None."""
    if not token or len(token) > 200:
        return None
    row = accounts.session_row(store, _token_hash(token))
    return (User(row["name"], row["role"]), row["csrf"]) if row else None


def end_session(store: Store, token: str | None) -> None:
    if token:
        with store.transaction():
            name = accounts.end_session(store, _token_hash(token))
            if name:
                audit.add(store, name, "logout", f"user:{name}", None, None)


# --- blind mode ------------------------------------------------------------------------------

def blind(store: Store, stage: str) -> bool:
    """In team mode reviewers do not see each other's decisions at `stage` until the lead reveals them."""
    return store.get_meta(f"ws.revealed.{stage}") != "1"


def set_revealed(store: Store, stage: str, revealed: bool, by: User) -> None:
    if not by.is_lead:
        raise Forbidden(f"only a lead reveals decisions; {by.name} is a {by.role}")
    with store.transaction():
        before = not blind(store, stage)
        store.set_meta(f"ws.revealed.{stage}", "1" if revealed else "0")
        audit.add(store, by.name, "reveal" if revealed else "blind", f"stage:{stage}", {"revealed": before},
                  {"revealed": revealed})


def visible_reviewers(store: Store, stage: str, viewer: User | None, team: bool) -> list[str] | None:
    """Whose decisions `viewer` may see at `stage`: None (everyone's) unless blind mode hides the
    others' — then the viewer's own (a lead sees all; a viewer nobody's)."""
    if not team or viewer is None or viewer.is_lead or not blind(store, stage):
        return None
    return [viewer.name] if viewer.can_review else []
