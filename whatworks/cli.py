"""The `whatworks` command: a thin layer over the library, one sub-command a stage.

    whatworks review DIR PATH...      the whole review in one command
    whatworks read PATH...            read files into a database and print a summary
    whatworks inspect FILE [--json]   a document's outline, kind, metadata, sections, items
    whatworks init DIR                create a review project (protocol, codebook, database)
    whatworks add DIR PATH...         read reports into a project
    whatworks search DIR QUERY        full-text search
    whatworks screen DIR              apply the protocol; --json for one line per document
    whatworks decide DIR DOC DECISION record a human screening decision
    whatworks code DIR                code items to the codebook's themes
    whatworks report DIR              synthesis and reports (HTML, Word, Markdown, Excel)
    whatworks serve DIR               the review workspace in the browser
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from whatworks.errors import WhatworksError

log = logging.getLogger("whatworks")


def _print_add_summary(summary, verbose_errors: bool = True) -> None:
    print(summary.line())
    if verbose_errors and summary.errors:
        print("Files that could not be read:")
        for r in summary.errors:
            print(f"  {r.path}\n    {r.error_code}: {r.error}\n    what to do: {r.fix}")


def _ingest(db, paths: list[str], args) -> Any:
    from whatworks.collect import add_paths
    from whatworks.review import progress_bar

    summary = add_paths(db, paths, jobs=args.jobs, executor=args.executor, scheduler=args.scheduler,
                        timeout=args.timeout, progress=progress_bar(args.quiet))
    try:
        from whatworks.search import index
    except ImportError:
        pass
    else:
        index(db)
    return summary


# --- commands --------------------------------------------------------------------------


def _project(args):
    """The project of a command, with its review database: --database, else WHATWORKS_DATABASE, else
    the project's settings.yaml, else its SQLite file."""
    from whatworks.project import Project

    return Project.open(args.dir, database=getattr(args, "database", None))


def cmd_read(args) -> int:
    from whatworks.store import Database

    db = Database(args.db)
    summary = _ingest(db, args.paths, args)
    _print_add_summary(summary)
    if args.outline:
        for row in db.documents():
            doc = db.document(row["sha256"])
            print(f"\n{row['source']}  [{doc.format}, {len(doc.pages)} pages, {doc.language}]")
            for h in doc.outline():
                print(f"  {'  ' * (h['level'] - 1)}{h['text']}  (p. {h['page']})")
    print(f"database: {args.db}")
    return 0


def inspect_document(path: str, describe: bool = True) -> dict[str, Any]:
    """The `inspect --json` object for one file (schema in docs/inspect-json.md)."""
    from whatworks.read import read_document

    doc = read_document(path)
    out: dict[str, Any] = {
        "source": doc.source,
        "sha256": doc.sha256,
        "format": doc.format,
        "pages": len(doc.pages),
        "language": doc.language,
        "languages": doc.languages,
        "title": doc.title,
        "ocr": doc.ocr,
        "warnings": doc.warnings,
        "outline": doc.outline(),
    }
    if describe:
        from whatworks.describe import describe as describe_document

        out.update(describe_document(doc).to_dict())
    return out


