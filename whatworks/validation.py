"""Checking a user's YAML file against pydantic models, with errors a reviewer can act on.

pydantic says *what* is wrong at a path such as ``('criteria', 'inclusion', 0, 'test', 'min')``;
this module says it in the reviewer's words — which entry (``criterion 'I1'``), which field,
what to write instead — and where: the line and column, from the round-trip tree
(`whatworks.userfiles.position`). Models raise `problem(...)` for checks of their own; checks
across the whole file return `Problem`s.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from inspect import isclass
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from whatworks.errors import ProtocolError
from whatworks.userfiles import plain, position

M = TypeVar("M", bound=BaseModel)
Loc = tuple[Any, ...]
LineOf = Callable[[Loc], int | None]


class Strict(BaseModel):
    """A mapping of the user's file: no unknown field, no silent conversion of a value's type."""

    model_config = ConfigDict(extra="forbid", strict=True)


@dataclass
class Problem:
    """One mistake: where (`loc`, at the key or at the value) and what to do about it."""

    loc: Loc
    message: str
    at_key: bool = False
    owner: str = ""  # the entry it is in ("theme 'sf_one'"), when the message does not name it
    kind: str = ""  # pydantic's error type, for errors from the schema


def problem(message: str, **values: Any) -> PydanticCustomError:
    """An error for a model's own check.

    In `message`, ``{what}`` becomes the field's name ("an entry of test.where" for a list's),
    ``{field}`` the field's path, ``{in}`` " in <mapping>" for a mapping's key.
    """
    return PydanticCustomError("whatworks", message, values)


def shown(value: Any) -> str:
    """A value as the user wrote it, for messages."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a true/false value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None or value == "":
        return "nothing"
    if isinstance(value, _dt.date):
        return f"the date {value.isoformat()}"
    return repr(value) if isinstance(value, str) else str(value)


# --- value types shared by the protocol and the codebook -------------------------------------------

def as_text(value: Any) -> str:
    """The text the user wrote, stripped (a number is taken as its digits); never empty."""
    if isinstance(value, bool):
        raise problem("{what} must be text, not " + shown(value) + " — YAML reads yes, no, on and off as "
                      "true/false: put the word in quotes, e.g. \"no\"")
    if isinstance(value, int | float):
        value = str(value)
    elif isinstance(value, _dt.date):
        value = value.isoformat()
    if not isinstance(value, str):
        raise problem("{what} must be text, not " + shown(value) + " — write it as a plain or quoted string")
    value = value.strip()
    if not value:
        raise problem("{what} is empty — write the text or remove the field")
    return value


def _text_or_empty(value: Any) -> str:
    return "" if value is None or (isinstance(value, str) and not value.strip()) else as_text(value)


#: Text the user wrote (a number is taken as its digits); stripped, never empty.
Text = Annotated[str, BeforeValidator(as_text)]
#: Text that may be left empty.
OptionalText = Annotated[str, BeforeValidator(_text_or_empty)]


