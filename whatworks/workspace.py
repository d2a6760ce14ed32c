"""The review workspace's own records: accounts, sessions, corrections, the audit trail, agreement.

Everything a person does in the workspace lands here (or in the stage module's human
tables) and never in the machine's tables, so re-running a stage cannot overwrite it:

- ``ws_users`` / ``ws_sessions``: team-mode accounts (argon2 hashes) and server-side sessions
  (only a hash of the cookie token is stored);
- ``ws_screening`` / ``ws_coding``: each reviewer's own decisions, with what the machine said
  when the reviewer decided, so a re-run that changes the machine's answer is flagged for a
  second look;
- ``ws_corrections``: human values of metadata, sections and items, shown over the machine's;
- ``ws_audit``: who did what, when, before → after.

`agreement(db, stage)` gives Cohen's kappa and raw agreement per reviewer pair and per
reviewer against the machine, with the confusion table.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from whatworks.errors import WhatworksError

log = logging.getLogger(__name__)

ROLES = ("lead", "reviewer", "viewer")
DECISIONS = ("include", "maybe", "exclude")
STAGES = ("screening", "coding")
MACHINE = "machine"  # the machine as a rater in agreement tables
SESSION_SECONDS = 12 * 3600

SCHEMA = """
CREATE TABLE IF NOT EXISTS ws_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at REAL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS ws_sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ws_screening (
    sha256 TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    role TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT,
    machine TEXT,
    decided_at REAL NOT NULL,
    PRIMARY KEY (sha256, reviewer)
);
CREATE INDEX IF NOT EXISTS ws_screening_reviewer ON ws_screening(reviewer);
CREATE TABLE IF NOT EXISTS ws_resolutions (
    sha256 TEXT PRIMARY KEY,
    decision TEXT NOT NULL,
    reason TEXT,
    lead TEXT NOT NULL,
    machine TEXT,
    resolved_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ws_coding (
    sha256 TEXT NOT NULL,
    idx INTEGER NOT NULL,
    reviewer TEXT NOT NULL,
    role TEXT NOT NULL,
    themes TEXT NOT NULL,
    machine TEXT,
    note TEXT,
    decided_at REAL NOT NULL,
    PRIMARY KEY (sha256, idx, reviewer)
);
CREATE INDEX IF NOT EXISTS ws_coding_reviewer ON ws_coding(reviewer);
CREATE TABLE IF NOT EXISTS ws_corrections (
    sha256 TEXT NOT NULL,
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    machine TEXT,
    reason TEXT,
    reviewer TEXT NOT NULL,
    corrected_at REAL NOT NULL,
    PRIMARY KEY (sha256, target, key)
);
CREATE TABLE IF NOT EXISTS ws_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    before TEXT,
    after TEXT
);
CREATE INDEX IF NOT EXISTS ws_audit_at ON ws_audit(at);
CREATE INDEX IF NOT EXISTS ws_audit_user ON ws_audit(user_name, id);
-- covering indexes for the workspace's listings: `documents` and `descriptions` rows carry large
-- bodies, so a listing that scans the tables reads megabytes; these indexes hold what a listing reads
CREATE INDEX IF NOT EXISTS ws_documents_listing ON documents(source, sha256, format, pages, language, title);
CREATE INDEX IF NOT EXISTS ws_descriptions_kind ON descriptions(sha256, kind);
CREATE INDEX IF NOT EXISTS ws_facets_listing ON doc_facets(sha256, title, kind, year, language, countries);
CREATE INDEX IF NOT EXISTS ws_screen_records_listing ON screen_records(sha256, is_primary, decision);
CREATE INDEX IF NOT EXISTS ws_facets_title ON doc_facets(title COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS ws_screen_records_final ON screen_records(is_primary, source, sha256, decision);
"""


class WorkspaceError(WhatworksError, ValueError):
    """A workspace action that cannot be done as asked (bad role, unknown user, bad value)."""


# --- opening a review database -------------------------------------------------------------


def open_database(project_dir: str | Path, database: str | None = None):
    """The project's review database: its SQLite file, or PostgreSQL when `database` (or the
    WHATWORKS_DATABASE environment variable) is a postgresql:// URL."""
    url = database or os.environ.get("WHATWORKS_DATABASE")
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise WorkspaceError(f"--database must be a postgresql:// URL, not {url.split(':')[0]}:…")
        from whatworks.db_postgres import PostgresDatabase

        return PostgresDatabase(url)
    from whatworks.project import Project

    return Project.open(project_dir).db


