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
    """The project's review database: where `database` (a postgresql:// URL, or "sqlite"), else the
    WHATWORKS_DATABASE environment variable, else the project's settings.yaml say, else its SQLite
    file (see whatworks.project)."""
    from whatworks.errors import ProjectError
    from whatworks.project import Project

    try:
        return Project.open(project_dir, database=database).db
    except ProjectError as e:
        raise WorkspaceError(str(e)) from None


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
#: Items a reviewer adds are numbered from here up in `items` (the machine's are 0, 1, …), so an
#: added item keeps its number, and its coding, whatever a re-run of describe finds.
ADDED_ITEM_BASE = 100_000
#: A corrected item the machine no longer finds after a re-run is kept as the reviewer's item,
#: numbered ORPHAN_ITEM_BASE + its old number.
ORPHAN_ITEM_BASE = 200_000
#: How alike (difflib ratio) the machine's new item must be to the one a reviewer corrected for the
#: correction to follow it after a re-run of describe rewrote the text.
SIMILAR_ITEM = 0.6


def correct(db, sha256: str, target: str, key: str, value: Any, user: User, machine: Any,
            reason: str = "") -> None:
    """A human value for a metadata field, the kind, a section or an item (kept apart from the
    machine's description, so a re-run never overwrites it). `value` None removes the correction.

    Items and sections are addressed by their index in the machine's current description (``new:…``
    for added items, ``gone:…`` for corrected items the machine no longer finds). The derived tables
    follow in the same transaction: `items` (what coding and the synthesis read) and the document's
    search facets and passages."""
    if target not in TARGETS:
        raise WorkspaceError(f"target {target!r}: use one of {', '.join(TARGETS)}")
    if not user.can_review:
        raise WorkspaceError(f"{user.name} is a {user.role} and cannot correct documents")
    with db.transaction():
        fixes = corrections(db, sha256)
        if target in ("item", "section"):
            fixes = _rekey(db, sha256, fixes)  # after a re-run, corrections follow their item or section
        old = fixes.get((target, key))
        before = old.value if old and old.value is not None else machine
        if target == "item" and key.startswith("new:") and isinstance(value, dict) and "idx" not in value:
            kept = old.value.get("idx") if old is not None and isinstance(old.value, dict) else None
            value = {**value, "idx": kept if isinstance(kept, int) else _next_added_idx(db, sha256, fixes)}
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
        _refresh_derived(db, sha256, target)


def _next_added_idx(db, sha256: str, fixes: dict) -> int:
    """The next free number for an added item (never one a reviewer's coding still refers to)."""
    used = [c.value["idx"] for (t, k), c in fixes.items() if t == "item" and isinstance(c.value, dict)
            and isinstance(c.value.get("idx"), int)]
    coded = db.scalar("SELECT MAX(idx) FROM ws_coding WHERE sha256 = ? AND idx >= ? AND idx < ?",
                      (sha256, ADDED_ITEM_BASE, ORPHAN_ITEM_BASE))
    return max([ADDED_ITEM_BASE - 1, *used] + ([coded] if coded is not None else [])) + 1


def _rekey(db, sha256: str, fixes: dict) -> dict:
    """Give item and section corrections the index of the machine item or section they follow now
    (a re-run of describe may have renumbered them), and file a corrected item the machine no longer
    has under ``gone:…``, so a new correction of item `i` never overwrites the correction of another
    item that used to be number `i`. Only keys change: values, reviewers and dates stay."""
    from whatworks.model import Description, Value

    machine = db.description(sha256) or Description(kind=Value(None, 0.0))
    ov = overlay(machine, fixes)
    moves = [(c, new) for c, new in ov.anchors.items() if new != c.key]
    for c in ov.gone:
        if c.key.isdigit():
            new = f"gone:{c.key}"
            moves.append((c, new if ("item", new) not in fixes else f"{new}:{int(time.time() * 1000)}"))
    while True:  # never onto the key of a correction that stays where it is
        staying = {(c.target, c.key) for c in fixes.values()} - {(c.target, c.key) for c, _ in moves}
        kept = [(c, new) for c, new in moves if (c.target, new) not in staying]
        if len(kept) == len(moves):
            break
        moves = kept
    if not moves:
        return fixes
    for c, _ in moves:  # two steps: a key may pass from one correction to another
        db.execute("UPDATE ws_corrections SET key = ? WHERE sha256 = ? AND target = ? AND key = ?",
                   (f"moving:{c.key}", sha256, c.target, c.key))
    for c, new in moves:
        db.execute("UPDATE ws_corrections SET key = ? WHERE sha256 = ? AND target = ? AND key = ?",
                   (new, sha256, c.target, f"moving:{c.key}"))
    return corrections(db, sha256)


