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

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whatworks import collect, corrections, decisions, emerging, screen, search, selection, team
from whatworks.codebook import Codebook, load_codebook
from whatworks.errors import NotFound, ProjectError, ReviewError
from whatworks.project import DEFAULT_PROTOCOL, SQLITE, Project, redacted
from whatworks.protocol import Protocol, load_protocol
from whatworks.store import Store, open_store
from whatworks.store import audit as audit_store
from whatworks.store import documents as docs
from whatworks.team import User

log = logging.getLogger(__name__)

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
        return screen.screen(self.store, self.protocol)

    def screening(self, visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """One dict per record (`whatworks screen --json`, docs/screen-json.md)."""
        return screen.screen_results(self.store, list(visible) if visible is not None else None)

    def included(self, visible: Sequence[str] | None = None) -> list[str]:
        return screen.included(self.store, list(visible) if visible is not None else None)

    def decide(self, document: str, decision: str, reason: str, user: User | None = None) -> str:
        """A person's screening decision (by default the local lead's); returns the sha256."""
        sha = self.document_ref(document)
        decisions.decide(self.store, sha, decision, reason, user or team.local_user())
        screen.report_ids(self.store)
        return sha

    def resolve(self, document: str, decision: str, reason: str, lead: User | None = None) -> str:
        sha = self.document_ref(document)
        decisions.resolve(self.store, sha, decision, reason, lead or team.local_user())
        screen.report_ids(self.store)
        return sha

    def conflicts(self, visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
        return decisions.conflicts(self.store, visible)

    # --- corrections --------------------------------------------------------------------------
    def correct(self, document: str, target: str, key: str, value: Any, *, reason: str = "",
                user: User | None = None) -> str:
        """A person's value for the kind (target "kind"), a metadata field, a section or an item of a
        document's description (`value` None takes the correction back). The document is indexed and
        screened again, so the correction shows in its checks and reasons."""
        user = user or team.local_user()
        if not user.can_review:
            raise team.Forbidden(f"{user.name} is a {user.role} and cannot correct documents")
        sha = self.document_ref(document)
        corrections.correct(self.store, sha, target, key, value, user.name, reason=reason)
        search.reindex(self.store, sha)
        if self.store.get_meta("screen.criteria") is not None:  # screened before: screen again
            self.screen()
        return sha

    # --- coding ---------------------------------------------------------------------------------
    def code(self, *, force: bool = False, all_items: bool = False, use_embeddings: bool = True,
             llm: Any = ...) -> Any:
        """Code the items of the included reports (every described report with all_items)."""
        from whatworks import coding
        from whatworks import llm as llm_module

        shas = docs.shas_with_items(self.store) if all_items else self.included()
        if llm is ...:
            llm = llm_module.client_for(self.protocol)
        settings = getattr(self.protocol, "coding", None) or {}
        embed = settings.get("embed", coding.DEFAULT_EMBED) if isinstance(settings, dict) else coding.DEFAULT_EMBED
        return coding.code(self.store, self.codebook, shas, force=force, use_embeddings=use_embeddings,
                           embed=embed, llm=llm)

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
        return synthesize(self.store, self.codebook, self.protocol, llm=llm,
                          visible=list(visible) if visible is not None else None)

    def report(self, synthesis: Any = None, *, formats: Iterable[str] | None = None,
               out_dir: str | Path | None = None, visible: Sequence[str] | None = None) -> list[Path]:
        """The synthesis report in every format, the matrix and the figures; the paths written."""
        from whatworks.report import FORMATS, write_reports
        from whatworks.report.excel import write_matrix

        seen = list(visible) if visible is not None else None
        s = synthesis if synthesis is not None else self.synthesize(seen)
        out = Path(out_dir) if out_dir is not None else self.output_dir
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
        result.counts.update(coded=coded.coded, codes=coded.codes, emerging=len(found))
        with _Stage(result, 3, say) as stage:
            synthesis = self.synthesize()
            stage.news(f"synthesis: {len(synthesis.themes())} themes with evidence from {synthesis.n_reports} "
                       f"reports, {len(synthesis.quotes())} verbatim quotes")
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
        if "psycopg" not in type(e).__module__ and "sqlalchemy" not in type(e).__module__:
            raise
        raise ProjectError(f"cannot open the review database {redacted(url)}: {str(e).strip()[:300]} — check the "
                           "URL, that the server is running, and the password (PGPASSWORD or ~/.pgpass)") from None


def _move_to(project: Project, url: str) -> dict[str, int]:
    """Make `url` the review database from now on; a SQLite review is copied there when it is empty."""
    from whatworks.store.copy import copy_rows

    counts: dict[str, int] = {}
    if url != SQLITE:
        target = Project(project.root, database=url)
        store = _open_store(target)
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
    project.record_database(url)
    project.database = None
    return counts


def _same_protocol(review: Review, protocol: str) -> bool:
    try:
        if Path(protocol).is_file():
            return Path(protocol).read_bytes() == review.project.protocol_path.read_bytes()
        return review.protocol.name == protocol
    except Exception:  # noqa: BLE001 - when in doubt, say it
        return False


def _warm_up(review: Review) -> threading.Thread | None:
    """Load what coding needs (the language identifier, the embedding model, the theme vectors) in
    a thread while the workers read, through the thread's own connection (SQLite only)."""
    if review.store.dialect != "sqlite":
        return None
    path, codebook_path = review.store.path, review.project.codebook_path

    def work() -> None:
        try:
            from whatworks.coding import Coder, Embedder
            from whatworks.language import detect

            detect("warm up the language identifier")
            store = Store(path)
            try:
                Coder(load_codebook(codebook_path), Embedder(store)).theme_matrix  # noqa: B018 - cached
            finally:
                store.close()
        except Exception as e:  # noqa: BLE001 - only a head start: coding does it itself if this failed
            log.debug("warm-up for coding failed: %s", e)

    if not codebook_path.exists():
        return None
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