# --- users and sessions ------------------------------------------------------------------


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


#: argon2id parameters: argon2-cffi's defaults (RFC 9106 low-memory profile, ~0.5 s on 2 cores)
#: unless set here; the tests lower them to stay fast.
HASH_PARAMS: dict[str, int] = {}


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher(**HASH_PARAMS)


def _check_user(name: str, role: str, password: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise WorkspaceError(f"user name {name!r}: use 1–64 letters, digits, '.', '_', '-' or '@'")
    if name == MACHINE:
        raise WorkspaceError(f"'{MACHINE}' is reserved for the machine's decisions — choose another name")
    if role not in ROLES:
        raise WorkspaceError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise WorkspaceError("the password must have at least 8 characters")


def create_user(db, name: str, role: str, password: str, *, by: str = "cli") -> User:
    """Add an account, or change the role and password of an existing one (audited)."""
    _check_user(name, role, password)
    digest = _hasher().hash(password)
    with db.transaction():
        old = db.one("SELECT role FROM ws_users WHERE name = ?", (name,))
        db.execute("INSERT INTO ws_users(name, role, password_hash, created_at, active) VALUES (?, ?, ?, ?, 1) "
                   "ON CONFLICT(name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash, "
                   "active = 1", (name, role, digest, time.time()))
        if old is not None:  # a changed password or role ends the account's sessions
            db.execute("DELETE FROM ws_sessions WHERE user_name = ?", (name,))
        audit(db, by, "user.save", f"user:{name}", {"role": old["role"]} if old else None, {"role": role})
    return User(name, role)


def add_user(project_dir: str | Path, name: str, role: str, password: str, *, database: str | None = None) -> User:
    """`whatworks user add DIR NAME --role R --password P`: an account for team mode."""
    db = open_database(project_dir, database)
    try:
        return create_user(db, name, role, password)
    finally:
        if database or os.environ.get("WHATWORKS_DATABASE"):
            db.close()


def users(db) -> list[User]:
    return [User(r["name"], r["role"]) for r in db.query("SELECT name, role FROM ws_users WHERE active = 1 "
                                                         "ORDER BY name")]


def verify_user(db, name: str, password: str) -> User | None:
    """The user if the password matches; the same work is done for unknown names (no timing oracle)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    row = db.one("SELECT name, role, password_hash FROM ws_users WHERE name = ? AND active = 1", (name,))
    hasher = _hasher()
    digest = row["password_hash"] if row else _dummy_hash()
    try:
        hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return None
    return User(row["name"], row["role"]) if row else None


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(_hasher().hash(secrets.token_hex(16)))
    return _DUMMY[0]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db, user: User) -> tuple[str, str]:
    """A new session: (cookie token, CSRF token). Only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = time.time()
    with db.transaction():
        db.execute("DELETE FROM ws_sessions WHERE expires_at < ?", (now,))
        db.execute("INSERT INTO ws_sessions(token_hash, user_name, csrf, created_at, expires_at) "
                   "VALUES (?, ?, ?, ?, ?)", (_token_hash(token), user.name, csrf, now, now + SESSION_SECONDS))
        audit(db, user.name, "login", f"user:{user.name}", None, None)
    return token, csrf


def session_user(db, token: str | None) -> tuple[User, str] | None:
    """(user, CSRF token) of a live session, or None."""
    if not token or len(token) > 200:
        return None
    row = db.one("SELECT u.name, u.role, s.csrf FROM ws_sessions s JOIN ws_users u ON u.name = s.user_name "
                 "WHERE s.token_hash = ? AND s.expires_at > ? AND u.active = 1", (_token_hash(token), time.time()))
    return (User(row["name"], row["role"]), row["csrf"]) if row else None


def end_session(db, token: str | None) -> None:
    if token:
        with db.transaction():
            row = db.one("SELECT user_name FROM ws_sessions WHERE token_hash = ?", (_token_hash(token),))
            db.execute("DELETE FROM ws_sessions WHERE token_hash = ?", (_token_hash(token),))
            if row:
                audit(db, row["user_name"], "logout", f"user:{row['user_name']}", None, None)


# --- settings (blind mode) -----------------------------------------------------------------


def blind(db, stage: str) -> bool:
    """In team mode reviewers do not see each other's decisions at `stage` until the lead reveals them."""
    return db.get_meta(f"ws.revealed.{stage}") != "1"


def set_revealed(db, stage: str, revealed: bool, by: User) -> None:
    with db.transaction():
        before = not blind(db, stage)
        db.set_meta(f"ws.revealed.{stage}", "1" if revealed else "0")
        audit(db, by.name, "reveal" if revealed else "blind", f"stage:{stage}", {"revealed": before},
              {"revealed": revealed})


# --- audit trail ---------------------------------------------------------------------------


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def audit(db, user: str, action: str, target: str | None, before: Any, after: Any) -> None:
    """One line of the audit trail; call it inside the transaction of the action it records."""
    db.execute("INSERT INTO ws_audit(at, user_name, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)",
               (time.time(), user, action, target, _json(before), _json(after)))


def audit_rows(db, *, limit: int = 100, offset: int = 0, user: str | None = None,
               action: str | None = None) -> list[dict[str, Any]]:
    where, params = _audit_filter(user, action)
    rows = db.query(f"SELECT id, at, user_name, action, target, before, after FROM ws_audit {where} "
                    "ORDER BY id DESC LIMIT ? OFFSET ?", (*params, limit, offset))
    return [dict(zip(("id", "at", "user", "action", "target", "before", "after"), tuple(r), strict=True))
            for r in rows]


def audit_count(db, *, user: str | None = None, action: str | None = None) -> int:
    where, params = _audit_filter(user, action)
    return db.scalar(f"SELECT COUNT(*) FROM ws_audit {where}", params) or 0


def _audit_filter(user: str | None, action: str | None) -> tuple[str, tuple]:
    clauses, params = [], []
    if user:
        clauses.append("user_name = ?")
        params.append(user)
    if action:
        clauses.append("action = ?")
        params.append(action)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(params)


def _csv_cell(value: Any) -> str:
    """Neutralise spreadsheet formulas: report text is untrusted."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_csv(db) -> Iterator[str]:
    """The whole audit trail as CSV, oldest first, streamed in chunks."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "when_utc", "user", "action", "target", "before", "after"])
    last = 0
    while True:
        rows = db.query("SELECT id, at, user_name, action, target, before, after FROM ws_audit WHERE id > ? "
                        "ORDER BY id LIMIT 2000", (last,))
        for r in rows:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["at"]))
            writer.writerow([r["id"], when] + [_csv_cell(r[k]) for k in ("user_name", "action", "target",
                                                                         "before", "after")])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
        if len(rows) < 2000:
            return
        last = rows[-1]["id"]


