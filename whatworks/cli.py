"""The `whatworks` command: one Typer command per operation, each parsing its input, calling
whatworks.api and printing the result. Errors a user can act on print one line and exit 2."""

from __future__ import annotations

import getpass
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from whatworks.errors import WhatworksError

log = logging.getLogger("whatworks")

app = typer.Typer(name="whatworks", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Turn a pile of evaluation reports into a reviewed, traceable evidence synthesis.")
users_app = typer.Typer(no_args_is_help=True, help="Manage workspace accounts (team mode).")
app.add_typer(users_app, name="user")

_state = {"quiet": False}

Dir = Annotated[Path, typer.Argument(help="the review project folder")]
Paths = Annotated[list[Path], typer.Argument(help="report files or folders")]
Database = Annotated[str | None, typer.Option(
    "--database", metavar="URL", help="the review database: postgresql://user@host/dbname (default: "
    "WHATWORKS_DATABASE, else the project's settings.yaml, else its review.db; 'sqlite' forces review.db)")]
Jobs = Annotated[int | None, typer.Option("--jobs", "-j", help="worker processes (default: one per core)")]
Executor = Annotated[str, typer.Option(help="where per-document work runs: local or dask")]
Scheduler = Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")]
Timeout = Annotated[float | None, typer.Option(help="seconds one file may take (default 300)")]
Json = Annotated[bool, typer.Option("--json", help="one JSON line per result")]
Reviewer = Annotated[str | None, typer.Option(help="who decides (default: you, as the lead)")]

#: Metadata fields that hold lists: `whatworks correct … countries MOZ,AGO`.
LIST_FIELDS = {"countries", "regions_ilo", "regions_m49", "donors", "project_codes", "languages", "period"}


@app.callback()
def _options(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log what the library does")] = False,
             quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars or stage lines")] = False):
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    _state["quiet"] = quiet


def _say(line: str) -> None:
    """A plain line to stderr (stdout carries results)."""
    print(line, file=sys.stderr, flush=True)


def _progress():
    """A progress bar on a terminal, nothing in a log file or a pipe."""
    state: dict[str, Any] = {}
    show = not _state["quiet"] and sys.stderr.isatty()

    def update(result: Any, done: int, total: int) -> None:
        if not show:
            return
        if result is None:
            from tqdm import tqdm

            state["bar"] = tqdm(total=total, desc="    reading", unit="file", file=sys.stderr, disable=total == 0,
                                mininterval=0.5, leave=False)
            return
        bar = state.get("bar")
        if bar is not None:
            if bar.n == 0 and "#eval=" in getattr(result, "path", ""):  # a database export's records
                bar.unit = "record"
            bar.update(1)
            if done == total:
                bar.close()

    return update


def _open(directory: Path, database: str | None = None):
    from whatworks.api import Review

    return Review.open(directory, database=database)


def _user(review: Any, reviewer: str | None, role: str = "lead"):
    from whatworks.team import User, local_user

    return User(reviewer, role) if reviewer else local_user()


def _added(summary: Any) -> None:
    print(summary.line())
    for r in summary.errors:
        print(f"  could not read {r.path}\n    {r.error_code}: {r.error}\n    what to do: {r.fix}")


# --- the whole review ----------------------------------------------------------------------------

@app.command()
def review(directory: Dir, paths: Paths,
           protocol: Annotated[str | None, typer.Option(help="protocol name or YAML file (new projects)")] = None,
           jobs: Jobs = None, executor: Executor = "local", scheduler: Scheduler = None, timeout: Timeout = None):
    """Run a whole review: read, describe, screen, code, synthesize, report (incremental)."""
    from whatworks.api import Review

    with Review.open_or_create(directory, protocol) as r:
        quiet = _state["quiet"]
        result = r.run(paths, jobs=jobs, executor=executor, scheduler=scheduler, timeout=timeout,
                       progress=_progress(), say=None if quiet else _say)
        print(result.summary(said=not quiet))


@app.command()
def init(directory: Dir,
         protocol: Annotated[str, typer.Option(help="ilo-social-protection, canada-social-security, or a YAML file")]
         = "ilo-social-protection",
         database: Database = None):
    """Create a review project (protocol, codebook, database)."""
    from whatworks.api import Review
    from whatworks.project import redacted

    with Review.create(directory, protocol, database=database) as r:
        print(f"review project ready in {r.root}")
        print(f"  protocol: {r.project.protocol_path}")
        print(f"  codebook: {r.project.codebook_path}")
        url = r.project.database_url
        print(f"  database: {redacted(url) if url else r.project.db_path}")
        print(f"next: whatworks add {r.root} REPORTS...")


@app.command()
def add(directory: Dir, paths: Paths, jobs: Jobs = None, executor: Executor = "local", scheduler: Scheduler = None,
        timeout: Timeout = None, database: Database = None):
    """Read and describe reports into a review (unchanged files are skipped)."""
    with _open(directory, database) as r:
        _added(r.add(paths, jobs=jobs, executor=executor, scheduler=scheduler, timeout=timeout,
                     progress=_progress()))


@app.command()
def read(paths: Paths, db: Annotated[Path, typer.Option(help="database file")] = Path("whatworks.db"),
         outline: Annotated[bool, typer.Option(help="print each document's outline")] = False,
         jobs: Jobs = None, executor: Executor = "local", scheduler: Scheduler = None, timeout: Timeout = None):
    """Read files or folders into a database (no review project) and print a summary."""
    from whatworks.api import read_files

    summary, documents = read_files(db, paths, jobs=jobs, executor=executor, scheduler=scheduler, timeout=timeout,
                                    progress=_progress(), outline=outline)
    _added(summary)
    for doc in documents:
        print(f"\n{doc.source}  [{doc.format}, {len(doc.pages)} pages, {doc.language}]")
        for h in doc.outline():
            print(f"  {'  ' * (h['level'] - 1)}{h['text']}  (p. {h['page']})")
    print(f"database: {db}")


@app.command()
def inspect(files: Annotated[list[Path], typer.Argument(help="files to read")],
            json_: Annotated[bool, typer.Option("--json", help="one JSON object (docs/inspect-json.md)")] = False,
            no_describe: Annotated[bool, typer.Option("--no-describe", help="only read")] = False):
    """Print a document's outline, kind, metadata, sections and items."""
    from whatworks.api import inspect_file

    status = 0
    for path in files:
        try:
            data = inspect_file(path, describe=not no_describe)
        except WhatworksError as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
            continue
        if json_:
            print(json.dumps(data, ensure_ascii=False, indent=None if len(files) > 1 else 2))
            continue
        _print_inspection(data)
    raise typer.Exit(status)


def _print_inspection(data: dict[str, Any]) -> None:
    langs = ", ".join(f"{k} {v:.0%}" for k, v in data["languages"].items())
    print(f"{data['source']}")
    print(f"  format {data['format']}, {data['pages']} pages, language {data['language']}"
          + (f" ({langs})" if langs else ""))
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


# --- stages ------------------------------------------------------------------------------------------

@app.command()
def search(directory: Dir, query: str, year: Annotated[str | None, typer.Option(help="2015 or 2012-2018")] = None,
           kind: Annotated[str | None, typer.Option(help="document kind, e.g. evaluation_report")] = None,
           region: str | None = None,
           country: Annotated[str | None, typer.Option(help="ISO 3166 alpha-3 code, e.g. MOZ")] = None,
           language: str | None = None,
           section: Annotated[str | None, typer.Option(help="section kind, e.g. recommendations")] = None,
           limit: int = 20, json_: Json = False, database: Database = None):
    """Full-text search (phrases in quotes, AND/OR/NOT, prefix*)."""
    with _open(directory, database) as r:
        hits = r.search(query, year=year, kind=kind, region=region, country=country, language=language,
                        section=section, limit=limit)
    for hit in hits:
        if json_:
            print(json.dumps(hit.to_dict(), ensure_ascii=False))
        else:
            print(f"{hit.title or hit.source}  (p. {hit.page}, {hit.section_kind or '-'})\n    {hit.snippet}")
    if not hits and not json_:
        print("no matches")


@app.command()
def screen(directory: Dir, json_: Json = False, database: Database = None):
    """Apply the protocol to every document (--json: one line per record, docs/screen-json.md)."""
    with _open(directory, database) as r:
        summary = r.screen()
        if json_:
            for row in r.screening():
                print(json.dumps(row, ensure_ascii=False))
        else:
            print(summary.line())


@app.command()
def decide(directory: Dir, document: Annotated[str, typer.Argument(help="a sha256, its start, or the file path")],
           decision: Annotated[str, typer.Argument(help="include, maybe or exclude")],
           reason: Annotated[str, typer.Option(help="why (it goes into the selection log)")],
           reviewer: Reviewer = None,
           role: Annotated[str, typer.Option(help="lead or reviewer")] = "lead", database: Database = None):
    """Record a person's screening decision: it wins over the machine's on every re-run."""
    if not reason.strip():
        raise WhatworksError("a decision needs a reason (--reason): it goes into the selection log")
    with _open(directory, database) as r:
        user = _user(r, reviewer, role)
        sha = r.decide(document, decision, reason, user)
    print(f"{sha[:12]}: {decision} by {user.name} ({user.role}) — kept over the machine's decision on every re-run")


@app.command()
def correct(directory: Dir, document: Annotated[str, typer.Argument(help="a sha256, its start, or the file path")],
            field: Annotated[str, typer.Argument(help="kind, or a metadata field (year, timing, countries…)")],
            value: Annotated[str, typer.Argument(help="the right value (a list: comma-separated; JSON accepted)")],
            reason: Annotated[str, typer.Option(help="why the machine's value is wrong")],
            reviewer: Reviewer = None, database: Database = None):
    """Correct a document's kind or a metadata field; it is screened again at once."""
    with _open(directory, database) as r:
        user = _user(r, reviewer)
        target, key = ("kind", "kind") if field == "kind" else ("metadata", field)
        sha = r.correct(document, target, key, _parse_value(field, value), reason=reason, user=user)
        row = next((x for x in r.screening() if x["sha256"] == sha), None)
    print(f"{sha[:12]}: {field} = {value} ({user.name}: {reason})")
    if row is not None:
        print(f"  screening now: {row['decision']} ({row['stage']})")


def _parse_value(field: str, raw: str) -> Any:
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if field in LIST_FIELDS and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return value


@app.command()
def code(directory: Dir, json_: Annotated[bool, typer.Option("--json", help="one JSON line per item")] = False,
         force: Annotated[bool, typer.Option(help="code every item again")] = False, database: Database = None):
    """Code the included reports' items to the codebook's themes."""
    with _open(directory, database) as r:
        summary = r.code(force=force)
        if json_:
            for row in r.coded_items():
                print(json.dumps(row, ensure_ascii=False))
        else:
            print(summary.line())


@app.command()
def final(directory: Dir, draft: Annotated[bool, typer.Option("--draft", help="mark it a draft again")] = False,
          reason: Annotated[str, typer.Option(help="why (it goes into the audit trail)")] = "",
          reviewer: Reviewer = None, database: Database = None):
    """Mark the review final (a lead): the reports drop their "Draft" banner at the next `report`."""
    with _open(directory, database) as r:
        user = _user(r, reviewer, "lead")
        r.mark_final(user, final=not draft, reason=reason)
    print(f"the review is marked {'a draft' if draft else 'final'} by {user.name}; run `whatworks report "
          f"{directory}` to write the reports again")


@app.command()
def report(directory: Dir, database: Database = None):
    """Write the synthesis: HTML, Word, Markdown, Excel, figures, matrix."""
    with _open(directory, database) as r:
        for path in r.report():
            print(f"  {path}")


@app.command()
def serve(directory: Dir, host: str = "127.0.0.1", port: int = 8000,
          team: Annotated[bool, typer.Option(help="accounts, roles and blind screening")] = False,
          database: Database = None,
          forwarded_allow_ips: Annotated[str, typer.Option(help="proxies whose X-Forwarded headers are believed")]
          = "127.0.0.1"):
    """The review workspace in the browser."""
    from whatworks.web.app import serve as serve_app

    serve_app(directory, host=host, port=port, team=team, database=database, forwarded_allow_ips=forwarded_allow_ips,
              say=_say)


@app.command()
def protocols():
    """List the shipped protocols and codebooks."""
    from whatworks.project import builtin_codebooks, builtin_protocols

    print("protocols:")
    for name, path in builtin_protocols().items():
        print(f"  {name}  ({path})")
    print("codebooks:")
    for name, path in builtin_codebooks().items():
        print(f"  {name}  ({path})")


# --- accounts ------------------------------------------------------------------------------------------

def _password() -> str:
    """The password from a prompt on a terminal, else from the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise WhatworksError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("add")
def user_add(directory: Dir, name: str,
             role: Annotated[str, typer.Option(help="lead, reviewer or viewer")] = "reviewer",
             database: Database = None):
    """Add an account (or change its role and password); the password is asked for, or read from stdin."""
    password = _password()
    with _open(directory, database) as r:
        r.save_user(name, role, password)
    print(f"user {name} ({role}) saved")


@users_app.command("role")
def user_role(directory: Dir, name: str, role: str, database: Database = None):
    """Change an account's role (the last lead stays a lead)."""
    with _open(directory, database) as r:
        r.save_user(name, role, None)
    print(f"user {name} is now a {role}")


@users_app.command("disable")
def user_disable(directory: Dir, name: str, database: Database = None):
    """Disable an account: it cannot log in; its decisions stay."""
    with _open(directory, database) as r:
        r.set_user_active(name, False)
    print(f"user {name} disabled")


@users_app.command("enable")
def user_enable(directory: Dir, name: str, database: Database = None):
    with _open(directory, database) as r:
        r.set_user_active(name, True)
    print(f"user {name} enabled")


@users_app.command("remove")
def user_remove(directory: Dir, name: str, database: Database = None):
    """Remove an account; its decisions stay, under its name."""
    with _open(directory, database) as r:
        r.remove_user(name)
    print(f"user {name} removed")


@users_app.command("unlock")
def user_unlock(directory: Dir, database: Database = None):
    """Forget every failed-login count, so anyone refused by the login throttle may try again."""
    with _open(directory, database) as r:
        n = r.unlock_logins()
    print(f"login throttle cleared ({n} count{'s' if n != 1 else ''})")


@users_app.command("list")
def user_list(directory: Dir, database: Database = None):
    with _open(directory, database) as r:
        for u in r.users():
            print(f"{u['name']:<24} {u['role']:<9} {'active' if u['active'] else 'disabled'}")


def main(argv: list[str] | None = None) -> int:
    """The console script; returns the exit status (2: an error the user can act on)."""
    try:
        status = app(args=argv, prog_name="whatworks", standalone_mode=False)
    except WhatworksError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted: what was finished is saved; run the same command again to go on", file=sys.stderr)
        return 130
    except Exception as e:
        if isinstance(e, _usage_errors()):  # a mistyped command or option: click's message, no traceback
            e.show()
            return e.exit_code
        raise
    return status if isinstance(status, int) else 0


def _usage_errors() -> tuple[type[Exception], ...]:
    """click's error class, and typer's own copy of it (newer typer releases vendor click)."""
    import importlib

    found = []
    for module in ("click.exceptions", "typer._click.exceptions"):
        try:
            found.append(importlib.import_module(module).ClickException)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


if __name__ == "__main__":
    sys.exit(main())
