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
    """A review protocol or codebook file is wrong; the message names the line and the fix."""

    def __init__(self, message: str, line: int | None = None, path: str | None = None):
        self.line = line
        self.path = path
        where = f"{path}" if path else "protocol"
        if line is not None:
            where += f", line {line}"
        super().__init__(f"{where}: {message}")


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