# --- screening decisions -------------------------------------------------------------------


def record_screening(db, sha256: str, decision: str, reason: str, user: User, machine: str | None) -> None:
    """A reviewer's screening decision, its audit line and (for the stage module) the human decision,
    in one transaction. `machine` is the machine's decision the reviewer saw."""
    if decision not in DECISIONS:
        raise WorkspaceError(f"decision {decision!r}: use one of {', '.join(DECISIONS)}")
    if not user.can_review:
        raise WorkspaceError(f"{user.name} is a {user.role} and cannot record decisions")
    reason = (reason or "").strip()
    with db.transaction():
        old = db.one("SELECT decision, reason FROM ws_screening WHERE sha256 = ? AND reviewer = ?",
                     (sha256, user.name))
        db.execute("INSERT INTO ws_screening(sha256, reviewer, role, decision, reason, machine, decided_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256, reviewer) DO UPDATE SET "
                   "role = excluded.role, decision = excluded.decision, reason = excluded.reason, "
                   "machine = excluded.machine, decided_at = excluded.decided_at",
                   (sha256, user.name, user.role, decision, reason, machine, time.time()))
        _stage_decide(db, sha256, decision, reason, user)
        audit(db, user.name, "screen", f"document:{sha256}",
              dict(old) if old else None, {"decision": decision, "reason": reason, "machine": machine})


