"""The codebook: the themes items are coded to, grouped under the review questions.

A codebook is a YAML file a reviewer can edit (see whatworks/data/codebooks/). Each
review question holds themes directly or in groups that must be kept apart in the
synthesis — target groups vs final beneficiaries, success factors vs challenges.
Each theme has an id, a label, a definition and descriptors (keywords and phrases)
in English, French, Spanish and Portuguese, with optional exclusions. A theme may list
its former ids as ``aliases``, so codes and reviewers' decisions stored under them still
count; the codebook may declare ``local_names`` (programme names and abbreviations).

Descriptor syntax (matched on normalised, accent-folded, lightly stemmed words):
``social dialogue`` a phrase; ``pension*`` a word prefix; ``lack ~ data`` the first
part followed within a few words by the second. A question or group may list
``negators`` (single words such as "lack", "limited", "falta"): a hit of its themes
with a negator just before it is cancelled, so "limited ownership" is not coded as the
success factor "ownership".

The file's schema is `whatworks.codebook_schema`; edits whatworks makes to the file
(`add_theme`, `promote_candidate`) keep the user's comments and layout and leave a backup
(`whatworks.userfiles.edit_yaml`).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import hashlib
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from whatworks.codebook_schema import KNOWN_GROUPS, QUESTIONS, CodebookFile, ThemeEntry
from whatworks.errors import ProtocolError
from whatworks.local_names import LANGUAGES, LocalName, duplicate_names, lookup
from whatworks.userfiles import edit_yaml, parse_yaml, parsed, position, quoted_if_needed, read_text
from whatworks.validation import Describe, LineOf, Problem, validate

__all__ = ["KNOWN_GROUPS", "LANGUAGES", "QUESTIONS", "Codebook", "Group", "Question", "Theme", "add_theme",
           "load_codebook", "parse_codebook", "promote_candidate", "resolve"]

@dataclass
class Theme:
    id: str
    label: str
    definition: str
    question: str
    group: str | None = None
    descriptors: dict[str, list[str]] = field(default_factory=dict)
    exclude: dict[str, list[str]] = field(default_factory=dict)
    negators: dict[str, list[str]] = field(default_factory=dict)  # inherited from its group/question
    line: int | None = None  # where it is defined in the YAML file
    aliases: list[str] = field(default_factory=list)  # former ids, still read as this theme

    def all_descriptors(self) -> list[str]:
        return [d for lang in self.descriptors for d in self.descriptors[lang]]

    def all_exclusions(self) -> list[str]:
        return [d for lang in self.exclude for d in self.exclude[lang]]

    def all_negators(self) -> list[str]:
        return [d for lang in self.negators for d in self.negators[lang]]

    def embedding_texts(self) -> list[str]:
        """What stands for the theme in embedding space: its label and definition, and its English phrases.

        The embedding model is multilingual, so English is enough to place the theme; the other
        languages' descriptors serve the exact matching.
        """
        texts = [f"{self.label}. {self.definition}"]
        words = [d.replace("*", "").replace(" ~ ", " ") for d in self.descriptors.get("en", [])]
        if words:
            texts.append(f"{self.label}: " + ", ".join(words[:12]))
        return texts


@dataclass
class Group:
    id: str
    label: str
    description: str = ""


@dataclass
class Question:
    id: str
    label: str
    ask: str = ""
    groups: list[Group] = field(default_factory=list)


@dataclass
class Codebook:
    name: str
    title: str
    questions: list[Question]
    themes: list[Theme]
    path: str | None = None
    version: str = "1"
    local_names: list[LocalName] = field(default_factory=list)

    def theme(self, theme_id: str) -> Theme:
        """The theme with this id, or the one that lists it among its former ids (aliases)."""
        theme_id = self.canonical(theme_id)
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise KeyError(theme_id)

    def canonical(self, theme_id: str) -> str:
        """The current id of a theme known by `theme_id` (an alias maps to its theme; others are kept)."""
        return self.aliases.get(theme_id, theme_id)

    @property
    def aliases(self) -> dict[str, str]:
        """Former id → current id, for every theme that lists aliases."""
        return {a: t.id for t in self.themes for a in t.aliases}

    def local_name(self, name: str, language: str | None = None) -> LocalName | None:
        """What a local programme name or abbreviation ("EI") means here, for `language`."""
        return lookup(self.local_names, name, language)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def themes_for(self, question: str, group: str | None = None) -> list[Theme]:
        return [t for t in self.themes if t.question == question and (group is None or t.group == group)]

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "version": self.version,
                "questions": [asdict(q) for q in self.questions],
                "themes": [{k: v for k, v in asdict(t).items() if k != "line"} for t in self.themes],
                "local_names": [asdict(n) for n in self.local_names]}

    def fingerprint(self) -> str:
        """Changes whenever anything that affects coding changes (so re-runs recode).

        Aliases and local names do not change how items are coded, so adding one recodes nothing.
        """
        data = self.to_dict()
        data.pop("local_names")
        for t in data["themes"]:
            t.pop("aliases")
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


# --- loading ---------------------------------------------------------------------------

_DESCRIBE = Describe("the codebook", {"questions": "question", "groups": "group", "themes": "theme",
                                      "local_names": "local name"}, anchors=("theme",))


def resolve(path_or_name: str | Path) -> Path:
    """A codebook file, or the name of one shipped with whatworks."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    shipped = Path(__file__).parent / "data" / "codebooks" / f"{path_or_name}.yaml"
    if shipped.is_file():
        return shipped
    names = sorted(p.stem for p in shipped.parent.glob("*.yaml"))
    raise ProtocolError(f"no codebook file or shipped codebook named {str(path_or_name)!r}; "
                        f"give a YAML path or one of: {', '.join(names)}", path=str(path_or_name))