def one_of(choices: Sequence[str], noun: str = "") -> Any:
    """A text that must be one of `choices`, with a "did you mean" for a near miss."""
    def check(value: Any) -> str:
        text = as_text(value)
        if text not in choices:
            close = difflib.get_close_matches(text, list(choices), n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            raise problem(f"'{text}' is not one of {{field}}: {', '.join(choices)}{hint}" if not noun else
                          f"unknown {noun} '{text}'{{in}} — use one of {', '.join(choices)}{hint}")
        return text
    return Annotated[str, BeforeValidator(check)]


# --- validation ------------------------------------------------------------------------------------

@dataclass
class Describe:
    """How a file names its entries: list field → noun (``themes`` → "theme"), and anchors.

    An error inside an entry whose noun is in `anchors` is reported at the entry's first line
    (its ``- id:``), with the exact spot in the message.
    """

    file_noun: str
    nouns: dict[str, str]
    anchors: tuple[str, ...] = ()


def validate(model: type[M], root: Any, path: str | None, describe: Describe,
             check: Callable[[M, LineOf], Iterable[Problem]] | None = None) -> M:
    """`root` (a round-trip tree) checked against `model`, then by `check`; raises ProtocolError.

    `check(result, line_of)` looks across the file (references, duplicates); `line_of(loc)` is
    the line of a place, for messages that name two.
    """
    try:
        result = model.model_validate(plain(root))
    except ValidationError as e:
        data = plain(root)
        raise _error([_from_pydantic(err, model, data, describe) for err in e.errors()],
                     root, path, describe) from None
    problems = list(check(result, lambda loc: position(root, loc)[0])) if check else []
    if problems:
        raise _error(problems, root, path, describe)
    return result


def _error(problems: list[Problem], root: Any, path: str | None, describe: Describe) -> ProtocolError:
    problems = [p for p in problems if not _explained(p, problems)]
    located = []
    for p in problems:
        line, column = position(root, p.loc, key=p.at_key)
        anchor = _anchor(p.loc, describe)
        a_line = position(root, anchor)[0] if anchor is not None else None
        owner, message = p.owner, p.message
        if a_line is not None and line is not None and a_line != line:
            spot = f"line {line}, column {column}"
            line, column = a_line, None
            if owner:
                owner += f" (at {spot})"
            else:
                message += f" (at {spot})"
        located.append((line or 0, column, f"{owner}: {message}" if owner else message))
    unique = sorted(set(located), key=lambda x: (x[0], x[1] or 0, x[2]))
    first = unique[0]
    return ProtocolError(first[2], line=first[0] or None, path=path, column=first[1],
                         also=[(x[0] or None, x[1], x[2]) for x in unique[1:]])


def _explained(p: Problem, problems: list[Problem]) -> bool:
    """A missing field next to an unknown one spelt like it: the "did you mean" says it all."""
    if p.kind != "missing":
        return False
    return any(o.kind == "extra_forbidden" and o.loc[:-1] == p.loc[:-1]
               and difflib.get_close_matches(str(o.loc[-1]), [str(p.loc[-1])], n=1) for o in problems)


def _anchor(loc: Loc, describe: Describe) -> Loc | None:
    for i in range(len(loc) - 2, -1, -1):
        if isinstance(loc[i + 1], int) and describe.nouns.get(str(loc[i])) in describe.anchors:
            return loc[:i + 2] if len(loc) > i + 2 else None
    return None


#: pydantic's error types → what to say; {what} is the field, {value} what the user wrote.
_MESSAGES = {
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "{what} must be a whole number, not {value}"),
    **dict.fromkeys(("float_type", "float_parsing"), "{what} must be a number, not {value}"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "{what} must be true or false, not {value}"),
    **dict.fromkeys(("string_type", "string_sub_type"), "{what} must be text, not {value}"),
    **dict.fromkeys(("list_type", "tuple_type", "set_type"),
                    "{what} must be a list (one '- item' a line, or [a, b]), not {value}"),
    **dict.fromkeys(("greater_than_equal", "greater_than"), "{what} must be at least {limit}, not {value}"),
    **dict.fromkeys(("less_than_equal", "less_than"), "{what} must be at most {limit}, not {value}"),
    "literal_error": "{value} is not one of {field}: {limit}",
}


def _from_pydantic(err: Any, model: type[BaseModel], data: Any, describe: Describe) -> Problem:
    loc: Loc = tuple(err["loc"])
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    owner, rest = _owner(loc, data, describe)
    field = _path(rest)
    what = f"an entry of {field}" if rest and isinstance(rest[-1], int) else field
    container = ""  # for a key's error: the mapping it is in
    if rest and rest[-1] == "[key]":
        container = _path(rest[:-2]) or describe.file_noun
        what = f"the key '{rest[-2]}' in {container}"
    if kind == "whatworks":
        message = str(err["msg"]).replace("{what}", what or describe.file_noun).replace("{field}", field)
        message = message.replace("{in}", f" in {container}" if container else "")
        if rest == ("id",):
            owner = ""  # the message names the entry by its (wrong) id
    elif kind in ("missing", "extra_forbidden"):
        message = _field_message(kind, str(loc[-1]), _model_at(model, loc[:-1]), _path(rest[:-1]),
                                 describe.file_noun if not owner else "")
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        target = _model_at(model, loc)
        fields = f" of fields ({', '.join(target.model_fields)})" if target else ""
        message = f"{what or describe.file_noun} must be a mapping{fields}, not {shown(value)}"
    elif kind == "too_short":
        message = f"{what} is {'empty' if isinstance(value, dict) else 'an empty list'} — give at least one " \
                  "entry or remove the field"
    elif kind in _MESSAGES:
        limit = next((ctx[k] for k in ("ge", "gt", "le", "lt", "expected") if k in ctx), "")
        message = _MESSAGES[kind].format(what=what, field=field, value=shown(value), limit=limit)
    else:
        message = f"{what}: {err['msg']}"
    return Problem(loc, message, at_key=kind == "extra_forbidden", owner=owner, kind=kind)