def resolve_conflict(db, sha256: str, decision: str, reason: str, lead: User, machine: str | None) -> None:
    """The lead's final decision on a document reviewers (or a reviewer and the machine) disagree on."""
    if not lead.is_lead:
        raise WorkspaceError(f"only a lead resolves conflicts; {lead.name} is a {lead.role}")
    if decision not in DECISIONS:
        raise WorkspaceError(f"decision {decision!r}: use one of {', '.join(DECISIONS)}")
    reason = (reason or "").strip()
    with db.transaction():
        old = db.one("SELECT decision, reason, lead FROM ws_resolutions WHERE sha256 = ?", (sha256,))
        db.execute("INSERT INTO ws_resolutions(sha256, decision, reason, lead, machine, resolved_at) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET decision = excluded.decision, "
                   "reason = excluded.reason, lead = excluded.lead, machine = excluded.machine, "
                   "resolved_at = excluded.resolved_at",
                   (sha256, decision, reason, lead.name, machine, time.time()))
        _stage_decide(db, sha256, decision, reason, lead, final=True)
        audit(db, lead.name, "resolve", f"document:{sha256}", dict(old) if old else None,
              {"decision": decision, "reason": reason})


def _stage_decide(db, sha256: str, decision: str, reason: str, user: User, final: bool = False) -> None:
    """Tell whatworks.screen, so selection and reports use the humans' decision."""
    try:
        from whatworks.screen import decide
    except ImportError:
        return
    role = "lead" if final or user.is_lead else "reviewer"
    decide(db, sha256, decision, reason or f"{decision} ({user.name}, workspace)", reviewer=user.name, role=role)


def screening_decisions(db, sha256: str) -> list[dict[str, Any]]:
    return [dict(r) for r in db.query("SELECT reviewer, role, decision, reason, machine, decided_at "
                                      "FROM ws_screening WHERE sha256 = ? ORDER BY decided_at", (sha256,))]


def resolution(db, sha256: str) -> dict[str, Any] | None:
    row = db.one("SELECT decision, reason, lead, machine, resolved_at FROM ws_resolutions WHERE sha256 = ?",
                 (sha256,))
    return dict(row) if row else None


def conflicts(db, machine: dict[str, str]) -> list[dict[str, Any]]:
    """Documents where reviewers disagree, or a reviewer disagrees with the machine (`machine`:
    sha256 → the machine's current decision), not yet resolved by the lead — or resolved before a
    reviewer changed their mind."""
    by_doc: dict[str, list[tuple]] = {}
    for r in db.query("SELECT s.sha256, s.reviewer, s.decision, s.reason, s.decided_at, r.resolved_at "
                      "FROM ws_screening s LEFT JOIN ws_resolutions r ON r.sha256 = s.sha256"):
        by_doc.setdefault(r[0], []).append(tuple(r))
    out = []
    keys = ("sha256", "reviewer", "decision", "reason", "decided_at", "resolved_at")
    for sha, rows in by_doc.items():
        resolved_at = rows[0][5]
        if resolved_at is not None and all(r[4] <= resolved_at for r in rows):
            continue
        human = {r[2] for r in rows}
        m = machine.get(sha)
        kinds = []
        if len(human) > 1:
            kinds.append("reviewers")
        if m and any(d != m for d in human):
            kinds.append("machine")
        if kinds:
            rows.sort(key=lambda r: r[4])
            out.append({"sha256": sha, "kinds": kinds, "machine": m,
                        "decisions": [dict(zip(keys, r, strict=True)) for r in rows]})
    return out