def _refresh_derived(db, sha256: str, target: str) -> None:
    """Rewrite what is derived from the description for one document: its `items` rows (coding and
    the synthesis read them) and, for the kind, metadata and sections, its search facets."""
    if target in ("item", "section") and hasattr(db, "refresh_items"):
        db.refresh_items(sha256)
    if target == "item":
        return
    try:
        from whatworks import search
    except ImportError:
        return
    row = db.one("SELECT updated_at FROM descriptions WHERE sha256 = ?", (sha256,))
    if row is None or db.one("SELECT 1 FROM doc_facets WHERE sha256 = ?", (sha256,)) is None:
        return  # not described or not indexed yet: `whatworks add` indexes it
    search.index_document(db, db.document(sha256), corrected_description(db, sha256), row["updated_at"])


@dataclass
class Correction:
    target: str
    key: str
    value: Any
    machine: Any
    reason: str
    reviewer: str
    at: float

    def __hash__(self) -> int:
        return hash((self.target, self.key))


def corrections(db, sha256: str) -> dict[tuple[str, str], Correction]:
    """(target, key) → the correction, for one document."""
    return {(r["target"], r["key"]): _correction(r) for r in db.query(
        "SELECT target, key, value, machine, reason, reviewer, corrected_at FROM ws_corrections WHERE sha256 = ?",
        (sha256,))}


def _correction(r) -> Correction:
    return Correction(r["target"], r["key"], json.loads(r["value"]) if r["value"] is not None else None,
                      json.loads(r["machine"]) if r["machine"] is not None else None, r["reason"] or "",
                      r["reviewer"], r["corrected_at"])


@dataclass
class EffectiveItem:
    """One item as the outputs see it: its number in `items`, the item (None when a reviewer said
    it is not an item), the machine's item it corrects (None for an added one) and the correction."""

    idx: int
    key: str  # what a correction of it is filed under: the machine's index, or new:…
    item: Any  # model.Item | None
    machine: Any = None  # model.Item | None
    correction: Correction | None = None
    second_look: bool = False


@dataclass
class Overlay:
    """A description with its corrections applied, and how each correction was applied."""

    description: Any  # model.Description
    items: list[EffectiveItem]  # every item, those marked "not an item" included (item None)
    sections: dict[int, Correction]  # section index → its correction
    anchors: dict[Correction, str]  # item/section correction → the key it follows now (machine index)
    gone: list[Correction]  # item corrections whose machine item is gone (kept as the reviewer's items)
    second_looks: list[dict[str, Any]]  # corrections whose machine value changed since


def _changes(c: Correction) -> dict[str, Any]:
    """The fields of a section or item correction the reviewer changed (all of them when the machine's
    value at the time is not known)."""
    if not isinstance(c.value, dict):
        return {}
    if not isinstance(c.machine, dict):
        return dict(c.value)
    return {k: v for k, v in c.value.items() if k not in c.machine or not _same(c.machine[k], v)}


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _item_dict(item) -> dict[str, Any]:
    return {"kind": item.kind, "text": item.text, "page": item.page}


def _similar(a: str, b: str) -> float:
    from difflib import SequenceMatcher

    m = SequenceMatcher(None, a, b, autojunk=False)
    return m.ratio() if m.real_quick_ratio() >= SIMILAR_ITEM and m.quick_ratio() >= SIMILAR_ITEM else 0.0