def load_codebook(path: str | Path) -> Codebook:
    """Read and check a codebook; any mistake raises ProtocolError naming the line and the fix."""
    path = resolve(path)
    return parsed(path, read_text(path), parse_codebook)


def parse_codebook(raw: Any, path: str = "codebook") -> Codebook:
    """A codebook from YAML text (or from data already read; its errors then name no line)."""
    root = parse_yaml(raw, path) if isinstance(raw, str) else raw
    if not isinstance(root, dict):
        raise ProtocolError("a codebook is a mapping with 'name' and 'questions'", line=1, path=path)
    spec = validate(CodebookFile, root, path, _DESCRIBE, check=_references)
    return _codebook(spec, root, path)


def _themes(spec: CodebookFile) -> list[tuple[tuple[Any, ...], str, str | None, ThemeEntry]]:
    """(location, question id, group id, theme) for every theme, in the file's order."""
    out = []
    for i, q in enumerate(spec.questions):
        for k, t in enumerate(q.themes or []):
            out.append((("questions", i, "themes", k), q.id, None, t))
        for j, g in enumerate(q.groups or []):
            for k, t in enumerate(g.themes):
                out.append((("questions", i, "groups", j, "themes", k), q.id, g.id, t))
    return out


def _references(spec: CodebookFile, line_of: LineOf) -> list[Problem]:
    """What the schema alone cannot see: ids and aliases claimed twice, groups a question does not have."""
    problems: list[Problem] = []
    questions: dict[str, int] = {}
    for i, q in enumerate(spec.questions):
        if q.id in questions:
            problems.append(Problem(("questions", i, "id"), f"question '{q.id}' is defined twice (first on line "
                                    f"{line_of(('questions', questions[q.id]))}) — merge the two"))
        questions.setdefault(q.id, i)
        groups: dict[str, int] = {}
        for j, g in enumerate(q.groups or []):
            allowed = KNOWN_GROUPS.get(q.id)
            loc = ("questions", i, "groups", j, "id")
            if allowed and g.id not in allowed:
                problems.append(Problem(loc, f"group '{g.id}' under {q.id}: use {' or '.join(allowed)} so the "
                                             "synthesis keeps them apart"))
            if g.id in groups:
                problems.append(Problem(loc, f"group '{g.id}' appears twice under {q.id} (first on line "
                                             f"{line_of(('questions', i, 'groups', groups[g.id]))}) — merge the two"))
            groups.setdefault(g.id, j)
    problems += _claims(spec, line_of)
    problems += duplicate_names(spec.local_names, ("local_names",), line_of)
    return problems