def second_looks(db, machine: dict[str, str]) -> list[dict[str, Any]]:
    """Human screening decisions taken when the machine said something else than it says now."""
    out = []
    for r in db.query("SELECT sha256, reviewer, decision, machine, decided_at FROM ws_screening "
                      "WHERE machine IS NOT NULL ORDER BY decided_at"):
        now = machine.get(r["sha256"])
        if now is not None and now != r["machine"]:
            out.append({**dict(r), "machine_now": now})
    for r in db.query("SELECT sha256, lead AS reviewer, decision, machine, resolved_at AS decided_at "
                      "FROM ws_resolutions WHERE machine IS NOT NULL"):
        now = machine.get(r["sha256"])
        if now is not None and now != r["machine"]:
            out.append({**dict(r), "machine_now": now})
    return out


# --- coding decisions --------------------------------------------------------------------


def record_coding(db, sha256: str, idx: int, themes: Iterable[str], user: User, machine: Iterable[str],
                  note: str = "") -> None:
    """A reviewer's themes for one item (replacing their earlier ones) and its audit line, in one
    transaction; `machine` is what the machine suggested when the reviewer decided."""
    if not user.can_review:
        raise WorkspaceError(f"{user.name} is a {user.role} and cannot code items")
    themes = sorted(set(themes))
    machine = sorted(set(machine))
    with db.transaction():
        old = db.one("SELECT themes FROM ws_coding WHERE sha256 = ? AND idx = ? AND reviewer = ?",
                     (sha256, idx, user.name))
        previous = json.loads(old["themes"]) if old else []
        db.execute("INSERT INTO ws_coding(sha256, idx, reviewer, role, themes, machine, note, decided_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256, idx, reviewer) DO UPDATE SET "
                   "role = excluded.role, themes = excluded.themes, machine = excluded.machine, "
                   "note = excluded.note, decided_at = excluded.decided_at",
                   (sha256, idx, user.name, user.role, json.dumps(themes), json.dumps(machine), note, time.time()))
        _stage_code(db, sha256, idx, themes, user, machine, previous)
        audit(db, user.name, "code", f"item:{sha256}:{idx}",
              {"themes": json.loads(old["themes"])} if old else {"machine": machine}, {"themes": themes})


def _stage_code(db, sha256: str, idx: int, themes: list[str], user: User, machine: list[str],
                previous: list[str]) -> None:
    """Tell whatworks.coding (accept / reject / add per theme), so the synthesis uses the humans' codes.

    A reviewer's codes stand until a lead codes the item; the lead's then win."""
    try:
        from whatworks import coding
    except ImportError:
        return
    if not user.is_lead and db.one("SELECT 1 FROM ws_coding WHERE sha256 = ? AND idx = ? AND role = 'lead' "
                                   "AND reviewer <> ?", (sha256, idx, user.name)):
        return
    row = db.one("SELECT text FROM items WHERE sha256 = ? AND idx = ?", (sha256, idx))
    if row is None:
        return
    key = coding.item_key(row["text"])
    chosen = set(themes)
    for theme in sorted(chosen | set(machine) | set(previous)):
        if theme in chosen:
            decision = "accept" if theme in machine else "add"
        else:
            decision = "reject"
        coding.decide(db, sha256, key, theme, decision, reviewer=user.name, note="workspace")


def coding_decisions(db, sha256: str | None = None) -> dict[tuple[str, int], dict[str, list[str]]]:
    """(sha256, item index) → reviewer → themes."""
    sql = "SELECT sha256, idx, reviewer, themes FROM ws_coding"
    rows = db.query(sql + " WHERE sha256 = ?", (sha256,)) if sha256 else db.query(sql)
    out: dict[tuple[str, int], dict[str, list[str]]] = {}
    for r in rows:
        out.setdefault((r["sha256"], r["idx"]), {})[r["reviewer"]] = json.loads(r["themes"])
    return out


# --- corrections ---------------------------------------------------------------------------

