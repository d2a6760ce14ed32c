"""A review project: one folder holding the protocol, the review database and the outputs.

    review/
      protocol.yaml   what the review asks and how reports are selected (editable)
      codebook.yaml   the themes items are coded to (editable)
      review.db       the review database (SQLite, WAL)
      settings.yaml   optional: `database: postgresql://…` when the review lives in PostgreSQL
      output/         reports, matrix, figures, exports

The review database is the SQLite file unless a PostgreSQL URL is given: `--database URL` on the
command line (`Project.open(root, database=URL)`), else the WHATWORKS_DATABASE environment
variable, else the project's settings.yaml (written by `whatworks init --database` and
`whatworks serve --team --database`, so every later command of a team review uses PostgreSQL).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from whatworks.errors import ProjectError
from whatworks.store import Database

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data"
PROTOCOL_FILE = "protocol.yaml"
CODEBOOK_FILE = "codebook.yaml"
DB_FILE = "review.db"
SETTINGS_FILE = "settings.yaml"
OUTPUT_DIR = "output"
#: The environment variable naming the review database (a postgresql:// URL), over settings.yaml.
DATABASE_ENV = "WHATWORKS_DATABASE"
#: The value that means "the project's SQLite file" (to override WHATWORKS_DATABASE or settings.yaml).
SQLITE = "sqlite"
DEFAULT_PROTOCOL = "ilo-social-protection"


def builtin_protocols() -> dict[str, Path]:
    """Example protocols shipped with whatworks, by name."""
    return {p.stem: p for p in sorted((DATA / "protocols").glob("*.yaml"))}


def builtin_codebooks() -> dict[str, Path]:
    return {p.stem: p for p in sorted((DATA / "codebooks").glob("*.yaml"))}


def resolve_protocol(name_or_path: str) -> Path:
    """A shipped protocol's name (`ilo-social-protection`) or a path to a user's file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    protocols = builtin_protocols()
    if name_or_path in protocols:
        return protocols[name_or_path]
    raise ProjectError(
        f"unknown protocol {name_or_path!r}: give a YAML file or one of {', '.join(protocols) or '(none shipped)'}"
    )


def check_database_url(url: str) -> str:
    """`url` if it names a PostgreSQL database (or is "sqlite"), else a ProjectError saying what to give."""
    if url == SQLITE or url.startswith(("postgresql://", "postgres://")):
        return url
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ProjectError(f"database {scheme!r}: give a postgresql://user@host/dbname URL, or 'sqlite' for the "
                       "project's own review.db")