def _anchor_items(machine_items: list, fixes: dict) -> dict[Correction, int | None]:
    """Which machine item each item correction follows now: the same index when the machine's item is
    the one corrected, else the item with the same text, else the most similar one; None if gone."""
    texts = [_text(it.text) for it in machine_items]
    out: dict[Correction, int | None] = {}
    taken: set[int] = set()
    pending = []
    for (target, key), c in sorted(fixes.items(), key=lambda kv: kv[0]):
        if target != "item" or not key.isdigit():
            continue
        i = int(key)
        then = c.machine if isinstance(c.machine, dict) else None
        if then is None or "text" not in then:  # no record of the machine's item: keep the index
            out[c] = i if i < len(machine_items) and i not in taken else None
        elif i < len(texts) and texts[i] == _text(then["text"]):
            out[c] = i
        else:
            pending.append((c, i, _text(then["text"])))
            continue
        if out[c] is not None:
            taken.add(out[c])
    for c, _i, text in pending:  # moved: the same text elsewhere
        j = next((j for j, t in enumerate(texts) if t == text and j not in taken), None)
        if j is not None:
            out[c] = j
            taken.add(j)
    for c, i, text in pending:  # changed: the most similar item left, nearest to where it was
        if c in out:
            continue
        best = max(((_similar(text, t), -abs(j - i), j) for j, t in enumerate(texts) if j not in taken),
                   default=(0.0, 0, None))
        out[c] = best[2] if best[0] >= SIMILAR_ITEM else None
        if out[c] is not None:
            taken.add(out[c])
    return out


def _anchor_sections(sections: list, fixes: dict) -> dict[Correction, int | None]:
    """Which machine section each section correction follows now (same index and heading, else the
    same heading and kind elsewhere, else the same index)."""
    out: dict[Correction, int | None] = {}
    taken: set[int] = set()
    heads = [(_text(s.heading).lower(), s.kind) for s in sections]
    for (target, key), c in sorted(fixes.items(), key=lambda kv: kv[0]):
        if target != "section" or not key.isdigit():
            continue
        i = int(key)
        then = c.machine if isinstance(c.machine, dict) else {}
        want = (_text(then.get("heading")).lower(), then.get("kind"))
        j = None
        if i < len(heads) and (not then or heads[i][0] == want[0]) and i not in taken:
            j = i
        else:
            j = next((k for k, h in enumerate(heads) if h == want and k not in taken), None)
            if j is None:
                j = next((k for k, h in enumerate(heads) if h[0] == want[0] and k not in taken), None)
            if j is None and i < len(heads) and i not in taken:
                j = i
        out[c] = j
        if j is not None:
            taken.add(j)
    return out