TARGETS = ("kind", "metadata", "section", "item")


def correct(db, sha256: str, target: str, key: str, value: Any, user: User, machine: Any,
            reason: str = "") -> None:
    """A human value for a metadata field, the kind, a section or an item (kept apart from the
    machine's description, so a re-run never overwrites it). `value` None removes the correction."""
    if target not in TARGETS:
        raise WorkspaceError(f"target {target!r}: use one of {', '.join(TARGETS)}")
    if not user.can_review:
        raise WorkspaceError(f"{user.name} is a {user.role} and cannot correct documents")
    with db.transaction():
        old = db.one("SELECT value FROM ws_corrections WHERE sha256 = ? AND target = ? AND key = ?",
                     (sha256, target, key))
        before = json.loads(old["value"]) if old and old["value"] is not None else machine
        if value is None:
            db.execute("DELETE FROM ws_corrections WHERE sha256 = ? AND target = ? AND key = ?",
                       (sha256, target, key))
        else:
            db.execute("INSERT INTO ws_corrections(sha256, target, key, value, machine, reason, reviewer, "
                       "corrected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256, target, key) DO UPDATE "
                       "SET value = excluded.value, machine = excluded.machine, reason = excluded.reason, "
                       "reviewer = excluded.reviewer, corrected_at = excluded.corrected_at",
                       (sha256, target, key, _json(value), _json(machine), reason, user.name, time.time()))
        audit(db, user.name, "correct" if value is not None else "uncorrect", f"{target}:{sha256}:{key}",
              before, value if value is not None else machine)


@dataclass
class Correction:
    target: str
    key: str
    value: Any
    machine: Any
    reason: str
    reviewer: str
    at: float


def corrections(db, sha256: str) -> dict[tuple[str, str], Correction]:
    out = {}
    for r in db.query("SELECT target, key, value, machine, reason, reviewer, corrected_at FROM ws_corrections "
                      "WHERE sha256 = ?", (sha256,)):
        out[(r["target"], r["key"])] = Correction(
            r["target"], r["key"], json.loads(r["value"]) if r["value"] is not None else None,
            json.loads(r["machine"]) if r["machine"] is not None else None, r["reason"] or "", r["reviewer"],
            r["corrected_at"])
    return out


def corrected_description(db, sha256: str):
    """The machine's description with every human correction applied (what the synthesis should use).

    Items: a correction of item ``i`` replaces its kind/text/page, ``{"deleted": true}`` drops it;
    keys ``new:…`` add items. Sections: kind, heading and page range. Metadata: the value, with
    confidence 1 and the reviewer named as evidence.
    """
    from whatworks.model import Description, Evidence, Item, Section, Value

    description = db.description(sha256)
    fixes = corrections(db, sha256)
    if description is None:
        if not fixes:
            return None
        description = Description(kind=Value(None, 0.0))
    for (target, key), c in sorted(fixes.items()):
        note = Evidence(None, f"corrected by {c.reviewer}" + (f": {c.reason}" if c.reason else ""))
        if target == "kind":
            description.kind = Value(c.value, 1.0, note)
        elif target == "metadata":
            description.metadata[key] = Value(c.value, 1.0, note)
        elif target == "section" and key.isdigit() and int(key) < len(description.sections):
            s = description.sections[int(key)]
            for attr in ("kind", "heading", "page_start", "page_end"):
                if attr in (c.value or {}):
                    setattr(s, attr, c.value[attr])
        elif target == "section" and key.startswith("new:") and isinstance(c.value, dict):
            description.sections.append(Section(kind=c.value.get("kind", "other"), heading=c.value.get("heading", ""),
                                                page_start=int(c.value.get("page_start", 1)),
                                                page_end=int(c.value.get("page_end", 1))))
    items = []
    for i, item in enumerate(description.items):
        c = fixes.get(("item", str(i)))
        if c is not None and isinstance(c.value, dict):
            if c.value.get("deleted"):
                continue
            item = Item(kind=c.value.get("kind", item.kind), text=c.value.get("text", item.text),
                        page=int(c.value.get("page", item.page)), section_index=item.section_index,
                        number=item.number, fields=item.fields)
        items.append(item)
    for (target, key), c in sorted(fixes.items()):
        if target == "item" and key.startswith("new:") and isinstance(c.value, dict) and not c.value.get("deleted"):
            items.append(Item(kind=c.value.get("kind", "finding"), text=c.value.get("text", ""),
                              page=int(c.value.get("page", 1))))
    description.items = items
    return description


