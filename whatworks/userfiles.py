"""The user's own YAML files (protocol.yaml, codebook.yaml): read with positions, edited with respect.

Reading uses ruamel.yaml's round-trip loader, which remembers where every key and item sits,
so an error can name its line and column. Unquoted words keep the meaning PyYAML (YAML 1.1)
gave them when whatworks first read these files — ``no``, ``yes``, ``on``, ``off`` are
true/false — so a file that loaded before means the same thing now.

Writing (`edit_yaml`) changes the round-trip tree, so comments, quoting, key order and flow
style stay as the user wrote them; lines the edit does not touch are kept byte for byte. The
new text is checked before anything is written, replaces the file atomically (temporary file,
then rename), and the version it replaces is kept beside it as ``<file>.bak`` (one backup,
overwritten by the next edit).
"""

from __future__ import annotations

import copy
import datetime as _dt
import difflib
import hashlib
import io
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString

from whatworks.errors import ProtocolError

T = TypeVar("T")
BACKUP_SUFFIX = ".bak"
#: Unquoted words PyYAML (YAML 1.1) reads as true/false, kept for the user's files.
_BOOL_11 = re.compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
_TRUE_11 = {"yes", "true", "on"}
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_PARSED: dict[tuple[str, str], Any] = {}  # (path, sha256 of text) → parsed object


# --- reading ------------------------------------------------------------------------------------

def read_text(path: str | Path) -> str:
    """The file's text; a missing or non-UTF-8 file is a ProtocolError saying what to do."""
    path = Path(path)
    try:
        return _decode(path.read_bytes(), path)
    except FileNotFoundError:
        raise ProtocolError("no such file — check the path, or give a shipped protocol name",
                            path=str(path)) from None


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProtocolError("the file is not UTF-8 text — save it as UTF-8", path=str(path)) from None


def parsed(path: str | Path, text: str, parse: Callable[[str, str], T]) -> T:
    """`parse(text, path)`, remembered for the same file and text (a copy is returned each time).

    The round-trip loader is pure Python and several times slower than a C loader; a run or a
    page that reads the same codebook again pays for it once.
    """
    key = (str(path), hashlib.sha256(text.encode("utf-8")).hexdigest())
    with _LOCKS_GUARD:
        hit = _PARSED.get(key)
    if hit is None:
        hit = parse(text, str(path))
        with _LOCKS_GUARD:
            _PARSED[key] = hit
            while len(_PARSED) > 16:
                _PARSED.pop(next(iter(_PARSED)))
    return copy.deepcopy(hit)


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap a long line the user wrote on one line
    return y


def parse_yaml(text: str, path: str | None = None) -> Any:
    """The round-trip tree of `text` (mappings and lists know their line and column)."""
    try:
        return _yaml().load(text)
    except DuplicateKeyError as e:
        key = re.search(r'duplicate key "([^"]*)"', str(e.problem))
        first = e.context_mark.line + 1 if e.context_mark else None
        raise ProtocolError(f"the key '{key.group(1) if key else '?'}' appears twice in the mapping that starts "
                            f"on line {first} — keep one", line=_line(e.problem_mark), path=path,
                            column=_column(e.problem_mark)) from None
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise ProtocolError(f"not valid YAML: {e.problem or e} — check indentation and quotes near here",
                            line=_line(mark), path=path, column=_column(mark)) from None
    except YAMLError as e:  # e.g. a control character the reader refuses
        raise ProtocolError(f"not valid YAML: {e}", path=path) from None


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


def _column(mark: Any) -> int | None:
    return mark.column + 1 if mark is not None else None


def plain(node: Any) -> Any:
    """The tree as plain Python values, unquoted words read as YAML 1.1 does (``no`` is false)."""
    if isinstance(node, dict):
        return {str(k) if isinstance(k, ScalarString) else k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, ScalarString):
        return str(node)  # quoted, literal or folded: always text
    if isinstance(node, str):
        return node.lower() in _TRUE_11 if _BOOL_11.match(node) else node
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, _dt.date):
        return node
    return node


def position(root: Any, loc: tuple[Any, ...], *, key: bool = False) -> tuple[int | None, int | None]:
    """(line, column), 1-based, of the value at `loc` (or of its key) in a round-trip tree.

    Steps of `loc` that are not in the tree are skipped (pydantic's union tags, or the field a
    'missing' error names, which leaves the position of the mapping that lacks it).
    """
    node, found = root, _start(root)
    for i, step in enumerate(loc):
        at_key = (key and i == len(loc) - 1) or (i + 1 < len(loc) and loc[i + 1] == "[key]")
        if isinstance(node, CommentedMap) and not isinstance(step, int) and step in node:
            found = (node.lc.key(step) if at_key else node.lc.value(step)) or found
            if at_key:
                break
            node = node[step]
        elif isinstance(node, CommentedSeq) and isinstance(step, int) and 0 <= step < len(node):
            found = node.lc.item(step) or found
            node = node[step]
        elif not isinstance(step, str):
            break
    if found is None:
        return None, None
    return found[0] + 1, found[1] + 1


def _start(node: Any) -> tuple[int, int] | None:
    if isinstance(node, CommentedMap | CommentedSeq) and node.lc.line is not None:
        return node.lc.line, node.lc.col
    return None


# --- writing ------------------------------------------------------------------------------------

