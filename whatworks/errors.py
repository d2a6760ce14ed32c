"""Errors a reviewer can act on: which file, what is wrong, what to do."""

from __future__ import annotations


class WhatworksError(Exception):
    """Base class for errors whatworks reports to the user."""


class ReadError(WhatworksError):
    """A file could not be read into a document.

    `code` is a stable short name (``encrypted``, ``corrupt``, ``empty``…) that the
    database keeps and tests check; `fix` says what the user can do about it.
    """

    def __init__(self, code: str, message: str, fix: str = "", path: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fix = fix
        self.path = path

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        fix = f" — {self.fix}" if self.fix else ""
        return f"{where}{self.message}{fix}"


class ProtocolError(WhatworksError):
    """A review protocol or codebook file is wrong; the message names the line and the fix.

    `also` holds the file's other problems as (line, column, message), so a user can fix them
    all in one pass; the message lists them after the first.
    """

    def __init__(self, message: str, line: int | None = None, path: str | None = None, column: int | None = None,
                 also: list[tuple[int | None, int | None, str]] | None = None):
        self.message = message
        self.line = line
        self.column = column
        self.path = path
        self.also = list(also or [])
        text = f"{_where(path, line, column)}: {message}"
        for other in self.also[:9]:
            text += f"\n  also {_where(None, other[0], other[1], bare=True)}: {other[2]}"
        if len(self.also) > 9:
            text += f"\n  … and {len(self.also) - 9} more"
        super().__init__(text)


def _where(path: str | None, line: int | None, column: int | None, bare: bool = False) -> str:
    where = "" if bare else (path or "protocol")
    if line is not None:
        where += f"{', ' if where else ''}line {line}"
        if column is not None:
            where += f", column {column}"
    return where or "elsewhere"


class ProjectError(WhatworksError):
    """A review project folder is missing or not a whatworks project."""


class ReviewError(WhatworksError, ValueError):
    """An action on a review that cannot be done as asked; the message says why and what to do."""


class NotFound(ReviewError, KeyError):
    """The document, item, user or theme named does not exist in this review."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class Forbidden(ReviewError):
    """The person's role does not allow the action (a viewer deciding, a reviewer resolving)."""


class QueryError(ReviewError):
    """A search query that cannot be parsed; the message says how to write it."""