def without_password(url: str) -> str:
    """The URL with any password left out (a project folder is copied and shared; libpq finds the
    password in PGPASSWORD or ~/.pgpass)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"],
                      safe="/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redacted(url: str) -> str:
    """The URL as logs and messages show it (no password)."""
    return without_password(url) if url != SQLITE else url


@dataclass
class Project:
    root: Path

    @property
    def protocol_path(self) -> Path:
        return self.root / PROTOCOL_FILE

    @property
    def codebook_path(self) -> Path:
        return self.root / CODEBOOK_FILE

    @property
    def db_path(self) -> Path:
        return self.root / DB_FILE

    @property
    def output_dir(self) -> Path:
        path = self.root / OUTPUT_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path

    _db: Database | None = None
    #: A database URL given for this run (--database); None: WHATWORKS_DATABASE, settings.yaml, SQLite.
    database: str | None = None

    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    def stored_database(self) -> str | None:
        """The `database:` of the project's settings.yaml, if any."""
        if not self.settings_path.exists():
            return None
        import yaml

        try:
            data = yaml.safe_load(self.settings_path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ProjectError(f"{self.settings_path}: cannot read it ({e}); fix the file or delete it") from None
        url = data.get("database") if isinstance(data, dict) else None
        return check_database_url(str(url)) if url else None

    @property
    def database_url(self) -> str | None:
        """The PostgreSQL URL of the review database, or None for the project's SQLite file."""
        url = self.database or os.environ.get(DATABASE_ENV) or self.stored_database()
        if not url:
            return None
        return None if check_database_url(url) == SQLITE else url

    @property
    def db(self) -> Database:
        if self._db is None:
            url = self.database_url
            self._db = Database(self.db_path) if url is None else _connect(url)
        return self._db

    def use_database(self, url: str) -> None:
        """Record in settings.yaml that the review lives in `url` ("sqlite": back to review.db), so
        every later command and the workspace use it. The password is never written there."""
        check_database_url(url)
        stored = without_password(url) if url != SQLITE else SQLITE
        if stored != url:
            log.warning("the password is not stored in %s: give it in PGPASSWORD or ~/.pgpass", self.settings_path)
        data: dict = {}
        if self.settings_path.exists():
            import yaml

            data = yaml.safe_load(self.settings_path.read_text(encoding="utf-8")) or {}
        if stored == SQLITE:
            data.pop("database", None)
        else:
            data["database"] = stored
        if data == {} and self.settings_path.exists():
            self.settings_path.unlink()
        elif data:
            import yaml

            text = "# whatworks project settings\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
            tmp = self.settings_path.with_suffix(".yaml.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(self.settings_path)
        self.close()

    def fill_database(self, url: str) -> dict[str, int]:
        """Create the review tables in PostgreSQL `url`, and copy the project's SQLite review into it
        when it holds no documents yet (the start of a team review). Returns the rows copied."""
        counts: dict[str, int] = {}
        if check_database_url(url) == SQLITE:
            return counts
        target = _connect(url)
        try:
            if not target.scalar("SELECT COUNT(*) FROM documents") and self.db_path.exists():
                from whatworks.db_postgres import copy_database

                local = Database(self.db_path)
                try:
                    counts = copy_database(local, target)
                finally:
                    local.close()
                log.info("copied the project's review into %s: %s", redacted(url), counts)
        finally:
            target.close()
        return counts

    def move_to_database(self, url: str) -> dict[str, int]:
        """Make `url` the review database from now on: `fill_database`, then record it in settings.yaml."""
        counts = self.fill_database(url)
        self.use_database(url)
        return counts

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def protocol(self):
        """The parsed protocol (whatworks.protocol.Protocol)."""
        from whatworks.protocol import load_protocol

        return load_protocol(self.protocol_path)

    def codebook(self):
        """The parsed codebook (whatworks.codebook.Codebook): the project's file, else the protocol's choice."""
        from whatworks.codebook import load_codebook

        if self.codebook_path.exists():
            return load_codebook(self.codebook_path)
        return load_codebook(self.protocol().codebook)

    @classmethod
    def init(cls, root: str | Path, protocol: str = DEFAULT_PROTOCOL, database: str | None = None) -> Project:
        """Create a project folder (or keep an existing one: nothing a reviewer wrote is overwritten).

        `database`: a postgresql:// URL to keep the review in (recorded in settings.yaml; an existing
        SQLite review is copied into it when it is empty), or "sqlite" to go back to review.db."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        project = cls(root)
        if database:
            project.move_to_database(database)
        if not project.protocol_path.exists():
            shutil.copyfile(resolve_protocol(protocol), project.protocol_path)
            log.info("protocol %s written to %s", protocol, project.protocol_path)
        elif protocol != DEFAULT_PROTOCOL:
            log.warning("%s exists already; kept it (protocol %s not applied)", project.protocol_path, protocol)
        if not project.codebook_path.exists():
            try:
                from whatworks.protocol import load_protocol

                source = load_protocol(project.protocol_path).codebook
                shutil.copyfile(resolve_codebook(source), project.codebook_path)
            except (ImportError, ProjectError, AttributeError, FileNotFoundError) as e:
                log.debug("no codebook copied: %s", e)
        project.output_dir  # noqa: B018 - creates the folder
        project.db  # noqa: B018 - creates the database
        return project

    @classmethod
    def open(cls, root: str | Path, database: str | None = None) -> Project:
        """An existing project; `database` overrides where its review database is for this run."""
        root = Path(root)
        if not (root / PROTOCOL_FILE).exists():
            raise ProjectError(f"{root} is not a whatworks review project (no {PROTOCOL_FILE}): "
                               f"run `whatworks init {root}` first")
        return cls(root, database=check_database_url(database) if database else None)


def _connect(url: str):
    """A PostgreSQL review database, or a ProjectError that says how to get there."""
    try:
        from whatworks.db_postgres import PostgresDatabase
    except ImportError as e:
        raise ProjectError(f"PostgreSQL needs psycopg 3 ({e}): pip install 'psycopg[binary]'") from None
    try:
        return PostgresDatabase(url)
    except Exception as e:  # psycopg.OperationalError and friends: say which database and what to check
        if type(e).__module__.split(".")[0] != "psycopg":
            raise
        raise ProjectError(f"cannot open the review database {redacted(url)}: {str(e).strip()} — check the URL, "
                           "that the server is running, and the password (PGPASSWORD or ~/.pgpass)") from None


def resolve_codebook(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    codebooks = builtin_codebooks()
    if str(name_or_path) in codebooks:
        return codebooks[str(name_or_path)]
    raise ProjectError(f"unknown codebook {name_or_path!r}: give a YAML file or one of {', '.join(codebooks)}")
