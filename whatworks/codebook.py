"""The codebook: the themes items are coded to, grouped under the review questions.

A codebook is a YAML file a reviewer can edit (see whatworks/data/codebooks/). Each
review question holds themes directly or in groups that must be kept apart in the
synthesis — target groups vs final beneficiaries, success factors vs challenges.
Each theme has an id, a label, a definition and descriptors (keywords and phrases)
in English, French, Spanish and Portuguese, with optional exclusions.

Descriptor syntax (matched on normalised, accent-folded, lightly stemmed words):
``social dialogue`` a phrase; ``pension*`` a word prefix; ``lack ~ data`` the first
part followed within a few words by the second. A question or group may list
``negators`` (single words such as "lack", "limited", "falta"): a hit of its themes
with a negator just before it is cancelled, so "limited ownership" is not coded as the
success factor "ownership".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from whatworks.errors import ProtocolError

LANGUAGES = ("en", "fr", "es", "pt")
#: The four questions of a "what works" synthesis, in the order reports present them.
QUESTIONS = ("what_is_being_done", "what_works", "for_whom", "why")
#: Groups that the synthesis keeps apart, per question.
KNOWN_GROUPS = {
    "for_whom": ("target_groups", "final_beneficiaries"),
    "why": ("success_factors", "challenges"),
}


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

    def theme(self, theme_id: str) -> Theme:
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise KeyError(theme_id)

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
                "themes": [{k: v for k, v in asdict(t).items() if k != "line"} for t in self.themes]}

    def fingerprint(self) -> str:
        """Changes whenever anything that affects coding changes (so re-runs recode)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


# --- loading with line numbers --------------------------------------------------------