def _field_message(kind: str, name: str, parent: type[BaseModel] | None, where: str, top: str) -> str:
    """A field missing (with what to add) or unknown (with a "did you mean" and the allowed ones)."""
    fields = parent.model_fields if parent else {}
    if kind == "missing":
        spec = fields.get(name)
        hint = f" ({spec.description})" if spec and spec.description else ""
        said = f"needs a text '{name}'" if spec and _is_text(spec.annotation) else f"the field '{name}' is missing"
        return said + (f" in {where}" if where else "") + f" — add `{name}:`{hint}"
    close = difflib.get_close_matches(name, list(fields), n=1)
    hint = f" — did you mean '{close[0]}'?" if close else ""
    where = where or top
    return f"unknown field '{name}'" + (f" in {where}" if where else "") + hint + \
        (f" (allowed: {', '.join(fields)})" if fields else "")


def _owner(loc: Loc, data: Any, describe: Describe) -> tuple[str, Loc]:
    """The deepest named entry on `loc` ("theme 'sf_one'") and the rest of `loc` below it."""
    loc = tuple(s for s in loc if not _is_tag(s))
    node, best, rest = data, "", loc
    for i, step in enumerate(loc):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            noun = describe.nouns.get(str(loc[i - 1])) if i else None
            node = node[step]
            if noun:
                ident = node.get("id", node.get("name")) if isinstance(node, dict) else None
                named = isinstance(ident, str | int) and not isinstance(ident, bool)
                best = f"{noun} '{ident}'" if named else f"{noun} {step + 1} of {_path(loc[:i])}"
                rest = loc[i + 1:]
        else:
            break
    return best, rest


def _is_tag(step: Any) -> bool:
    """Whether a step of a pydantic location is a union member's tag (ours start with '~')."""
    return isinstance(step, str) and step.startswith("~")


def _path(loc: Loc) -> str:
    out = ""
    for step in loc:
        if isinstance(step, int):
            continue
        if step == "[key]":
            break
        out += f".{step}" if out else str(step)
    return out


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc` (None when it is no model)."""
    t: Any = model
    for step in loc:
        t = _step(t, step)
        if t is None:
            return None
    t = _unwrap(t)
    return t if isclass(t) and issubclass(t, BaseModel) else None


def _unwrap(t: Any) -> Any:
    """`t` without Annotated and Optional; a union holding a model gives the model."""
    while True:
        if get_origin(t) is Annotated:
            t = get_args(t)[0]
        elif get_origin(t) in (Union, types.UnionType):
            members = [a for a in get_args(t) if a is not type(None)]
            models = [m for m in map(_unwrap, members) if isclass(m) and issubclass(m, BaseModel)]
            if models:
                return models[0]
            if len(members) != 1:
                return t
            t = members[0]
        else:
            return t


def _step(t: Any, step: Any) -> Any:
    if _is_tag(step):  # a tagged union's member
        while get_origin(t) is Annotated:
            t = get_args(t)[0]
        for member in get_args(t) if get_origin(t) in (Union, types.UnionType) else ():
            if any(getattr(m, "tag", None) == step for m in getattr(member, "__metadata__", ())):
                return member
        return t
    t = _unwrap(t)
    if isclass(t) and issubclass(t, BaseModel):
        field = t.model_fields.get(step) if isinstance(step, str) else None
        return field.annotation if field else None
    origin = get_origin(t)
    if origin is list and isinstance(step, int):
        return get_args(t)[0]
    if origin is dict and isinstance(step, str):
        return get_args(t)[1]
    return None


def _is_text(annotation: Any) -> bool:
    return _unwrap(annotation) is str or get_origin(annotation) is Literal