def _claims(spec: CodebookFile, line_of: LineOf) -> list[Problem]:
    """Each theme id and alias names one theme; a second claim is an error naming both themes."""
    problems: list[Problem] = []
    claims: dict[str, tuple[tuple[Any, ...], str, str | None, str]] = {}  # id → (loc, theme, group, "id"/"alias")
    themes = _themes(spec)
    for loc, qid, gid, t in themes:
        if t.id in claims:
            first_loc, _first, first_group, kind = claims[t.id]
            line = line_of(first_loc)
            if kind == "alias":
                message = (f"theme id '{t.id}' is already an alias of theme '{_first}' (line {line}) — an id or "
                           "alias names one theme: rename this theme or remove the alias")
            elif first_group != gid:
                message = (f"theme id '{t.id}' is used twice: in {first_group or 'question ' + qid} (line {line}) "
                           f"and in {gid or 'question ' + qid} — a theme belongs to one group; rename one or "
                           "merge them")
            else:
                message = f"theme id '{t.id}' is used twice (first at line {line}) — ids must be unique; rename one"
            problems.append(Problem((*loc, "id"), message))
            continue
        claims[t.id] = (loc, t.id, gid, "id")
    for loc, _qid, _gid, t in themes:
        for a, alias in enumerate(t.aliases):
            where = (*loc, "aliases", a)
            if alias == t.id:
                problems.append(Problem(where, f"theme '{t.id}' lists its own id among its aliases — remove it"))
                continue
            if alias in claims:
                first_loc, owner, _g, kind = claims[alias]
                what = "its id" if kind == "id" else "an alias"
                problems.append(Problem(where, f"theme '{t.id}' and theme '{owner}' (line {line_of(first_loc)}) both "
                                               f"claim '{alias}' (as an alias here, as {what} there) — an id or alias "
                                               "names one theme: remove one"))
                continue
            claims[alias] = (loc, t.id, None, "alias")
    known = {k: v[1] for k, v in claims.items()}
    for i, n in enumerate(spec.local_names):
        for k, theme in enumerate(n.themes or []):
            if theme not in known:
                close = difflib.get_close_matches(theme, list(known), n=1)
                hint = f" — did you mean '{close[0]}'?" if close else ""
                problems.append(Problem(("local_names", i, "themes", k),
                                        f"local name '{n.name}': there is no theme '{theme}' in this codebook{hint}"))
    return problems


def _codebook(spec: CodebookFile, root: Any, path: str) -> Codebook:
    questions: list[Question] = []
    themes: list[Theme] = []
    negators: dict[tuple[str, str | None], dict[str, list[str]]] = {}
    for q in spec.questions:
        question = Question(q.id, q.label or q.id.replace("_", " "), q.ask)
        negators[(q.id, None)] = dict(q.negators)
        for g in q.groups or []:
            question.groups.append(Group(g.id, g.label or g.id.replace("_", " "), g.description))
            negators[(q.id, g.id)] = {lang: q.negators.get(lang, []) + g.negators.get(lang, [])
                                      for lang in set(q.negators) | set(g.negators)}
        questions.append(question)
    for loc, qid, gid, t in _themes(spec):
        themes.append(Theme(id=t.id, label=t.label, definition=" ".join(t.definition.split()), question=qid,
                            group=gid, descriptors=dict(t.descriptors), exclude=dict(t.exclude),
                            negators=negators[(qid, gid)], line=position(root, loc)[0], aliases=list(t.aliases)))
    order = {q: i for i, q in enumerate(QUESTIONS)}
    questions.sort(key=lambda q: order[q.id])
    aliases = {a: t.id for t in themes for a in t.aliases}
    local = [LocalName(n.name, n.means, [aliases.get(x, x) for x in n.themes or []], n.languages or [])
             for n in spec.local_names]
    return Codebook(name=spec.name or Path(path).stem, title=spec.title, questions=questions, themes=themes,
                    path=path, version=spec.version, local_names=local)