def overlay(description, fixes: dict[tuple[str, str], Correction]) -> Overlay:
    """Apply corrections to a copy of the machine's `description` (see `corrected_description`)."""
    from dataclasses import replace

    from whatworks.model import Evidence, Item, Section, Value

    machine = description
    # a shallow copy: corrected values, sections and items are new objects; the machine's are not touched
    d = replace(description, metadata=dict(description.metadata), sections=list(description.sections),
                items=list(description.items))
    flags: list[dict[str, Any]] = []

    def look(c: Correction, now: Any) -> bool:
        """Flag `c` when the machine's value changed since it was made: for a section or an item, only
        the fields the reviewer changed count (a page the machine moved under a kind correction does not)."""
        then = c.machine
        if then is None:
            return False
        if isinstance(then, dict) and isinstance(now, dict):
            changed = (set(_changes(c)) - {"deleted", "idx"}) or set(then)  # "not an item": any change
            then, now_cmp = ({k: then.get(k) for k in changed}, {k: now.get(k) for k in changed})
        else:
            now_cmp = now
        if _same(then, now_cmp):
            return False
        flags.append({"target": c.target, "key": c.key, "value": c.value, "machine_then": c.machine,
                      "machine_now": now, "reviewer": c.reviewer, "at": c.at})
        return True

    def note(c: Correction) -> Evidence:
        return Evidence(None, f"corrected by {c.reviewer}" + (f": {c.reason}" if c.reason else ""))

    for (target, key), c in sorted(fixes.items(), key=lambda kv: kv[0]):
        if target == "kind":
            look(c, machine.kind.value)
            d.kind = Value(c.value, 1.0, note(c))
        elif target == "metadata":
            now = machine.metadata.get(key)
            look(c, now.value if now is not None else None)
            d.metadata[key] = Value(c.value, 1.0, note(c))
    anchors: dict[Correction, str] = {}
    section_fix: dict[int, Correction] = {}
    for c, j in _anchor_sections(machine.sections, fixes).items():
        if j is None:
            look(c, None)
            continue
        s = d.sections[j] = replace(machine.sections[j])
        look(c, {k: getattr(machine.sections[j], k) for k in ("kind", "heading", "page_start", "page_end")})
        anchors[c] = str(j)
        section_fix[j] = c
        for attr, value in _changes(c).items():  # what the reviewer changed; the rest follows the machine
            if attr in ("kind", "heading", "page_start", "page_end"):
                setattr(s, attr, value)
    for (target, key), c in sorted(fixes.items(), key=lambda kv: kv[0]):
        if target == "section" and key.startswith("new:") and isinstance(c.value, dict):
            d.sections.append(Section(kind=c.value.get("kind", "other"), heading=c.value.get("heading", ""),
                                      page_start=int(c.value.get("page_start", 1)),
                                      page_end=int(c.value.get("page_end", 1))))

    def section_at(page: int) -> int | None:
        hits = [i for i, s in enumerate(d.sections) if s.page_start <= page <= s.page_end]
        return hits[-1] if hits else None

    def fixed(c: Correction, base, idx: int, machine_item, flagged: bool) -> EffectiveItem:
        v = c.value if isinstance(c.value, dict) else {}
        if v.get("deleted"):
            return EffectiveItem(idx, c.key, None, machine_item, c, flagged)
        then = c.machine if isinstance(c.machine, dict) else {}
        if base is not None:  # what the reviewer changed; the rest follows the machine's item
            v = _changes(c)
        kind = v.get("kind", base.kind if base else then.get("kind", "finding"))
        text = v.get("text", base.text if base else then.get("text", ""))
        page = int(v.get("page", base.page if base else then.get("page", 1)) or 1)
        item = Item(kind=kind, text=text, page=page, section_index=base.section_index if base else section_at(page),
                    number=base.number if base else None, fields=dict(base.fields) if base else {})
        return EffectiveItem(idx, c.key, item, machine_item, c, flagged)

    used: set[int] = set()

    def claim(idx: int, spare_from: int) -> int:
        """`idx`, or the next free number from `spare_from` (numbers in `items` are unique)."""
        if idx in used:
            idx = spare_from
            while idx in used:
                idx += 1
        used.add(idx)
        return idx

    anchored = _anchor_items(machine.items, fixes)
    by_index = {j: c for c, j in anchored.items() if j is not None}
    gone = [c for c, j in anchored.items() if j is None]
    gone += [c for (t, k), c in sorted(fixes.items(), key=lambda kv: kv[0]) if t == "item" and k.startswith("gone:")]
    items: list[EffectiveItem] = []
    for j, it in enumerate(machine.items):
        used.add(j)
        c = by_index.get(j)
        if c is None:
            items.append(EffectiveItem(j, str(j), d.items[j], it))
            continue
        anchors[c] = str(j)
        flagged = look(c, _item_dict(it))
        items.append(fixed(c, d.items[j], j, it, flagged))
    added = [c for (t, k), c in sorted(fixes.items(), key=lambda kv: kv[0]) if t == "item" and k.startswith("new:")
             and isinstance(c.value, dict)]
    for c in added:  # numbers given when the item was added come first
        if isinstance(c.value.get("idx"), int):
            used.add(c.value["idx"])
    for c in gone:  # the machine no longer has the item: the reviewer's version stays, flagged
        n = c.key.split(":")[1] if ":" in c.key else c.key
        flagged = look(c, None)
        idx = claim(ORPHAN_ITEM_BASE + int(n) if n.isdigit() else ORPHAN_ITEM_BASE, ORPHAN_ITEM_BASE)
        items.append(fixed(c, None, idx, None, flagged))
    for c in added:  # items the machine missed
        idx = c.value.get("idx")
        idx = idx if isinstance(idx, int) else claim(ADDED_ITEM_BASE, ADDED_ITEM_BASE)
        items.append(fixed(c, None, idx, None, False))
    d.items = [e.item for e in items if e.item is not None]
    return Overlay(d, items, section_fix, anchors, gone, flags)