class _LineLoader(yaml.SafeLoader):
    """Keeps each mapping's line so errors can point at it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


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
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ProtocolError(f"not valid YAML ({getattr(e, 'problem', e)}); check indentation and quotes",
                            line=mark.line + 1 if mark else None, path=str(path)) from None
    return parse_codebook(raw, str(path))


def parse_codebook(raw: Any, path: str = "codebook") -> Codebook:
    if not isinstance(raw, dict):
        raise ProtocolError("a codebook is a mapping with 'name' and 'questions'", line=1, path=path)

    def fail(message: str, where: dict | None) -> ProtocolError:
        line = where.get("__line__") if isinstance(where, dict) else None
        return ProtocolError(message, line=line, path=path)

    questions: list[Question] = []
    themes: list[Theme] = []
    seen: dict[str, int | None] = {}
    raw_questions = raw.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise fail("'questions' must be a list of review questions (what_is_being_done, what_works, "
                   "for_whom, why)", raw)
    for rq in raw_questions:
        if not isinstance(rq, dict) or not rq.get("id"):
            raise fail("each question needs an 'id' (one of " + ", ".join(QUESTIONS) + ")", rq)
        qid = str(rq["id"])
        if qid not in QUESTIONS:
            raise fail(f"unknown question id {qid!r}; use one of {', '.join(QUESTIONS)}", rq)
        if any(q.id == qid for q in questions):
            raise fail(f"question {qid!r} is defined twice; merge the two", rq)
        question = Question(qid, str(rq.get("label") or qid.replace("_", " ")), str(rq.get("ask") or ""))
        q_negators = _parse_terms(rq.get("negators") or {}, f"{qid}: negators", rq, fail)
        blocks: list[tuple[str | None, Any, dict[str, list[str]]]] = []
        if "themes" in rq:
            blocks.append((None, rq["themes"], q_negators))
        for rg in rq.get("groups") or []:
            if not isinstance(rg, dict) or not rg.get("id"):
                raise fail(f"each group of {qid} needs an 'id'", rg)
            gid = str(rg["id"])
            allowed = KNOWN_GROUPS.get(qid)
            if allowed and gid not in allowed:
                raise fail(f"group {gid!r} under {qid}: use {' or '.join(allowed)} so the synthesis keeps them "
                           "apart", rg)
            question.groups.append(Group(gid, str(rg.get("label") or gid.replace("_", " ")),
                                         str(rg.get("description") or "")))
            g_negators = _parse_terms(rg.get("negators") or {}, f"{gid}: negators", rg, fail)
            merged = {lang: q_negators.get(lang, []) + g_negators.get(lang, [])
                      for lang in set(q_negators) | set(g_negators)}
            blocks.append((gid, rg.get("themes"), merged))
        if not blocks:
            raise fail(f"question {qid} has no 'themes' and no 'groups'", rq)
        for gid, raw_themes, negators in blocks:
            if not isinstance(raw_themes, list) or not raw_themes:
                raise fail(f"{gid or qid}: 'themes' must be a non-empty list", rq)
            for rt in raw_themes:
                theme = _parse_theme(rt, qid, gid, fail)
                theme.negators = negators
                if theme.id in seen:
                    raise fail(f"theme id {theme.id!r} is used twice (first at line {seen[theme.id]}); "
                               "ids must be unique", rt)
                seen[theme.id] = theme.line
                themes.append(theme)
        questions.append(question)
    order = {q: i for i, q in enumerate(QUESTIONS)}
    questions.sort(key=lambda q: order[q.id])
    return Codebook(name=str(raw.get("name") or Path(path).stem), title=str(raw.get("title") or ""),
                    questions=questions, themes=themes, path=path, version=str(raw.get("version", "1")))


def _parse_theme(rt: Any, qid: str, gid: str | None, fail) -> Theme:
    if not isinstance(rt, dict):
        raise fail(f"a theme under {gid or qid} must be a mapping with id, label, definition, descriptors", None)
    for key in ("id", "label", "definition"):
        if not rt.get(key) or not isinstance(rt.get(key), str):
            raise fail(f"theme {rt.get('id', '?')!r} needs a text '{key}'", rt)
    tid = rt["id"]
    if not tid.replace("_", "").isalnum() or not tid.islower():
        raise fail(f"theme id {tid!r}: use lower-case letters, digits and underscores", rt)
    descriptors = _parse_terms(rt.get("descriptors"), f"theme {tid}: descriptors", rt, fail)
    if not descriptors.get("en"):
        raise fail(f"theme {tid}: descriptors need at least the 'en' list", rt)
    exclude = _parse_terms(rt.get("exclude") or {}, f"theme {tid}: exclude", rt, fail)
    unknown = set(rt) - {"id", "label", "definition", "descriptors", "exclude", "__line__"}
    if unknown:
        raise fail(f"theme {tid}: unknown key(s) {', '.join(sorted(unknown))}; "
                   "allowed: id, label, definition, descriptors, exclude", rt)
    return Theme(id=tid, label=rt["label"].strip(), definition=" ".join(rt["definition"].split()), question=qid,
                 group=gid, descriptors=descriptors, exclude=exclude, line=rt.get("__line__"))


def _parse_terms(raw: Any, what: str, where: dict, fail) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        raise fail(f"{what} must map languages ({', '.join(LANGUAGES)}) to lists of phrases", where)
    out: dict[str, list[str]] = {}
    for lang, terms in raw.items():
        if lang == "__line__":
            continue
        if lang not in LANGUAGES:
            raise fail(f"{what}: unknown language {lang!r}; use {', '.join(LANGUAGES)}", where)
        if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
            raise fail(f"{what}: '{lang}' must be a list of non-empty phrases (quote words YAML reads as "
                       "true/false or numbers, such as \"no\", \"yes\", \"on\")", where)
        for t in terms:
            if t.strip().startswith("~") or t.strip().endswith("~") or t.strip() == "*":
                raise fail(f"{what}: {t!r} is not a phrase ('a ~ b' needs words on both sides)", where)
        out[lang] = [t.strip() for t in terms]
    return out
