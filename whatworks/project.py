"""A review project: one folder holding the protocol, the codebook, the review database and the outputs.

    review/
      protocol.yaml   what the review asks and how reports are selected (editable)
      codebook.yaml   the themes items are coded to (editable)
      review.db       the review database (SQLite, WAL)
      settings.yaml   optional: `database: postgresql://…` when the review lives in PostgreSQL
      output/         reports, matrix, figures, exports

The review database is the SQLite file unless a PostgreSQL URL is given: `--database URL` on the
command line, else the WHATWORKS_DATABASE environment variable, else the project's settings.yaml
(written by `whatworks init --database` and `whatworks serve --team --database`, so every later
command of a team review uses PostgreSQL). This module knows the folder; whatworks.api opens it.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from whatworks.errors import ProjectError

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


def resolve_codebook(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    codebooks = builtin_codebooks()
    if str(name_or_path) in codebooks:
        return codebooks[str(name_or_path)]
    raise ProjectError(f"unknown codebook {name_or_path!r}: give a YAML file or one of {', '.join(codebooks)}")


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


def _yaml():
    from ruamel.yaml import YAML

    return YAML(typ="rt")


@dataclass
class Project:
    """The folder of a review, and where its database is."""

    root: Path
    #: A database URL given for this run (--database); None: WHATWORKS_DATABASE, settings.yaml, SQLite.
    database: str | None = None

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
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def output_dir(self) -> Path:
        path = self.root / OUTPUT_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stored_database(self) -> str | None:
        """The `database:` of the project's settings.yaml, if any."""
        if not self.settings_path.exists():
            return None
        try:
            data = _yaml().load(self.settings_path.read_text(encoding="utf-8")) or {}
        except Exception as e:  # noqa: BLE001 - ruamel's errors have no common base worth naming
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
    def store_target(self) -> str | Path:
        """What whatworks.store opens: the SQLite file or the PostgreSQL URL."""
        return self.database_url or self.db_path

    def record_database(self, url: str) -> None:
        """Record in settings.yaml that the review lives in `url` ("sqlite": back to review.db), so every
        later command and the workspace use it. The password is never written there; the file's
        comments are kept."""
        check_database_url(url)
        stored = without_password(url) if url != SQLITE else SQLITE
        if stored != url:
            log.warning("the password is not stored in %s: give it in PGPASSWORD or ~/.pgpass", self.settings_path)
        yaml = _yaml()
        data = yaml.load(self.settings_path.read_text(encoding="utf-8")) if self.settings_path.exists() else None
        if data is None:
            from ruamel.yaml.comments import CommentedMap

            data = CommentedMap()
            data.yaml_set_start_comment("whatworks project settings")
        if stored == SQLITE:
            data.pop("database", None)
        else:
            data["database"] = stored
        if not data and self.settings_path.exists():
            self.settings_path.unlink()
        elif data:
            tmp = self.settings_path.with_suffix(".yaml.tmp")
            with tmp.open("w", encoding="utf-8") as f:
                yaml.dump(data, f)
            tmp.replace(self.settings_path)

    def write_user_files(self, protocol: str = DEFAULT_PROTOCOL) -> None:
        """protocol.yaml and codebook.yaml from a shipped protocol (or a user's file), unless they exist:
        nothing a reviewer wrote is overwritten."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.protocol_path.exists():
            shutil.copyfile(resolve_protocol(protocol), self.protocol_path)
            log.info("protocol %s written to %s", protocol, self.protocol_path)
        elif protocol != DEFAULT_PROTOCOL:
            log.warning("%s exists already; kept it (protocol %s not applied)", self.protocol_path, protocol)
        if not self.codebook_path.exists():
            from whatworks.protocol import load_protocol

            source = load_protocol(self.protocol_path).codebook
            shutil.copyfile(resolve_codebook(source), self.codebook_path)

    @classmethod
    def at(cls, root: str | Path, database: str | None = None) -> Project:
        """An existing project folder; `database` overrides where its review database is for this run."""
        root = Path(root)
        if not (root / PROTOCOL_FILE).exists():
            raise ProjectError(f"{root} is not a whatworks review project (no {PROTOCOL_FILE}): "
                               f"run `whatworks init {root}` first")
        return cls(root, database=check_database_url(database) if database else None)