def edit_yaml(path: str | Path, change: Callable[[Any], T], check: Callable[[str], Any] | None = None) -> T:
    """Apply `change` to the file's round-trip tree and write it back, keeping a backup.

    `check(new_text)` runs before anything is written and raises to refuse the edit (the file is
    then untouched). Returns what `change` returned.
    """
    path = Path(path)
    path = path.resolve() if path.is_symlink() else path  # edit the file the link points to
    with _lock(path):
        for _attempt in range(3):
            raw = path.read_bytes()
            text = _decode(raw, path)
            root = parse_yaml(text, str(path))
            if root is None:
                raise ProtocolError("the file is empty — nothing to edit", path=str(path))
            y = _configured(text)
            before = _dump(y, root)
            result = change(root)
            after = _dump(y, root)
            new_text = _splice(text, before, after, root)
            if check is not None:
                check(new_text)
            if path.read_bytes() != raw:
                continue  # the user saved the file meanwhile: edit their new version
            write_atomic(path, _encode(new_text, raw))
            return result
    raise ProtocolError("the file kept changing while whatworks edited it; save it and try again",
                        path=str(path))


def write_atomic(path: str | Path, data: bytes, *, backup: bool = True) -> Path | None:
    """Replace `path` with `data` atomically; the version replaced is kept as `<path>.bak`."""
    path = Path(path)
    kept = None
    if backup and path.exists():
        kept = path.with_name(path.name + BACKUP_SUFFIX)
        _replace(kept, path.read_bytes(), mode_of=path)
    _replace(path, data, mode_of=path if path.exists() else None)
    return kept


def _replace(path: Path, data: bytes, mode_of: Path | None) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode_of is not None:
            os.chmod(tmp, os.stat(mode_of).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _encode(text: str, original: bytes) -> bytes:
    """The text in the original's encoding details: a BOM and CRLF line ends are kept."""
    if b"\r\n" in original:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    data = text.encode("utf-8")
    return b"\xef\xbb\xbf" + data if original.startswith(b"\xef\xbb\xbf") else data


def _lock(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path.resolve(), threading.Lock())


def _configured(text: str) -> YAML:
    """A round-trip dumper indenting as the file does (new lines then look like the old ones)."""
    y = _yaml()
    mapping, sequence, offset = guess_indent(text)
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    return y


def guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as ruamel.yaml's `indent()` takes them."""
    lines = [(len(s) - len(s.lstrip(" ")), s.strip()) for s in text.splitlines()]
    lines = [(n, s) for n, s in lines if s and not s.startswith("#")]
    mapping = dash = None
    for (n, s), (m, t) in zip(lines, lines[1:], strict=False):
        if not s.endswith(":") or s.startswith("- ") or m <= n:
            continue
        if t.startswith("- "):
            dash = m - n if dash is None else dash
        elif mapping is None:
            mapping = m - n
        if mapping is not None and dash is not None:
            break
    mapping = mapping or 2
    dash = 0 if dash is None else dash
    return mapping, dash + 2, dash


def _dump(y: YAML, root: Any) -> str:
    out = io.StringIO()
    y.dump(root, out)
    return out.getvalue()


def _splice(original: str, before: str, after: str, root: Any) -> str:
    """`original` with only the lines the edit changed (`before` → `after`) replaced.

    ruamel.yaml re-wraps a few things the user laid out by hand (a flow list over several
    lines); lines the edit did not touch are taken from the original. A change inside such a
    re-wrapped block replaces that block only. If the result does not read back as the edited
    tree, the whole round-trip dump is used instead.
    """
    if before == original:
        return after
    orig, old, new = original.splitlines(True), before.splitlines(True), after.splitlines(True)
    where = {}  # line of `before` → the same line in `original`
    for block in difflib.SequenceMatcher(None, orig, old, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            where[block.b + k] = block.a + k
    hunks: list[list[int]] = []  # [a, b, ja, jb]: old[a:b] → new[ja:jb], widened to lines found in original
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        a, b = i1, i2
        while a > 0 and a - 1 not in where:
            a -= 1
        while b < len(old) and b not in where:
            b += 1
        ja, jb = j1 - (i1 - a), j2 + (b - i2)
        if hunks and a <= hunks[-1][1]:
            hunks[-1][1], hunks[-1][3] = max(b, hunks[-1][1]), max(jb, hunks[-1][3])
        else:
            hunks.append([a, b, ja, jb])
    out: list[str] = []
    done = 0
    for a, b, ja, jb in hunks:
        start = where[a - 1] + 1 if a > 0 else 0
        end = where[b] if b < len(old) else len(orig)
        out += orig[done:start] + new[ja:jb]
        done = end
    spliced = "".join(out + orig[done:])
    try:
        same = plain(_yaml().load(spliced)) == plain(root)
    except YAMLError:
        same = False
    return spliced if same else after


def quoted_if_needed(text: str) -> str:
    """`text` as a scalar that reads back as the same text, in a block or a [flow, list].

    Plain when it can be (as a user would write it), double-quoted when YAML would read it
    otherwise: ``no`` (false in YAML 1.1), ``a: b``, ``x, y``, ``#tag``.
    """
    if not text or text != text.strip():
        return DoubleQuotedScalarString(text)
    try:
        block = plain(_yaml().load(f"x: {text}\n"))
        flow = plain(_yaml().load(f"x: [{text}]\n"))
    except YAMLError:
        return DoubleQuotedScalarString(text)
    if block != {"x": text} or flow != {"x": [text]}:
        return DoubleQuotedScalarString(text)
    return text