# --- edits the tool makes to the user's file --------------------------------------------

def add_theme(codebook_path: str | Path, *, label: str, definition: str, question: str, group: str | None = None,
              descriptors: Sequence[str] | Mapping[str, Sequence[str]],
              exclude: Mapping[str, Sequence[str]] | None = None, theme_id: str | None = None,
              note: str | None = None) -> str:
    """Add a theme to a codebook file and return its id.

    The file keeps its comments, quoting and layout, the result is checked before it is written,
    and the previous version stays beside it as ``codebook.yaml.bak``. The id is made from the
    label (``_2``, ``_3``… when taken) unless `theme_id` is given; `note` becomes a comment
    above the new theme. A mistake raises ProtocolError and leaves the file as it was.
    """
    path = Path(codebook_path)

    def change(root: Any) -> str:
        where = _theme_list(root, question, group, path)
        taken = _claimed_ids(root)
        new_id = theme_id or _unique(_slug(label), taken)
        if new_id in taken:
            raise ProtocolError(f"the theme id '{new_id}' is already taken (a theme's id or alias) — choose another",
                                path=str(path))
        theme = CommentedMap()
        theme["id"] = new_id
        theme["label"] = quoted_if_needed(" ".join(label.split()))
        theme["definition"] = quoted_if_needed(" ".join(definition.split()))
        flow = _flow_lists(root)
        theme["descriptors"] = _terms(_by_language(descriptors), flow)
        if exclude:
            theme["exclude"] = _terms(_by_language(exclude), flow)
        where.append(theme)
        _keep_trailing_comments(where)
        if note:
            where.yaml_set_comment_before_after_key(len(where) - 1, before=note, indent=where.lc.col or 0)
        return new_id

    return edit_yaml(path, change, check=lambda text: parse_codebook(text, str(path)))


def promote_candidate(codebook_path: str | Path, label: str, definition: str, question: str,
                      group: str | None = None, terms: Sequence[str] = (), *, language: str = "en",
                      candidate: int | str | None = None) -> str:
    """Make an emerging-theme candidate a theme of the codebook file; returns the new theme's id.

    `terms` (the candidate's top terms) become its descriptors in `language` — the label when
    there are none usable — and a comment above the theme records where it came from.
    """
    phrases = list(dict.fromkeys(t.strip() for t in terms if t and t.strip() and t.strip("~* ")))
    phrases = [p for p in phrases if not (p.startswith("~") or p.endswith("~"))]
    descriptors = {language: phrases or [" ".join(label.lower().split())]}
    if language != "en":
        descriptors["en"] = [" ".join(label.lower().split())]
    source = f"emerging-theme candidate {candidate}" if candidate is not None else "an emerging-theme candidate"
    note = f"promoted from {source} on {_dt.date.today().isoformat()}"
    return add_theme(codebook_path, label=label, definition=definition, question=question, group=group,
                     descriptors=descriptors, note=note)