def cmd_inspect(args) -> int:
    status = 0
    for path in args.files:
        try:
            data = inspect_document(path, describe=not args.no_describe)
        except WhatworksError as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
            continue
        if args.json:
            print(json.dumps(data, ensure_ascii=False, indent=None if len(args.files) > 1 else 2))
            continue
        print(f"{data['source']}")
        print(f"  format {data['format']}, {data['pages']} pages, language {data['language']}"
              + (f" ({', '.join(f'{k} {v:.0%}' for k, v in data['languages'].items())})" if data["languages"] else ""))
        if data.get("title"):
            print(f"  title: {data['title']}")
        if "kind" in data:
            print(f"  kind: {data['kind']}")
            for key, value in data.get("metadata", {}).items():
                if value.get("value") not in (None, [], ""):
                    print(f"  {key}: {value['value']}  (confidence {value['confidence']})")
        for w in data["warnings"]:
            print(f"  warning: {w}")
        print("  outline:")
        for h in data["outline"]:
            print(f"    {'  ' * (h['level'] - 1)}{h['text']}  (p. {h['page']})")
        if data.get("sections"):
            print("  sections:")
            for s in data["sections"]:
                print(f"    {s['kind']:<20} {s['heading'][:60]}  (pp. {s['page_start']}–{s['page_end']})")
        if data.get("items"):
            counts: dict[str, int] = {}
            for item in data["items"]:
                counts[item["kind"]] = counts.get(item["kind"], 0) + 1
            print("  items: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return status


def cmd_init(args) -> int:
    from whatworks.project import Project, redacted

    project = Project.init(args.dir, args.protocol, database=args.database)
    print(f"review project ready in {project.root}")
    print(f"  protocol: {project.protocol_path}")
    if project.codebook_path.exists():
        print(f"  codebook: {project.codebook_path}")
    url = project.database_url
    print(f"  database: {redacted(url) if url else project.db_path}")
    print(f"next: whatworks add {project.root} REPORTS...")
    return 0


def cmd_add(args) -> int:
    project = _project(args)
    summary = _ingest(project.db, args.paths, args)
    _print_add_summary(summary)
    return 0


def cmd_search(args) -> int:
    from whatworks.search import search

    project = _project(args)
    hits = search(project.db, args.query, year=args.year, kind=args.kind, region=args.region,
                  country=args.country, language=args.language, section=args.section, limit=args.limit)
    for hit in hits:
        row = hit.__dict__ if hasattr(hit, "__dict__") else dict(hit)
        if args.json:
            print(json.dumps(row, ensure_ascii=False, default=str))
        else:
            print(f"{row.get('title') or row.get('source')}  (p. {row.get('page')}, {row.get('section_kind') or '-'})")
            print(f"    {row.get('snippet')}")
    if not hits and not args.json:
        print("no matches")
    return 0


def cmd_screen(args) -> int:
    from whatworks.screen import screen, screen_results

    project = _project(args)
    summary = screen(project)
    if args.json:
        for row in screen_results(project.db):
            print(json.dumps(row, ensure_ascii=False))
    else:
        print(summary.line() if hasattr(summary, "line") else summary)
    return 0


def cmd_decide(args) -> int:
    from whatworks.screen import decide

    project = _project(args)
    db = project.db
    sha = args.document
    if not db.has_document(sha):
        row = db.one("SELECT sha256 FROM files WHERE path = ? OR path LIKE ?", (args.document, f"%{args.document}"))
        if row is None:
            row = db.one("SELECT sha256 FROM documents WHERE sha256 LIKE ?", (f"{args.document}%",))
        if row is None:
            print(f"error: no document matches {args.document!r}", file=sys.stderr)
            return 1
        sha = row["sha256"]
    decide(db, sha, args.decision, args.reason, reviewer=args.reviewer, role=args.role)
    print(f"{sha[:12]}: {args.decision} by {args.reviewer} — kept over the machine's decision on every re-run")
    return 0


def cmd_code(args) -> int:
    from whatworks.coding import code

    project = _project(args)
    summary = code(project)
    print(summary.line() if hasattr(summary, "line") else summary)
    return 0


def cmd_report(args) -> int:
    from whatworks.review import write_outputs

    project = _project(args)
    for path in write_outputs(project):
        print(f"  {path}")
    return 0


def cmd_review(args) -> int:
    from whatworks.review import run_review

    def say(line: str) -> None:  # one plain line as each stage starts and ends (stderr: stdout is the summary)
        print(line, file=sys.stderr, flush=True)

    result = run_review(args.dir, args.paths, protocol=args.protocol, jobs=args.jobs, executor=args.executor,
                        scheduler=args.scheduler, timeout=args.timeout, quiet=args.quiet,
                        say=None if args.quiet else say)
    print(result.summary())
    return 0


def cmd_serve(args) -> int:
    from whatworks.web.app import serve

    serve(args.dir, host=args.host, port=args.port, team=args.team, database=args.database,
          forwarded_allow_ips=args.forwarded_allow_ips)
    return 0


def cmd_user(args) -> int:
    from whatworks.web.app import add_user

    add_user(args.dir, args.name, args.role, args.password, database=args.database)
    print(f"user {args.name} ({args.role}) saved")
    return 0


def cmd_protocols(args) -> int:  # noqa: ARG001
    from whatworks.project import builtin_codebooks, builtin_protocols

    print("protocols:")
    for name, path in builtin_protocols().items():
        print(f"  {name}  ({path})")
    print("codebooks:")
    for name, path in builtin_codebooks().items():
        print(f"  {name}  ({path})")
    return 0


# --- parser ------------------------------------------------------------------------------


def _executor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="where per-document work runs (default: local processes)")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --executor dask)")
    p.add_argument("--timeout", type=float, default=None, help="seconds one file may take (default 300)")


