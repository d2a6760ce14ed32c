"""A review project: one folder holding the protocol, the review database and the outputs.

    review/
      protocol.yaml   what the review asks and how reports are selected (editable)
      codebook.yaml   the themes items are coded to (editable)
      review.db       the review database (SQLite, WAL)
      output/         reports, matrix, figures, exports
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from whatworks.errors import ProjectError
from whatworks.store import Database

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data"
PROTOCOL_FILE = "protocol.yaml"
CODEBOOK_FILE = "codebook.yaml"
DB_FILE = "review.db"
OUTPUT_DIR = "output"
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

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.db_path)
        return self._db

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
    def init(cls, root: str | Path, protocol: str = DEFAULT_PROTOCOL) -> Project:
        """Create a project folder (or keep an existing one: nothing a reviewer wrote is overwritten)."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        project = cls(root)
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
    def open(cls, root: str | Path) -> Project:
        root = Path(root)
        if not (root / PROTOCOL_FILE).exists():
            raise ProjectError(f"{root} is not a whatworks review project (no {PROTOCOL_FILE}): "
                               f"run `whatworks init {root}` first")
        return cls(root)


def resolve_codebook(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    codebooks = builtin_codebooks()
    if str(name_or_path) in codebooks:
        return codebooks[str(name_or_path)]
    raise ProjectError(f"unknown codebook {name_or_path!r}: give a YAML file or one of {', '.join(codebooks)}")