def _theme_list(root: Any, question: str, group: str | None, path: Path) -> CommentedSeq:
    """The list of themes of `question` (or of its `group`) in the round-trip tree, made if absent."""
    questions = root.get("questions") if isinstance(root, dict) else None
    q = next((x for x in questions or [] if isinstance(x, dict) and x.get("id") == question), None)
    if q is None:
        raise ProtocolError(f"the codebook has no question '{question}' "
                            f"(it has: {', '.join(str(x.get('id')) for x in questions or [] if isinstance(x, dict))})",
                            path=str(path))
    owner = q
    groups = [g for g in q.get("groups") or [] if isinstance(g, dict)]
    if group:
        owner = next((g for g in groups if g.get("id") == group), None)
        if owner is None:
            raise ProtocolError(f"question {question} has no group '{group}' "
                                f"(it has: {', '.join(str(g.get('id')) for g in groups) or 'none'})", path=str(path))
    elif "themes" not in q and groups:
        raise ProtocolError(f"question {question} keeps its themes in groups ({', '.join(str(g.get('id')) for g in groups)})"
                            " — say which group the new theme belongs to", path=str(path))
    if not isinstance(owner.get("themes"), CommentedSeq):
        owner["themes"] = CommentedSeq()
    return owner["themes"]


def _claimed_ids(root: Any) -> set[str]:
    """Every theme id and alias in the file, so a new id claims none of them."""
    taken: set[str] = set()
    for q in root.get("questions") or []:
        lists = [q.get("themes") or []] + [g.get("themes") or [] for g in q.get("groups") or [] if isinstance(g, dict)]
        for themes in lists:
            for t in themes:
                if isinstance(t, dict):
                    taken.add(str(t.get("id")))
                    taken.update(str(a) for a in t.get("aliases") or [])
    return taken


def _slug(label: str) -> str:
    folded = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    slug = "_".join("".join(c if c.isalnum() else " " for c in folded).split())[:40].strip("_")
    return slug if any(c.isalpha() for c in slug) else f"theme_{slug}".strip("_")


def _unique(base: str, taken: set[str]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _by_language(terms: Sequence[str] | Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    if isinstance(terms, Mapping):
        return {lang: [str(t).strip() for t in ts if str(t).strip()] for lang, ts in terms.items()}
    return {"en": [str(t).strip() for t in terms if str(t).strip()]}


def _terms(by_language: dict[str, list[str]], flow: bool) -> CommentedMap:
    out = CommentedMap()
    for lang, phrases in by_language.items():
        seq = CommentedSeq(quoted_if_needed(p) for p in phrases)
        if flow:
            seq.fa.set_flow_style()
        out[lang] = seq
    return out


def _flow_lists(root: Any) -> bool:
    """Whether the file writes descriptor lists as [a, b] (the shipped codebooks do) — new ones follow."""
    for q in root.get("questions") or []:
        for themes in [q.get("themes") or []] + [g.get("themes") or [] for g in q.get("groups") or []]:
            for t in themes:
                en = t.get("descriptors", {}).get("en") if isinstance(t, dict) else None
                if isinstance(en, CommentedSeq):
                    return bool(en.fa.flow_style())
    return True


def _keep_trailing_comments(seq: CommentedSeq) -> None:
    """Keep full-line comments that followed the old last theme after the new one.

    ruamel.yaml hangs a comment that stands between a list's last item and what follows (a
    comment about the next group) on that item; appending would put the new theme below it.
    """
    if len(seq) < 2:
        return
    old, new = _last_key(seq[-2]), _last_key(seq[-1])
    entry = old[0].ca.items.get(old[1]) if old else None
    token = entry[2] if entry and len(entry) > 2 else None
    if token is None or new is None or "\n" not in token.value:
        return
    head, _, tail = token.value.partition("\n")
    if not tail.strip():
        return
    token.value = head + "\n"
    new[0].ca.items[new[1]] = [None, None, CommentToken("\n" + tail, CommentMark(0), None), None]


def _last_key(node: Any) -> tuple[CommentedMap, Any] | None:
    """The mapping and key written last under `node` (where ruamel.yaml keeps a trailing comment)."""
    slot = None
    while True:
        if isinstance(node, CommentedMap) and node:
            key = list(node)[-1]
            slot, node = (node, key), node[key]
        elif isinstance(node, CommentedSeq) and node and not node.fa.flow_style():
            node = node[-1]
        else:
            return slot