def _database_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database", metavar="URL",
                   help="the review database: postgresql://user@host/dbname (default: WHATWORKS_DATABASE, else "
                        "the project's settings.yaml, else its review.db; 'sqlite' forces review.db)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="whatworks", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", "-v", action="store_true", help="log what the library does")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("review", help="run a whole review: init, add, screen, code, synthesize, report")
    p.add_argument("dir", help="the review project folder (created if needed)")
    p.add_argument("paths", nargs="+", help="report files or folders")
    p.add_argument("--protocol", default=None,
                   help="protocol name (ilo-social-protection, canada-social-security) or YAML file (new projects)")
    _executor_options(p)
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("read", help="read files or folders into a review database")
    p.add_argument("paths", nargs="+")
    p.add_argument("--db", default="whatworks.db", help="database file (default whatworks.db)")
    p.add_argument("--outline", action="store_true", help="print each document's outline")
    _executor_options(p)
    p.set_defaults(func=cmd_read)

    p = sub.add_parser("inspect", help="print a document's outline, kind, metadata, sections and items")
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true", help="one JSON object (schema: docs/inspect-json.md)")
    p.add_argument("--no-describe", action="store_true", help="only read: outline, pages, language")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("init", help="create a review project")
    p.add_argument("dir")
    p.add_argument("--protocol", default="ilo-social-protection",
                   help="ilo-social-protection (default), canada-social-security, or a YAML file")
    p.add_argument("--database", metavar="URL",
                   help="keep the review in PostgreSQL (postgresql://user@host/dbname): recorded in the project's "
                        "settings.yaml, without the password; an existing review.db is copied into an empty "
                        "database. 'sqlite' goes back to review.db")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("add", help="read reports into a review project")
    p.add_argument("dir")
    p.add_argument("paths", nargs="+")
    _executor_options(p)
    _database_option(p)
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("search", help="full-text search (phrases in quotes, AND/OR/NOT)")
    p.add_argument("dir")
    p.add_argument("query")
    p.add_argument("--year", help="a year or a range such as 2012-2018")
    p.add_argument("--kind", help="document kind, e.g. evaluation_report")
    p.add_argument("--region")
    p.add_argument("--country", help="ISO 3166 alpha-3 code, e.g. MOZ")
    p.add_argument("--language", help="en, fr, es, pt…")
    p.add_argument("--section", help="section kind, e.g. recommendations")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    _database_option(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("screen", help="apply the protocol to every document")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true", help="one JSON line per document (docs/screen-json.md)")
    _database_option(p)
    p.set_defaults(func=cmd_screen)

    p = sub.add_parser("decide", help="record a human screening decision (wins over the machine's)")
    p.add_argument("dir")
    p.add_argument("document", help="sha256 (or its start) or the file path")
    p.add_argument("decision", choices=("include", "maybe", "exclude"))
    p.add_argument("--reason", required=True)
    p.add_argument("--reviewer", default="cli")
    p.add_argument("--role", default="lead", choices=("lead", "reviewer"))
    _database_option(p)
    p.set_defaults(func=cmd_decide)

    p = sub.add_parser("code", help="code items of included reports to the codebook's themes")
    p.add_argument("dir")
    _database_option(p)
    p.set_defaults(func=cmd_code)

    p = sub.add_parser("report", help="write the synthesis: HTML, Word, Markdown, Excel, figures, matrix")
    p.add_argument("dir")
    _database_option(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("serve", help="the review workspace in the browser")
    p.add_argument("dir")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--team", action="store_true", help="accounts, roles and blind screening")
    p.add_argument("--database", metavar="URL",
                   help="postgresql://… to keep a team review in PostgreSQL (with --team; recorded in the "
                        "project's settings.yaml so every later command uses it)")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1", metavar="IPS",
                   help="proxies whose X-Forwarded-Proto/-For headers are believed (comma-separated; default "
                        "127.0.0.1: a TLS proxy on this machine)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("user", help="manage workspace accounts (team mode)")
    usub = p.add_subparsers(dest="user_command", required=True)
    pu = usub.add_parser("add")
    pu.add_argument("dir")
    pu.add_argument("name")
    pu.add_argument("--role", choices=("lead", "reviewer", "viewer"), default="reviewer")
    pu.add_argument("--password", required=True)
    pu.add_argument("--database", help="postgresql://… when the team review is kept in PostgreSQL")
    pu.set_defaults(func=cmd_user)

    p = sub.add_parser("protocols", help="list the shipped protocols and codebooks")
    p.set_defaults(func=cmd_protocols)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except WhatworksError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: what was finished is saved; run the same command again to go on", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