# --- agreement -----------------------------------------------------------------------------


@dataclass
class PairAgreement:
    """Agreement of two raters (reviewers, or a reviewer and the machine) at one stage."""

    stage: str
    a: str
    b: str
    n: int  # units both rated
    agreed: int
    labels: list[str] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)  # rows: a's label, columns: b's
    kappa: float | None = None  # None when undefined (no units, or both raters used one label)

    @property
    def raw(self) -> float | None:
        return self.agreed / self.n if self.n else None

    @property
    def versus_machine(self) -> bool:
        return MACHINE in (self.a, self.b)

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "a": self.a, "b": self.b, "n": self.n, "agreed": self.agreed,
                "raw": self.raw, "kappa": self.kappa, "labels": self.labels, "confusion": self.confusion}


def cohen_kappa(pairs: list[tuple[str, str]], labels: list[str] | None = None) -> tuple[float | None, list[str],
                                                                                         list[list[int]]]:
    """Cohen's kappa of paired labels, the label order and the confusion table (rows: first rater)."""
    labels = labels or sorted({x for p in pairs for x in p})
    index = {label: i for i, label in enumerate(labels)}
    table = [[0] * len(labels) for _ in labels]
    for a, b in pairs:
        table[index[a]][index[b]] += 1
    n = len(pairs)
    if not n:
        return None, labels, table
    po = sum(table[i][i] for i in range(len(labels))) / n
    pe = sum(sum(table[i]) * sum(row[i] for row in table) for i in range(len(labels))) / (n * n)
    if pe >= 1.0:
        return None, labels, table  # both raters used a single label: kappa is undefined
    return (po - pe) / (1 - pe), labels, table


def _pair(stage: str, a: str, b: str, ra: dict[Any, str], rb: dict[Any, str], labels: list[str]) -> PairAgreement:
    pairs = [(ra[u], rb[u]) for u in set(ra) & set(rb)]
    kappa, labels, table = cohen_kappa(pairs, labels)
    return PairAgreement(stage, a, b, len(pairs), sum(1 for x, y in pairs if x == y), labels, table, kappa)


def _kappa_from_table(table: list[list[int]]) -> float | None:
    n = sum(map(sum, table))
    if not n:
        return None
    k = len(table)
    po = sum(table[i][i] for i in range(k)) / n
    pe = sum(sum(table[i]) * sum(row[i] for row in table) for i in range(k)) / (n * n)
    return None if pe >= 1.0 else (po - pe) / (1 - pe)


def _coding_pair(a: str, b: str, sa: dict[Any, set[str]], sb: dict[Any, set[str]], universe: set[str]) -> PairAgreement:
    """Coding agreement over (item, theme) units, counted with set arithmetic (no unit-by-unit dict)."""
    both = only_a = only_b = neither = 0
    for unit in set(sa) & set(sb):
        x, y = sa[unit] & universe, sb[unit] & universe
        both += len(x & y)
        only_a += len(x - y)
        only_b += len(y - x)
        neither += len(universe) - len(x | y)
    table = [[both, only_a], [only_b, neither]]
    n = both + only_a + only_b + neither
    return PairAgreement("coding", a, b, n, both + neither, ["applied", "not applied"], table,
                         _kappa_from_table(table))