def corrected_description(db, sha256: str):
    """The machine's description with every human correction applied (what the outputs use).

    Metadata and the kind: the reviewer's value, with confidence 1 and the reviewer named as
    evidence. Sections: kind, heading and page range. Items: kind, text, page; "not an item" drops
    one; ``new:…`` corrections add items. A re-run of describe that renumbers or rewrites the
    machine's items does not lose a correction: it follows the same (or the most similar) item, and
    the outputs keep the reviewer's version even when the machine's item is gone.
    """
    from whatworks.model import Description, Value

    description = db.description(sha256)
    fixes = corrections(db, sha256)
    if not fixes:
        return description
    return overlay(description or Description(kind=Value(None, 0.0)), fixes).description


def corrected_descriptions(db) -> dict[str, dict[str, Any]]:
    """Every description as a dict (`Description.to_dict`), corrections applied: one query for the
    descriptions and one for the corrections, so the selection matrix of a large review stays fast."""
    from whatworks.model import Description, Value

    out = {r["sha256"]: json.loads(r["data"]) for r in db.query("SELECT sha256, data FROM descriptions")}
    if not _has_corrections(db):
        return out
    for sha in [r[0] for r in db.query("SELECT DISTINCT sha256 FROM ws_corrections")]:
        base = Description.from_dict(out[sha]) if sha in out else Description(kind=Value(None, 0.0))
        out[sha] = overlay(base, corrections(db, sha)).description.to_dict()
    return out


def correction_second_looks(db, sha256: str | None = None) -> list[dict[str, Any]]:
    """Corrections made when the machine said something else than it says now (a re-run of describe
    changed the value under them): each with the document, the human value, the machine's then and now.
    The correction stands; saving it again (or "Use machine's") settles it. Only documents described
    again after a correction are looked at (their corrections and descriptions read in bulk)."""
    from whatworks.model import Description, Value

    if not _has_corrections(db):
        return []
    # only a description rewritten after a correction can have changed under it
    sql = ("SELECT DISTINCT c.sha256 FROM ws_corrections c JOIN descriptions d ON d.sha256 = c.sha256 "
           "WHERE d.updated_at > c.corrected_at")
    shas = [r[0] for r in (db.query(sql + " AND c.sha256 = ?", (sha256,)) if sha256 else db.query(sql))]
    out = []
    for i in range(0, len(shas), 500):
        chunk = shas[i:i + 500]
        marks = ", ".join("?" for _ in chunk)
        fixes: dict[str, dict[tuple[str, str], Correction]] = {}
        for r in db.query("SELECT sha256, target, key, value, machine, reason, reviewer, corrected_at FROM "
                          f"ws_corrections WHERE sha256 IN ({marks})", chunk):
            fixes.setdefault(r["sha256"], {})[(r["target"], r["key"])] = _correction(r)
        for r in db.query(f"SELECT sha256, data FROM descriptions WHERE sha256 IN ({marks})", chunk):
            machine = Description.from_dict(json.loads(r["data"])) if r["data"] else Description(kind=Value(None, 0.0))
            out += [{"sha256": r["sha256"], **f} for f in overlay(machine, fixes.get(r["sha256"], {})).second_looks]
    return sorted(out, key=lambda f: (f["sha256"], f["target"], f["key"]))


def _has_corrections(db) -> bool:
    """Whether the database has the workspace's tables (every review database does, once opened)."""
    has = getattr(db, "has_table", None)
    return bool(has("ws_corrections")) if has is not None else True


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