def agreement(db, stage: str, machine: dict[Any, Any] | None = None,
              themes: list[str] | None = None) -> list[PairAgreement]:
    """Cohen's kappa and raw agreement for every reviewer pair and every reviewer against the machine.

    screening: units are documents, labels include/maybe/exclude; the machine's decisions come
    from whatworks.screen unless given (`machine`: sha256 → decision).
    coding: units are (item, theme) for every theme of the codebook (`themes`, else every theme
    anyone used), labels applied / not applied; the machine's codes come from whatworks.coding
    unless given (`machine`: (sha256, idx) → list of themes).
    """
    if stage not in STAGES:
        raise WorkspaceError(f"stage {stage!r}: use one of {', '.join(STAGES)}")
    if stage == "screening":
        ratings: dict[str, dict[Any, str]] = {}
        for r in db.query("SELECT sha256, reviewer, decision FROM ws_screening"):
            ratings.setdefault(r["reviewer"], {})[r["sha256"]] = r["decision"]
        if machine is None:
            machine = machine_screening(db, reviewed_only=True)
        labels = list(DECISIONS)
        machine_ratings = {k: v for k, v in machine.items() if v in DECISIONS}
        out = [_pair(stage, a, b, ratings[a], ratings[b], labels) for a, b in combinations(sorted(ratings), 2)]
        out = [p for p in out if p.n]
        return out + [_pair(stage, r, MACHINE, ratings[r], machine_ratings, labels) for r in sorted(ratings)]
    coded = coding_decisions(db)
    sets: dict[str, dict[Any, set[str]]] = {}
    for unit, per in coded.items():
        for reviewer, ts in per.items():
            sets.setdefault(reviewer, {})[unit] = set(ts)
    if machine is None:
        machine = machine_codes(db, coded)
    universe = set(themes or [])
    if not universe:
        universe = {t for per in sets.values() for ts in per.values() for t in ts}
        universe |= {t for ts in machine.values() for t in ts}
    machine_sets = {unit: set(machine.get(unit, [])) for unit in coded}
    out = [_coding_pair(a, b, sets[a], sets[b], universe) for a, b in combinations(sorted(sets), 2)]
    out = [p for p in out if p.n]
    return out + [_coding_pair(r, MACHINE, sets[r], machine_sets, universe) for r in sorted(sets)]


# --- the machine's current answers, through the stage modules -------------------------------


def machine_screening(db, reviewed_only: bool = False) -> dict[str, str]:
    """sha256 → the machine's current screening decision (whatworks.screen's primary record), for
    every document or only those a reviewer decided."""
    sql = "SELECT m.sha256, m.decision FROM screen_records m WHERE m.is_primary = 1 AND m.sha256 IS NOT NULL"
    if reviewed_only:
        sql += " AND m.sha256 IN (SELECT sha256 FROM ws_screening UNION SELECT sha256 FROM ws_resolutions)"
    try:
        rows = db.query(sql)
    except Exception:  # noqa: BLE001 - no screening stage in this database
        return {}
    return {r[0]: r[1] for r in rows}


def machine_codes(db, units: Iterable[tuple[str, int]] | None = None) -> dict[tuple[str, int], list[str]]:
    """(sha256, item index) → the machine's themes (offline engine), for `units` or every coded item.

    Reads whatworks.coding's `coded_items` (which keeps each item's index) and `codes` in one query."""
    wanted = set(units) if units is not None else None
    out: dict[tuple[str, int], list[str]] = {}
    sql = ("SELECT ci.sha256, ci.idx, c.theme FROM coded_items ci JOIN codes c ON c.sha256 = ci.sha256 "
           "AND c.item_key = ci.item_key AND c.engine = 'offline'")
    try:
        if wanted is None:
            rows = db.query(sql)
        else:
            shas = sorted({sha for sha, _ in wanted})
            rows = []
            for i in range(0, len(shas), 500):
                chunk = shas[i:i + 500]
                rows += db.query(sql + f" WHERE ci.sha256 IN ({', '.join('?' for _ in chunk)})", chunk)
    except Exception:  # noqa: BLE001 - no coding stage in this database
        return {}
    for r in rows:
        unit = (r[0], r[1])
        if wanted is None or unit in wanted:
            out.setdefault(unit, []).append(r[2])
    for unit in wanted or ():
        out.setdefault(unit, [])
    return {k: sorted(v) for k, v in out.items()}
